"""Line heuristics over source code for the audit: where code talks to
CaptchaAI, where it reads the key from the environment, and where a print or
logging call formats a raw key variable.

Heuristics, not a parser: they look at one line at a time and report line
numbers and identifier names, never values.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

CODE_SUFFIXES = frozenset(
    {
        ".py", ".pyw", ".ipynb", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".vue", ".svelte",
        ".rb", ".php", ".go", ".java", ".kt", ".kts", ".scala", ".groovy", ".cs", ".rs", ".swift",
        ".dart", ".lua", ".pl", ".r", ".sh", ".bash", ".zsh", ".ksh", ".ps1", ".psm1", ".bat", ".cmd",
    }
)  # fmt: skip

# CaptchaAI itself, not this tool's own name.
_CAPTCHAAI = re.compile(r"captcha[_-]?ai(?![_-]guard)", re.IGNORECASE)
_KEY_WORD = re.compile(r"api[_-]?key|apikey|client[_-]?key|clientkey|[?&]key=|[\"']key[\"']", re.IGNORECASE)
_VAR = re.compile(r"CAPTCHAAI_API_KEY(?:_[2-9])?\b")
_ENV_READ = re.compile(
    r"os\.environ|getenv\s*\(|environ\.get|process\.env|import\.meta\.env|Deno\.env|\bENV\s*(?:\[|\.fetch)"
    r"|\$env:|System\.getenv|GetEnvironmentVariable|env::var|os\.Getenv|os\.LookupEnv|\$_ENV|\$_SERVER|\benv\s*\("
    r"|dotenv_values|\$\{?CAPTCHAAI_API_KEY|%CAPTCHAAI_API_KEY%"
)
_DOTENV = re.compile(r"dotenv", re.IGNORECASE)
_HELPERS = re.compile(r"\b(?:get_api_key|KeyRotator|load_config)\s*\(")
_KEY_WORD_ANY = re.compile(r"key", re.IGNORECASE)  # any mention of "key"
_COMMENT = re.compile(r"\s*(?:#(?![{!])|//|/\*|\*|--|REM\b|::|;)", re.IGNORECASE)

_LOG_CALL = re.compile(
    r"(?P<call>\bprint\s*\(|\bpprint\s*\("
    r"|\b(?:logging|logger|log|_log|_logger|LOG|LOGGER|self\.log|self\.logger|app\.logger|console)"
    r"\s*\.\s*(?:debug|info|warn|warning|error|exception|critical|fatal|log|trace)\s*\("
    r"|\bputs\s+|\becho\s+|\bWrite-(?:Host|Output)\s+|\bSystem\.out\.print(?:ln|f)?\s*\("
    r"|\b(?:fmt|log)\.Print(?:ln|f)?\s*\(|\bConsole\.Write(?:Line)?\s*\(|\bvar_dump\s*\(|\bprint_r\s*\()"
)
_KEY_NAME = re.compile(
    r"(?:api_?key|apikey|client_?key|clientkey|captcha_?ai_?(?:api_?)?key(?:_[2-9])?)", re.IGNORECASE
)
_SAFE_NAME = re.compile(r"mask|redact|safe|secure|hash|last|len|prefix|suffix|finger|hint", re.IGNORECASE)
_IDENT = re.compile(r"[$@]?[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")
_DOLLAR_NAME = re.compile(r"\$\{([^}]*)\}|#\{([^}]*)\}|\$(?:env:)?([A-Za-z_]\w*)")
_BRACES = re.compile(r"\{([^{}]*)\}")

_NOT_LOGGING = (
    "print", "pprint", "puts", "echo", "Write-", "System.", "fmt.", "Console.", "console.",
    "var_dump", "log.Print",
)  # fmt: skip
MASKING_FILTER = re.compile(r"\b(?:KeyMaskingFilter|install_log_masking)\b")
SECURE_WRAPPER = re.compile(r"\bSecureApiKey\b")


def is_code(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in CODE_SUFFIXES


def uses_masking_filter(text: str) -> bool:
    return ("KeyMaskingFilter" in text or "install_log_masking" in text) and MASKING_FILTER.search(
        text
    ) is not None


def uses_secure_wrapper(text: str) -> bool:
    return "SecureApiKey" in text and SECURE_WRAPPER.search(text) is not None


def is_comment(line: str) -> bool:
    return _COMMENT.match(line) is not None


def captchaai_use(text: str) -> int | None:
    """The first line of code that talks to CaptchaAI and handles a key, or None."""
    if (
        "captcha" not in text.lower()
        or not _CAPTCHAAI.search(text)
        or not (_KEY_WORD.search(text) or _VAR.search(text))
    ):
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if _CAPTCHAAI.search(line) and not is_comment(line):
            return number
    return None


def env_reads(text: str) -> list[int]:
    """Lines that read CAPTCHAAI_API_KEY from the environment or a dotenv file."""
    helpers = "captchaai_guard" in text
    if not (helpers or _VAR.search(text)):
        return []
    dotenv = _DOTENV.search(text) is not None
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if is_comment(line):
            continue
        from_env = _VAR.search(line) and (dotenv or _ENV_READ.search(line))
        if from_env or (helpers and _HELPERS.search(line)):
            found.append(number)
    return found


def other_env_key_reads(text: str) -> list[int]:
    """Lines that read some key from the environment, under another name."""
    return [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if not is_comment(line) and _ENV_READ.search(line) and _KEY_WORD_ANY.search(line)
    ]


@dataclass(frozen=True)
class RawKeyLog:
    line: int
    call: str  # "print()", "logger.info()", "echo"
    name: str  # the variable, e.g. "api_key"
    logging: bool  # a logging call (a filter can mask it), not a print


def _fragments(args: str) -> list[str]:
    """Code outside string literals, plus the interpolated parts of strings."""
    code: list[str] = []
    found: list[str] = []
    i = 0
    while i < len(args):
        ch = args[i]
        if ch not in "\"'`":
            code.append(ch)
            i += 1
            continue
        prefix = re.search(r"[A-Za-z$@]*$", "".join(code[-3:]))
        letters = prefix.group().lower() if prefix else ""
        end = i + 1
        while end < len(args) and args[end] != ch:
            end += 2 if args[end] == "\\" else 1
        body = args[i + 1 : end]
        if "f" in letters or "$" in letters:  # Python f-strings, C# $"..."
            found.extend(_BRACES.findall(body))
        if ch in '"`':  # shell, PHP, Ruby, JS templates, PowerShell
            for groups in _DOLLAR_NAME.findall(body):
                found.extend(g for g in groups if g)
        code.append(" 0 ")
        i = end + 1
    return ["".join(code), *found]


def _raw_names(fragment: str) -> list[str]:
    names = []
    for m in _IDENT.finditer(fragment):
        parts = [p.strip() for p in m.group().lstrip("$@").split(".")]
        unwrapped = len(parts) > 1 and parts[-1] == "value"  # SecureApiKey(...).value
        name = parts[-2] if unwrapped else parts[-1]
        if _SAFE_NAME.search(name) or not (_KEY_NAME.search(name) or (unwrapped and name.lower() == "key")):
            continue
        if not re.search(r"(?:api_?key|apikey|client_?key|clientkey|key(?:_[2-9])?)$", name, re.IGNORECASE):
            continue  # api_key_name, api_key_var: about the key, not the key
        before = fragment[: m.start()]
        if before.count("(") > before.count(")"):
            continue  # wrapped: mask(api_key), len(api_key)
        if fragment[m.end() :].lstrip().startswith(("[", "(")):
            continue  # api_key[-4:], api_key()
        names.append(name + (".value" if unwrapped else ""))
    return names


def raw_key_logs(text: str) -> list[RawKeyLog]:
    """print/logging calls on one line that format a raw key variable."""
    found: list[RawKeyLog] = []
    if not _KEY_WORD_ANY.search(text):  # cheap prefilter for _KEY_NAME and .value
        return found
    for number, line in enumerate(text.splitlines(), 1):
        if not _KEY_WORD_ANY.search(line) or is_comment(line):
            continue
        for call in _LOG_CALL.finditer(line):
            head = re.sub(r"\s+", "", call.group("call"))
            label = head[:-1] + "()" if head.endswith("(") else head
            args = line[call.end() :]
            names = [n for fragment in _fragments(args) for n in _raw_names(fragment)]
            if names:
                is_logging = not label.startswith(_NOT_LOGGING)
                found.append(RawKeyLog(number, label, names[0], is_logging))
                break
    return found
