"""Decide whether a candidate key is a CaptchaAI key, from evidence.

The line rules of :mod:`captchaai_guard.rules` settle the syntaxes they
name. Every other 32-character run that stands whole on an added line is an
*open* candidate, decided here in steps, each a named piece of evidence
(the lists are data, in :mod:`captchaai_guard.evidence`):

1. the value: a placeholder or a published example is no key;
2. its own name (the nearest name before it on its line, e.g. ``sitekey``,
   ``md5``, ``OPENWEATHER_KEY``): a hash, id or captcha-parameter word, or
   another service's name, says it is not a CaptchaAI key;
3. a CaptchaAI name on the line (``captchaai_api_key_reserve``,
   ``("captchaai", "<key>")``, ``CAPTCHAI_KEY``): it is one;
4. the lines around it: the name on the previous line (``key=`` then the
   key; ``- name: CAPTCHAAI_API_KEY`` then ``value: <key>``), the names of
   the enclosing list, dict or block (``CAPTCHAAI_KEYS = [``), a CSV
   column's header: counter-evidence there says no, a CaptchaAI name yes;
5. the file: a lockfile, checksum list or project file says no; a file
   that talks to CaptchaAI (names it anywhere, or in its path) says yes for
   32 hex characters.

Steps 1-3 need only the line (:func:`judge_line`); 4-5 need the file
(:func:`judge_in_file`), read only for files that hold an open candidate.
The scan adds one more (:class:`Decider`): once a value is reported, every
other occurrence of it in the scan is reported too.
"""

from __future__ import annotations

import re

from captchaai_guard import evidence, filters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_IDENT = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@]*(?:(?:[.\-]|::)[A-Za-z_$@][A-Za-z0-9_$@]*)*")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]{32}")
_KEYISH = re.compile(r"key|token|secret|auth|cred|pass")
_INDENT = re.compile(r"[ \t]*")
_ITEM = re.compile(r"""\s*(?:["'`\-]|[0-9a-fA-F]{32})""")  # a line that is an item of a list
_LOOK_BACK = 40  # lines searched for the enclosing block
_NAME_WINDOW = 160  # characters before a value searched for its names


def words(name: str) -> list[str]:
    """The lower-case words of a name: ``captchaaiApiKey_2`` is
    ``captchaai``, ``api``, ``key``, ``2`` (a run of capitals stays whole,
    so ``CaptchaAIKey`` is ``captcha``, ``ai``, ``key``)."""
    out: list[str] = []
    for part in re.split(r"[._\-:$@]+", name):
        if not part:
            continue
        if part.islower() or part.isupper() or part.isdigit():
            out.append(part.lower())
        else:
            out.extend(piece.lower() for piece in _PART.findall(part))
    return out


def names_captchaai(name: str) -> bool:
    """``name`` (any spelling: ``CaptchaAI``, ``captcha.ai``, ``CAPTCHAI_KEY``) names CaptchaAI."""
    lowered = name.lower()
    if evidence.MENTION.search(lowered) is not None:
        return True
    return evidence.MENTION.search(re.sub(r"[\s._\-:$@]", "", lowered)) is not None


def is_key_name(name: str) -> bool:
    """A CaptchaAI key's name: CaptchaAI and a key word in one name."""
    return names_captchaai(name) and _KEYISH.search(name.lower()) is not None


class Verdict:
    """A decision with the evidence that made it."""

    __slots__ = ("against", "for_", "report")

    def __init__(self, report: bool, for_: Sequence[str] = (), against: Sequence[str] = ()) -> None:
        self.report = report
        self.for_ = list(for_)
        self.against = list(against)

    def __repr__(self) -> str:
        return f"Verdict(report={self.report}, for={self.for_}, against={self.against})"


def own_names(text: str, start: int) -> list[str]:
    """The names before ``text[start:]`` on its line, nearest first, words
    that say nothing (``value``, ``const``, ``b``) left out."""
    before = text[max(0, start - _NAME_WINDOW) : start]
    found = [m.group() for m in _IDENT.finditer(before)]
    return [name for name in reversed(found) if not all(w in evidence.TRANSPARENT_WORDS for w in words(name))]


def _counter(name: str) -> str | None:
    """The word of ``name`` that says its value is no CaptchaAI key."""
    found = words(name)
    for word in found:
        if (
            word in evidence.COUNTER_WORDS
            or (word.endswith("s") and word[:-1] in evidence.COUNTER_WORDS)
            or word.startswith(("sha", "md5", "crc"))
        ):
            return word
    if not names_captchaai(name):
        for word in found:
            if word in evidence.VENDOR_WORDS:
                return word
    return None


def judge_value(value: str) -> Verdict | None:
    """Step 1: a value that is never a key."""
    if filters.drop(value):
        return Verdict(False, against=["placeholder value"])
    if value.lower() in evidence.DOCUMENTED_VALUES:
        return Verdict(False, against=["published example value"])
    return None


def _role(name: str) -> str:
    """What a name says of the value it names: ``"counter"`` (a hash, an id,
    another service's key), ``"captchaai"`` (a CaptchaAI key's name),
    ``"key"`` (a key's name, made only of key and role words) or
    ``"other"`` (a name of something else: ``REDIS_PASSWORD``, ``expected``)."""
    if _counter(name) is not None:
        return "counter"
    if is_key_name(name) or names_captchaai(name):
        return "captchaai"
    last = re.split(r"\.|::", name)[-1]  # (cfg.key, self.api_key: the field's own name)
    if all(
        w in evidence.KEY_WORDS or w in evidence.ROLE_WORDS or w in evidence.TRANSPARENT_WORDS or w.isdigit()
        for w in words(last)
    ):
        return "key"
    return "other"


def _named(names: list[str]) -> str | None:
    """The name that names a value (the nearest of ``names``), if any: a
    name of one or two characters (minified code) names nothing."""
    for name in names:
        if len(name) > 2:
            return name
    return None


def _verdict(role: str, name: str, where: str) -> Verdict | None:
    """The verdict a name gives (None: a key's name, for the file to confirm)."""
    if role == "counter":
        return Verdict(False, against=[f"{where} {name!r} says {_counter(name)!r}"])
    if role == "captchaai":
        return Verdict(True, for_=[f"{where} {name!r} names CaptchaAI"])
    if role == "other":
        return Verdict(False, against=[f"{where} {name!r} names something else"])
    return None


def judge_line(value: str, text: str, start: int, end: int) -> Verdict | None:
    """Steps 1-3 for the candidate ``text[start:end]`` (``value``): a final
    verdict, or None when the lines around it and the file must decide."""
    verdict = judge_value(value)
    if verdict is not None:
        return verdict
    name = _named(own_names(text, start))
    role = _role(name) if name is not None else None
    if role in ("counter", "captchaai"):
        return _verdict(role, name, "its name")  # type: ignore[arg-type]
    if evidence.CHECKSUM_LINE.match(text):
        return Verdict(False, against=["a checksum list entry"])
    if _HEX.fullmatch(value) is None:
        # Letters beyond hex: only a CaptchaAI key name right before it makes a key of it.
        return Verdict(False, against=["not hex, and no CaptchaAI key name before it"])
    for other in _names_on_line(text, start, end):
        if is_key_name(other) or (role is None and names_captchaai(other)):
            return Verdict(True, for_=[f"CaptchaAI named on the line ({other!r})"])
    if role == "other":
        return _verdict(role, name, "its name")  # type: ignore[arg-type]
    return None


def _names_on_line(text: str, start: int, end: int) -> list[str]:
    return [m.group() for m in _IDENT.finditer(text) if m.end() <= start or m.start() >= end]


class FileText:
    """The new content of a file, as much as the scan knows of it: all of
    it (a blob, a file) or some lines (a diff on standard input)."""

    __slots__ = ("_lines", "path", "talks")

    def __init__(self, path: str, lines: Sequence[str] | dict[int, str], talks: bool) -> None:
        self.path = path
        self._lines = lines
        self.talks = talks  # the file names CaptchaAI (or its path does)

    @classmethod
    def of(cls, path: str, text: str, mentions: bool = False) -> FileText:
        talks = mentions or evidence.MENTION.search(text.lower()) is not None
        return cls(path, text.split("\n"), talks or names_captchaai(path))

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based), without its line break; None when unknown."""
        lines = self._lines
        if isinstance(lines, dict):
            return lines.get(number)
        return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else None


def _previous(ctx: FileText, lineno: int) -> tuple[int, str] | None:
    for number in range(lineno - 1, max(0, lineno - 4), -1):
        line = ctx.line(number)
        if line is not None and line.strip():
            return number, line
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


_INTRODUCES = ("=", ":", "=>", "(", "[", "{", ",")  # a line ending so gives its name to the next


def judge_in_file(value: str, text: str, start: int, lineno: int, ctx: FileText) -> Verdict:
    """Steps 4-5 for an open candidate that :func:`judge_line` left open:
    the nearest name that names it (its own, a CSV column's header, the
    previous line's, the enclosing block's) decides, and the file confirms."""
    for_: list[str] = []
    name = _named(own_names(text, start))
    where = "its name"
    if name is None and evidence.TABLE_PATH.search(ctx.path):
        name, where = _column_header(ctx, text, start), "its column"
    if name is None:
        previous = _previous(ctx, lineno)
        if previous is not None:
            line = previous[1].rstrip()
            if any(is_key_name(other) for other in _IDENT.findall(line)):
                return Verdict(True, for_=["a CaptchaAI key name on the line before it"])
            if line.endswith(_INTRODUCES):
                name, where = _named(own_names(line, len(line))), "the name before it"
    if name is None:
        indent = len(_INDENT.match(text).group())  # type: ignore[union-attr]
        for opener in _ancestors(ctx, lineno, indent):
            name = _named(own_names(opener, len(opener)))
            if name is not None:
                where = "its block"
                break
    if name is not None:
        role = _role(name)
        verdict = _verdict(role, name, where)
        if verdict is not None:
            return verdict
        for_.append(f"{where} {name!r} is a key's name")
    if evidence.COUNTER_PATH.search(ctx.path):
        return Verdict(False, for_=for_, against=["a lockfile, checksum or project file"])
    if ctx.talks:
        return Verdict(True, for_=[*for_, "the file talks to CaptchaAI"])
    return Verdict(False, for_=for_, against=["the file does not talk to CaptchaAI"])


# Split keys: two quoted halves of hex joined by +, ., .., &, a comma (a
# join list) or nothing (implicit concatenation), on one line or two.
_SPLIT = re.compile(
    r"""(?P<q>["'`])(?P<a>[0-9a-fA-F]{8,24})(?P=q)\s*(?:\+|\.\.?|&|,)?\s*"""
    r"""(?:\\?\n\s*(?:\+|\.\.?|&)?\s*)?(?P<r>["'`])(?P<b>[0-9a-fA-F]{8,24})(?P=r)"""
)


def split_keys(text: str) -> list[tuple[int, int, str]]:
    """``(line, column, key)`` of the keys written as two quoted halves
    (``"<16 hex>" "<16 hex>"``, ``"".join(["<16>", "<16>"])``) in ``text``."""
    found: list[tuple[int, int, str]] = []
    for m in _SPLIT.finditer(text):
        key = m.group("a") + m.group("b")
        if len(key) != 32:
            continue
        at = m.start("a")
        found.append((text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at), key))
    return found


def identifiers(text: str) -> list[str]:
    """The names written in ``text``."""
    return _IDENT.findall(text)


def binary_keys(data: bytes, strong: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    """``(key, context)`` of the keys in the printable runs of binary
    ``data`` (what ``strings`` shows) that stand beside a CaptchaAI key name
    or a CaptchaAI URL's ``key=``: ``strong(context, key)`` decides, on the
    runs around the key joined by spaces."""
    runs = [m.group().decode("ascii") for m in evidence.BINARY_RUN.finditer(data)]
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
    r"(?P<name>(?i:capt?cha[_-]?a?ai[\w.-]{0,20}?(?:key|token)))?"
    r"(?(name)|(?<![A-Za-z0-9]))(?P<key>[A-Za-z0-9]{32})(?(name)(?![0-9a-fA-F])|(?![A-Za-z0-9]))"
)
