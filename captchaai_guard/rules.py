"""Built-in detection rules, as data.

Each rule is one :class:`Rule` entry: an id, a description, a regex whose
named group ``secret`` is the key, cheap ``keywords`` (at least one must
appear in the lower-cased line before the regex runs), the shape the secret
must have, whether CaptchaAI evidence is needed elsewhere in the file, and
sample lines that must and must not match (``{key}`` stands for a fake key;
``tests/test_rules.py`` checks every sample).

Adding a rule is one entry here plus its samples.
"""

from __future__ import annotations

from dataclasses import dataclass

# A key stands whole: not part of a longer run of letters and digits, and not
# a Mailchimp-style ``<hex>-us6`` key.
_END = r"(?![A-Za-z0-9])(?!-us\d)"
HEX32 = r"(?<![A-Za-z0-9])(?P<secret>[a-fA-F0-9]{32})" + _END
ALNUM32 = r"(?<![A-Za-z0-9])(?P<secret>[A-Za-z0-9]{32})" + _END

# Names that are CaptchaAI keys by themselves: CAPTCHAAI_API_KEY, its
# rotation keys _2.._9, captchaaiApiKey, captcha_ai_key, CaptchaAIKey ...
_STRONG_NAME = r"captcha[_-]?ai[_-]?(?:api[_-]?)?key(?:[_-]?[2-9])?(?![A-Za-z0-9])"
# Between such a name and its value: quotes, brackets, ``=``, ``:``, ``=>``,
# ``,`` (a getenv default), ``or`` / ``||`` / ``??`` fallbacks, a string prefix.
_STRONG_SEP = (
    r"(?:[^A-Za-z0-9\r\n]|\bor\b){1,16}?"
    r"(?:(?<![A-Za-z0-9])[frbuFRBU]{1,2}(?=[\"'`]))?"
)
# Field names of a key in code or config that talks to CaptchaAI.
_FIELD_NAME = (
    r"(?<![A-Za-z0-9_-])(?:api[_-]?key|apikey|client[_-]?key|clientkey|access[_-]?key"
    r"|secret[_-]?key|token|api[_-]?token|key|x-api-key|authorization)"
    r"(?![A-Za-z0-9])"
)
_FIELD_SEP = (
    r"[\"'`\]]?\s*(?:=>|:=|=|:|,)\s*"
    r"(?:(?:[A-Za-z]{1,2}(?=[\"'`]))?[\"'`]|bearer\s+|token\s+)?"
)


@dataclass(frozen=True)
class Rule:
    """One detection rule.

    ``secret`` is ``"hex"`` (32 hex characters), ``"alnum"`` (any 32
    letters and digits; only where the context is strong) or ``"any"``
    (whatever the regex takes: custom rules from the configuration). ``context`` is
    ``"none"`` when the match (with its keywords) is evidence enough and
    ``"file"`` when the file
    must also mention CaptchaAI (its host, a client, the variable name).
    ``path`` limits the rule to paths matching that regex.
    ``guide`` marks the three patterns of the original guide, kept verbatim.
    ``source`` is ``"built-in"`` or ``"config"`` (a custom rule; matched
    case-sensitively, on the whole match when there is no ``secret`` group).
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
        ),
    ),
    Rule(
        id="captchaai-guide-key-field",
        description="CaptchaAI API key in a 'key' field",
        regex=r"""key["']:\s*["'](?P<secret>[a-f0-9]{32})""",
        keywords=("key",),
        guide=True,
        remediation="Pass the key from the environment instead of a literal.",
        examples=(
            "params = {{'key': '{key}', 'method': 'userrecaptcha'}}",
            "data = {{\"key\": '{key}'}}",
        ),
        counter_examples=("params = {{'key': api_key}}",),
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
        regex=r"(?<![A-Za-z0-9])" + _STRONG_NAME + _STRONG_SEP + ALNUM32,
        keywords=("captcha",),
        secret="alnum",
        remediation="Set CAPTCHAAI_API_KEY in the environment or a git-ignored .env file.",
        examples=(
            "export CAPTCHAAI_API_KEY={key}",
            "CAPTCHAAI_API_KEY={key}",
            '$env:CAPTCHAAI_API_KEY = "{key}"',
            "set CAPTCHAAI_API_KEY={key}",
            'set "CAPTCHAAI_API_KEY={key}"',
            "captchaai_api_key: {key}",
            'captchaai_api_key = "{key}"',
            "CAPTCHAAI_API_KEY_2={key}",
            "ENV CAPTCHAAI_API_KEY {key}",
            'os.environ.get("CAPTCHAAI_API_KEY", "{key}")',
            "const captchaaiApiKey = `{key}`;",
            'key = os.getenv("CAPTCHAAI_API_KEY") or "{key}"',
        ),
        counter_examples=(
            "export CAPTCHAAI_API_KEY=$(cat ~/.captchaai/key)",
            'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]',
            "CAPTCHAAI_API_KEY=your_captchaai_api_key_here",
            "CAPTCHAAI_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "CAPTCHAAI_API_KEY=00000000000000000000000000000000",
            "CAPTCHAAI_API_KEY=readTheKeyFromTheVaultPleaseThx",
        ),
    ),
    Rule(
        id="captchaai-url-key",
        description="CaptchaAI API key in the key= parameter of a CaptchaAI URL",
        regex=(r"captchaai\.com[^\s\"'<>`]{0,256}?[?&](?:key|clientkey|api_key|apikey)=" + ALNUM32),
        keywords=("captchaai.com",),
        secret="alnum",
        remediation="Build the URL with the key read from the environment.",
        examples=(
            "https://ocr.captchaai.com/in.php?key={key}&method=post",
            "curl 'https://ocr.captchaai.com/res.php?action=getbalance&key={key}'",
        ),
        counter_examples=(
            "https://ocr.captchaai.com/in.php?key=${{CAPTCHAAI_API_KEY}}",
            "https://ocr.captchaai.com/res.php?key=YOUR_API_KEY&action=get",
        ),
    ),
    Rule(
        id="captchaai-form-key",
        description="CaptchaAI API key sent as a key parameter to a CaptchaAI host",
        regex=r"(?<![A-Za-z0-9])(?:key|clientkey)=" + HEX32,
        keywords=("captchaai",),
        remediation="Send the key read from the environment.",
        examples=('curl -F "key={key}" -F method=post https://ocr.captchaai.com/in.php',),
        counter_examples=('curl -F "key=$CAPTCHAAI_API_KEY" https://ocr.captchaai.com/in.php',),
    ),
    Rule(
        id="captchaai-wrapper",
        description="CaptchaAI API key passed to SecureApiKey or a CaptchaAI client",
        regex=(
            r"(?:SecureApiKey|captcha[_-]?ai[\w.]{0,64})\s*\(\s*"
            r"(?:(?:api_?key|apikey|key|client_?key|token)\s*[=:]\s*)?"
            r"(?:[A-Za-z]{1,2}(?=[\"'`]))?[\"'`]" + HEX32
        ),
        keywords=("secureapikey", "captcha"),
        remediation="Pass the key read from the environment to the client.",
        examples=(
            'api_key = SecureApiKey("{key}")',
            'client = CaptchaAI("{key}")',
            "const solver = new CaptchaAIClient('{key}');",
            'solver = captchaai.Client(api_key="{key}")',
        ),
        counter_examples=('api_key = SecureApiKey(os.environ["CAPTCHAAI_API_KEY"])',),
    ),
    Rule(
        id="captchaai-compatible-client",
        description="API key passed to a solver client in a file that uses CaptchaAI",
        regex=(
            r"(?:TwoCaptcha|2captcha|Solver|AntiCaptcha\w{0,64}|CaptchaSolver\w{0,64}|(?<!\w)\w*Client)\s*\(\s*"
            r"(?:(?:api_?key|apikey|key|client_?key|token)\s*[=:]\s*)?"
            r"(?:[A-Za-z]{1,2}(?=[\"'`]))?[\"'`]" + HEX32
        ),
        keywords=("captcha", "solver", "client"),
        context="file",
        remediation="Pass the key read from the environment to the client.",
        examples=('solver = TwoCaptcha("{key}", server="ocr.captchaai.com")',),
        counter_examples=('solver = TwoCaptcha(os.environ["CAPTCHAAI_API_KEY"])',),
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
        ),
        counter_examples=(
            'API_KEY = "{key}"',
            'cache_key = "{key}"  # captchaai',
        ),
    ),
    Rule(
        id="captchaai-config-file",
        description="CaptchaAI API key in a CaptchaAI configuration file",
        regex=r"(?<![A-Za-z0-9])(?:api[_-]?key|apikey|key)[\"']?\s*[:=]\s*[\"']?" + ALNUM32,
        keywords=("key",),
        secret="alnum",
        path=r"(?:^|/)\.?captchaai/[^/]*$",
        remediation="Keep the CaptchaAI config file in ~/.captchaai/, outside the repository.",
        examples=('{{"api_key": "{key}"}}',),
        counter_examples=('{{"api_key": ""}}',),
    ),
)


def by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in RULES}
