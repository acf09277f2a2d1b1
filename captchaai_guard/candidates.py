"""Fast prefilter: which lines of a buffer could hold a key?

Every built-in rule needs a run of at least 32 letters and digits and one of
its keywords on the same line. Both are looked for in C, over whole blocks:

* ``bytes.translate`` maps letters and digits to ``a`` and everything else
  to a space; runs are then found with ``bytes.find``.
* with ``required`` words (the engine's built-in keywords), the block is
  lowered once and every word found in it with ``bytes.find``; only a line
  holding one is checked for a run (its own ``translate`` and ``find``).
  Keywords are rarer than long runs in most code (lock files, hashes,
  base64), and checking a word per run line would cost a regex call each.

Custom rules widen the net: lines holding one of their ``keywords`` are
candidates too, and ``every_line`` yields every line. Only candidate lines
are ever decoded or handed to the rule regexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TABLE = bytes(0x61 if i in _ALNUM else 0x20 for i in range(256))
_RUN = b"a" * 32
_NON_ASCII = re.compile(rb"[\x80-\xff]")
KEY_LENGTH = 32


def keyword_set(words: Iterable[str]) -> tuple[bytes, ...]:
    """The lower-cased words to look for; a word that contains another word
    is left out (the shorter one finds it)."""
    unique = {w.lower() for w in words if w}
    return tuple(
        sorted(w.encode("utf-8") for w in unique if not any(o != w and o in w for o in unique))
    )


def candidate_lines(
    buf: bytes,
    start: int = 0,
    end: int | None = None,
    keywords: Sequence[bytes] = (),
    every_line: bool = False,
    required: Sequence[bytes] | None = None,
    lowered: bytes | None = None,
) -> Iterator[tuple[int, int]]:
    """Yield ``(line_start, line_end)`` of each line in ``buf[start:end]``
    holding a run of 32 or more letters and digits, once per line, in order.

    ``required`` (lower-case words): a line with a run counts only when it
    also holds one of them, ASCII case-insensitive, or any non-ASCII byte
    (rules lower lines as text, where KELVIN SIGN lowers to ``k``).
    ``keywords`` (lower-case) add the lines holding one of them, run or not,
    and ``every_line`` yields them all (custom rules).
    ``lowered`` may pass ``buf[start:end].lower()`` when the caller has it.
    ``line_end`` is the index of the newline (or ``end``).
    """
    if end is None:
        end = len(buf)
    if every_line:
        yield from _all_lines(buf, start, end)
        return
    if keywords:
        yield from _with_keywords(buf, start, end, keywords, required, lowered)
        return
    if end - start < KEY_LENGTH:
        return
    if required is None:
        yield from _run_lines(buf, start, end)
    else:
        yield from _required_lines(buf, start, end, required, lowered)


def _run_lines(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
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


def _required_lines(
    buf: bytes, start: int, end: int, required: Sequence[bytes], lowered: bytes | None
) -> Iterator[tuple[int, int]]:
    if lowered is None:
        lowered = buf[start:end].lower()
    find, rfind = lowered.find, lowered.rfind
    size = len(lowered)
    lines: dict[int, int] = {}  # line start -> line end, in the block

    def visit(pos: int) -> int:
        line_start = rfind(b"\n", 0, pos) + 1
        line_end = find(b"\n", pos)
        if line_end == -1:
            line_end = size
        if (
            line_end - line_start >= KEY_LENGTH
            and line_start not in lines
            and lowered[line_start:line_end].translate(_TABLE).find(_RUN) != -1
        ):
            lines[line_start] = line_end
        return line_end

    for word in required:
        pos = find(word)
        while pos != -1:
            line_start = rfind(b"\n", 0, pos) + 1  # (visit, inlined: this loop is hot)
            line_end = find(b"\n", pos)
            if line_end == -1:
                line_end = size
            if (
                line_end - line_start >= KEY_LENGTH
                and line_start not in lines
                and lowered[line_start:line_end].translate(_TABLE).find(_RUN) != -1
            ):
                lines[line_start] = line_end
            pos = find(word, line_end)
    if not lowered.isascii():
        match = _NON_ASCII.search(lowered)
        while match is not None:
            match = _NON_ASCII.search(lowered, visit(match.start()))
    for line_start in sorted(lines):
        yield start + line_start, start + lines[line_start]


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
    buf: bytes,
    start: int,
    end: int,
    keywords: Sequence[bytes],
    required: Sequence[bytes] | None,
    lowered: bytes | None,
) -> Iterator[tuple[int, int]]:
    """Candidate lines plus the lines holding a keyword, once each, in order."""
    if lowered is None:
        lowered = buf[start:end].lower()
    lines = dict.fromkeys(candidate_lines(buf, start, end, required=required, lowered=lowered))
    for word in keywords:
        pos = lowered.find(word)
        while pos != -1:
            line = _line_of(buf, start, end, start + pos)
            lines[line] = None
            pos = lowered.find(word, line[1] - start)
    yield from sorted(lines)
