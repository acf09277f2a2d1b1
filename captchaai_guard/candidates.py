"""Fast prefilter: where in a buffer could a 32-character key stand?

Every rule needs a run of at least 32 letters and digits. Instead of a
Python loop per line, a buffer is mapped in C (``bytes.translate``) so that
every letter and digit becomes ``a`` and everything else a space, and runs
of 32 ``a`` are found with ``bytes.find``. Only the lines around those
positions are ever decoded or handed to the rule regexes.
"""

from __future__ import annotations

from collections.abc import Iterator

_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TABLE = bytes(0x61 if i in _ALNUM else 0x20 for i in range(256))
_RUN = b"a" * 32
KEY_LENGTH = 32


def candidate_lines(buf: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield ``(line_start, line_end)`` of each line in ``buf[start:end]``
    holding a run of 32 or more letters and digits, once per line, in order.

    ``line_end`` is the index of the newline (or ``end``).
    """
    if end is None:
        end = len(buf)
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
