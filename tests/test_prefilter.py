"""The block-level prefilter and the streaming parser give the same answers
as a plain line-by-line reading, whatever the block size."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from captchaai_guard.detect.candidates import Finder, candidate_lines, keyword_set
from captchaai_guard.detect.engine import Engine
from captchaai_guard.sources.diff import AddedLine, parse_stream
from tests.conftest import fake_key

KEYWORDS = keyword_set(["key", "captcha", "captchaai.com", "token"])
_RUN = re.compile(rb"[0-9A-Za-z]{32}")
# A run that can stand whole as a key: exactly 32 letters and digits, or 33
# when the first is the letter of a JSON escape (\\n, \\r, \\t) the engine reads as a space.
_WHOLE = re.compile(
    rb"(?<![0-9A-Za-z])[0-9A-Za-z]{32}(?![0-9A-Za-z])|(?<=\\)[nrt][0-9A-Za-z]{32}(?![0-9A-Za-z])"
)


def _expected(buf: bytes, keywords: tuple[bytes, ...]) -> list[bytes]:
    out = []
    for line in buf.split(b"\n"):
        lowered = line.lower()
        if _WHOLE.search(line) and any(w in lowered for w in keywords):
            out.append(line)
    return out


def test_keyword_set_keeps_only_the_shortest_words() -> None:
    assert KEYWORDS == (b"captcha", b"key", b"token")
    # The built-in rules ask for no word: every whole run of 32 is a candidate.
    assert Engine().required == ()
    line = b"x = '" + b"ab12" * 8 + b"'"
    assert list(candidate_lines(line, required=Engine().required)) == [(0, len(line))]
    assert list(candidate_lines(b"no run here " + b"ab12" * 9, required=Engine().required)) == []


_PIECES = st.sampled_from(
    [
        "plain words here",
        "KEY",
        "Token",
        "captcha",
        "\u212aey",  # KELVIN SIGN: lowers to 'k' as text
        "0123456789abcdef" * 2,
        "A" * 40,
        "deadbeef" * 3,
        "f" * 16,
        "n",
        "\\",
        "\\n",
        " ",
        "=",
        '"',
    ]
)
_LINES = st.lists(st.lists(_PIECES, max_size=6).map("".join), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_candidate_lines_match_a_line_by_line_filter(lines: list[str]) -> None:
    buf = "\n".join(lines).encode("utf-8")
    found = [buf[s:e] for s, e in candidate_lines(buf, required=KEYWORDS)]
    assert found == _expected(buf, KEYWORDS)
    every_run = [buf[s:e] for s, e in candidate_lines(buf)]
    assert every_run == [line for line in buf.split(b"\n") if _RUN.search(line)]


def _diff(rng_lines: list[tuple[str, int]]) -> tuple[bytes, list[tuple[int, str]]]:
    """A one-file diff with hunks of '-', ' ' and '+' lines (headers counting
    them as git does); returns the expected (new line number, text) of every
    added key line."""
    out = ["diff --git a/f.py b/f.py", "--- a/f.py", "+++ b/f.py"]
    expected: list[tuple[int, str]] = []
    new_line = 1
    header, old_count, new_count = -1, 0, 0

    def close_hunk() -> None:
        if header >= 0:
            start = int(out[header])
            out[header] = f"@@ -{start},{old_count} +{start},{new_count} @@"

    for kind, count in rng_lines:
        if kind == "hunk":
            close_hunk()
            new_line += count
            header, old_count, new_count = len(out), 0, 0
            out.append(str(new_line))
            continue
        for _ in range(count):
            if kind == "-":
                out.append("-removed line")
                old_count += 1
            elif kind == " ":
                out.append(" context line")
                new_line += 1
                old_count += 1
                new_count += 1
            elif kind == "+":
                out.append("+added line")
                new_line += 1
                new_count += 1
            else:
                text = f'key = "{fake_key()}"'
                out.append("+" + text)
                expected.append((new_line, text))
                new_line += 1
                new_count += 1
    close_hunk()
    return ("\n".join(out) + "\n").encode(), expected


_HUNKS = st.lists(
    st.tuples(st.sampled_from(["hunk", "-", " ", "+", "k"]), st.integers(min_value=1, max_value=40)),
    max_size=40,
).map(lambda items: [("hunk", 3), *items])


@settings(max_examples=100, deadline=None)
@given(_HUNKS, st.sampled_from([7, 64, 333, 4096, 1 << 20]))
def test_line_numbers_do_not_depend_on_the_block_size(items: list[tuple[str, int]], block: int) -> None:
    data, expected = _diff(items)
    events = parse_stream(io.BytesIO(data), block_size=block, finder=Finder(required=KEYWORDS))
    got = [(e.lineno, e.text.decode()) for e in events if isinstance(e, AddedLine)]
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(_LINES)
def test_custom_keywords_add_lines_to_the_required_ones(lines: list[str]) -> None:
    buf = "\n".join(lines).encode("utf-8")
    found = [buf[s:e] for s, e in candidate_lines(buf, keywords=(b"plain",), required=KEYWORDS)]
    expected = [
        line for line in buf.split(b"\n") if line in _expected(line, KEYWORDS) or b"plain" in line.lower()
    ]
    assert found == expected


_ANCHORED = [rule for rule in Engine().rules if rule.rule.anchors]


def test_some_rules_have_anchors() -> None:
    assert _ANCHORED


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_match_of_a_rule_holds_one_of_its_anchors(data: st.DataObject) -> None:
    compiled = data.draw(st.sampled_from(_ANCHORED))
    text = data.draw(st.from_regex(compiled.pattern, fullmatch=True))
    lowered = text.lower()
    assert any(word in lowered for word in compiled.rule.anchors)


def test_rule_examples_hold_one_of_their_anchors() -> None:
    key = fake_key()
    for compiled in _ANCHORED:
        for sample in compiled.rule.examples:
            line = sample.format(key=key).lower()
            assert any(word in line for word in compiled.rule.anchors), sample


_ENGINE = Engine()
_SAMPLES = [
    sample
    for compiled in _ENGINE.rules
    for sample in (*compiled.rule.examples, *compiled.rule.counter_examples)
]
_NOISE = st.sampled_from(
    ["", " ", "x", "9", "\\n", "\\t", "\\\\", '\\"', "é", "\u212a", "-us6", "_", "ab" * 8]
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_SAMPLES), _NOISE, _NOISE, _NOISE, st.booleans())
def test_every_line_the_engine_reports_is_a_candidate(
    sample: str, before: str, around: str, after: str, json_escaped: bool
) -> None:
    """The prefilter only drops lines no built-in rule could report: the
    rule samples, with noise around the key and around the line, escaped as
    in a notebook or not."""
    key = fake_key()
    line = before + sample.format(key=around + key + around) + after
    if json_escaped:
        line = line.replace("\\", "\\\\").replace('"', '\\"').replace(" = ", "=\\n")
    buf = ("context line\n" + line + "\nlast line").encode("utf-8")
    found = [buf[s:e] for s, e in candidate_lines(buf, required=_ENGINE.required)]
    if _ENGINE.match_line(".captchaai.json", line):
        assert line.encode("utf-8") in found


def test_a_key_after_a_json_newline_escape_is_a_candidate() -> None:
    key = fake_key()
    line = f'"source": ["CAPTCHAAI_API_KEY=\\n{key}\\n"]'
    assert _ENGINE.match_line("nb.ipynb", line)
    buf = line.encode()
    assert list(candidate_lines(buf, required=_ENGINE.required)) == [(0, len(buf))]


def test_runs_at_the_edges_of_a_region_stand_whole() -> None:
    key = fake_key()
    head = f"key {key}".encode()
    for buf in (key.encode() + b" key", head, b"x\n" + head, head + b"\n"):
        assert [buf[s:e] for s, e in candidate_lines(buf, required=KEYWORDS)], buf
    longer = (key + "a").encode()
    assert not list(candidate_lines(b"key " + longer, required=KEYWORDS))
    # A region of a larger buffer: a run is whole only within its own line.
    buf = b"+aaaa\n+key " + key.encode() + b"\n+tail"
    start = buf.index(b"+key")
    end = buf.index(b"+tail")
    assert list(candidate_lines(buf, start, end, required=KEYWORDS)) == [(start, end - 1)]


def _run(kind: str) -> str:
    key = fake_key()
    return {"hex": key, "HEX": key.upper(), "alnum": key[:-1] + "g"}[kind]


_RUN_HEADS = st.sampled_from(
    ["", "+", " ", "\t", 'etag: "', "md5 = '", "sha256:", "ids: [", "x/", "Ab+", 'key = "', "data: "]
)
_RUN_TAILS = st.sampled_from(
    [
        *("", '"', "  dist/app.tar.gz", " *app.whl", "\tname", "  a b", "  n=1", "  *", "  f\r"),
        *("  f\x0cg", " \x0bf", "+Ab", "/x9", "  # etag", "'"),
    ]
)
_SEGMENTS = st.lists(
    st.tuples(_RUN_HEADS, st.sampled_from(["hex", "HEX", "alnum"]), _RUN_TAILS), min_size=0, max_size=2
)
_SETTLE_LINES = st.lists(
    st.tuples(_SEGMENTS, st.sampled_from(["", "\\n", "%3D", "&amp;", "plain words"])), max_size=25
)


@settings(max_examples=300, deadline=None)
@given(_SETTLE_LINES, st.booleans())
def test_a_line_is_settled_in_its_block_as_on_its_own(
    lines: list[tuple[list[tuple[str, str, str]], str]], crlf: bool
) -> None:
    """The built-in rules' prefilter settles all the runs of a block at
    once: whatever the other lines (checksum list entries or not, escapes or
    not), a line is a candidate exactly when it is one on its own."""
    texts = [
        "".join(head + _run(kind) + tail for head, kind, tail in segments) + extra
        for segments, extra in lines
    ]
    buf = ("\r\n" if crlf else "\n").join(texts).encode("utf-8")
    found = [buf[s:e] for s, e in candidate_lines(buf, required=())]
    alone = [line for line in buf.split(b"\n") if list(candidate_lines(line, required=()))]
    assert found == alone


def test_a_checksum_list_is_settled_but_for_its_other_lines() -> None:
    entries = [f"{fake_key()}  dist/pkg-{n}.tar.gz" for n in range(40)] + [f"{fake_key().upper()} *pkg.whl"]
    for sep in ("\n", "\r\n"):
        buf = (sep.join(entries) + sep).encode()
        assert list(candidate_lines(buf, required=())) == []
    others = [
        f"{fake_key()}  two words",
        fake_key(),
        f"{fake_key()},dist/a.tar.gz",
        f"{fake_key()}  *",
        f"{fake_key()}  a=b",
        f"{fake_key()}\fdist/a.tar.gz",
        f"{fake_key()[:-1]}g  dist/a.tar.gz",  # (no hex: no checksum)
    ]
    for other in others:  # each the only odd line of its list
        buf = "\n".join([*entries[:20], other, *entries[20:]]).encode()
        assert [buf[s:e] for s, e in candidate_lines(buf, required=())] == [other.encode()]
    buf = "\n".join(entries[:20] + others + entries[20:]).encode()
    assert [buf[s:e] for s, e in candidate_lines(buf, required=())] == [line.encode() for line in others]


def test_a_line_with_an_escape_is_never_settled() -> None:
    """A backslash, ``%`` or ``&`` anywhere on a line: the engine undoes
    escapes, so the line is left to it, among lines that are settled."""
    settled = [
        f'etag: "{fake_key()}"',
        f"{fake_key()}  dist/a.tar.gz",
        f"data: Ab+{fake_key()}",
        f"data: {fake_key()}/x9",  # (glued into a longer token)
    ]
    assert list(candidate_lines("\n".join(settled).encode(), required=())) == []
    for line in settled:
        for escape in ("\\n", "%3D", "&amp;"):
            for escaped in (line + "  # " + escape, escape + " " + line):
                lines = [*settled, escaped, *settled]
                buf = "\n".join(lines).encode()
                assert [buf[s:e] for s, e in candidate_lines(buf, required=())] == [escaped.encode()]
