"""Built-in detection rules, as data.

Each rule is one :class:`Rule` entry: an id, a description, a regex whose
named group ``secret`` is the key, cheap ``keywords`` (at least one must
appear in the lower-cased line before the regex runs), the shape the secret
must have, whether CaptchaAI evidence is needed elsewhere in the file, and
sample lines that must and must not match (``{key}`` stands for a fake key;
``tests/test_rules_cli.py`` checks every sample end to end).

Adding a rule is one entry here plus its samples.

Two strengths of context:

* strong: a CaptchaAI key name (``CAPTCHAAI_API_KEY`` and its rotation keys
  ``_2`` .. ``_9``, ``captchaaiApiKey`` ...), the ``key=`` parameter of a
  CaptchaAI URL, a ``.captchaai/`` configuration file. Any 32 letters and
  digits that are not a placeholder count as a key.
* weak: a generic field name (``api_key``, ``clientKey``, ``X-Api-Key`` ...)
  or a solver client, in a file that mentions CaptchaAI. Only 32 hex
  characters count.
"""

from __future__ import annotations

from typing import NamedTuple

# A key stands whole: not part of a longer run of letters and digits, and not
# a Mailchimp-style ``<hex>-us6`` key.
_BEFORE = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])(?!-us\d)"
HEX32 = _BEFORE + r"(?P<secret>[a-fA-F0-9]{32})" + _END
ALNUM32 = _BEFORE + r"(?P<secret>[A-Za-z0-9]{32})" + _END

# A string prefix before the opening quote: f"", b'', r"", C# $"" and @"".
_PREFIX = r"(?:[frbuFRBU$@]{1,2}(?=[\"'`]))?"
# Two literals joined where the key stands whole in the second one:
# "...key=" + "<key>" (Python, JS, Java, C#), PHP ".", Lua "..", VB "&",
# and Python's implicit "a" "b".
_CONCAT = r"(?:[\"'`]\s*(?:\+|\.\.?|&)?\s*" + _PREFIX + r"[\"'`])?"

# Names that are CaptchaAI keys by themselves: CAPTCHAAI_API_KEY, its
# rotation keys _2.._9, captchaaiApiKey, captcha_ai_key, captchaai.api-key ...
_STRONG_NAME = (
    r"captcha[_.-]?ai[_.-]?(?:api[_.-]?)?key(?:[_-]?[2-9])?"
    r"(?![A-Za-z0-9_]|-[A-Za-z0-9])"
)
# A type between a name and its value: `: &str`, `: string`, ` string`.
_TYPE = (
    r"(?:\s*:\s*&?(?:'static\s+)?[A-Za-z_][\w.]{0,40}(?:<[\w, ]{0,40}>|\[[\w., ]{0,40}\])?\??(?=\s*=)"
    r"|\s+(?:string|String|str)(?=\s*=))?"
)
# Between such a name and its value: quotes, brackets, ``=``, ``:``, ``=>``,
# ``,`` (a getenv default), ``or`` / ``||`` / ``??`` fallbacks, XML
# ``value=``, HCL ``default =``, then a string prefix.
_STRONG_SEP = (
    _TYPE + r"(?:[^A-Za-z0-9\r\n]|\b(?:or|value|default)\b|(?<=\s)--?[a-z]{1,10}\b){1,16}?" + _PREFIX
)
# Generic field names of a key, optionally prefixed by a solver's name
# (captcha_api_key, solverKey, twoCaptchaApiKey), in code or config that
# talks to CaptchaAI. Another service's prefix (OPENWEATHER_API_KEY) does
# not count.
_FIELD_NAME = (
    r"(?<![A-Za-z0-9_-])"
    r"(?:(?:captcha|solver|2captcha|two[_-]?captcha|anti[_-]?captcha|rucaptcha"
    r"|backup|fallback|default|primary|secondary|main|prod|production|dev|staging|test|my|old|new"
    r")[_.-]?){0,2}"
    r"(?:api[_-]?key|apikey|client[_-]?key|api[_-]?token"
    r"|auth[_-]?token|key|token|x-api-key|authorization)"
    r"(?![A-Za-z0-9_]|-[A-Za-z0-9])"
)
_FIELD_SEP = (
    r"[\"'`\]]{0,2}"
    r"(?:\s*:\s*[A-Za-z_][\w.]{0,40}(?:<[\w, ]{0,40}>|\[[\w., ]{0,40}\])?\??(?=\s*=))?"
    r"\s*(?:=>|:=|\?\?=|\|\|=|<-|=|:|,|\(|(?<=\s)value\s*=)\s*"
    r"(?:(?:new\s+)?(?:String::from|String|str|SecretStr|Secret|SecureString|ConvertTo-SecureString)"
    r"\s*\(?\s*)?(?:[\[{]\s*)?" + _PREFIX + r"[\"'`]?(?:(?:bearer|token|basic)\s+)?"
)
# Solver clients: 2captcha-compatible and anti-captcha-like libraries
# pointed at CaptchaAI's host, and key setters.
_CLIENT = (
    r"(?<![A-Za-z0-9_])(?:"
    r"\w{0,30}(?:2captcha|twocaptcha|anticaptcha|captchasolver|solver)\w{0,30}"
    r"|\w{0,30}client"
    r"|(?:set|with)_?(?:api_?key|client_?key|key)"
    r")(?:(?:\.|::)(?:new|create|client))?\s*\(\s*"
    r"(?:(?:api_?key|apikey|key|client_?key|token)\s*[=:]\s*)?" + _PREFIX + r"[\"'`]"
)


class Rule(NamedTuple):
    """One detection rule (a NamedTuple: cheaper to import than a dataclass).

    ``secret`` is ``"hex"`` (32 hex characters), ``"alnum"`` (any 32
    letters and digits; only where the context is strong) or ``"any"``
    (whatever the regex takes: custom rules from the configuration). ``context`` is
    ``"none"`` when the match (with its keywords) is evidence enough and
    ``"file"`` when the file (its content or its path) must also mention
    CaptchaAI (its host, a client, the variable name).
    ``path`` limits the rule to paths matching that regex.
    ``guide`` marks the three patterns of the original guide, kept verbatim.
    ``source`` is ``"built-in"`` or ``"config"`` (a custom rule; matched
    case-sensitively, on the whole match when there is no ``secret`` group).
    ``anchors`` (built-in rules) are fewer words, one of which every match
    holds (documentation: the prefilter asks for no word any more).
    ``bare_name``: the rule's name must stand alone (``key``, not the end of
    ``sitekey``); a longer name is left to the evidence to judge.
    ``context`` ``"evidence"``, ``"repeat"`` and ``"binary"`` mark the rules
    the scan decides (:mod:`captchaai_guard.detect.decide`): their regex says what
    a candidate is, their samples are whole files (lines joined by ``\n``,
    the key on the last line).
    """

    id: str
    description: str
    regex: str
    keywords: tuple[str, ...]
    secret: str = "hex"
    context: str = "none"
    path: str | None = None
    guide: bool = False
    remediation: str = ""
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    source: str = "built-in"
    anchors: tuple[str, ...] = ()
    bare_name: bool = False


RULES: tuple[Rule, ...] = (
    Rule(
        id="captchaai-guide-assignment",
        description="CaptchaAI API key assigned to CAPTCHAAI_API_KEY",
        regex=r"""CAPTCHAAI_API_KEY\s*=\s*["'](?P<secret>[a-f0-9]{32})""",
        keywords=("captchaai_api_key",),
        guide=True,
        remediation="Read CAPTCHAAI_API_KEY from the environment instead.",
        examples=(
            'CAPTCHAAI_API_KEY = "{key}"',
            "captchaai_api_key='{key}'",
        ),
        counter_examples=(
            'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]',
            'CAPTCHAAI_API_KEY = "your_api_key_here"',
            'CAPTCHAAI_API_KEY = "{key}{key}"',
        ),
    ),
    Rule(
        id="captchaai-guide-key-field",
        description="CaptchaAI API key in a 'key' field",
        regex=r"""key["']:\s*["'](?P<secret>[a-f0-9]{32})""",
        keywords=("key",),
        guide=True,
        bare_name=True,
        remediation="Pass the key from the environment instead of a literal.",
        examples=(
            "params = {{'key': '{key}', 'method': 'userrecaptcha'}}",
            "data = {{\"key\": '{key}'}}",
        ),
        counter_examples=(
            "params = {{'key': api_key}}",
            "{{'key': '{key}-us6'}}",
            "{{'sitekey': '{key}'}}",
            "{{'cache_key': '{key}'}}",
            "DSN = {{'public_key': '{key}'}}",
        ),
    ),
    Rule(
        id="captchaai-guide-json-key",
        description='CaptchaAI API key in a JSON "key" field',
        regex=r'''"key":\s*"(?P<secret>[a-f0-9]{32})"''',
        keywords=("key",),
        guide=True,
        remediation="Keep the key out of JSON files; read it from the environment.",
        examples=('{{"key": "{key}", "json": 1}}',),
        counter_examples=('{{"key": "00000000000000000000000000000000"}}',),
    ),
    Rule(
        id="captchaai-env-assignment",
        description="CaptchaAI API key assigned to a CaptchaAI key name",
        regex=_BEFORE + _STRONG_NAME + _STRONG_SEP + ALNUM32,
        keywords=("captcha",),
        secret="alnum",
        remediation="Set CAPTCHAAI_API_KEY in the environment or a git-ignored .env file.",
        examples=(
            "export CAPTCHAAI_API_KEY={key}",
            "CAPTCHAAI_API_KEY={key}",
            '$env:CAPTCHAAI_API_KEY = "{key}"',
            "set CAPTCHAAI_API_KEY={key}",
            'set "CAPTCHAAI_API_KEY={key}"',
            "setx CAPTCHAAI_API_KEY {key}",
            "captchaai_api_key: {key}",
            'captchaai_api_key = "{key}"',
            "CAPTCHAAI_API_KEY_2={key}",
            "ENV CAPTCHAAI_API_KEY {key}",
            'os.environ.get("CAPTCHAAI_API_KEY", "{key}")',
            "const captchaaiApiKey = `{key}`;",
            'key = os.getenv("CAPTCHAAI_API_KEY") or "{key}"',
            "define('CAPTCHAAI_API_KEY', '{key}');",
            'const CAPTCHAAI_API_KEY: &str = "{key}";',
            'const CaptchaAIKey string = "{key}"',
            "captchaai.api-key={key}",
            '<add key="CaptchaAIApiKey" value="{key}" />',
            "VITE_CAPTCHAAI_API_KEY={key}",
            "INSERT INTO settings VALUES ('captchaai_api_key', '{key}');",
            'gh secret set CAPTCHAAI_API_KEY --body "{key}"',
        ),
        counter_examples=(
            "export CAPTCHAAI_API_KEY=$(cat ~/.captchaai/key)",
            'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]',
            "CAPTCHAAI_API_KEY=your_captchaai_api_key_here",
            "CAPTCHAAI_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "CAPTCHAAI_API_KEY=00000000000000000000000000000000",
            "CAPTCHAAI_API_KEY=readTheKeyFromTheVaultPleaseThx",
            "CAPTCHAAI_API_KEY=0123456789abcdef0123456789abcdef",
            "CAPTCHAAI_API_KEY_SHA256={key}{key}",
            "CAPTCHAAI_API_KEY_ID={key}",
        ),
    ),
    Rule(
        id="captchaai-url-key",
        description="CaptchaAI API key in the key= parameter of a CaptchaAI URL",
        regex=(
            r"captchaai\.com[^\s\"'<>`]{0,1000}?(?:[?&]|&amp;|%3F|%26)"
            r"(?:key|clientkey|api_key|apikey)(?:=|%3D)" + _CONCAT + ALNUM32
        ),
        keywords=("captchaai.com",),
        secret="alnum",
        remediation="Build the URL with the key read from the environment.",
        examples=(
            "https://ocr.captchaai.com/in.php?key={key}&method=post",
            "curl 'https://ocr.captchaai.com/res.php?action=getbalance&key={key}'",
            "https://api.captchaai.com/res.php?id=1&amp;key={key}",
            'url = "https://ocr.captchaai.com/in.php?key=" + "{key}"',
            '$url = "https://captchaai.com/res.php?key=" . "{key}";',
        ),
        counter_examples=(
            "https://ocr.captchaai.com/in.php?key=${{CAPTCHAAI_API_KEY}}",
            "https://ocr.captchaai.com/res.php?key=YOUR_API_KEY&action=get",
            "https://ocr.captchaai.com/in.php?key={key}{key}",
        ),
    ),
    Rule(
        id="captchaai-form-key",
        description="CaptchaAI API key sent as a key parameter in a file that uses CaptchaAI",
        regex=r"(?<![A-Za-z0-9_.-])(?:key|clientkey|client_key)(?:=|%3D)" + _CONCAT + HEX32,
        keywords=("key",),
        context="file",
        remediation="Send the key read from the environment.",
        examples=(
            'curl -F "key={key}" -F method=post https://ocr.captchaai.com/in.php',
            '  --data "key={key}&method=userrecaptcha" \\',
            'body = "method=post&key=" + "{key}"',
        ),
        counter_examples=(
            'curl -F "key=$CAPTCHAAI_API_KEY" https://ocr.captchaai.com/in.php',
            "cache_key={key}  # captchaai",
            "key={key}-us6  # captchaai",
        ),
    ),
    Rule(
        id="captchaai-wrapper",
        description="CaptchaAI API key passed to SecureApiKey or a CaptchaAI client",
        regex=(
            r"(?:SecureApiKey|captcha[_-]?ai[\w.:]{0,40})\s*\(\s*"
            r"(?:(?:api_?key|apikey|key|client_?key|token)\s*[=:]\s*)?" + _PREFIX + r"[\"'`]" + HEX32
        ),
        keywords=("secureapikey", "captcha"),
        remediation="Pass the key read from the environment to the client.",
        examples=(
            'api_key = SecureApiKey("{key}")',
            'client = CaptchaAI("{key}")',
            "const solver = new CaptchaAIClient('{key}');",
            'solver = captchaai.Client(api_key="{key}")',
            'let client = CaptchaAI::new("{key}");',
        ),
        counter_examples=('api_key = SecureApiKey(os.environ["CAPTCHAAI_API_KEY"])',),
    ),
    Rule(
        id="captchaai-compatible-client",
        description="API key passed to a solver client in a file that uses CaptchaAI",
        regex=_CLIENT + HEX32,
        keywords=("captcha", "solver", "client", "key"),
        context="file",
        remediation="Pass the key read from the environment to the client.",
        examples=(
            'solver = TwoCaptcha("{key}", server="ocr.captchaai.com")',
            "solver = TwoCaptcha(apiKey='{key}', server='ocr.captchaai.com')",
            'const solver = new Captcha.Solver("{key}");',
            'client = Api2Captcha.new("{key}")',
            "$solver = new \\TwoCaptcha\\TwoCaptcha('{key}');",
            'anticaptcha.setAPIKey("{key}");',
            'client := api2captcha.NewClient("{key}")',
        ),
        counter_examples=(
            'solver = TwoCaptcha(os.environ["CAPTCHAAI_API_KEY"])',
            'solver = TwoCaptcha("{key}{key}")  # ocr.captchaai.com',
            "solver = TwoCaptcha(cache_key)  # ocr.captchaai.com",
        ),
    ),
    Rule(
        id="captchaai-field",
        description="API key field in a file that talks to CaptchaAI",
        regex=_FIELD_NAME + _FIELD_SEP + HEX32,
        keywords=("key", "token", "authorization"),
        context="file",
        remediation="Read the key from CAPTCHAAI_API_KEY in the environment.",
        examples=(
            'API_KEY = "{key}"  # for ocr.captchaai.com',
            '{{"clientKey": "{key}", "host": "captchaai.com"}}',
            "X-API-Key: {key}  # captchaai",
            'curl -H "apikey: {key}" https://ocr.captchaai.com/res.php',
            "api_key: str = '{key}'",
            "private readonly apiKey: string = '{key}';",
            'client.DefaultRequestHeaders.Add("X-Api-Key", "{key}");',
            '["key"] = "{key}",',
            'api_key <- "{key}"',
            "solver_api_key: {key}",
            "Authorization: Bearer {key}",
            '<add key="ApiKey" value="{key}" />',
        ),
        counter_examples=(
            'API_KEY = "{key}"',
            'cache_key = "{key}"  # captchaai',
            'OPENWEATHER_API_KEY = "{key}"  # captchaai',
            'idempotency-key: "{key}"  # captchaai',
            'MAILCHIMP_KEY = "{key}-us6"  # captchaai',
            'SECRET_KEY = "{key}"  # captchaai',
        ),
    ),
    Rule(
        id="captchaai-cli-flag",
        description="API key given as a command-line option in a file that uses CaptchaAI",
        regex=(
            r"(?<![\w-])--?(?:api[_-]?key|apikey|key|client[_-]?key|token)(?:=|\s+|[\"']\s*,\s*)"
            + _PREFIX
            + r"[\"']?"
            + HEX32
        ),
        keywords=("-api", "-key", "-client", "-token"),
        anchors=("key", "token"),  # every option name above holds one
        context="file",
        remediation="Pass the key through the CAPTCHAAI_API_KEY environment variable.",
        examples=(
            "python solve.py --api-key {key} --host ocr.captchaai.com",
            "./solve.ps1 -ApiKey '{key}'  # captchaai",
            '"args": ["--api-key", "{key}"],  // captchaai',
        ),
        counter_examples=("python solve.py --api-key {key}",),
    ),
    Rule(
        id="captchaai-name-value",
        description="API key as a name/value pair (Postman, HAR) in a file that uses CaptchaAI",
        regex=(
            r"(?<![A-Za-z0-9_])[\"']?(?:key|name)[\"']?\s*[:=]\s*[\"'](?:key|api_?key|apikey|client_?key|x-api-key)"
            r"[\"']\s*,\s*[\"']?value[\"']?\s*[:=]\s*[\"']" + HEX32
        ),
        keywords=("value",),
        anchors=("key",),  # the name is a key word
        context="file",
        remediation="Use a collection variable read from the environment instead of the key.",
        examples=(
            '{{"key": "key", "value": "{key}"}},  // ocr.captchaai.com',
            'URLQueryItem(name: "key", value: "{key}"),  // ocr.captchaai.com',
        ),
        counter_examples=('{{"key": "key", "value": "{key}"}}',),
    ),
    Rule(
        id="captchaai-prose",
        description="CaptchaAI API key quoted in prose (docs, issues, comments)",
        regex=(r"captcha[ _-]?ai\b[^\r\n]{0,30}?\bkey(?:\s+is|\s+was)?[\s:=\"'`*]{1,6}" + HEX32),
        keywords=("captcha",),
        remediation="Quote a placeholder such as <your key> instead of the key.",
        examples=(
            "Your CaptchaAI API key is {key}",
            "my captchaai key: `{key}`",
        ),
        counter_examples=("CaptchaAI key: see the dashboard, checksum {key}{key}",),
    ),
    Rule(
        id="captchaai-config-file",
        description="CaptchaAI API key in a CaptchaAI configuration file",
        regex=(
            r"(?<![A-Za-z0-9])(?:api[_-]?key|apikey|key|client[_-]?key)[\"']?\s*[:=]\s*"
            + _PREFIX
            + r"[\"']?"
            + ALNUM32
        ),
        keywords=("key",),
        secret="alnum",
        path=r"(?:^|/)\.?captchaai(?:/[^/]*|rc|\.(?:json|ya?ml|toml|ini|cfg|conf))$",
        remediation="Keep the CaptchaAI config file in ~/.captchaai/, outside the repository.",
        examples=('{{"api_key": "{key}"}}',),
        counter_examples=('{{"api_key": ""}}',),
    ),
    Rule(
        id="captchaai-evidence",
        description="32-hex value that its name, block or file gives as a CaptchaAI key",
        regex=HEX32,
        keywords=(),
        context="evidence",
        remediation="Read the key from CAPTCHAAI_API_KEY in the environment.",
        examples=(
            "CAPTCHAAI_KEYS = [\n    '{key}',",
            'KEYS_BY_ACCOUNT = {{"main": "{key}"}}',
            "captchaai:\n  keys:\n    - {key}",
            "params = dict(\n    key=\n        '{key}',",
            "env:\n  - name: CAPTCHAAI_API_KEY\n    value: {key}",
            'captchaai_api_key_reserve = "{key}"',
            "captchaai.api-key-reserve = {key}",
            'RESERVE_KEY = "{key}"',
            "const captchaaiPredefinedApiKey = '{key}';",
            'CAPTCHAI_KEY = "{key}"',
            'static readonly string ReserveKey = "{key}";',
            'static RESERVE: &str = "{key}";',
            "private static readonly fallback: string = '{key}';",
            "const apiKey = process.env.CAPTCHAAI_API_KEY || '{key}';",
            'const key = cfg.key ?? "{key}";',
            'api_key = os.getenv("SOLVER_KEY", "{key}")',
            'key = ENV.fetch("SOLVER_KEY", "{key}")',
            "account,api_key,balance\nmain,{key},3.50",
            "UPDATE settings SET value = '{key}' WHERE name = 'captchaai_key';",
            '<string name="captchaai_key">{key}</string>',
            "@solverKey = {key}",
            "# key was {key} until March",
            "> Use `{key}` with the in.php endpoint.",
            "https://ocr.captchaai.com/in.php%3Fkey%3D{key}%26method%3Dpost",
            "https://ocr.captchaai.com/in.php?method=post\\u0026key={key}",
            'KEY = b"{key}"',
            'url = rf"https://ocr.captchaai.com/res.php?action=get&key={key}"',
            'var n="{key}",t="https://ocr.captchaai.com/in.php";',
            "('captchaai', '{key}')",
        ),
        counter_examples=(
            'cache_key = "{key}"',
            "data-sitekey='{key}'",
            'checksum = "{key}"',
            'OPENWEATHER_API_KEY = "{key}"',
            "{key}  dist/app.tar.gz",
            'request_id = "{key}"',
        ),
    ),
    Rule(
        id="captchaai-same-value",
        description="A value reported as a CaptchaAI key elsewhere in the scan",
        regex=ALNUM32,
        keywords=(),
        secret="alnum",
        context="repeat",
        remediation="Remove every copy of the key; read it from the environment.",
        examples=(
            'CAPTCHAAI_API_KEY = "{key}"\nassert "{key}" not in out',
            "export CAPTCHAAI_API_KEY={key}\n\necho 'expected {key}'",
        ),
    ),
    Rule(
        id="captchaai-binary",
        description="CaptchaAI API key beside a CaptchaAI key name in a binary file",
        regex=ALNUM32,
        keywords=(),
        secret="alnum",
        context="binary",
        remediation="Do not commit compiled files, pickles or databases that hold the key.",
        examples=(
            "\x80\x04\x95\x00\x00}}\x94\x8c\x11CAPTCHAAI_API_KEY\x94\x8c {key}\x94s.",
            "SQLite format 3\x00\x00\x00\x11captchaai_api_key{key}\x00",
        ),
        counter_examples=("\x00\x01\x02 {key} \x00 checksum",),
    ),
)


def by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in RULES}
