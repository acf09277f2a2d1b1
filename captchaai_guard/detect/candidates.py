"""Fast prefilter: which lines of a buffer could hold a key?

A built-in rule reports 32 letters and digits that stand whole (see
``engine._stands_whole``) on a line holding one of its keywords. So a line
is a candidate only when it holds a run of exactly 32 letters and digits
(or 33 whose first is the ``n``, ``r`` or ``t`` of a JSON escape such as
``\\n``, which the engine reads as a space) and one of the ``required``
words. Both are looked for in C, over whole blocks:

* ``bytes.translate`` maps letters and digits to ``a`` and everything else
  to a space (once per block, see :func:`runs_map`); ``bytes.find`` looks
  for a run framed by spaces (:func:`_whole_runs`), so runs of other
  lengths (hashes, base64, long identifiers) are skipped in C.
* the lines holding such a run are joined, lowered and searched for the
  words once, ASCII case-insensitive, as the built-in rules match (their
  letters are ASCII: KELVIN SIGN is no ``k`` to them).

Custom rules widen the net: lines holding one of their ``keywords`` are
candidates too, and ``every_line`` yields every line. Only candidate lines
are ever decoded or handed to the rule regexes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate

from captchaai_guard.detect.evidence import COUNTER_WORDS  # (data only: no re)

_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TABLE = bytes(0x61 if i in _ALNUM else 0x20 for i in range(256))
_RUN = b"a" * 32
_EXACT = b" " + _RUN + b" "
_ESCAPED = b" " + _RUN + b"a "
_PERCENT = b" " + _RUN + b"aa "
_PERCENT_TWICE = b" " + _RUN + b"aaaa "  # %253D<key>
_WINDOW = 29_000
_SPACE = 0x20
_BACKSLASH = 0x5C
_ESCAPES = frozenset(b"nrt")
KEY_LENGTH = 32
# ``required`` that asks for every line with a run, none of them settled
# (``scan --explain`` lists each candidate the engine decides): the empty word.
EVERY_RUN: tuple[bytes, ...] = (b"",)


def keyword_set(words: Iterable[str]) -> tuple[bytes, ...]:
    """The lower-cased words to look for; a word that contains another word
    is left out (the shorter one finds it)."""
    unique = {w.lower() for w in words if w}
    return tuple(sorted(w.encode("utf-8") for w in unique if not any(o != w and o in w for o in unique)))


def candidate_lines(
    buf: bytes,
    start: int = 0,
    end: int | None = None,
    keywords: Sequence[bytes] = (),
    every_line: bool = False,
    required: Sequence[bytes] | None = None,
    lowered: bytes | None = None,
    mapped: bytes | None = None,
) -> Iterator[tuple[int, int]]:
    """Yield ``(line_start, line_end)`` of the candidate lines of
    ``buf[start:end]`` (``start`` is a line start), once per line, in order.

    Without ``required``: every line with a run of 32 or more letters and
    digits. With ``required`` (lower-case words, for the built-in rules):
    the lines with a run that could stand whole as a key and one of the
    words (see the module docstring).
    ``keywords`` (lower-case) add the lines holding one of them, run or not,
    and ``every_line`` yields them all (custom rules).
    ``lowered`` (``buf.lower()``) and ``mapped`` (:func:`runs_map` of
    ``buf``) may be passed when the caller has them: one pass over a block
    serves all its regions.
    ``line_end`` is the index of the newline (or ``end``).
    """
    if end is None:
        end = len(buf)
    if every_line:
        yield from _all_lines(buf, start, end)
        return
    if keywords:
        yield from _with_keywords(buf, start, end, keywords, required, lowered, mapped)
        return
    if end - start < KEY_LENGTH:
        return
    if mapped is None:
        mapped = runs_map(buf)
    if required is None:
        yield from _run_lines(buf, start, end, mapped)
    else:
        yield from _required_lines(buf, start, end, required, mapped)


def runs_map(buf: bytes) -> bytes:
    """``buf`` with letters and digits as ``a`` and every other byte a space."""
    return buf.translate(_TABLE)


def _run_lines(buf: bytes, start: int, end: int, mapped: bytes) -> Iterator[tuple[int, int]]:
    pos = mapped.find(_RUN, start, end)
    while pos != -1:
        line = _line_of(buf, start, end, pos)
        yield line
        pos = mapped.find(_RUN, line[1], end)


def _whole_runs(mapped: bytes, needle: bytes, start: int, end: int) -> list[int]:
    """Where the runs ``needle`` frames (``" " + run + " "``) start in
    ``mapped[start:end]``; a run may touch ``start`` or ``end`` only at the
    ends of ``mapped``.

    ``find`` is called on windows shorter than 30,000 bytes, where CPython
    uses its skip-ahead search (a space at the end of the window skips the
    whole needle); on longer ones it switches to two-way, several times
    slower on a text of two letters. Windows overlap by the needle's length.
    """
    found: list[int] = []
    run = needle[1:-1]
    size = len(run)
    if start == 0 and mapped.startswith(run) and mapped[size : size + 1] in (b"", b" "):
        found.append(0)
    find, step, keep = mapped.find, len(needle) - 1, found.append
    # The spaces framing a run may lie just outside [start, end).
    pos, limit = max(start - 1, 0), min(end + 1, len(mapped))
    while True:
        stop = pos + _WINDOW if pos + _WINDOW < limit else limit
        hit = find(needle, pos, stop)
        while hit != -1:
            keep(hit + 1)
            hit = find(needle, hit + step, stop)
        if stop >= limit:
            break
        pos = stop - step  # a needle across the window's end is found in the next one
    last = len(mapped) - size
    if (
        end == len(mapped)
        and last >= start
        and last > 0
        and mapped.endswith(run)
        and mapped[last - 1] == _SPACE
    ):
        found.append(last)
    return found


def _required_lines(
    buf: bytes, start: int, end: int, required: Sequence[bytes], mapped: bytes
) -> Iterator[tuple[int, int]]:
    hits = _whole_runs(mapped, _EXACT, start, end)
    if buf.find(b"\\", start, end) != -1:
        # JSON-escaped text: the engine reads ``\\n<key>`` as `` <key>``.
        escaped = [
            at
            for at in _whole_runs(mapped, _ESCAPED, start, end)
            if at > start and buf[at - 1] == _BACKSLASH and buf[at] in _ESCAPES
        ]
        if escaped:
            hits = sorted(hits + escaped)
    if buf.find(b"%", start, end) != -1:
        # Percent-encoded text: ``%3D<key>`` reads as ``=<key>`` to the engine.
        encoded = [
            at
            for needle in (_PERCENT, _PERCENT_TWICE)
            for at in _whole_runs(mapped, needle, start, end)
            if at > start and buf[at - 1] == 0x25
        ]
        if encoded:
            hits = sorted(hits + encoded)
    if not hits:
        return
    if required:  # (words asked for, or EVERY_RUN: no line is settled here)
        starts, ends = _lines_of(buf, start, end, hits)
        if required != EVERY_RUN:
            yield from _holding(buf, starts, ends, required)
            return
    else:  # (the built-in rules: every line with a run, unless it is settled)
        starts, ends = _unsettled(buf, start, end, hits)
    yield from zip(starts, ends)


def _lines_of(buf: bytes, start: int, end: int, hits: list[int]) -> tuple[list[int], list[int]]:
    """The lines holding the runs at ``hits``: their starts and ends."""
    starts: list[int] = []
    ends: list[int] = []
    rfind, find = buf.rfind, buf.find
    line_end = -1
    for at in hits:
        if at <= line_end:
            continue  # that line is in already
        starts.append(rfind(b"\n", start, at) + 1 or start)  # (_line_of, inlined: one step per line)
        line_end = find(b"\n", at, end)
        if line_end == -1:
            line_end = end
        ends.append(line_end)
    return starts, ends


def _unsettled(buf: bytes, start: int, end: int, hits: list[int]) -> tuple[list[int], list[int]]:
    """The lines holding the runs at ``hits`` (starts and ends), but for
    those whose every run is settled as no key by what stands right before
    it, as the engine settles it (:mod:`captchaai_guard.detect.decide`): the line
    is an entry of a checksum list (``<hex>  file.tar.gz``), or the run's own
    name is a hash, id or captcha-parameter word (``etag: "<hex>"``,
    ``md5 = '<hex>'``), or the run is glued into a longer token by ``+`` or
    ``/`` (base64, a path). A line with a backslash, ``%`` or ``&`` (escapes
    the engine undoes) is not settled here.

    All runs are settled together, each step over all of them at once:
    what stands before each run is looked up in a small table (lines of one
    shape, a lockfile's or a log's, are judged once); the runs opening their
    lines are checked as checksum list entries at once
    (:func:`_checksum_entries`), and the escapes looked for in all lines
    joined. Only the runs left in doubt are looked at one by one."""
    rfind, find = buf.rfind, buf.find
    line_starts = [rfind(b"\n", start, at) + 1 or start for at in hits]
    known = _HEADS.get
    verdicts = [known(buf[s:at]) or _learn(buf[s:at]) for s, at in zip(line_starts, hits)]
    opens = [at for at, verdict in zip(hits, verdicts) if verdict == _OPENS]
    entries = _checksum_entries(buf, end, opens) if opens else set()
    doubtful = [
        index
        for index, verdict in enumerate(verdicts)
        if verdict != _COUNTER_NAME and (verdict != _OPENS or hits[index] not in entries)
    ]
    escapes = [c for c in (b"\\", b"%", b"&") if find(c, start, end) != -1]
    escaped = _escaped(buf, end, hits, line_starts, escapes) if escapes else set()
    if escaped:
        doubtful = sorted(escaped.union(doubtful))
    starts: list[int] = []
    ends: list[int] = []
    for index in doubtful:
        line_start = line_starts[index]
        if starts and starts[-1] == line_start:
            continue  # (the line is in already)
        at = hits[index]
        verdict = verdicts[index]
        if index not in escaped and (
            verdict == _COUNTER_NAME
            or (verdict == _OPENS and at in entries)
            or buf[at + KEY_LENGTH : at + KEY_LENGTH + 2] in _GLUED
        ):
            continue
        line_end = find(b"\n", at, end)
        starts.append(line_start)
        ends.append(end if line_end == -1 else line_end)
    return starts, ends


def _escaped(buf: bytes, end: int, hits: list[int], line_starts: list[int], escapes: list[bytes]) -> set[int]:
    """The indices of the runs at ``hits`` whose lines hold one of ``escapes``."""
    find = buf.find
    line_ends = [find(b"\n", at, end) for at in hits]
    return _holding_any([buf[s : end if e == -1 else e] for s, e in zip(line_starts, line_ends)], escapes)


_COUNTER_NAME, _OPENS, _OTHER = 1, 2, 3  # (_COUNTER_NAME: settled by what stands before)
_ALNUM_BYTES = frozenset(bytes([c]) for c in _ALNUM)
_HEADS: dict[bytes, int] = {}
# What follows a run glued into a longer token (base64, a path).
_GLUED = frozenset(bytes((glue, c)) for glue in b"+/" for c in _ALNUM)


def _learn(head: bytes) -> int:
    """The verdict on ``head`` (see :func:`_head_verdict`), kept in ``_HEADS``."""
    verdict = _head_verdict(head)
    if len(_HEADS) < 4096:
        _HEADS[head] = verdict
    return verdict


def _head_verdict(head: bytes) -> int:
    """What the text before a run says: it opens the line (maybe a checksum
    list entry), its name is a counter word, or anything else."""
    if not head.strip(b"+ \t"):
        return _OPENS
    if head[-1:] in (b"+", b"/") and head[-2:-1] in _ALNUM_BYTES:
        return _COUNTER_NAME  # (glued into a longer token: base64, a path)
    stripped = head.rstrip(_BEFORE_VALUE)
    if not stripped or len(head) - len(stripped) > 4:
        return _OTHER
    cut = len(stripped)
    while cut and stripped[cut - 1] in _ALNUM:
        cut -= 1
    word = stripped[cut:].lower()
    counter = word in COUNTER or (word.endswith(b"s") and word[:-1] in COUNTER) or _hash_word(word)
    return _COUNTER_NAME if counter else _OTHER


def _checksum_entries(buf: bytes, end: int, runs: list[int]) -> set[int]:
    """Of the runs at ``runs``, each opening its line, those opening a
    checksum list entry (see :func:`_checksum_entry`). They are checked all
    at once, in C, for what a checksum list is made of (each run hex, then
    blanks and one word, the file name); when one of them is no such entry,
    one by one."""
    find = buf.find
    line_ends = [find(b"\n", at, end) for at in runs]
    if line_ends[-1] == -1:  # (the last line may end at ``end``)
        line_ends[-1] = end
    tails = b"\n".join([buf[at + KEY_LENGTH : e] for at, e in zip(runs, line_ends)])
    names = b"\n".join(tails.split())
    if (
        # one word after each run: joining the words of all tails gives the
        # tails without their blanks only when each tail holds one
        names == tails.translate(None, _BLANKS_NOT_NEWLINE)
        and (tails[:1] in _BLANKS) + tails.count(b"\n ") + tails.count(b"\n\t") == len(runs)
        and len(names.translate(None, _NOT_FILE_NAME)) == len(names)
        and b"\n\n" not in b"\n" + names.translate(None, b"*") + b"\n"  # (no name is only stars)
        and not b"".join([buf[at : at + KEY_LENGTH] for at in runs]).translate(None, _HEX_DIGITS)
    ):
        return set(runs)
    return {at for at, line_end in zip(runs, line_ends) if _checksum_entry(buf, at, line_end)}


def _checksum_entry(buf: bytes, at: int, line_end: int) -> bool:
    """The hex run at ``at`` opens a checksum list entry: blanks, then a file name."""
    rest = buf[at + KEY_LENGTH : line_end].strip()
    return (
        not buf[at : at + KEY_LENGTH].translate(None, _HEX_DIGITS)
        and buf[at + KEY_LENGTH : at + KEY_LENGTH + 1] in _BLANKS
        and bool(rest.lstrip(b"*"))
        and rest.translate(None, _NOT_FILE_NAME) == rest
    )


def _hash_word(word: bytes) -> bool:
    """``sha256``, ``md5``, ``crc32`` (as decide._HASH_WORD, without re)."""
    for prefix in (b"sha", b"crc", b"blake", b"xxh"):
        if word.startswith(prefix):
            digits = word[len(prefix) :]
            return bool(digits) and digits[:1].isdigit()
    return word.startswith(b"md5") or (word.startswith(b"md") and word[2:3].isdigit())


_HEX_DIGITS = b"0123456789abcdefABCDEF"
_NOT_FILE_NAME = b"=:,;\"' \t"
_BLANKS = (b" ", b"\t")
_BLANKS_NOT_NEWLINE = b" \t\r\x0b\x0c"  # the ASCII whitespace of bytes.split() and strip(), but a newline
_BEFORE_VALUE = b" \t\"'`=:"  # between a name and its value, as ``etag: "`` has it


COUNTER = frozenset(word.encode() for word in COUNTER_WORDS)


def _holding(
    buf: bytes, starts: list[int], ends: list[int], required: Sequence[bytes]
) -> Iterator[tuple[int, int]]:
    """The lines ``buf[starts[i]:ends[i]]`` holding a required word (ASCII
    case-insensitive)."""
    chosen = _holding_any([buf[s:e] for s, e in zip(starts, ends)], required, lower=True)
    for index in sorted(chosen):
        yield starts[index], ends[index]


def _holding_any(lines: list[bytes], words: Sequence[bytes], lower: bool = False) -> set[int]:
    """The indices of ``lines`` holding one of ``words`` (lower-cased first
    with ``lower``): the words are looked for once, in all lines joined."""
    joined = b"\n".join(lines).lower() if lower else b"\n".join(lines)
    offsets = list(accumulate([len(line) + 1 for line in lines], initial=0))
    chosen: set[int] = set()
    for word in words:
        pos = joined.find(word)
        while pos != -1:
            index = bisect_right(offsets, pos) - 1
            chosen.add(index)
            pos = joined.find(word, offsets[index + 1])
    return chosen


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
    mapped: bytes | None,
) -> Iterator[tuple[int, int]]:
    """Candidate lines plus the lines holding a keyword, once each, in order."""
    if lowered is None:
        lowered = buf.lower()
    lines = dict.fromkeys(candidate_lines(buf, start, end, required=required, mapped=mapped))
    for word in keywords:
        pos = lowered.find(word, start, end)
        while pos != -1:
            line = _line_of(buf, start, end, pos)
            lines[line] = None
            pos = lowered.find(word, line[1], end)
    yield from sorted(lines)


class Finder:
    """:func:`candidate_lines` with a scan's words bound: what the sources
    call on every block (``finder(buf, start, end, lowered)``).
    ``keywords`` (custom rules' words, looked for in the lower-cased block)
    tells a caller that keeps ``buf.lower()`` for other uses to pass it."""

    __slots__ = ("every_line", "keywords", "required")

    def __init__(
        self,
        keywords: Sequence[bytes] = (),
        every_line: bool = False,
        required: Sequence[bytes] | None = None,
    ) -> None:
        self.keywords = tuple(keywords)
        self.every_line = every_line
        self.required = required

    def __call__(
        self,
        buf: bytes,
        start: int = 0,
        end: int | None = None,
        lowered: bytes | None = None,
    ) -> Iterator[tuple[int, int]]:
        return candidate_lines(buf, start, end, self.keywords, self.every_line, self.required, lowered)
