"""Property-based tests: a planted key is found at its line in any text, for
every supported syntax (the rules' own examples); text without a key yields
nothing; the diff parser takes any input without an exception, and the
block size it reads with never changes what it finds."""

from __future__ import annotations

import io
import re
import secrets

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from captchaai_guard.detect.candidates import Finder
from captchaai_guard.detect.engine import Engine
from captchaai_guard.detect.rules import RULES, Rule
from captchaai_guard.scan import scan_content, scan_diff
from captchaai_guard.sources.diff import AddedLine, FileEnd, parse_bytes, parse_stream

ENGINE = Engine()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# (a binary rule's samples are no lines of text)
SAMPLES: list[tuple[Rule, str]] = [
    (rule, example) for rule in RULES for example in rule.examples if rule.context != "binary"
]
_KEYLIKE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])")

# Lines of ordinary text: code-ish characters, never a 32-character run.
line_text = st.text(
    alphabet=st.sampled_from([*list("abcdef0123456789 =:\"'`(){}[],.;#$-_/\\\tXYZ"), "é", "λ", "€"]),
    max_size=60,
).filter(lambda s: _KEYLIKE.search(s) is None and "captchaai-guard: allow" not in s)
text_lines = st.lists(line_text, max_size=20)
newline = st.sampled_from(["\n", "\r\n"])


def _path_for(rule: Rule) -> str:
    return ".captchaai/config.json" if rule.path else "src/module.py"


def _content(before: list[str], line: str, after: list[str], nl: str) -> tuple[str, int]:
    lines = ["# uses https://ocr.captchaai.com", *before, line, *after]
    return nl.join(lines) + nl, len(before) + 2


@SETTINGS
@given(
    sample=st.sampled_from(SAMPLES),
    before=text_lines,
    after=text_lines,
    indent=st.sampled_from(["", "    ", "\t", "  \t "]),
    nl=newline,
    upper=st.booleans(),
)
def test_planted_key_is_found_at_its_line(
    sample: tuple[Rule, str], before: list[str], after: list[str], indent: str, nl: str, upper: bool
) -> None:
    rule, template = sample
    key = secrets.token_hex(16)
    if upper and rule.secret == "hex":
        key = key.upper()
    if rule.context in ("evidence", "repeat") or template[:1].isspace():
        # A sample the evidence decides, or an indented one, takes its name
        # from the lines around it: ordinary lines before it stay ordinary
        # (a random one ending in "," would be read as the name that
        # introduces the key, ":db" as the block of another service).
        before = [*before, "# (sample)"]
    content, lineno = _content(before, indent + template.format(key=key).replace("\n", nl), after, nl)
    lineno += template.count("\n")  # (a sample of several lines: the key is on its last)
    path = _path_for(rule)
    found = [(f.line, f.secret) for f in scan_content(ENGINE, path, content.encode())]
    assert (lineno, key) in found
    # The same text as the added lines of a diff.
    body = "".join("+" + line + "\n" for line in content.split(nl)[:-1])
    diff = (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{lineno + len(after)} @@\n{body}"
    ).encode()
    found = [(f.line, f.secret) for f in scan_diff(ENGINE, io.BytesIO(diff))]
    assert (lineno, key) in found


@SETTINGS
@given(
    lines=st.lists(
        st.one_of(line_text, st.sampled_from([t.replace("{key}", "") for _, t in SAMPLES])), max_size=30
    )
)
def test_text_without_a_key_yields_nothing(lines: list[str]) -> None:
    content = "\n".join(["# captchaai", *lines]) + "\n"
    assume(_KEYLIKE.search(content) is None)
    assert list(scan_content(ENGINE, "src/module.py", content.encode())) == []
    assert list(scan_content(ENGINE, ".captchaai/config.json", content.encode())) == []


# Pieces a diff is made of, shuffled into any order, plus raw bytes.
_piece = st.one_of(
    st.sampled_from(
        [
            b"diff --git a/x b/x\n",
            b'diff --git "a/q\\"t" "b/q\\"t"\n',
            b"diff --git a/a b b/a b\n",
            b"new file mode 100644\n",
            b"new file mode 120000\n",
            b"deleted file mode 100644\n",
            b"index 0000000..1111111 100644\n",
            b"--- /dev/null\n",
            b"+++ b/x\n",
            b'+++ "b/\\303\\251\\n"\n',
            b"rename from a\n",
            b"rename to b\n",
            b"Binary files /dev/null and b/x differ\n",
            b"@@ -0,0 +1 @@\n",
            b"@@ -1,3 +1,4 @@ def f():\n",
            b"@@@ -1,2 -1,2 +1,3 @@@\n",
            b"@@ -1 +99999999999999999999 @@\n",
            b"\\ No newline at end of file\n",
            b"\x1fcommit abc\x1eName\x1eme@x\x1e2024-01-01\n",
            b"\x1f\n",
            b" context line\n",
            b"-removed line\n",
            b"+CAPTCHAAI_API_KEY=" + b"0a1b2c3d" * 4 + b"\n",
            b'+{"key": "' + b"9f8e7d6c" * 4 + b'"}\r\n',
            b"+plain added line\n",
            b"\n",
            b"\r\n",
        ]
    ),
    st.binary(max_size=40),
)
diffs = st.lists(_piece, max_size=40).map(b"".join)


def _events(events: list[AddedLine | FileEnd]) -> list[tuple[str, str, int, bytes]]:
    out = []
    for event in events:
        if isinstance(event, AddedLine):
            out.append(("line", event.file.path, event.lineno, event.text))
        else:
            out.append(("end", event.file.path, 0, b""))
    return out


@SETTINGS
@given(data=diffs, block=st.integers(min_value=1, max_value=300))
def test_diff_parser_takes_any_input(data: bytes, block: int) -> None:
    whole = _events(list(parse_bytes(data, Finder())))
    streamed = _events(list(parse_stream(io.BytesIO(data), block_size=block, finder=Finder())))
    assert streamed == whole
    list(scan_diff(ENGINE, io.BytesIO(data)))


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_diff_parser_takes_any_bytes(data: bytes) -> None:
    list(parse_bytes(data, Finder()))
    list(scan_diff(ENGINE, io.BytesIO(data)))


def test_fuzz_script_runs_bounded() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_diff.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--seconds", "2", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no failure" in proc.stdout


def test_malformed_quoted_paths_do_not_crash() -> None:
    """Found by fuzz/fuzz_diff.py: a short or non-octal escape in a quoted path."""
    for header in (b'diff --git "a/4\\4q" "b/t\\4"\n', b'diff --git "a/\\7" "b/\\78"\n', b'+++ "b/x\\"\n'):
        list(parse_bytes(header + b"@@ -0,0 +1 @@\n+x\n", Finder()))


def test_line_that_only_looks_like_a_hunk_header_keeps_the_count() -> None:
    """Found by fuzz/fuzz_diff.py: an added line after a malformed '@@' line
    got a line number that depended on the block size."""
    key = secrets.token_hex(16)
    data = (
        b"diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,3 @@\n # captchaai\n"
        b"+++ b/app.py\n@@ -1,2 +1,3 @aai\n-old\n+solver_api_key: " + key.encode() + b"\n context\n"
    )
    expected = [(e.file.path, e.lineno) for e in parse_bytes(data, Finder()) if isinstance(e, AddedLine)]
    assert expected[-1] == ("app.py", 3)
    for block in range(1, len(data) + 1):
        events = parse_stream(io.BytesIO(data), block, finder=Finder())
        got = [(e.file.path, e.lineno) for e in events if isinstance(e, AddedLine)]
        assert got == expected, block


def _merged_line_numbers(width: int, lines: list[tuple[str, str]], start: int) -> list[int]:
    """The reference: walk a combined hunk line by line; a line is in the
    merged file unless a column marks it ``-``, the merge's own when every
    column is ``+``; keep the numbers of its own lines holding a run."""
    found, lineno = [], start
    for prefix, text in lines:
        if "-" in prefix or prefix.startswith("\\"):
            continue
        if prefix == "+" * width and _KEYLIKE.search(text):
            found.append(lineno)
        lineno += 1
    return found


@st.composite
def combined_hunks(draw: st.DrawFn) -> tuple[int, list[tuple[str, str]]]:
    """A merge's combined hunk as git prints it: merged lines (columns of
    space and ``+``), removed lines (space and ``-``, at least one ``-``),
    ``\\ No newline`` notes; some lines hold a key-like run."""
    width = draw(st.integers(min_value=2, max_value=4))
    lines: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        kind = draw(st.sampled_from(["merged", "merged", "removed", "note"]))
        if kind == "note":
            lines.append(("\\", " No newline at end of file"))
            continue
        other = "-" if kind == "removed" else "+"
        columns = draw(st.lists(st.sampled_from([" ", other]), min_size=width, max_size=width))
        if kind == "removed" and "-" not in columns:
            columns[draw(st.integers(0, width - 1))] = "-"
        text = draw(line_text)
        if draw(st.booleans()):
            text += " key = " + secrets.token_hex(16)
        lines.append(("".join(columns), text))
    return width, lines


@SETTINGS
@given(hunk=combined_hunks(), start=st.integers(min_value=1, max_value=500), block=st.integers(8, 200))
def test_a_merges_own_lines_are_numbered_as_line_by_line(
    hunk: tuple[int, list[tuple[str, str]]], start: int, block: int
) -> None:
    """Combined diffs are counted in C between candidate lines; the numbers
    are those of a line-by-line walk, in whatever blocks the diff is read."""
    width, lines = hunk
    at = "@" * (width + 1)
    header = "diff --cc f.py\nindex 1111111,2222222..3333333\n--- a/f.py\n+++ b/f.py\n"
    body = "".join(f"{prefix}{text}\n" for prefix, text in lines)
    olds = " ".join(f"-{start},9" for _ in range(width))
    data = f"{header}{at} {olds} +{start},9 {at}\n{body}".encode()
    want = _merged_line_numbers(width, lines, start)
    streamed = parse_stream(io.BytesIO(data), block_size=block, finder=Finder())
    for events in (parse_bytes(data, Finder()), streamed):
        got = [e.lineno for e in events if isinstance(e, AddedLine)]
        assert got == want


_ANY_SECTION = re.compile(rb"\n(?:diff --(?:git|cc|combined) |\x1f)")
_PIECES = [
    b"\n",
    b"@",
    b"@@ ",
    b"diff --git ",
    b"diff --cc ",
    b"diff --combined ",
    b"diff --x",
    b"\x1f",
    b"+a@b.c",
    b" ",
    b"x",
]


@SETTINGS
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=300), cut=st.integers(0, 50))
def test_section_lines_are_found_as_one_regex_finds_them(pieces: list[bytes], cut: int) -> None:
    """``_sections`` looks for the lines opening a file or a commit with
    ``bytes.find``: the same lines as one regex over the block, in any part of it."""
    from captchaai_guard.sources.diff import _STARTS_SECTION, _sections

    buf = b"".join(pieces)
    for start, end in ((0, len(buf)), (min(cut, len(buf)), max(len(buf) - cut, min(cut, len(buf))))):
        if start and buf[start - 1 : start] != b"\n":
            continue  # a region starts at a line start
        want = [start] if _STARTS_SECTION.match(buf, start, end) else []
        want += [m.start() + 1 for m in _ANY_SECTION.finditer(buf, start, end)]
        assert _sections(buf, start, end) == want
