"""``scan --commits``: every commit of a range, one at a time, added lines
only, with its full sha, author and date; merges; the progress bar."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
from typing import Any

from captchaai_guard.commands.progress import Progress, bar
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


def _history(repo: Repo, commits: int) -> None:
    for n in range(commits):
        repo.stage("log.txt", f"line {n}\n")
        repo.commit(f"c{n}")


def _run_with_tty_stderr(repo: Repo, *args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = pty.openpty()
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
    err = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()
    code = proc.wait(timeout=60)
    os.close(leader)
    return code, out.decode(), err.decode()


def test_progress_bar_on_a_terminal_only(repo: Repo) -> None:
    _history(repo, 12)
    code, out, err = _run_with_tty_stderr(repo, "scan", "--commits", "--all")
    assert code == 0
    assert "scanning commits [" in err and "12/12 100%" in err
    assert err.endswith("\r")  # wiped before the report
    assert "scanning" not in out and "no CaptchaAI API keys" in out
    # Machine-readable formats stay quiet on a terminal too.
    code, out, err = _run_with_tty_stderr(repo, "scan", "--commits", "--all", "--format", "json")
    assert code == 0 and err == ""
    # Not a terminal: nothing on stderr.
    piped = repo.run("scan", "--commits", "--all")
    assert piped.code == 0 and piped.err == ""


def test_progress_printer_draws_throttles_and_wipes() -> None:
    clock = iter([0.0, 0.01, 0.5, 0.51, 0.52]).__next__
    stream = io.StringIO()
    progress = Progress(4, stream, "scan", interval=0.1, clock=clock, columns=80)
    progress.update(1)  # t=0: drawn
    progress.update(2)  # t=0.01: too soon
    progress.update(3)  # t=0.5: drawn
    progress.update(4)  # the last one is always drawn
    drawn = stream.getvalue()
    assert drawn.count("\r") == 3
    assert "1/4  25%" in drawn and "2/4" not in drawn and "3/4  75%" in drawn and "4/4 100%" in drawn
    progress.close()
    assert stream.getvalue().endswith("\r" + " " * len(bar(4, 4, "scan")) + "\r")


def test_progress_line_fits_the_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(1000, stream, "captchaai-guard: scanning commits", columns=40)
    progress.update(500)
    assert stream.getvalue() == "\r" + bar(500, 1000, "captchaai-guard: scanning commits")[:39]


def test_bar_text() -> None:
    assert bar(0, 10, "x", width=10) == "x [..........]  0/10   0%"
    assert bar(5, 10, "x", width=10) == "x [#####.....]  5/10  50%"
    assert bar(15, 10, "x", width=10) == "x [##########] 10/10 100%"


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
