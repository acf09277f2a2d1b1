"""Streaming parser for the unified diffs git prints.

It reads the diff in large blocks and yields only what a scan needs: the
*added* lines that may hold a key (see :mod:`captchaai_guard.detect.candidates`),
with their line number in the new file, and the end of every file section
(so binary files and file-level context can be settled). Work per byte is
done in C by ``bytes`` methods; Python code runs per file and per candidate
line (and per hunk only where a candidate line lies in it), never per line
of the diff.

Commit boundaries are lines starting with ``\\x1f`` (the format
:mod:`captchaai_guard.sources.gitio` asks ``git log`` for). Merges come as combined
diffs (``diff --cc``): a line is the merge's own when every parent's column
marks it ``+``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence

from captchaai_guard.sources.gitargs import COMMIT_MARK, FIELD_SEP

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:
    from typing import IO, Protocol

    from captchaai_guard.sources.commit import Commit

    class LineFinder(Protocol):
        """Which lines of ``buf[start:end]`` could hold a key, as
        ``(line_start, line_end)``: the prefilter of
        :class:`captchaai_guard.detect.candidates.Finder`, which the scan
        hands to the parser. ``keywords``: whether it reads ``lowered``."""

        @property
        def keywords(self) -> Sequence[bytes]: ...

        def __call__(
            self,
            buf: bytes,
            start: int = ...,
            end: int | None = ...,
            lowered: bytes | None = ...,
        ) -> Iterator[tuple[int, int]]: ...


BLOCK_SIZE = 1 << 20
# Halves of a key are looked for in files (diff sections) up to this size: a
# key split by hand sits in a small file.
HALVES_MAX = 256 * 1024
NULL_SHA = re.compile(r"^0+$")
# A line opening a file or a commit (see _sections).
_STARTS_SECTION = re.compile(rb"(?:diff --(?:git|cc|combined) |\x1f)")
_HUNK = re.compile(rb"^@@+ ((?:-\d+(?:,\d+)? )+)\+(\d+)(?:,(\d+))? @@")
_NO_OLD_LINES = re.compile(rb"^(?:-\d+,0 )+$")
# ``index OLD..NEW [MODE]``; a combined diff has one OLD per parent.
_INDEX = re.compile(rb"^index ([0-9a-f]+(?:,[0-9a-f]+)*)\.\.([0-9a-f]+)(?: (\d+))?")
_PLUS, _MINUS, _SPACE, _BACKSLASH = 0x2B, 0x2D, 0x20, 0x5C


# Plain classes with __slots__, not dataclasses: importing ``dataclasses``
# (and the ``inspect`` module it pulls in) costs a commit hook more than the
# rest of its start-up.


class DiffFile:
    """One file section of a diff."""

    __slots__ = (
        "binary",
        "combined",
        "commit",
        "deleted",
        "link",
        "mentions",
        "new_blob",
        "new_prefix",
        "old_blob",
        "old_path",
        "path",
        "shown",
    )

    def __init__(self, path: str, old_path: str | None = None, new_prefix: str = "b/") -> None:
        self.path = path
        self.old_path = old_path
        self.old_blob: str | None = None
        self.new_blob: str | None = None
        self.binary = False
        self.combined = False  # a merge's combined diff (``diff --cc``)
        self.deleted = False
        self.link = False  # a symlink (its target is not content) or a submodule
        self.new_prefix = new_prefix  # what git put before new-side paths
        self.mentions = False  # CaptchaAI named in an added or context line
        self.shown = 0  # bytes of hunks shown (for a file read whole: its size)
        self.commit: Commit | None = None

    def __repr__(self) -> str:
        return f"DiffFile(path={self.path!r}, old_path={self.old_path!r})"


class AddedLine:
    """An added line that may hold a key."""

    __slots__ = ("file", "lineno", "text")

    def __init__(self, file: DiffFile, lineno: int, text: bytes) -> None:
        self.file = file
        self.lineno = lineno
        self.text = text  # without the leading '+' and the line break


class FileEnd:
    """The end of a file section."""

    __slots__ = ("file",)

    def __init__(self, file: DiffFile) -> None:
        self.file = file


Event = AddedLine | FileEnd


def unquote_path(raw: bytes) -> str:
    """Undo git's C-style quoting of a path (``"a\\tb"``, octal escapes)."""
    if not raw.startswith(b'"'):
        return raw.decode("utf-8", "surrogateescape")
    body = raw[1:-1] if raw.endswith(b'"') else raw[1:]
    out = bytearray()
    i = 0
    simple = {
        ord("n"): 10,
        ord("t"): 9,
        ord("r"): 13,
        ord("a"): 7,
        ord("b"): 8,
        ord("f"): 12,
        ord("v"): 11,
        ord("\\"): 92,
        ord('"'): 34,
    }
    while i < len(body):
        ch = body[i]
        if ch == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(48 <= d <= 55 for d in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def _split_quoted(rest: bytes) -> tuple[bytes, bytes] | None:
    """Split ``"a/x" b/y`` (either side may be quoted) into its two paths."""
    if rest.startswith(b'"'):
        i = 1
        while i < len(rest):
            if rest[i] == 92:
                i += 2
                continue
            if rest[i] == 34:
                break
            i += 1
        return rest[: i + 1], rest[i + 2 :]
    if rest.endswith(b'"'):
        j = rest.rfind(b' "')
        return rest[:j], rest[j + 1 :]
    return None


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


# Source/destination prefixes git may print: the default, diff.mnemonicPrefix
# (i/ w/ c/ o/), --no-index (1/ 2/) and diff.noprefix (none). Diffs from
# :mod:`captchaai_guard.sources.gitio` always use a/ b/; the others come on --stdin.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("a/", "b/"),
    ("i/", "w/"),
    ("c/", "w/"),
    ("c/", "i/"),
    ("o/", "w/"),
    ("1/", "2/"),
    ("", ""),
)


def _symmetric(rest: str) -> tuple[str, str] | None:
    """``<p>name <q>name`` → (name, q) for a known prefix pair (p, q)."""
    for old_prefix, new_prefix in _PREFIXES:
        n = len(rest) - len(old_prefix) - len(new_prefix) - 1
        if n <= 0 or n % 2:
            continue
        n //= 2
        name = rest[len(old_prefix) : len(old_prefix) + n]
        if rest == f"{old_prefix}{name} {new_prefix}{name}":
            return name, new_prefix
    return None


def parse_git_header(line: bytes) -> DiffFile:
    """``diff --git a/P b/Q`` → a DiffFile named Q (refined by later headers)."""
    rest = line[len(b"diff --git ") :]
    quoted = _split_quoted(rest)
    if quoted is not None:
        old, new = unquote_path(quoted[0]), unquote_path(quoted[1])
        for old_prefix, new_prefix in _PREFIXES:
            if old.startswith(old_prefix) and new.startswith(new_prefix):
                return DiffFile(
                    path=new[len(new_prefix) :], old_path=old[len(old_prefix) :], new_prefix=new_prefix
                )
    # Unquoted: "a/P b/P" is symmetric unless renamed; the rename/+++ lines
    # that follow give the exact name in that case.
    text = rest.decode("utf-8", "surrogateescape")
    symmetric = _symmetric(text)
    if symmetric is not None:
        name, new_prefix = symmetric
        return DiffFile(path=name, old_path=name, new_prefix=new_prefix)
    sep = text.find(" b/")
    return DiffFile(path=text[sep + 3 :] if sep != -1 else text)


def _apply_header(file: DiffFile, line: bytes) -> None:
    if line.startswith(b"+++ "):
        target = line[4:].rstrip(b"\t")
        if target != b"/dev/null":
            file.path = _strip_prefix(unquote_path(target), file.new_prefix)
    elif line.startswith(b"rename to ") or line.startswith(b"copy to "):
        file.path = unquote_path(line.split(b" ", 2)[2])
    elif line.startswith(b"rename from ") or line.startswith(b"copy from "):
        file.old_path = unquote_path(line.split(b" ", 2)[2])
    elif line.startswith(b"index "):
        match = _INDEX.match(line)
        if match:
            old, new = match.group(1).decode(), match.group(2).decode()
            file.old_blob = None if NULL_SHA.match(old) or "," in old else old
            file.new_blob = None if NULL_SHA.match(new) else new
            if match.group(3):
                file.link = match.group(3) in (b"120000", b"160000")
    elif line.startswith(b"deleted file mode"):
        file.deleted = True
    elif line.startswith((b"new file mode ", b"new mode ")):
        file.link = line.endswith((b" 120000", b" 160000"))
    elif line.startswith(b"Binary files ") or line.startswith(b"GIT binary patch"):
        file.binary = True


def parse_combined_header(line: bytes) -> DiffFile:
    """``diff --cc PATH`` (or ``--combined``) → a DiffFile for a merge's combined diff."""
    name = unquote_path(line.split(b" ", 2)[2])
    file = DiffFile(path=name, old_path=name)
    file.combined = True
    return file


def parse_commit_line(line: bytes) -> Commit:
    from captchaai_guard.sources.commit import Commit

    fields = line.decode("utf-8", "replace")[len(COMMIT_MARK) :].split(FIELD_SEP)
    fields += [""] * (4 - len(fields))
    return Commit(sha=fields[0].strip(), author=fields[1], email=fields[2], date=fields[3].strip())


_CAPTCHA = b"captcha"


def _mentions_captchaai(lowered: bytes, start: int, end: int) -> bool:
    """True when an added or context line of ``lowered[start:end]`` (a
    lower-cased region of a hunk, ``start`` a line start) names CaptchaAI."""
    pos = lowered.find(_CAPTCHA, start, end)
    while pos != -1:
        if _names_captchaai(lowered, start, pos):
            return True
        pos = lowered.find(_CAPTCHA, pos + 7, end)
    return False


def _names_captchaai(text: bytes, start: int, pos: int) -> bool:
    """``text[pos:]`` (lower-cased) starts CaptchaAI's name, on an added or
    context line of a region starting at ``start``."""
    tail = text[pos + 7 : pos + 10].lower()
    if text[max(pos - 3, 0) : pos].lower().endswith((b"no", b"no_", b"no-")):
        return False  # (noCaptchaAI is another service)
    if tail[:2] == b"ai" or tail in (b"_ai", b"-ai"):
        line_start = max(text.rfind(b"\n", start, pos) + 1, start)
        return text[line_start] != _MINUS and not _HUNK_AT.match(text, line_start)
    return False


# What decide.split_keys looks for, as bytes: two quoted halves of hex on one
# line or two, or two lines in a row each assigning one.
_HALVES = re.compile(
    rb"""["'`][0-9a-fA-F]{8,24}["'`]\s*(?:\+|\.\.?|&|,)?\s*"""
    rb"""(?:\\?\n[+ ]?\s*(?:\+|\.\.?|&)?\s*)?["'`][0-9a-fA-F]{8,24}["'`]"""
    rb"""|[=:][ \t]*["'`]?[0-9a-fA-F]{8,24}["'`]?[ \t]*[,;]?[ \t]*\r?\n"""
    rb"""[^\n=:]{0,60}[=:][ \t]*["'`]?[0-9a-fA-F]{8,24}"""
)


def split_lines(buf: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """The lines of ``buf[start:end]`` (``start`` a line start) that hold
    halves of a key (see :func:`captchaai_guard.detect.decide.split_keys`)."""
    found: list[tuple[int, int]] = []
    for m in _HALVES.finditer(buf, start, end):
        at = m.start()
        while at < m.end():
            line_start = max(buf.rfind(b"\n", start, at) + 1, start)
            line_end = buf.find(b"\n", at, end)
            if line_end == -1:
                line_end = end
            found.append((line_start, line_end))
            at = line_end + 1
    return found


class _Block:
    """A block being parsed, with the whole-block passes its regions share,
    each made on first use."""

    __slots__ = ("_lowered", "buf")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self._lowered: bytes | None = None

    def lowered(self) -> bytes:
        if self._lowered is None:
            self._lowered = self.buf.lower()
        return self._lowered


def _new_lines(buf: bytes, start: int, end: int, added_only: bool = False) -> int:
    """How many lines of the new file start in ``buf[start:end]`` (``start``
    is a line start): added lines ('+') and context lines (' ').

    ``added_only``: the hunk has no old lines, hence no context or removed
    lines, and a ``\\ No newline`` line can only close it: every line counts
    (one single-byte count instead of two)."""
    if start >= end:
        return 0
    if added_only:
        return 1 + buf.count(b"\n", start, end - 1)
    first = buf[start] in (_PLUS, _SPACE)
    return first + buf.count(b"\n+", start, end) + buf.count(b"\n ", start, end)


def _merged_lines(buf: bytes, start: int, end: int, width: int) -> int:
    """How many lines starting in ``buf[start:end]`` (``start`` is a line
    start), a region of a combined diff with ``width`` columns, are in the
    merged file: all but the removed ones and ``\\ No newline`` notes. A
    removed line's columns hold only spaces and ``-`` (a ``+`` would put it
    in the merged file), so its first column that is not a space is ``-``."""
    if start >= end:
        return 0
    lines = 1 + buf.count(b"\n", start, end - 1)  # (a final line break starts no line here)
    dropped = buf.count(b"\n\\", start, end) + (buf[start] == _BACKSLASH)
    for spaces in range(width):
        mark = b" " * spaces + b"-"
        dropped += buf.count(b"\n" + mark, start, end) + buf.startswith(mark, start, end)
    return lines - dropped


_HUNK_AT = re.compile(rb"@@+ ")  # a line opening a hunk, or only looking like one
_FILE_KINDS = (b"git ", b"cc ", b"combined ")
_NEWLINE = 0x0A
_AT_LINE = b"\n@@"


def _sections(buf: bytes, start: int, end: int) -> list[int]:
    """Start offsets of the lines of ``buf[start:end]`` that open a file or
    a commit, in order (``start`` is a line start): ``diff --`` after a line
    break, and ``\\x1f`` (a rare byte, found with memchr) after one. Hunks
    are not listed: a hunk header is looked for only where a candidate line
    needs its numbers (see :meth:`DiffParser._body`)."""
    bounds = [start] if _STARTS_SECTION.match(buf, start, end) else []
    find = buf.find
    pos = find(b"\ndiff --", start, end)
    while pos != -1:
        if buf.startswith(_FILE_KINDS, pos + 8, end):
            bounds.append(pos + 1)
        pos = find(b"\ndiff --", pos + 8, end)
    pos = find(b"\x1f", start + 1, end)
    while pos != -1:
        if buf[pos - 1] == _NEWLINE:
            bounds.append(pos)
        pos = find(b"\x1f", pos + 1, end)
    bounds.sort()
    return bounds


def _at_line(buf: bytes, start: int, end: int) -> int:
    """The first line of ``buf[start:end]`` starting with ``@@`` (``start``
    is a line start), or ``end``."""
    if buf.startswith(b"@@", start, end):
        return start
    pos = buf.find(_AT_LINE, start, end)
    return end if pos == -1 else pos + 1


def _at_lines_backwards(buf: bytes, low: int, high: int) -> Iterator[int]:
    """The lines starting in ``buf[low:high]`` with ``@@`` (``low`` is a
    line start), last first."""
    pos = high
    while (found := buf.rfind(_AT_LINE, low, pos)) != -1:
        yield found + 1
        pos = found
    if buf.startswith(b"@@", low, high):
        yield low


class DiffParser:
    """Incremental parser: feed whole-line blocks, get events.

    The candidate lines of a block (see :mod:`captchaai_guard.detect.candidates`)
    are found once, over the whole block; the structure is walked only
    where it matters. Lines opening a file or a commit are all visited (few);
    a hunk header is parsed only when a candidate line follows it (the last
    one before the candidate, found with ``rfind``), and the lines between
    the header and the candidate are counted in C. A diff of many small
    hunks costs about what one of a few large ones does."""

    def __init__(self, finder: LineFinder, find_mentions: bool = True) -> None:
        self.finder = finder  # which lines of a block could hold a key
        # False: CaptchaAI's name is not looked for (DiffFile.mentions stays
        # False); the caller reads a file whole when a finding depends on it.
        self.find_mentions = find_mentions
        self.file: DiffFile | None = None
        self.commit: Commit | None = None
        self.in_hunk = False
        # The current hunk: its mode, and the new-file number (``lineno``) of
        # the line at ``cursor``; lines from there on are counted only when a
        # later candidate in the same hunk needs its number.
        self.added_only = False  # the hunk has only added lines
        self.columns = 1  # prefix columns of a hunk's lines: a combined diff has one per parent
        self.lineno = 0
        self.cursor = 0
        # Lines that only look like a hunk header ("@@ " without the rest),
        # among the lines not counted yet: they are no line of the file.
        self.fakes = 0
        # The uncounted tail (block, from, to) of the current hunk in the previous block.
        self.uncounted: tuple[bytes, int, int] | None = None
        self.next_at = 0  # in the block being fed: the first "@@" line not looked at yet
        self.block: _Block | None = None  # the block being fed
        self.candidates: list[tuple[int, int]] = []  # its candidate lines
        self.taken = 0  # how many of them were handled

    def _end_file(self) -> Iterator[Event]:
        if self.file is not None:
            yield FileEnd(self.file)
        self.file = None
        self.in_hunk = False
        self.uncounted = None

    def feed(self, buf: bytes, start: int = 0, end: int | None = None) -> Iterator[Event]:
        """Parse ``buf[start:end]``, which must start at a line start and end
        after a line break (or be the final block of the stream)."""
        if end is None:
            end = len(buf)
        if start >= end:
            return
        block = self.block = _Block(buf)
        lowered = block.lowered() if self.finder.keywords else None
        self.candidates = list(self.finder(buf, start, end, lowered))
        self.taken = 0
        bounds = _sections(buf, start, end)
        if not bounds or bounds[0] != start:
            # The block opens inside the section the previous block left off.
            yield from self._body(buf, start, bounds[0] if bounds else end)
        for first, last in zip(bounds, [*bounds[1:], end]):
            body = yield from self._structural(buf, first, last)
            yield from self._body(buf, body, last)
        self.block = None
        self.candidates = []

    def _structural(self, buf: bytes, start: int, end: int) -> Generator[Event, None, int]:
        """Handle the line opening a file or a commit at ``start``; return
        where its body starts."""
        line_end = buf.find(b"\n", start, end)
        if line_end == -1:
            line_end = end
        line = buf[start:line_end].rstrip(b"\r")
        yield from self._end_file()
        if line.startswith(b"\x1f"):
            self.commit = parse_commit_line(line)
        else:
            git = line.startswith(b"diff --git ")
            self.file = parse_git_header(line) if git else parse_combined_header(line)
            self.file.commit = self.commit
        return line_end + 1

    def _body(self, buf: bytes, start: int, end: int) -> Iterator[Event]:
        """The lines of a file section in ``buf[start:end]``: its headers,
        then its hunks, whose candidate lines become events."""
        candidates, taken = self.candidates, self.taken
        while taken < len(candidates) and candidates[taken][0] < start:
            taken += 1  # (on a line opening a file or a commit)
        self.taken = taken
        file = self.file
        if start >= end or file is None:
            return
        if self.in_hunk:  # going on from the previous block (its tail is in ``uncounted``)
            self.cursor = start
            self.next_at = _at_line(buf, start, end)
        else:
            first = self._first_hunk(buf, start, end)
            self._header_lines(buf, start, first)
            if first == end:
                return
            start = self.cursor
        file.shown += end - start
        if self.find_mentions and not file.mentions:  # settled once per file
            block = self.block
            assert block is not None
            file.mentions = _mentions_captchaai(block.lowered(), start, end)
        if file.mentions and file.shown <= HALVES_MAX:
            # (in a file that names CaptchaAI, the lines holding halves of a key too)
            halves = split_lines(buf, start, end)
            if halves:
                candidates = self.candidates = candidates[:taken] + sorted({*candidates[taken:], *halves})
        while taken < len(candidates) and candidates[taken][0] < end:
            line_start, line_end = candidates[taken]
            taken += 1
            if line_start < start or buf[line_start] != _PLUS:
                continue  # (a header line of the hunk; a line no parent or merge added)
            if line_start >= self.next_at:
                self._advance(buf, line_start, end)
            own = b"+" * self.columns  # (one column outside combined diffs)
            if buf.startswith(own, line_start):
                yield AddedLine(
                    file, self._number(buf, line_start), buf[line_start + len(own) : line_end].rstrip(b"\r")
                )
        self.taken = taken
        # The hunk may go on in the next block: keep the tail to count if it does.
        if self.next_at < end:
            self._advance(buf, end, end)
        if self.uncounted is not None:  # keep at most one tail
            self.lineno += self._count(*self.uncounted)
        self.uncounted = (buf, self.cursor, end)

    def _first_hunk(self, buf: bytes, start: int, end: int) -> int:
        """Enter the first hunk of ``buf[start:end]`` (a section's headers
        come before it); return where its header starts, or ``end``."""
        pos = _at_line(buf, start, end)
        while pos < end:
            if self._enter(buf, pos, end):
                return pos
            pos = _at_line(buf, buf.find(b"\n", pos, end) + 1 or end, end)
        return end

    def _enter(self, buf: bytes, start: int, end: int) -> bool:
        """Start the hunk whose header is at ``start``, if it is one."""
        if not _HUNK_AT.match(buf, start, end):
            return False
        line_end = buf.find(b"\n", start, end)
        if line_end == -1:
            line_end = end
        match = _HUNK.match(buf[start:line_end].rstrip(b"\r"))
        if not match:
            return False
        assert self.file is not None
        self.in_hunk = True
        self.lineno = int(match.group(2))
        self.added_only = _NO_OLD_LINES.match(match.group(1)) is not None
        self.columns = match.group(1).count(b"-") if self.file.combined else 1
        self.cursor = min(line_end + 1, end)
        self.fakes = 0
        self.uncounted = None
        self.next_at = _at_line(buf, self.cursor, end)
        return True

    def _advance(self, buf: bytes, upto: int, end: int) -> None:
        """Take in the ``@@`` lines of ``[next_at, upto)`` (``upto`` is a
        line start): the last real hunk header starts a new hunk; lines after
        it that only look like one are not counted."""
        fakes = 0
        for line_start in _at_lines_backwards(buf, self.next_at, upto):
            if self._enter(buf, line_start, end):
                self.fakes = fakes
                break
            fakes += _HUNK_AT.match(buf, line_start, end) is not None
        else:
            self.fakes += fakes
        self.next_at = _at_line(buf, upto, end)

    def _number(self, buf: bytes, line_start: int) -> int:
        """The new-file number of the line at ``line_start`` (in the current hunk)."""
        lineno = self.lineno
        if self.uncounted is not None:
            lineno += self._count(*self.uncounted)
            self.uncounted = None
        lineno += self._count(buf, self.cursor, line_start)
        if self.added_only or (self.file is not None and self.file.combined):
            lineno -= self.fakes  # (counted as lines above)
        self.fakes = 0
        self.lineno, self.cursor = lineno, line_start
        return lineno

    def _count(self, buf: bytes, start: int, end: int) -> int:
        file = self.file
        if file is not None and file.combined:
            return _merged_lines(buf, start, end, self.columns)
        return _new_lines(buf, start, end, self.added_only)

    def _header_lines(self, buf: bytes, start: int, end: int) -> None:
        assert self.file is not None
        for line in buf[start:end].split(b"\n"):
            if line:
                _apply_header(self.file, line.rstrip(b"\r"))

    def close(self) -> Iterator[Event]:
        yield from self._end_file()


_COLOR = re.compile(rb"\x1b\[[0-9;]*m")


def parse_stream(
    stream: IO[bytes],
    block_size: int = BLOCK_SIZE,
    *,
    finder: LineFinder,
    strip_color: bool = False,
    find_mentions: bool = True,
) -> Iterator[Event]:
    """Parse a unified diff from ``stream`` in blocks of ``block_size``;
    only the added lines ``finder`` picks become events.

    ``strip_color`` removes terminal colour codes first (a diff piped from
    ``git diff`` with ``color.ui=always``).
    ``find_mentions=False`` leaves CaptchaAI's name unlooked for (a pass
    over every block, lower-cased): for a caller that reads a file whole
    when a finding depends on it.
    """
    parser = DiffParser(finder, find_mentions)
    rest = b""

    def clean(block: bytes) -> bytes:  # whole lines: no colour code is split
        return _COLOR.sub(b"", block) if strip_color and b"\x1b" in block else block

    while True:
        data = stream.read(block_size)
        if not data:
            break
        start = 0
        if rest:
            # The line cut at the end of the previous read, completed on its
            # own: the block itself is never copied.
            first = data.find(b"\n") + 1
            if first == 0:
                rest += data
                continue
            yield from parser.feed(clean(rest + data[:first]))
            rest, start = b"", first
        cut = data.rfind(b"\n") + 1
        if cut <= start:
            rest = data[start:]
            continue
        rest = data[cut:]
        if strip_color:
            yield from parser.feed(clean(data[start:cut]))
        else:
            yield from parser.feed(data, start, cut)
    if rest:
        yield from parser.feed(clean(rest) + b"\n")
    yield from parser.close()


def parse_bytes(data: bytes, finder: LineFinder) -> Iterator[Event]:
    """Parse a whole diff held in memory."""
    parser = DiffParser(finder)
    if data and not data.endswith(b"\n"):
        data += b"\n"
    yield from parser.feed(data)
    yield from parser.close()


class DiffLines:
    """The new-file lines a diff held in memory shows of each file (added
    and context lines, by line number): what a scan of a diff on standard
    input knows of the lines around a candidate. Built on first use, for
    the files that ask."""

    __slots__ = ("_data", "_files")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._files: dict[str, dict[int, str]] | None = None

    def lines(self, path: str) -> dict[int, str]:
        """The lines of ``path`` the diff shows, by line number."""
        if self._files is None:
            self._files = self._build()
        return self._files.get(path, {})

    def _build(self) -> dict[str, dict[int, str]]:
        files: dict[str, dict[int, str]] = {}
        current: dict[int, str] | None = None
        file: DiffFile | None = None
        lineno = 0
        in_hunk = False
        for raw in _COLOR.sub(b"", self._data).split(b"\n"):
            if raw.startswith(b"diff --git "):
                file = parse_git_header(raw.rstrip(b"\r"))
                current, in_hunk = None, False
                continue
            if raw.startswith((b"diff --cc ", b"diff --combined ", b"\x1f")):
                file, current, in_hunk = None, None, False
                continue
            if file is None:
                continue
            if not in_hunk or raw.startswith(b"@@"):
                hunk = _HUNK.match(raw)
                if hunk is None:
                    if not in_hunk:
                        _apply_header(file, raw.rstrip(b"\r"))
                    continue
                if current is None:
                    current = files.setdefault(file.path, {})
                lineno, in_hunk = int(hunk.group(2)), True
                continue
            if raw[:1] in (b"+", b" "):
                current[lineno] = raw[1:].rstrip(b"\r").decode("utf-8", "replace")  # type: ignore[index]
                lineno += 1
        return files
