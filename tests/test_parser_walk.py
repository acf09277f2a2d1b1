"""The diff parser finds hunk headers only where a candidate line needs
them (``rfind`` back from it) and counts the lines between in C; its line
numbers are those of a plain line-by-line walk of the diff, in whatever
blocks the diff is read: many hunks, added-only hunks, combined diffs,
``\\ No newline`` notes, lines that only look like a hunk header."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captchaai_guard.detect.candidates import Finder
from captchaai_guard.sources.diff import AddedLine, parse_stream

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_HUNK = re.compile(rb"^@@+ ((?:-\d+(?:,\d+)? )+)\+(\d+)(?:,(\d+))? @@")
_LOOKS_LIKE_HUNK = re.compile(rb"@@+ ")

text = st.text(alphabet="ab @+-\\\r", max_size=12).map(lambda t: t.encode())


@st.composite
def hunk(draw: st.DrawFn, width: int) -> bytes:
    """One hunk (``width`` columns: 1, or a merge's parents) with lines of
    every kind, and now and then a line that only looks like a header."""
    at = b"@" * (width + 1)
    start = draw(st.integers(0, 999))
    added_only = width == 1 and draw(st.booleans())
    olds = b"-0,0 " if added_only else b"".join(b"-%d,%d " % (start, 3) for _ in range(width))
    lines = [at + b" " + olds + b"+%d,%d " % (start, 9) + at + draw(st.sampled_from([b"", b" def f():"]))]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["add", "add", "context", "remove", "note", "fake", "odd"]))
        if kind == "note":
            lines.append(b"\\ No newline at end of file")
        elif kind == "fake":
            lines.append(b"@@ -1 +x @@ not a header")
        elif kind == "odd":
            lines.append(draw(st.sampled_from([b"", b"@x", b"@@x", b"x"])))
        else:
            mark = {"add": b"+", "context": b" ", "remove": b"-"}[kind]
            if width == 1:
                columns = mark
            else:
                columns = bytes(draw(st.lists(st.sampled_from(b" " + mark), min_size=width, max_size=width)))
                if mark != b" " and mark not in columns:
                    columns = mark + columns[1:]
            lines.append(columns + draw(text))
    return b"\n".join(lines) + b"\n"


@st.composite
def diffs(draw: st.DrawFn) -> bytes:
    out = []
    for n in range(draw(st.integers(1, 4))):
        width = draw(st.sampled_from([1, 1, 2, 3]))
        if width == 1:
            out.append(b"diff --git a/f%d b/f%d\n--- a/f%d\n+++ b/f%d\n" % (n, n, n, n))
        else:
            out.append(b"diff --cc f%d\nindex 1,2..3\n--- a/f%d\n+++ b/f%d\n" % (n, n, n))
        out += [draw(hunk(width)) for _ in range(draw(st.integers(0, 5)))]
    return b"".join(out)


def walk(data: bytes) -> list[tuple[str, int, bytes]]:
    """The reference: every added line of ``data`` with its number, one line at a time."""
    found: list[tuple[str, int, bytes]] = []
    path, in_hunk, combined = "", False, False
    lineno, width, added_only = 0, 1, False
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"diff --git "):
            path, in_hunk, combined = line.split(b" b/")[-1].decode(), False, False
        elif line.startswith(b"diff --cc "):
            path, in_hunk, combined = line[len(b"diff --cc ") :].decode(), False, True
        elif _LOOKS_LIKE_HUNK.match(line):
            match = _HUNK.match(line.rstrip(b"\r"))
            if match:  # (else the line only looks like a header: it is no line of the file)
                in_hunk, lineno = True, int(match.group(2))
                width = match.group(1).count(b"-") if combined else 1
                added_only = not combined and match.group(1) == b"-0,0 "
        elif in_hunk:
            own = b"+" * width
            if line.startswith(own):
                found.append((path, lineno, line[width:].rstrip(b"\r")))
            if combined:
                removed = line.startswith(b"\\") or any(
                    line.startswith(b" " * k + b"-") for k in range(width)
                )
                lineno += not removed
            elif added_only:
                lineno += 1  # (a hunk without old lines: every line is the file's)
            else:
                lineno += line[:1] in (b"+", b" ")
    return found


@SETTINGS
@given(data=diffs(), block=st.integers(1, 400))
def test_line_numbers_are_those_of_a_line_by_line_walk(data: bytes, block: int) -> None:
    want = walk(data)
    for size in (block, 1 << 20):
        every = Finder(every_line=True)
        events = parse_stream(io.BytesIO(data), block_size=size, finder=every, find_mentions=False)
        assert [(e.file.path, e.lineno, e.text) for e in events if isinstance(e, AddedLine)] == want


def test_a_diff_of_many_small_hunks() -> None:
    """Thousands of one-line hunks: each added line keeps its number."""
    lines = [b"diff --git a/f b/f", b"--- a/f", b"+++ b/f"]
    for n in range(1, 3001):
        lines += [b"@@ -%d +%d @@" % (n, n), b"-old %d" % n, b"+key = %d" % n]
    data = b"\n".join(lines) + b"\n"
    for block in (64, 4096, 1 << 20):
        events = parse_stream(io.BytesIO(data), block_size=block, finder=Finder(every_line=True))
        got = [(e.lineno, e.text) for e in events if isinstance(e, AddedLine)]
        assert got == [(n, b"key = %d" % n) for n in range(1, 3001)]
