"""How to fix a blocked commit, in the language of the offending file."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from captchaai_guard import PROJECT_URL

ENV_VAR = "CAPTCHAAI_API_KEY"
# How a user gets the ``captchaai-guard`` command the advice names when the
# pre-commit framework ran the hook (it keeps its copy in an environment of
# its own, not on the user's PATH).
INSTALL_COMMANDS = (f"pipx install git+{PROJECT_URL}", f"python -m pip install git+{PROJECT_URL}")

# The .gitignore lines `fix` writes and `audit` asks for, and the files `audit`
# checks with them: .env and its variants stay out of git, the template stays in.
GITIGNORE_LINES = (".env", ".env.*", "!.env.example")
IGNORED_ENV_FILES = (".env", ".env.local", ".env.production")
EXAMPLE_ADVICE = (
    f"Commit a .env.example with an empty placeholder ({ENV_VAR}=); keep it un-ignored with !.env.example."
)
# Loads .env into the shell that then runs the program (any language).
SHELL_LOAD = "set -a; . ./.env; set +a"


class Language(NamedTuple):
    name: str
    read: str  # how code in this language reads the variable


_PY = Language("Python", 'api_key = os.environ["{var}"]  # import os')
_JS = Language("JavaScript/TypeScript", "const apiKey = process.env.{var};")
_SH = Language("shell", 'curl -F "key=${var}" https://ocr.captchaai.com/in.php')
_PS = Language("PowerShell", "$apiKey = $env:{var}")
_CMD = Language("Windows CMD", "echo %{var}%")
_PHP = Language("PHP", "$apiKey = getenv('{var}');")
_GO = Language("Go", 'apiKey := os.Getenv("{var}")')
_CS = Language("C#", 'var apiKey = Environment.GetEnvironmentVariable("{var}");')
_JAVA = Language("Java", 'String apiKey = System.getenv("{var}");')
_RUBY = Language("Ruby", "api_key = ENV.fetch('{var}')")
_CONFIG = Language(
    "configuration", "reference the variable instead of the value, e.g. ${var} or ${{{{ secrets.{var} }}}}"
)
_DOTENV = Language(".env", "keep this file out of git: add it to .gitignore and unstage it")

_BY_SUFFIX: dict[str, Language] = {
    ".py": _PY,
    ".pyw": _PY,
    ".ipynb": _PY,
    ".js": _JS,
    ".mjs": _JS,
    ".cjs": _JS,
    ".jsx": _JS,
    ".ts": _JS,
    ".tsx": _JS,
    ".vue": _JS,
    ".sh": _SH,
    ".bash": _SH,
    ".zsh": _SH,
    ".ksh": _SH,
    ".ps1": _PS,
    ".psm1": _PS,
    ".bat": _CMD,
    ".cmd": _CMD,
    ".php": _PHP,
    ".go": _GO,
    ".cs": _CS,
    ".java": _JAVA,
    ".kt": _JAVA,
    ".rb": _RUBY,
    ".yml": _CONFIG,
    ".yaml": _CONFIG,
    ".json": _CONFIG,
    ".toml": _CONFIG,
    ".ini": _CONFIG,
    ".cfg": _CONFIG,
    ".conf": _CONFIG,
    ".md": _SH,
}


# How a program in each language loads .env (when no python-dotenv or the like
# does it already); the shell command fits them all.
_LOADERS: dict[str, str] = {
    "Python": "pip install python-dotenv, then at the top: from dotenv import load_dotenv; load_dotenv()",
    "JavaScript/TypeScript": "node --env-file=.env {path} (Node 20.6+), or require('dotenv').config() first",
    "Ruby": "gem install dotenv, then require 'dotenv/load' first",
    "Go": "github.com/joho/godotenv: godotenv.Load() first",
    "PHP": "composer require vlucas/phpdotenv: Dotenv\\Dotenv::createImmutable(__DIR__)->load()",
}


def load_hint(path: str) -> str | None:
    """How the program in ``path`` can load .env itself; None: use :data:`SHELL_LOAD`."""
    hint = _LOADERS.get(language_of(path).name)
    return hint.format(path=path) if hint else None


def language_of(path: str) -> Language:
    name = path.rsplit("/", 1)[-1].lower()
    if name == ".env" or name.startswith(".env."):
        return _DOTENV
    if name in ("dockerfile", "containerfile") or name.endswith(".dockerfile"):
        return Language("Dockerfile", "pass it at run time: docker run -e {var} ...; never ENV or ARG")
    return _BY_SUFFIX.get(_suffix(name), _SH)


def _suffix(name: str) -> str:
    """The final suffix of a file name, as ``PurePosixPath.suffix`` gives it."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return ""
    return name[dot:]


def _variable(line: str) -> str:
    """The rotation key's own name when the line uses one (CAPTCHAAI_API_KEY_2 ...)."""
    upper = line.upper()
    for n in range(2, 10):
        if f"{ENV_VAR}_{n}" in upper:
            return f"{ENV_VAR}_{n}"
    return ENV_VAR


def advice(items: Iterable[tuple[str, str]], *, hook: bool = False, framework: bool = False) -> str:
    """The fix block for findings given as ``(path, masked_line)`` pairs
    (``framework``: the pre-commit framework ran the hook, so the commands
    named come after the line that installs them)."""
    pairs = list(items)
    variables = sorted({_variable(line) for _, line in pairs}) or [ENV_VAR]
    var = variables[0]
    lines = [
        "How to fix: move the key out of the code into the environment.",
        f"  1. Set {var} in your environment (not in a tracked file):",
        f'       Linux/macOS:     export {var}="<your key>"',
        f'       PowerShell:      $env:{var} = "<your key>"',
        f"       Windows CMD:     set {var}=<your key>",
        f"     or put {var}=<your key> in .env, which .gitignore must list (.env and .env.*).",
        f"     {EXAMPLE_ADVICE}",
        "  2. Read it from the environment where the key was:",
    ]
    seen: set[str] = set()
    for path, line in pairs:
        lang = language_of(path)
        if lang.name in seen:
            continue
        seen.add(lang.name)
        lines.append(f"       {lang.name} ({path}): {lang.read.format(var=_variable(line))}")
    if framework:
        pipx, pip = INSTALL_COMMANDS
        lines += [
            "  3. Or let captchaai-guard do it: pre-commit runs its own copy, so install the command first:",
            f"       {pipx}",
            f"       (or {pip})",
            "     then: captchaai-guard fix (try --dry-run first).",
        ]
    else:
        lines.append("  3. Or let captchaai-guard do it: captchaai-guard fix (try --dry-run first).")
    lines += [
        "If the key was already pushed, rotate it in the CaptchaAI dashboard now:",
        "  removing it in a later commit does not remove it from git history.",
        "A documented fake key? Add the comment 'captchaai-guard: allow' to that line.",
    ]
    if hook:
        lines.append("Deliberately committing anyway: git commit --no-verify (not recommended).")
    return "\n".join(lines)


# One-paragraph versions of the advice, for reports that show one finding at
# a time (SARIF rule help, CI annotations).
MOVE_HINT = (
    f"Move the key out of the code: set {ENV_VAR} in the environment (or a git-ignored .env file) "
    "and read it from there."
)
ROTATE_HINT = (
    "If the key was ever pushed, rotate it in the CaptchaAI dashboard: "
    "removing it in a later commit does not remove it from git history."
)
ALLOW_HINT = "A documented fake key? Add the comment 'captchaai-guard: allow' to that line."
