"""Rewriting source text so that it reads a key from the environment.

Pure text in, text out: no git, no files, no click. :func:`rewrite` replaces
every copy of the given keys in one file's text with the environment lookup
idiomatic in the file's language, or raises :class:`CannotRewrite` when any
copy cannot be replaced safely (then the caller leaves the whole file alone).

What each language gets:

- Python ``os.environ["NAME"]`` (``import os`` added once where isort puts
  it, see :mod:`captchaai_guard.remedy.pyimports`; with python-dotenv in the
  project, ``load_dotenv()`` too); inside a longer literal the literal
  becomes an f-string.
- JavaScript/TypeScript ``process.env.NAME``; inside a longer literal the
  literal becomes a template literal.
- Shell ``"$NAME"``; an assignment of the key to its own name
  (``export NAME=key``) becomes ``export NAME="${NAME:?...}"``: the script
  still exports the variable and stops with a message when it is not set.
- PHP ``getenv('NAME')``, Go ``os.Getenv("NAME")`` (``import "os"`` added
  when missing), Ruby ``ENV['NAME']``, C# ``Environment.GetEnvironmentVariable("NAME")``,
  Java/Kotlin ``System.getenv("NAME")``; inside a longer literal the literal
  is split and concatenated, in parentheses.
- ``.env``-style files (``config.env``, ``.env.example``): the value is
  emptied; the key belongs in the git-ignored ``.env``.

Everything else (JSON, notebooks, YAML, keys in comments, multi-line strings,
heredocs with quoted delimiters) cannot be rewritten safely.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from captchaai_guard.remedy import pyimports
from captchaai_guard.remedy.guide import ENV_VAR, language_of

_STRONG = re.compile(r"captcha[_-]?ai[_-]?(?:api[_-]?)?key(?:[_-]?([2-9]))?(?![A-Za-z0-9])", re.IGNORECASE)
_SHELL_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh")
_SHEBANG = re.compile(r"#![^\n]*\b(?:ba|z|k|da)?sh\b")
_DOTENV_LINE = re.compile(
    r"^(?P<head>\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)"
    r"(?P<q>[\"']?)(?P<value>[A-Za-z0-9]+)(?P=q)(?P<tail>\s*(?:#.*)?)$"
)
_SHELL_ASSIGN = re.compile(
    r"^(?P<head>\s*(?:(?:export|readonly|local|declare(?:\s+-\w+)*)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)"
)
_HEREDOC = re.compile(r"<<-?\s*(?P<q>[\"']?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)(?P=q)")
_IDENT = re.compile(r"[A-Za-z0-9_]")
_CONST = re.compile(r"\s*(?:(?:public|private|protected|internal|static|final)\s+)*const\b")


class CannotRewrite(Exception):
    """A copy of a key that cannot be replaced safely; the file stays as it is."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Rewritten:
    text: str
    variables: dict[str, str] = field(default_factory=dict)  # secret -> variable now holding it
    added_load_dotenv: bool = False  # a Python module now calls load_dotenv()


def variable_for(line: str, column: int = 0) -> str:
    """The variable a key on ``line`` belongs in: its own rotation name
    (``CAPTCHAAI_API_KEY_2`` ... ``_9``) when the line assigns one, else
    ``CAPTCHAAI_API_KEY``. The nearest name before ``column`` (1-based) wins."""
    best: re.Match[str] | None = None
    for m in _STRONG.finditer(line):
        if column and m.start() >= column - 1 and best is not None:
            break
        best = m
    if best is not None and best.group(1):
        return f"{ENV_VAR}_{best.group(1)}"
    return ENV_VAR


def kind_of(path: str, text: str = "") -> str | None:
    """The rewriter for a file: a language name, ``"dotenv"``, or None (manual)."""
    pure = PurePosixPath(path)
    name, suffix = pure.name.lower(), pure.suffix.lower()
    lang = language_of(path).name
    if lang == ".env" or name.endswith(".env"):
        return "dotenv"
    if suffix in (".ipynb", ".vue"):
        return None
    if lang == "shell":
        if suffix in _SHELL_SUFFIXES or (not suffix and _SHEBANG.match(text)):
            return "shell"
        return None
    return {
        "Python": "python",
        "JavaScript/TypeScript": "js",
        "PHP": "php",
        "Go": "go",
        "Ruby": "ruby",
        "C#": "csharp",
        "Java": "java",
    }.get(lang)


@dataclass(frozen=True)
class _Syntax:
    lookup: str  # the environment lookup, {var} for the name
    quotes: str  # characters that open a string literal
    raw_quotes: str = ""  # quotes without backslash escapes
    comments: tuple[str, ...] = ()
    prefixes: str = ""  # letters allowed right before a quote
    triple: bool = False  # whether tripled quotes open a multi-line string
    concat: str = "+"


_SYNTAX: dict[str, _Syntax] = {
    "python": _Syntax('os.environ["{var}"]', "\"'", comments=("#",), prefixes="rRbBuUfF", triple=True),
    "js": _Syntax("process.env.{var}", "\"'`", comments=("//", "/*")),
    "shell": _Syntax('"${var}"', "\"'", raw_quotes="'", comments=("#",)),
    "php": _Syntax("getenv('{var}')", "\"'", comments=("//", "#", "/*"), concat="."),
    "go": _Syntax('os.Getenv("{var}")', '"`', raw_quotes="`", comments=("//", "/*")),
    "ruby": _Syntax("ENV['{var}']", "\"'", comments=("#",)),
    "csharp": _Syntax(
        'Environment.GetEnvironmentVariable("{var}")', "\"'", comments=("//", "/*"), prefixes="@$"
    ),
    "java": _Syntax('System.getenv("{var}")', "\"'", comments=("//", "/*"), triple=True),
}


@dataclass(frozen=True)
class _Literal:
    start: int  # where the literal starts, its prefix included
    open: int  # the opening quote
    close: int  # the closing quote
    quote: str
    prefix: str


def _locate(syntax: _Syntax, kind: str, line: str, start: int, lineno: int) -> _Literal | None:
    """The string literal holding ``line[start:...]``; None when it is in no literal."""
    i = 0
    while i < start:
        ch = line[i]
        for marker in syntax.comments:
            if line.startswith(marker, i) and (kind != "shell" or i == 0 or line[i - 1].isspace()):
                raise CannotRewrite(lineno, "the key is in a comment")
        if ch not in syntax.quotes or (kind == "shell" and i > 0 and line[i - 1] == "\\"):
            i += 1
            continue
        k = i
        while k > 0 and line[k - 1] in syntax.prefixes:
            k -= 1
        if k > 0 and _IDENT.match(line[k - 1]):
            if kind == "js" and ch == "`":
                raise CannotRewrite(lineno, "the key is in a tagged template literal")
            k = i  # letters before the quote belong to a word, not a prefix
        prefix = line[k:i]
        if syntax.triple and line.startswith(ch * 3, i):
            raise CannotRewrite(lineno, "the key is in a multi-line string")
        verbatim = kind == "csharp" and "@" in prefix
        escapes = ch not in syntax.raw_quotes and not verbatim
        j = i + 1
        while j < len(line):
            if escapes and line[j] == "\\":
                j += 2
                continue
            if line[j] == ch:
                if verbatim and line.startswith(ch * 2, j):
                    j += 2
                    continue
                break
            j += 1
        if j >= len(line):
            raise CannotRewrite(lineno, "the key is in a string that spans lines")
        if j > start:
            return _Literal(k, i, j, ch, prefix)
        i = j + 1
    return None


def _other(quote: str) -> str:
    return "'" if quote == '"' else '"'


def _replace_in_line(
    kind: str, line: str, start: int, end: int, var: str, lineno: int, *, jsx: bool = False
) -> str:
    syntax = _SYNTAX[kind]
    lookup = syntax.lookup.format(var=var)
    literal = _locate(syntax, kind, line, start, lineno)
    if literal is None:
        if kind != "shell":
            raise CannotRewrite(lineno, "the key is not inside a string literal")
        return _shell_bare(line, start, end, var)
    before = line[literal.open + 1 : start]
    after = line[end : literal.close]
    head, tail = line[: literal.start], line[literal.close + 1 :]
    q, prefix = literal.quote, literal.prefix
    if (len(before) - len(before.rstrip("\\"))) % 2:
        raise CannotRewrite(lineno, "the key follows an escape character")
    if jsx and re.search(r"[\w-]=$", head):
        raise CannotRewrite(lineno, "the key may be in a JSX attribute")
    if kind == "python" and "b" in prefix.lower():
        raise CannotRewrite(lineno, "the key is in a bytes literal")
    if not before and not after:
        if kind == "shell":
            return _shell_bare(head + line[start:end] + tail, len(head), len(head) + end - start, var)
        return head + lookup + tail
    if kind == "python":
        inner = f"{{os.environ[{_other(q)}{var}{_other(q)}]}}"
        if "f" not in prefix.lower():
            if "{" in before + after or "}" in before + after:
                raise CannotRewrite(lineno, "the string has braces; it cannot become an f-string safely")
            prefix = prefix.replace("u", "").replace("U", "") + "f"
        return f"{head}{prefix}{q}{before}{inner}{after}{q}{tail}"
    if kind == "js":
        if q != "`" and ("`" in before + after or "${" in before + after):
            raise CannotRewrite(lineno, "the string cannot become a template literal safely")
        return f"{head}`{before}${{{lookup}}}{after}`{tail}"
    if kind == "shell":
        if q == '"':
            return f"{head}{q}{before}${{{var}}}{after}{q}{tail}"
        pieces = [f"'{before}'" if before else "", f'"${{{var}}}"', f"'{after}'" if after else ""]
        return head + "".join(pieces) + tail
    if kind == "ruby" and q == '"':
        return f"{head}{q}{before}#{{{lookup}}}{after}{q}{tail}"
    if kind in ("java", "go", "csharp") and q == "'":
        raise CannotRewrite(lineno, "the key is in a character literal")
    parts = [f"{prefix}{q}{before}{q}"] if before else []
    parts.append(lookup)
    if after:
        parts.append(f"{prefix}{q}{after}{q}")
    return f"{head}({f' {syntax.concat} '.join(parts)}){tail}"


def _shell_bare(line: str, start: int, end: int, var: str) -> str:
    """A key that is a shell word of its own (or a quoted word) on ``line``."""
    assign = _SHELL_ASSIGN.match(line)
    if assign and assign.group("name") == var and assign.end() == start and _word_ends(line, end):
        value = f'"${{{var}:?set {var} in the environment or .env}}"'
        return line[:start] + value + line[end:]
    plain = end == len(line) or _IDENT.match(line[end]) is None
    return line[:start] + (f'"${var}"' if plain else f'"${{{var}}}"') + line[end:]


def _word_ends(line: str, end: int) -> bool:
    return end == len(line) or line[end] in " \t;#\r\n"


def _shell_heredocs(lines: list[str]) -> dict[int, bool]:
    """Line index -> whether the heredoc holding it expands variables."""
    regions: dict[int, bool] = {}
    pending: list[tuple[str, bool]] = []
    for idx, line in enumerate(lines):
        if pending:
            word, expands = pending[0]
            if line.rstrip("\r\n").strip() == word:
                pending.pop(0)
            else:
                regions[idx] = expands
            continue
        for m in _HEREDOC.finditer(line):
            if not line[: m.start()].count("'") % 2:
                pending.append((m.group("word"), not m.group("q")))
    return regions


def _python_multiline(text: str) -> set[int]:
    """1-based numbers of lines inside multi-line Python strings."""
    lines: set[int] = set()
    fstring = getattr(tokenize, "FSTRING_START", None)
    fend = getattr(tokenize, "FSTRING_END", None)
    starts: list[int] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.start[0] != tok.end[0]:
                lines.update(range(tok.start[0], tok.end[0] + 1))
            elif fstring is not None and tok.type == fstring:
                starts.append(tok.start[0])
            elif fend is not None and tok.type == fend and starts:
                first = starts.pop()
                if first != tok.end[0]:
                    lines.update(range(first, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise CannotRewrite(1, f"the Python file does not parse ({exc.__class__.__name__})") from None
    return lines


def _guard_lines(kind: str, text: str, lines: list[str]) -> dict[int, str]:
    """0-based line index -> why a key on that line cannot be replaced."""
    blocked: dict[int, str] = {}
    if kind == "python":
        for n in _python_multiline(text):
            blocked[n - 1] = "the key is in a multi-line string"
    elif kind in ("js", "go"):
        count = 0
        for idx, line in enumerate(lines):
            if count % 2:
                blocked[idx] = "the key is in a multi-line template or raw string"
            count += line.count("`") - line.count("\\`")
    if kind in ("go", "php", "java", "csharp"):
        in_block = False
        for idx, line in enumerate(lines):
            if _CONST.match(line) or in_block:
                blocked.setdefault(idx, "a constant cannot hold a value read at run time")
            if kind == "go" and re.match(r"\s*const\s*\($", line.rstrip()):
                in_block = True
            elif in_block and line.strip().startswith(")"):
                in_block = False
    if kind in ("php", "ruby", "java", "csharp"):
        marker = {
            "php": re.compile(r"<<<"),
            "ruby": re.compile(r"<<[~-]?[\"'A-Z_]"),
            "java": re.compile(r'"""'),
            "csharp": re.compile(r'"""|@"[^"]*$'),
        }[kind]
        seen = False
        for idx, line in enumerate(lines):
            if seen:
                blocked[idx] = "the key may be in a heredoc or multi-line string"
            seen = seen or bool(marker.search(line))
    return blocked


def _key_pattern(secret: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(secret) + r"(?![A-Za-z0-9])")


def rewrite(
    path: str,
    text: str,
    names: Mapping[str, str],
    *,
    dotenv: bool = False,
    first_party: Container[str] = (),
) -> Rewritten:
    """Replace every copy of the keys in ``names`` (key -> variable name).

    With ``dotenv`` (the project uses python-dotenv), a Python module that
    does not call ``load_dotenv()`` yet gets it, right after its imports.
    ``first_party`` names the project's own top-level modules, so that new
    imports land in the right isort section.

    Raises :class:`CannotRewrite` when any copy cannot be replaced safely.
    """
    kind = kind_of(path, text)
    if kind is None:
        lang = language_of(path).name
        raise CannotRewrite(_first_line(text, names), f"{lang} files cannot be rewritten safely")
    lines = text.splitlines(keepends=True)
    if kind == "dotenv":
        return _rewrite_dotenv(lines, names)
    if kind == "python":
        try:
            ast.parse(text, filename=path)
        except (SyntaxError, ValueError):
            at = _first_line(text, names)
            raise CannotRewrite(at, "the Python file does not compile as it is") from None
    blocked = _guard_lines(kind, text, lines)
    heredocs = _shell_heredocs(lines) if kind == "shell" else {}
    jsx = path.lower().endswith((".jsx", ".tsx"))
    used: dict[str, str] = {}
    patterns = [(secret, var, _key_pattern(secret)) for secret, var in names.items()]
    for idx, line in enumerate(lines):
        for secret, var, pattern in patterns:
            for _ in range(len(line)):
                m = pattern.search(line)
                if m is None:
                    break
                if idx in blocked:
                    raise CannotRewrite(idx + 1, blocked[idx])
                if idx in heredocs:
                    if not heredocs[idx]:
                        raise CannotRewrite(idx + 1, "the key is in a heredoc that does not expand variables")
                    line = line[: m.start()] + f"${{{var}}}" + line[m.end() :]
                else:
                    line = _replace_in_line(kind, line, m.start(), m.end(), var, idx + 1, jsx=jsx)
                used[secret] = var
        lines[idx] = line
    new = "".join(lines)
    loads = False
    if kind == "python":
        new, loads = _python_finish(path, new, dotenv, first_party)
    elif kind == "go":
        new = _go_import_os(new)
    elif kind == "csharp" and not re.search(r"(?m)^\s*(?:global\s+)?using\s+System\s*;", new):
        new = new.replace("Environment.GetEnvironmentVariable(", "System.Environment.GetEnvironmentVariable(")
        new = new.replace("System.System.Environment", "System.Environment")
    for secret in names:
        if secret in new:
            raise CannotRewrite(_first_line(new, {secret: ""}), "the key is part of a longer value")
    return Rewritten(new, used, loads)


def _first_line(text: str, names: Mapping[str, str]) -> int:
    for idx, line in enumerate(text.splitlines()):
        if any(secret in line for secret in names):
            return idx + 1
    return 1


def _rewrite_dotenv(lines: list[str], names: Mapping[str, str]) -> Rewritten:
    used: dict[str, str] = {}
    for idx, line in enumerate(lines):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if not any(secret in body for secret in names):
            continue
        m = _DOTENV_LINE.match(body)
        if m is None or m.group("value") not in names:
            raise CannotRewrite(idx + 1, "the line is not a plain NAME=value assignment")
        used[m.group("value")] = m.group("name")
        lines[idx] = m.group("head") + m.group("tail") + ending
    return Rewritten("".join(lines), used)


def _python_finish(path: str, text: str, dotenv: bool, first_party: Container[str]) -> tuple[str, bool]:
    """Add ``import os`` when needed (and, with ``dotenv``, python-dotenv's
    ``load_dotenv()`` when the module does not call it yet); check that the
    result compiles and that both run before the module reads the key.
    The second value tells whether ``load_dotenv()`` was added."""
    tree = _parse(path, text)
    if "os.environ[" not in text:
        return text, False
    add_os = not pyimports.imports_os(tree)
    add_load = dotenv and not pyimports.calls_load_dotenv(tree)
    try:
        if add_os:
            text = pyimports.add_import_os(text, tree, first_party)
            tree = _parse(path, text)
        if add_load:
            if not pyimports.imports_load_dotenv(tree):
                text = pyimports.add_dotenv_import(text, tree, first_party)
                tree = _parse(path, text)
            text = pyimports.add_load_call(text, tree)
            tree = _parse(path, text)
    except pyimports.Unplaceable as exc:
        raise CannotRewrite(1, f"import os cannot be placed safely: {exc}") from None
    if not pyimports.ready_before_use(tree, os_import=add_os, load_call=add_load):
        raise CannotRewrite(1, "import os cannot be placed before the module reads the key")
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line = exc.lineno if isinstance(exc, SyntaxError) and exc.lineno else 1
        raise CannotRewrite(line, "the rewritten file would not compile") from None
    return text, add_load


def _parse(path: str, text: str) -> ast.Module:
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise CannotRewrite(exc.lineno or 1, "the rewritten file would not compile") from None


_GO_OS = re.compile(r'(?m)^\s*(?:import\s+)?(?:(?P<alias>[\w.]+)\s+)?"os"\s*(?://.*)?$')
_GO_PACKAGE = re.compile(r"(?m)^package\s+\w+[^\n]*\n")


def _go_import_os(text: str) -> str:
    if "os.Getenv(" not in text:
        return text
    m = _GO_OS.search(text)
    if m is not None:
        if m.group("alias") not in (None, "os"):
            raise CannotRewrite(1, 'the file imports "os" under another name')
        return text
    package = _GO_PACKAGE.search(text)
    if package is None:
        raise CannotRewrite(1, "no package clause to add the os import after")
    newline = "\r\n" if "\r\n" in text else "\n"
    return text[: package.end()] + newline + 'import "os"' + newline + text[package.end() :]
