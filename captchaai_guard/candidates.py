"""Fast prefilter: where in a buffer could a 32-character key stand?

Every rule needs a run of at least 32 letters and digits. Instead of a
Python loop per line, a buffer is mapped in C (``bytes.translate``) so that
every letter and digit becomes ``a`` and everything else a space, and runs
of 32 ``a`` are found with ``bytes.find``. Only the lines around those
positions are ever decoded or handed to the rule regexes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TABLE = bytes(0x61 if i in _ALNUM else 0x20 for i in range(256))
_RUN = b"a" * 32
KEY_LENGTH = 32


def candidate_lines(
    buf: bytes,
    start: int = 0,
    end: int | None = None,
    keywords: Sequence[bytes] = (),
    every_line: bool = False,
) -> Iterator[tuple[int, int]]:
    """Yield ``(line_start, line_end)`` of each line in ``buf[start:end]``
    holding a run of 32 or more letters and digits, once per line, in order.

    ``line_end`` is the index of the newline (or ``end``). Custom rules widen
    the net: lines holding one of ``keywords`` (lower-case; matched without
    regard to case) are candidates too, and ``every_line`` yields them all.
    """
    if end is None:
        end = len(buf)
    if every_line:
        yield from _all_lines(buf, start, end)
        return
    if keywords:
        yield from _with_keywords(buf, start, end, keywords)
        return
    if end - start < KEY_LENGTH:
        return
    mapped = buf[start:end].translate(_TABLE)
    pos = mapped.find(_RUN)
    while pos != -1:
        absolute = start + pos
        line_start = buf.rfind(b"\n", start, absolute) + 1
        if line_start == 0:
            line_start = start
        line_end = buf.find(b"\n", absolute, end)
        if line_end == -1:
            line_end = end
        yield line_start, line_end
        pos = mapped.find(_RUN, line_end - start)


def _all_lines(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        line_end = buf.find(b"\n", pos, end)
        if line_end == -1:
            line_end = end
        yield pos, line_end
        pos = line_end + 1


def _line_of(buf: bytes, start: int, end: int, pos: int) -> tuple[int, int]:
    line_start = buf.rfind(b"\n", start, pos) + 1
    if line_start == 0:
        line_start = start
    line_end = buf.find(b"\n", pos, end)
    return line_start, end if line_end == -1 else line_end


def _with_keywords(
    buf: bytes, start: int, end: int, keywords: Sequence[bytes]
) -> Iterator[tuple[int, int]]:
    """Candidate lines plus the lines holding a keyword, once each, in order."""
    lines = dict.fromkeys(candidate_lines(buf, start, end))
    lowered = buf[start:end].lower()
    for word in keywords:
        pos = lowered.find(word)
        while pos != -1:
            line = _line_of(buf, start, end, start + pos)
            lines[line] = None
            pos = lowered.find(word, line[1] - start)
    yield from sorted(lines)
