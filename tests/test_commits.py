"""``scan --commits``: every commit of a range, one at a time, added lines
only, with its full sha, author and date; merges; the progress bar."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from typing import Any

import pytest

from captchaai_guard.commands.scan import _Tally, progress_bar
from captchaai_guard.scan import CommitCounter
from captchaai_guard.sources.gitargs import COMMIT_MARK
from tests.conftest import Repo, Result, console_script, fake_key


def findings(result: Result) -> list[dict[str, Any]]:
    assert result.code in (0, 1), result.err
    found: list[dict[str, Any]] = json.loads(result.out)["findings"]
    return found


def test_key_added_then_removed_is_found_with_its_commit(repo: Repo) -> None:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("settings.py", f'import os\nCAPTCHAAI_API_KEY = "{key}"\n')
    added = repo.commit("add key")
    repo.stage("settings.py", 'import os\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n')
    repo.commit("remove key")
    assert repo.run("scan", "--files").code == 0  # the checkout is clean ...
    result = repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json")
    (found,) = findings(result)  # ... the history is not
    assert result.code == 1
    assert (found["path"], found["line"], found["column"]) == ("settings.py", 2, 22)
    assert found["commit"] == added and len(added) == 40
    assert found["author"] == "Test Author"
    assert found["email"] == "author@example.com"
    date = repo.git("log", "-1", "--format=%aI", added).strip()
    assert found["date"] == date
    assert json.loads(result.out)["summary"]["commits_scanned"] == 2


def test_only_added_lines_count(repo: Repo) -> None:
    key = fake_key()
    repo.stage("run.sh", f"export CAPTCHAAI_API_KEY={key}\necho one\n")
    first = repo.commit("key")
    repo.stage("run.sh", f"export CAPTCHAAI_API_KEY={key}\necho two\n")  # context, not added
    repo.commit("touch")
    repo.stage("run.sh", "echo three\n")  # removed
    repo.commit("remove")
    result = repo.run("scan", "--commits", "HEAD~2..HEAD", "--format", "json")
    assert findings(result) == [] and result.code == 0
    (found,) = findings(repo.run("scan", "--commits", "HEAD", "--format", "json"))
    assert found["commit"] == first


def _branches(
    repo: Repo,
    feature: tuple[str, str],
    main: tuple[str, str],
    base: tuple[str, str] = ("README.md", "hello\n"),
) -> tuple[str, str, str]:
    """A base commit, then one commit on a new branch ``feature`` and one on
    ``main`` (checked out at the end), each staging ``(path, text)``: the
    three commit ids."""
    repo.stage(*base)
    first = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.stage(*feature)
    on_feature = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.stage(*main)
    on_main = repo.commit("main")
    return first, on_feature, on_main


def test_all_branches_and_a_plain_range(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    base, on_feature, on_main = _branches(
        repo, ("a.env", f"CAPTCHAAI_API_KEY={key}\n"), ("b.env", f"CAPTCHAAI_API_KEY={other}\n")
    )
    everything = findings(repo.run("scan", "--commits", "--all", "--format", "json"))
    assert {(f["path"], f["commit"]) for f in everything} == {("a.env", on_feature), ("b.env", on_main)}
    only_feature = findings(repo.run("scan", "--commits", f"{base}..feature", "--format", "json"))
    assert [(f["path"], f["commit"]) for f in only_feature] == [("a.env", on_feature)]
    # Anything git log accepts: here, two revision arguments in one --commits value.
    both = findings(repo.run("scan", "--commits", f"feature main ^{base}", "--format", "json"))
    assert len(both) == 2


def test_merged_branch_is_reported_once_at_its_own_commit(repo: Repo) -> None:
    key = fake_key()
    base, on_feature, _ = _branches(
        repo, ("a.env", f"CAPTCHAAI_API_KEY={key}\n"), ("other.txt", "main work\n")
    )
    repo.git("merge", "-q", "--no-ff", "--no-edit", "feature")
    result = repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json")
    (found,) = findings(result)
    assert found["commit"] == on_feature  # not again at the merge, which added nothing of its own


def test_key_added_by_a_merge_itself_is_found(repo: Repo) -> None:
    key = fake_key()
    base, _, _ = _branches(repo, ("feature.txt", "feature\n"), ("main.txt", "main\n"))
    repo.git("merge", "-q", "--no-ff", "--no-commit", "feature")
    repo.stage("deploy.env", f"CAPTCHAAI_API_KEY={key}\n")  # an edit hidden in the merge
    merge = repo.commit("merge feature")
    (found,) = findings(repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json"))
    assert (found["path"], found["commit"]) == ("deploy.env", merge)


def test_conflict_resolution_is_checked_line_by_line(repo: Repo) -> None:
    """A conflicted file: the side the merge keeps was checked at its own
    commit; a key typed into the resolution is the merge's, at its line."""
    ours, theirs, typed = fake_key(), fake_key(), fake_key()
    base, on_feature, on_main = _branches(
        repo,
        ("app.env", f"A=1\nCAPTCHAAI_API_KEY={theirs}\nC=3\n"),
        ("app.env", f"A=1\nCAPTCHAAI_API_KEY={ours}\nC=3\n"),
        base=("app.env", "A=1\nB=2\nC=3\n"),
    )
    repo.git("merge", "-q", "--no-ff", "--no-commit", "feature", check=False)  # conflicts
    repo.stage("app.env", f"A=1\nCAPTCHAAI_API_KEY={theirs}\nC=3\nD=4\nCAPTCHAAI_API_KEY_2={typed}\n")
    merge = repo.commit("merge feature")
    found = findings(repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json"))
    where = sorted((f["commit"], f["line"], f["masked"]) for f in found)
    assert where == sorted(
        [
            (on_feature, 2, "***" + theirs[-4:]),
            (on_main, 2, "***" + ours[-4:]),
            (merge, 5, "***" + typed[-4:]),
        ]
    )


def test_empty_range_is_clean(repo: Repo) -> None:
    repo.stage("a.txt", "x\n")
    repo.commit()
    result = repo.run("scan", "--commits", "HEAD..HEAD", "--format", "json")
    assert result.code == 0 and findings(result) == []


def test_unknown_revision_is_one_error_line_with_a_hint(repo: Repo) -> None:
    repo.stage("a.txt", "x\n")
    repo.commit()
    result = repo.run("scan", "--commits", "0123abcd..HEAD")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "fetch-depth: 0" in result.err
    assert "Traceback" not in result.err


# -- progress ---------------------------------------------------------------

_ESCAPES = re.compile(r"\x1b\[\?25[lh]")  # click hides the cursor while the bar runs


def _history(repo: Repo, commits: int) -> None:
    for n in range(commits):
        repo.stage("log.txt", f"line {n}\n")
        repo.commit(f"c{n}")


def _long_history(repo: Repo, commits: int, key: str) -> None:
    """``commits`` commits written by ``git fast-import``; one in the middle adds ``key``."""
    parts = []
    for n in range(commits):
        data = "".join(f"line {n} {i}\n" for i in range(5))
        if n == commits // 2:
            data += f'CAPTCHAAI_API_KEY = "{key}"\n'
        message = f"c{n}"
        parts.append(
            f"commit refs/heads/main\nmark :{n + 1}\n"
            f"committer A <a@example.com> {1_700_000_000 + n} +0000\ndata {len(message)}\n{message}\n"
            + (f"from :{n}\n" if n else "")
            + f"M 644 inline f{n % 40}.py\ndata {len(data)}\n{data}\n"
        )
    repo.git("fast-import", "--quiet", input="".join(parts))
    repo.git("reset", "-q", "--hard")


def _terminal(columns: int = 80) -> tuple[int, int]:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return leader, follower


def _read_all(leader: int) -> bytes:
    got = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        got += chunk
    return got


def _run_with_tty_stderr(repo: Repo, *args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = _terminal()
    try:
        proc = subprocess.Popen(
            [console_script(), *args],
            cwd=repo.path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
    finally:
        os.close(follower)
    assert proc.stdout is not None
    err = _read_all(leader)
    out = proc.stdout.read()
    code = proc.wait(timeout=60)
    os.close(leader)
    return code, out.decode(), err.decode()


def _drawn(err: str) -> list[str]:
    """The lines the bar drew over each other (``\\r`` starts each)."""
    return [line for line in _ESCAPES.sub("", err).rstrip("\r\n").split("\r") if line]


def test_progress_bar_on_a_terminal_only(repo: Repo) -> None:
    _history(repo, 12)
    code, out, err = _run_with_tty_stderr(repo, "scan", "--commits", "--all")
    assert code == 0
    assert "scanning commits [" in err and "12/12  100%" in err
    assert err.count("\n") == 1 and err.endswith("\x1b[?25h\r\n")  # one line, finished, cursor back
    assert "scanning" not in out and "no CaptchaAI API keys" in out
    # Machine-readable formats stay quiet on a terminal too.
    code, out, err = _run_with_tty_stderr(repo, "scan", "--commits", "--all", "--format", "json")
    assert code == 0 and err == ""
    # Not a terminal: nothing on stderr.
    piped = repo.run("scan", "--commits", "--all")
    assert piped.code == 0 and piped.err == ""


def test_progress_bar_redraws_one_line_within_80_columns_before_the_report(repo: Repo) -> None:
    """A terminal of 80 columns, as a person runs it: stdout and stderr on the
    same pseudo-terminal, a history of 2,000 commits with one key."""
    key = fake_key()
    _long_history(repo, 2000, key)
    leader, follower = _terminal(80)
    try:
        proc = subprocess.Popen(
            [console_script(), "scan", "--commits", "--all"],
            cwd=repo.path,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
    finally:
        os.close(follower)
    screen = _read_all(leader).decode()
    assert proc.wait(timeout=60) == 1
    os.close(leader)
    report = screen.index("captchaai-guard: 1 CaptchaAI API key")
    bar, after = screen[:report], screen[report:]
    assert bar.startswith("\r") and bar.endswith("\x1b[?25h\r\n")  # finished before the report
    assert bar.count("\n") == 1  # every redraw on the same line
    drawn = _drawn(bar)
    assert len(drawn) >= 2  # at 0, then at the end
    assert all(len(line) < 80 for line in drawn), drawn
    assert all(line.startswith("captchaai-guard: scanning commits [") for line in drawn)
    assert all("%" in line and "/2000" in line for line in drawn)
    assert drawn[0].rstrip().endswith("0/2000    0%") and drawn[-1].rstrip().endswith("2000/2000  100%")
    assert "scanning" not in after and "\r" not in after.replace("\r\n", "\n")
    assert key not in screen


@pytest.mark.parametrize("columns", [40, 60, 80, 132])
@pytest.mark.parametrize("total", [1, 12, 2000, 999_999])
def test_progress_line_with_count_percent_and_eta_fits_the_terminal(columns: int, total: int) -> None:
    """The widest line the bar can draw (a count of total digits, an ETA of
    days) is shorter than the terminal, with the count, percent and ETA in it."""
    leader, follower = _terminal(columns)
    with os.fdopen(follower, "w") as stream:
        bar = progress_bar(total, stream)
        bar.update(max(0, total - 1))
        bar.eta_known, bar.avg = True, [200_000.0]  # as after a slow first second: a long ETA
        line = bar.format_progress_line()
        bar.render_progress()
    drawn = _drawn(_read_all(leader).decode())
    os.close(leader)
    assert len(line) < columns, line
    assert all(len(text.rstrip()) < columns for text in drawn), drawn
    assert f"{max(0, total - 1)}/{total}" in line and "%" in line and re.search(r"\d\d:\d\d:\d\d", line)
    if columns >= 80 and total <= 10_000:
        assert line.startswith("captchaai-guard: scanning commits [")


def test_progress_redraws_at_most_every_interval_and_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    leader, follower = _terminal(80)
    with os.fdopen(follower, "w") as stream:
        tally = _Tally(progress_bar(4, stream))  # drawn at 0
        tally(1)  # t=0: drawn
        now[0] = 0.01
        tally(2)  # too soon
        now[0] = 0.5
        tally(3)  # drawn
        now[0] = 0.51
        tally(4)  # the last one is always drawn
        tally.close()
        tally.close()  # once
    err = _read_all(leader).decode()
    os.close(leader)
    drawn = [line.rstrip() for line in _drawn(err)]
    counts = [line[line.index("]") + 1 :].split() for line in drawn]
    assert counts == [["0/4", "0%"], ["1/4", "25%"], ["3/4", "75%"], ["4/4", "100%"]]
    assert err.count("\n") == 1 and err.endswith("\x1b[?25h\r\n")
    assert tally.seen == 4


def test_commit_counter_counts_markers_split_across_reads() -> None:
    mark = COMMIT_MARK.encode()
    log = mark + b"a\n\n+x\n" + mark + b"b\n+" + mark + b"not a commit\n" + mark + b"c\n"
    for size in range(1, len(log) + 1):
        seen: list[int] = []
        counter = CommitCounter(io.BytesIO(log), seen.append)
        data = b"".join(iter(lambda: counter.read(size), b""))  # noqa: B023
        assert data == log
        assert counter.seen == 3, size
        assert seen == sorted(seen)


def test_merges_come_as_combined_diffs_from_a_second_log() -> None:
    from captchaai_guard.sources.gitargs import log_commands

    single, merges = log_commands(["HEAD", "--not", "--remotes=origin"])
    assert "--no-merges" in single and "--cc" not in single
    assert "--merges" in merges and "--cc" in merges
    assert single[-3:] == merges[-3:] == ["HEAD", "--not", "--remotes=origin"]
