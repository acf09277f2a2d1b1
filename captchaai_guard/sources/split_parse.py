"""The end of a large staged diff, parsed by two processes.

git writes the staged diff into a file (:class:`prestart.GrowingFile`) faster
than Python parses it, so when git exits the scan may still have megabytes
to go while the second CPU sits idle. Then the rest is cut in two at a file
boundary (``diff --git``): a forked child parses the second half while this
process parses the first; the child sends back its events (the few added
lines that may hold a key, and the end of each file), which are replayed
after this process's own, in order: the findings are the same, in the same
order, as from one process.

Only where ``os.fork`` exists and there are two CPUs or more; anything the
child cannot finish fails the scan (exit 2), never passes it.
"""

from __future__ import annotations

import os

from captchaai_guard.sources.diff import BLOCK_SIZE, AddedLine, DiffFile, FileEnd, parse_stream
from captchaai_guard.sources.prestart import Forked, GrowingFile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from captchaai_guard.sources.diff import Event

# Cut the rest in two only when there is at least this much of it.
MIN_REST = 1 << 20
# Until the cut, blocks of at most this size: git's exit is noticed between
# two reads, a quarter of a block's parse after it rather than a whole one
# (the parse costs the same in blocks of 256 KiB as of 1 MiB).
LOOK = 1 << 18
# This process checks its part's candidate lines with the rules as it goes
# and loads the report's modules while it waits; the child only parses.
# Its part is this much shorter than the child's (a few milliseconds).
HEAD_START = 1 << 19
_BOUNDARY = b"\ndiff --git "
_FIELDS = (
    "path",
    "old_path",
    "old_blob",
    "new_blob",
    "binary",
    "combined",
    "deleted",
    "link",
    "new_prefix",
    "mentions",
    "shown",
)


class _Part:
    """Reads ``fd`` from ``offset`` up to ``end`` (git has exited)."""

    def __init__(self, fd: int, offset: int, end: int) -> None:
        self.fd, self.offset, self.end = fd, offset, end

    def read(self, size: int = -1) -> bytes:
        want = min(size if size > 0 else BLOCK_SIZE, self.end - self.offset)
        if want <= 0:
            return b""
        data = os.pread(self.fd, want, self.offset)
        self.offset += len(data)
        return data


class _Splitting:
    """A :class:`GrowingFile` that, once git has exited with enough left to
    read, hands the second half to a child and reads on only to the cut."""

    def __init__(self, stream: GrowingFile, parse: dict[str, object]) -> None:
        self.stream = stream
        self.parse = parse
        self.part: _Part | None = None  # what this process reads, once git has exited
        self.child: Forked | None = None  # the child parsing the second half

    def read(self, size: int = -1) -> bytes:
        stream = self.stream
        if self.part is None and stream.fd is not None and stream.proc.poll() is not None:
            self._cut(stream.fd, stream.offset)  # git has exited: its file is whole
        if self.part is not None:
            return self.part.read(size)
        # Smaller reads while git writes: its exit is seen sooner.
        return stream.read(min(size if size > 0 else BLOCK_SIZE, LOOK))

    def _cut(self, fd: int, offset: int) -> None:
        total = os.fstat(fd).st_size
        self.part = _Part(fd, offset, total)  # decided: cut here or never
        if total - offset < MIN_REST:
            return
        at = _boundary(fd, offset + max(total - offset - HEAD_START, 0) // 2, offset, total)
        if at is None:
            return
        options = self.parse
        # The child parses [at, total) and sends its events as plain tuples.
        self.child = Forked(lambda: list(_records(parse_stream(_Part(fd, at, total), **options))))  # type: ignore[arg-type]
        self.part.end = at

    def replay(self) -> Iterator[Event]:
        """The child's events, once this process has parsed its part."""
        if self.child is not None:
            yield from _events(self.child.result("the end of the diff"))  # type: ignore[arg-type]

    def abandon(self) -> None:
        """Stop the child (the scan was interrupted)."""
        if self.child is not None:
            self.child.abandon()


def parse(stream: GrowingFile, **options: object) -> Iterator[Event]:
    """:func:`diff.parse_stream` of ``stream`` (a file git writes), in two
    processes once git has exited with :data:`MIN_REST` or more to parse."""
    splitting = _Splitting(stream, options)
    try:
        yield from parse_stream(splitting, **options)  # type: ignore[arg-type]
        yield from splitting.replay()
    finally:
        splitting.abandon()


def _boundary(fd: int, target: int, start: int, end: int) -> int | None:
    """The file boundary (``diff --git`` line) of ``[start, end)`` nearest
    to ``target``, looked for within a block either side, else the first
    after it; None when there is none (``start`` itself never counts)."""
    low = max(start, target - BLOCK_SIZE)
    window = os.pread(fd, min(end, target + BLOCK_SIZE) - low, low)
    before = window.rfind(_BOUNDARY, 0, target - low + len(_BOUNDARY))
    after = window.find(_BOUNDARY, target - low)
    near = [low + at + 1 for at in (before, after) if at != -1]
    if near:
        return min(near, key=lambda at: abs(at - target))
    pos = low + max(len(window) - len(_BOUNDARY), 0)
    while pos < end:
        window = os.pread(fd, BLOCK_SIZE + len(_BOUNDARY), pos)
        found = window.find(_BOUNDARY)
        if found != -1:
            return pos + found + 1
        pos += BLOCK_SIZE
    return None


def _records(events: Iterator[Event]) -> Iterator[tuple[object, ...]]:
    """Events as plain tuples: ``(kind, file number, file fields, line number, text)``."""
    numbers: dict[int, int] = {}
    for event in events:
        file = event.file
        number = numbers.setdefault(id(file), len(numbers))
        fields = tuple(getattr(file, name) for name in _FIELDS)
        if isinstance(event, AddedLine):
            yield ("line", number, fields, event.lineno, event.text)
        else:
            yield ("end", number, fields, 0, b"")


def _events(records: Sequence[tuple[object, ...]]) -> Iterator[Event]:
    files: dict[object, DiffFile] = {}
    for kind, number, fields, lineno, text in records:
        file = files.get(number)
        if file is None:
            file = files[number] = DiffFile("")
        for name, value in zip(_FIELDS, fields):  # type: ignore[call-overload]
            setattr(file, name, value)
        if kind == "line":
            yield AddedLine(file, lineno, text)  # type: ignore[arg-type]
        else:
            yield FileEnd(file)
