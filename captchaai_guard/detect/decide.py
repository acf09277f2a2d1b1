"""Decide whether a candidate key is a CaptchaAI key, from evidence.

The line rules of :mod:`captchaai_guard.detect.rules` find the syntaxes they name;
every other 32-character run that stands whole on an added line is an
*open* candidate. Both are weighed here, in steps, each a named piece of
evidence (the word lists are data, in :mod:`captchaai_guard.detect.evidence`):

1. the value: a placeholder or a published example is no key, nor a value
   glued into a longer token (``app-<md5>.js``, ``key-<hex>``, ``***<hex>``);
2. another service: a name on the line, a block around it, the host of the
   URL it sits in or the file's own name that names another service
   (``OPENWEATHER_API_KEY``, ``twocaptcha:``, ``provider="capmonster"``,
   ``datadog.yaml``) says it is that service's key;
3. its own name: the nearest name before it on its line (a CSV column's
   header, an SQL ``INSERT``'s column): a hash, id or captcha-parameter word
   (``sitekey``, ``md5``, ``task_id``) says no, a CaptchaAI name yes, a name
   of something else (``REDIS_PASSWORD``) no;
4. the lines around it: without a name of its own, the name on the line
   before it (``key=`` then the key; ``- name: CAPTCHAAI_API_KEY`` then
   ``value: ...``) or the name of the enclosing list, dict or block
   (``CAPTCHAAI_KEYS = [``): counter-evidence there says no, a CaptchaAI
   name or a key's name yes;
5. the file: a lockfile, checksum list or project file says no; a file
   that talks to CaptchaAI confirms a key's name, or a value with no name
   at all.

:func:`judge_line` takes the steps the line settles; :func:`judge_in_file`
the rest, with the file's text. The scan adds the last one
(:mod:`captchaai_guard.detect.judge`): once a value is reported, every other
occurrence of it in the scan is reported too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from captchaai_guard.detect import evidence, filters
from captchaai_guard.sources.diff import HALVES_MAX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# The patterns of evidence.py, compiled.
MENTION = re.compile(evidence.MENTION_PATTERN)
PROSE_PATH = re.compile(evidence.PROSE_PATH_PATTERN)
COUNTER_PATH = re.compile(evidence.COUNTER_PATH_PATTERN)
CHECKSUM_LINE = re.compile(evidence.CHECKSUM_LINE_PATTERN)
TABLE_PATH = re.compile(evidence.TABLE_PATH_PATTERN)
BINARY_RUN = re.compile(evidence.BINARY_RUN_PATTERN)
QUIET_BINARY_PATH = re.compile(evidence.QUIET_BINARY_PATH_PATTERN)
_IDENT = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@]*(?:(?:[.\-]|::)[A-Za-z_$@][A-Za-z0-9_$@]*)*")
_LED_NAME = re.compile(r"(?<![A-Za-z0-9_$@])[0-9]*" + _IDENT.pattern)
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SEPARATORS = re.compile(r"[._\-:$@]+")
_FLAT = re.compile(r"[\s._\-:$@]")
_HEX = re.compile(r"[0-9a-fA-F]{32}")
_LOWALNUM = re.compile(r"[0-9a-z]{32}")
_KEYISH = re.compile(r"key|token|secret|auth|cred|pass")
_INDENT = re.compile(r"[ \t]*")
# A line that is an item of a list: a value alone (quoted or not), a YAML
# "- item", a tuple.
_ITEM = re.compile(r"""\s*(?:-\s|\(|["'`][^"'`:=]*["'`]\s*[,\]})]*\s*$|[0-9A-Za-z]{32}\b)""")
_INSERT = re.compile(r"insert\s+into\s+([\w.\"`\[\]]+)\s*\(([^)]*)\)\s*values", re.IGNORECASE)
_HASH_WORD = re.compile(r"(?:sha|crc|md|blake|xxh)\d+\w*|md5\w*")  # sha256sum, md5hash, crc32
_GLUE = "-._/:*+"  # a value after one of these, itself after a letter or digit, is part of a token
_LOOK_BACK = 40  # lines searched for the enclosing block
# A line that opens a block holds one of these (a name and its ``:``/``=``,
# a bracket, a continued command); a bare word above an indented line does not.
_OPENER = re.compile(r"[:=\[{(<\\]")
_NAME_WINDOW = 160  # characters before a value searched for its names


def words(name: str) -> list[str]:
    """The lower-case words of a name: ``captchaaiApiKey_2`` is
    ``captchaai``, ``api``, ``key``, ``2`` (a run of capitals stays whole,
    so ``CaptchaAIKey`` is ``captcha``, ``ai``, ``key``)."""
    out: list[str] = []
    for part in _SEPARATORS.split(name):
        if not part:
            continue
        if part.islower() or part.isupper() or part.isdigit():
            out.append(part.lower())
        else:
            out.extend(piece.lower() for piece in _PART.findall(part))
    return out


def _bare(word: str) -> str:
    """``word`` without trailing digits (``var1``, ``key2``), unless all digits."""
    stripped = word.rstrip("0123456789")
    return stripped or word


def names_captchaai(name: str) -> bool:
    """``name`` (any spelling: ``CaptchaAI``, ``captcha.ai``, ``CAPTCHAI_KEY``)
    names CaptchaAI (and not noCaptchaAI)."""
    lowered = name.lower()
    if MENTION.search(lowered) is not None:
        return True
    return MENTION.search(_FLAT.sub("", lowered)) is not None


def is_key_name(name: str) -> bool:
    """A CaptchaAI key's name: CaptchaAI and a key word in one name."""
    return names_captchaai(name) and _KEYISH.search(name.lower()) is not None


def identifiers(text: str) -> list[str]:
    """The names written in ``text`` (one led by digits whole: ``2captcha``)."""
    return _LED_NAME.findall(text)


class Verdict:
    """A decision with the evidence that made it."""

    __slots__ = ("against", "for_", "report")

    def __init__(self, report: bool, for_: Sequence[str] = (), against: Sequence[str] = ()) -> None:
        self.report = report
        self.for_ = list(for_)
        self.against = list(against)

    def __repr__(self) -> str:
        return f"Verdict(report={self.report}, for={self.for_}, against={self.against})"


def _known(word: str) -> bool:
    return (
        word in evidence.COUNTER_WORDS
        or word in evidence.KEY_WORDS
        or word in evidence.ROLE_WORDS
        or word in evidence.VENDOR_WORDS
    )


def _value_like(token: str) -> bool:
    """A token that is a value, not a name (another key, a long id)."""
    return len(token) >= 20 and token.isalnum() and any(ch.isdigit() for ch in token)


def own_name(text: str, start: int) -> tuple[str | None, bool]:
    """The name of the value at ``text[start:]``: the nearest name before it
    on its line that says something (``value``, ``const``, ``b`` say
    nothing; another value is no name), and whether it is called
    (``Client("<key>")``). A short name of one or two characters that is no
    known word (minified code, ``eu:``) names nothing: ``(None, False)``."""
    before = text[max(0, start - _NAME_WINDOW) : start]
    for m in reversed(list(_IDENT.finditer(before))):
        name = m.group()
        if _value_like(name):
            continue
        found = words(name)
        if all(_bare(w) in evidence.TRANSPARENT_WORDS for w in found):
            continue
        if len(name) <= 2 and not _known(name.lower()):
            return None, False
        return name, before[m.end() :].lstrip().startswith("(")
    return None, False


def _counter(name: str) -> str | None:
    """The word of ``name`` that says its value is no CaptchaAI key: a
    hash, id or captcha-parameter word."""
    for word in words(name):
        if (
            word in evidence.COUNTER_WORDS
            or (word.endswith("s") and word[:-1] in evidence.COUNTER_WORDS)
            or _HASH_WORD.fullmatch(word) is not None
        ):
            return word
    return None


# What a name says is weighed once per name: a scan meets the same names on
# line after line (service, _role and _path_service read nothing but it).
@lru_cache(maxsize=1024)
def service(name: str) -> str | None:
    """The other service ``name`` names (``OPENWEATHER_API_KEY``,
    ``twoCaptchaKey``, ``capmonster``), unless it names CaptchaAI."""
    if names_captchaai(name):
        return None
    flat = _FLAT.sub("", name.lower())
    for solver in evidence.OTHER_SOLVERS:
        at = flat.find(solver)
        while at != -1:
            if not (solver[0].isdigit() and flat[at - 1 : at] == "v"):
                return solver
            at = flat.find(solver, at + 1)  # (V2Captcha, a reCAPTCHA type: no 2captcha)
    for word in words(name):
        if word in evidence.VENDOR_WORDS:
            return word
    return None


@lru_cache(maxsize=1024)
def _role(name: str) -> str:
    """What a name says of the value it names: ``"counter"`` (a hash, an id,
    a captcha parameter), ``"service"`` (another service's),
    ``"captchaai"`` (a CaptchaAI key's name), ``"key"`` (a key's name, made
    only of key and role words) or ``"other"`` (a name of something else:
    ``REDIS_PASSWORD``, ``expected``)."""
    if _counter(name) is not None:
        return "counter"
    if service(name) is not None:
        return "service"
    if names_captchaai(name):
        return "captchaai"
    if all(
        _bare(w) in evidence.KEY_WORDS
        or _bare(w) in evidence.ROLE_WORDS
        or _bare(w) in evidence.TRANSPARENT_WORDS
        for w in words(name)
    ):
        return "key"
    return "other"


def _says(role: str, name: str, where: str) -> Verdict | None:
    """The verdict a name of ``role`` gives (None: a key's name, for the
    file to confirm)."""
    if role == "counter":
        return Verdict(False, against=[f"{where} {name!r} says {_counter(name)!r}"])
    if role == "service":
        return Verdict(False, against=[f"{where} {name!r} names another service ({service(name)})"])
    if role == "captchaai":
        return Verdict(True, for_=[f"{where} {name!r} names CaptchaAI"])
    if role == "other":
        return Verdict(False, against=[f"{where} {name!r} names something else"])
    return None


def judge_value(value: str) -> Verdict | None:
    """Step 1 for the value alone: a placeholder or a published example."""
    if filters.drop(value):
        return Verdict(False, against=["placeholder value"])
    if value.lower() in evidence.DOCUMENTED_VALUES:
        return Verdict(False, against=["published example value"])
    return None


def key_shaped(value: str) -> bool:
    """32 hex characters, or 32 lower-case letters and digits (both seen as
    CaptchaAI keys): what a key's name or a CaptchaAI file makes a key of."""
    return _HEX.fullmatch(value) is not None or (
        _LOWALNUM.fullmatch(value) is not None and sum(ch.isdigit() for ch in value) >= 2
    )


def _glued(text: str, start: int, end: int) -> str | None:
    """How the value at ``text[start:end]`` is part of a longer token."""
    before = text[start - 1] if start else ""
    if before == "*":
        return "shown masked (after '*')"
    if before and before in _GLUE and start >= 2 and text[start - 2].isalnum():
        opened = text.rfind("${", 0, start)
        if not (before in "-:" and opened != -1 and "}" not in text[opened:start]):
            return f"part of a longer token (after {before!r})"
        # (else a default: ${CAPTCHAAI_KEY:-<key>}, ${captchaai.api-key:<key>})
    if text[end : end + 1] == "." and re.match(r"\.[A-Za-z][A-Za-z0-9]{0,5}(?![A-Za-z0-9])", text[end:]):
        return "part of a file name"
    if text[end : end + 1] == "@":
        return "the user part of a URL"
    if text[end : end + 1] in ("+", "/") and text[end + 1 : end + 2].isalnum():
        return f"part of a longer token (before {text[end]!r})"
    return None


def _url_host(text: str, start: int) -> str | None:
    """The host of the URL the value at ``text[start:]`` is part of (the
    nearest ``scheme://`` before it, with no space or quote between)."""
    before = text[max(0, start - 400) : start]
    at = before.rfind("://")
    if at == -1:
        return None
    rest = before[at + 3 :]
    if any(ch in rest for ch in " \t\"'`<>"):
        return None  # (the URL ended before the value)
    host = rest
    for stop in "/?#&":
        host = host.split(stop, 1)[0]
    return host.lower() or None


def _sql_column(lines: Sequence[str], text: str, start: int) -> str | None:
    """The column an SQL ``INSERT INTO t (cols) VALUES (...)`` gives the value
    at ``text[start:]`` (the column list on this line or one of those
    before), as ``table.column``; None when the column says nothing
    (``value``: the row's other cells name it)."""
    for at, line in reversed(list(enumerate([*lines, text]))):
        m = _INSERT.search(line)
        if m is None:
            continue
        columns = [c.strip().strip('"`[]') for c in m.group(2).split(",")]
        rest = text[m.end() :] if at == len(lines) else text
        offset = len(text) - len(rest)
        tuple_start = rest.rfind("(", 0, start - offset)
        if tuple_start == -1:
            return None
        index = rest.count(",", tuple_start, start - offset)
        column = columns[index] if index < len(columns) else None
        if column is None or all(_bare(w) in evidence.TRANSPARENT_WORDS for w in words(column)):
            return None
        return f"{m.group(1).strip(chr(34) + '`[]')}.{column}"
    return None


def _line_service(text: str, start: int, end: int, called: str | None) -> str | None:
    """Another service named on the line (a string, an attribute, a block
    opened on it), when the line does not name CaptchaAI."""
    found = None
    for name in identifiers(text[:start] + " " + text[end:]):
        if names_captchaai(name):
            return None
        if found is None and name != called:
            found = service(name)
    return found


@lru_cache(maxsize=1024)
def _path_service(path: str) -> str | None:
    """Another service the file's own name names (``datadog.yaml``, ``weather.py``)."""
    base = path.rsplit("/", 1)[-1].split(".", 1)[0]
    if not base or names_captchaai(path):
        return None
    owner = service(base)
    if owner in evidence.PLATFORM_WORDS or owner in evidence.OTHER_SOLVERS:
        return None  # (a solver's client pointed at CaptchaAI is judged by its lines)
    return owner


def judge_line(
    value: str, text: str, start: int, end: int, path: str = "", ruled: bool = False, line: str = ""
) -> Verdict | None:
    """Steps 1-3 for the candidate ``text[start:end]`` (``value``): a final
    verdict, or None when the lines around it and the file must decide.
    ``ruled``: a line rule found it (its name is a key's name); only the
    evidence against it is weighed here."""
    if not ruled and value.lower() in evidence.DOCUMENTED_VALUES:  # (placeholders: dropped by the engine)
        return Verdict(False, against=["published example value"])
    if not ruled and not key_shaped(value):
        # Letters beyond hex: only a CaptchaAI key name right before it makes a key of it.
        name = own_name(text, start)[0]
        if name is not None and is_key_name(name) and _glued(text, start, end) is None:
            return Verdict(True, for_=[f"its name {name!r} names CaptchaAI"])
        return Verdict(False, against=["not hex, and no CaptchaAI key name before it"])
    glued = _glued(text, start, end)
    if glued is not None:
        return Verdict(False, against=[glued])
    name, called = own_name(text, start)
    column = _sql_column([], text, start)
    if column:
        name, called = column, False
    other = _line_service(text, start, end, name if called else None)
    if other is not None:
        return Verdict(False, against=[f"another service named on the line ({other})"])
    # The URL it is in, as written and with escapes undone (an encoded URL
    # inside another one: either naming CaptchaAI's host is enough).
    written = line or text
    at = written.find(value)
    hosts = {_url_host(text, start), _url_host(written, at if at != -1 else start)} - {None}
    if hosts and not any(names_captchaai(host) for host in hosts):  # type: ignore[arg-type]
        return Verdict(False, against=[f"a parameter of a URL of {sorted(hosts)[0]}"])  # type: ignore[type-var]
    if path:
        owner = _path_service(path)
        if owner is not None:
            return Verdict(False, against=[f"the file is named for another service ({owner})"])
    role = _role(name) if name is not None else None
    deciding = role in ("counter", "service") or (role == "captchaai" and not ruled)
    # (a solver client called with the key: the line rules judge it)
    if deciding and not (called and role == "service"):
        return _says(role, name, "its name")  # type: ignore[arg-type]
    if ruled:
        return None
    if CHECKSUM_LINE.match(text):
        return Verdict(False, against=["a checksum list entry"])
    prose = _prose(text, path)
    if prose:
        for word_name in identifiers(text[:start]):
            if _counter(word_name) is not None:
                return Verdict(False, against=[f"the sentence before it says {_counter(word_name)!r}"])
    for other_name in _names_on_line(text, start, end):
        if is_key_name(other_name) or names_captchaai(other_name):
            return Verdict(True, for_=[f"CaptchaAI named on the line ({other_name!r})"])
    if role == "other" and not prose and not text.lstrip().startswith("("):
        # (a row of values, as in an SQL VALUES list, waits for its column)
        return _says(role, name, "its name")  # type: ignore[arg-type]
    return None


def _prose(text: str, path: str) -> bool:
    """A comment or a line of documentation: its words are not names."""
    stripped = text.lstrip()
    return stripped.startswith(evidence.COMMENT_STARTS) or PROSE_PATH.search(path) is not None


def _names_on_line(text: str, start: int, end: int) -> list[str]:
    return [m.group() for m in _IDENT.finditer(text) if m.end() <= start or m.start() >= end]


class FileText:
    """The new content of a file, as much as the scan knows of it: all of
    it (a blob, a file) or some lines (a diff on standard input)."""

    __slots__ = ("_lines", "path", "talks", "text")

    def __init__(self, path: str, lines: Sequence[str] | dict[int, str], talks: bool, text: str = "") -> None:
        self.path = path
        self._lines = lines
        self.talks = talks  # the file names CaptchaAI (or its path does)
        self.text = text  # the whole text, where known

    @classmethod
    def of(cls, path: str, text: str, mentions: bool = False) -> FileText:
        talks = mentions or MENTION.search(text.lower()) is not None
        return cls(path, text.split("\n"), talks or names_captchaai(path), text)

    @classmethod
    def shown(cls, path: str, lines: dict[int, str], mentions: bool = False) -> FileText:
        """The lines of a diff (by line number) that show part of the file."""
        talks = mentions or names_captchaai(path) or any(MENTION.search(t.lower()) for t in lines.values())
        return cls(path, lines, talks)

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based), without its line break; None when unknown."""
        lines = self._lines
        if isinstance(lines, dict):
            return lines.get(number)
        return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else None

    def whole(self) -> str:
        """The text (for a diff's lines: the lines it shows, in order, gaps left blank)."""
        if self.text or not isinstance(self._lines, dict):
            return self.text
        last = max(self._lines, default=0)
        return "\n".join(self._lines.get(n, "") for n in range(1, last + 1))


def _previous(ctx: FileText, lineno: int) -> str | None:
    for number in range(lineno - 1, max(0, lineno - 4), -1):
        line = ctx.line(number)
        if line is not None and line.strip():
            return line
    return None


def _ancestors(ctx: FileText, lineno: int, indent: int) -> list[str]:
    """The lines opening the blocks around line ``lineno``, nearest first:
    each earlier line indented less than the one below it (YAML, Python,
    code in brackets), or the line opening a bracket when all are flush."""
    found: list[str] = []
    for number in range(lineno - 1, max(0, lineno - _LOOK_BACK), -1):
        line = ctx.line(number)
        if line is None or not line.strip():
            continue
        depth = len(_INDENT.match(line).group())  # type: ignore[union-attr]
        if depth < indent:
            if _OPENER.search(line) is None:
                continue  # (a bare word: prose, a stray line, no block's name)
            found.append(line)
            indent = depth
            if depth == 0:
                break
        elif indent == 0:
            # All flush: the items of a bracket opened above (TOML arrays, SQL, JSON).
            if line.rstrip().endswith(("[", "{", "(", "=")):
                found.append(line)
                break
            if not _ITEM.match(line):
                break
    return found


def _column_header(ctx: FileText, text: str, start: int) -> str | None:
    header = ctx.line(1)
    if header is None:
        return None
    sep = "\t" if "\t" in header else ";" if header.count(";") > header.count(",") else ","
    index = text.count(sep, 0, start)
    cells = header.split(sep)
    return cells[index].strip().strip("\"'") if index < len(cells) else None


# A line that names the value on the next one: YAML/JSON ``- name: X`` then
# ``value: ...``, a property list's ``<key>X</key>`` then ``<string>...``.
_NAMED_BEFORE = re.compile(
    r"""\s*(?:-\s*)?["']?(?:name|key)["']?\s*[:=]\s*["']?([\w.\-]+)["']?\s*,?\s*$|\s*<key>([\w.\-]+)</key>\s*$"""
)
_INTRODUCES = ("=", ":", "=>", "(", "[", "{", ",", "\\")  # a line ending so gives its name to the next


def judge_in_file(
    value: str, text: str, start: int, lineno: int, ctx: FileText, ruled: bool = False
) -> Verdict:
    """Steps 3-5 for a candidate :func:`judge_line` left open (``ruled``: a
    line rule found it, and needs the file to talk to CaptchaAI)."""
    for_: list[str] = []
    name, calls = own_name(text, start)
    where = "its name"
    previous = [
        line for line in (ctx.line(n) for n in range(max(1, lineno - 12), lineno)) if line is not None
    ]
    column = _sql_column(previous, text, start)
    if column is None and TABLE_PATH.search(ctx.path) and lineno > 1:
        column = _column_header(ctx, text, start)
    if column:
        name, where = column, "its column"
    blocks: list[str] = []
    indent = len(_INDENT.match(text).group())  # type: ignore[union-attr]
    for opener in _ancestors(ctx, lineno, indent):
        block, called = own_name(opener, len(opener))
        if block is None:
            continue
        role = _role(block)
        # Another service's block (not a solver client called with it), or a
        # block of hashes or ids, says no whatever the value's own name.
        if role == "service" and not called and not calls:
            return _says(role, block, "its block")  # type: ignore[return-value]
        word = _counter(block)
        if role == "counter" and word is not None and word.rstrip("s") in evidence.BLOCK_COUNTER_WORDS:
            return _says(role, block, "its block")  # type: ignore[return-value]
        if role in ("key", "captchaai"):
            blocks.append(block)
    if name is None and not ruled:
        line = _previous(ctx, lineno)
        if line is not None:
            line = line.rstrip()
            if any(is_key_name(other) for other in identifiers(line)):
                return Verdict(True, for_=["a CaptchaAI key name on the line before it"])
            named = _NAMED_BEFORE.match(line)
            if named:
                name, where = named.group(1) or named.group(2), "the name before it"
            elif line.endswith(_INTRODUCES) and not _ITEM.match(line):
                name, calls = own_name(line, len(line))
                where = "the name before it"
    if name is None and blocks:
        name, where = blocks[0], "its block"
    if ruled:
        for_.append("a line rule found a key's name")
    elif name is not None:
        role = _role(name)
        if role == "service" and calls:
            role = "key"  # (a solver client called with it: TwoCaptcha(\n "<key>")
        if where != "its name" or role != "other" or not _prose(text, ctx.path):
            if (
                role == "other"
                and where == "its name"
                and blocks
                and _role(blocks[0]) in ("key", "captchaai")
            ):
                role = "key"  # (a label in a block named for keys: KEYS = {"reseller": ...})
            verdict = _says(role, name, where)
            if verdict is not None:
                return verdict
            for_.append(f"{where} {name!r} is a key's name")
    if COUNTER_PATH.search(ctx.path) and not for_:
        return Verdict(False, for_=for_, against=["a lockfile, checksum or project file"])
    if ctx.talks:
        return Verdict(True, for_=[*for_, "the file talks to CaptchaAI"])
    return Verdict(False, for_=for_, against=["the file does not talk to CaptchaAI"])


# Split keys: two quoted halves of hex joined by +, ., .., &, a comma (a
# join list) or nothing (implicit concatenation), on one line or two; or
# two lines that each hold one half (``K1=...`` then ``K2=...``).
_SPLIT = re.compile(
    r"""(?P<q>["'`])(?P<a>[0-9a-fA-F]{8,24})(?P=q)\s*(?:\+|\.\.?|&|,)?\s*"""
    r"""(?:\\?\n\s*(?:\+|\.\.?|&)?\s*)?(?P<r>["'`])(?P<b>[0-9a-fA-F]{8,24})(?P=r)"""
)
_SPLIT_LINES = re.compile(
    r"""[=:][ \t]*["'`]?(?P<a>[0-9a-fA-F]{8,24})["'`]?[ \t]*[,;]?[ \t]*\r?\n"""
    r"""[^\n=:]{0,60}[=:][ \t]*["'`]?(?P<b>[0-9a-fA-F]{8,24})["'`]?[ \t]*[,;]?[ \t]*(?=\r?\n|$)"""
)


def split_keys(text: str) -> list[tuple[int, int, str]]:
    """``(line, column, key)`` of the keys written as two halves of hex in
    ``text``: quoted and joined (``"<16 hex>" "<16 hex>"``,
    ``"".join(["<16>", "<16>"])``), or assigned on two lines in a row
    (``K1=<16 hex>`` then ``K2=<16 hex>``). Only in files up to
    :data:`~captchaai_guard.sources.diff.HALVES_MAX` characters (a key split by hand sits in a
    small file)."""
    if len(text) > HALVES_MAX:
        return []
    found: dict[int, tuple[int, int, str]] = {}
    for pattern in (_SPLIT, _SPLIT_LINES):
        for m in pattern.finditer(text):
            key = m.group("a") + m.group("b")
            at = m.start("a")
            if len(key) != 32 or at in found:
                continue
            line_start = text.rfind("\n", 0, at) + 1
            line = text[line_start : text.find("\n", at) if "\n" in text[at:] else len(text)]
            name = own_name(line, at - line_start)[0]
            if name is not None and _counter(name) is not None:
                continue  # (trace and span ids are halves of nothing)
            found[at] = (text.count("\n", 0, at) + 1, at - line_start + 1, key)
    return sorted(found.values())


def binary_keys(data: bytes, strong: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    """``(key, context)`` of the keys in the printable runs of binary
    ``data`` (what ``strings`` shows) that stand beside a CaptchaAI key name
    or a CaptchaAI URL's ``key=``: ``strong(context, key)`` decides, on the
    runs around the key joined by spaces."""
    runs = [m.group().decode("ascii") for m in BINARY_RUN.finditer(data)]
    found: list[tuple[str, str]] = []
    for index, run in enumerate(runs):
        for m in _BINARY_KEY.finditer(run):
            key = m.group("key")
            if judge_value(key) is not None or any(key == seen for seen, _ in found):
                continue
            around = " ".join(runs[max(0, index - 3) : index + 4])
            if m.group("name") or strong(around, key):
                found.append((key, around))
    return found


# A key in a printable run: standing whole, or glued to a CaptchaAI key name
# before it (a database row stores its cells side by side).
_BINARY_KEY = re.compile(
    r"(?P<name>(?i:(?<!no)capt?cha[_-]?a?ai[\w.-]{0,20}?(?:key|token)))?"
    r"(?(name)|(?<![A-Za-z0-9]))(?P<key>[A-Za-z0-9]{32})(?(name)(?![0-9a-fA-F])|(?![A-Za-z0-9]))"
)
