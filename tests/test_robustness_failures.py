"""Failure is loud: whatever goes wrong ends with exit 2 and one clear line
on stderr, and a scan that did not see everything never exits 0."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Repo, Result, console_script, fake_key
from tests.robust import assert_one_error_line

REAL_GIT = shutil.which("git") or "git"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def _many_keys(repo: Repo, files: int = 40, per_file: int = 50) -> None:
    """A staged diff far larger than a pipe buffer, with keys throughout."""
    for f in range(files):
        lines = [f"# file {f} line {n} " + "padding " * 10 for n in range(per_file)]
        lines += [f"CAPTCHAAI_API_KEY_{2 + n % 8}={fake_key()}" for n in range(per_file)]
        repo.stage(f"conf/{f:03}.env", "\n".join(lines) + "\n")


def _wrapper(tmp_path: Path, body: str) -> dict[str, str]:
    """A ``git`` first on PATH that runs ``body`` (sh) with $REAL as real git."""
    bindir = tmp_path / "wrapped-bin"
    bindir.mkdir()
    script = bindir / "git"
    script.write_text(f'#!/bin/sh\nREAL="{REAL_GIT}"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return _env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_git_missing(repo: Repo, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = repo.run("scan", env=_env(PATH=str(empty)))
    assert_one_error_line(result, "git was not found")
    repo.stage("a.env", "A=1\n")
    assert_one_error_line(repo.run("scan", "--files", env=_env(PATH=str(empty))), "git was not found")


def test_stdin_needs_no_git(repo: Repo, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    head = "diff --git a/x.env b/x.env\n--- a/x.env\n+++ b/x.env\n@@ -0,0 +1 @@\n"
    diff = f"{head}+CAPTCHAAI_API_KEY={fake_key()}\n"
    result = repo.run("scan", "--stdin", input=diff.encode(), env=_env(PATH=str(empty)))
    assert result.code == 1, result.err


def test_corrupt_index(repo: Repo) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    index = repo.path / ".git" / "index"
    index.write_bytes(b"DIRC" + os.urandom(200))
    assert_one_error_line(repo.run("scan"), "git")
    index.write_bytes(b"")
    result = repo.run("scan")
    assert result.code == 2 or result.code == 0  # an empty index is a valid, empty index
    assert "Traceback" not in result.err


def test_truncated_index(repo: Repo) -> None:
    _many_keys(repo, files=5)
    index = repo.path / ".git" / "index"
    data = index.read_bytes()
    index.write_bytes(data[: len(data) // 2])
    assert_one_error_line(repo.run("scan"), "git")


def test_corrupt_object(repo: Repo) -> None:
    """A blob the diff needs cannot be read: the scan is incomplete."""
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    blob = repo.git("rev-parse", ":a.env").strip()
    path = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    path.chmod(0o644)
    path.write_bytes(b"not zlib at all")
    # git reads an unchanged work-tree file instead of the blob: remove it.
    (repo.path / "a.env").unlink()
    assert_one_error_line(repo.run("scan"))
    assert_one_error_line(repo.run("scan", "--files", "--", "missing.env"), "no such file")


def test_missing_object_in_history(repo: Repo) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit()
    blob = repo.git("rev-parse", "HEAD:a.env").strip()
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    assert_one_error_line(repo.run("scan", "--commits", "HEAD"))


def test_unreadable_repository(repo: Repo) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    if os.geteuid() == 0:
        # root reads everything: make git refuse the repository instead, as it
        # does for one owned by another user (safe.directory).
        subprocess.run(["chown", "-R", "65534:65534", str(repo.path)], check=True)
        result = repo.run("scan")
        assert_one_error_line(result, "dubious ownership")
        return
    git_dir = repo.path / ".git"
    git_dir.chmod(0)
    try:
        assert_one_error_line(repo.run("scan"))
    finally:
        git_dir.chmod(0o755)


def test_unreadable_file_in_files_mode(repo: Repo) -> None:
    target = repo.stage("a.env", "A=1\n")
    target.unlink()
    target.mkdir()  # a directory where a file is tracked: skipped, not a crash
    assert repo.run("scan", "--files").code == 0
    fifo = repo.path / "named.pipe"
    os.mkfifo(fifo)
    assert_one_error_line(repo.run("scan", "--files", "--", "named.pipe"))


@pytest.mark.parametrize(
    "body",
    [
        # killed by a signal after part of the diff
        'case "$*" in *" diff "*|*" log "*) "$REAL" "$@" | head -c 3000; kill -9 $$ ;; esac\n'
        'exec "$REAL" "$@"',
        # exits non-zero after part of the diff
        'case "$*" in *" diff "*|*" log "*) "$REAL" "$@" | head -c 3000; exit 1 ;; esac\n'
        'exec "$REAL" "$@"',
        # blob reader dies
        'case "$*" in *cat-file*) exit 3 ;; esac\nexec "$REAL" "$@"',
        # blob reader killed while answering
        'case "$*" in *cat-file*) read sha; echo "$sha blob 5000"; printf partial; kill -9 $$ ;; esac\n'
        'exec "$REAL" "$@"',
    ],
    ids=["diff-killed", "diff-exit-1", "cat-file-exit", "cat-file-killed"],
)
def test_git_dies_mid_stream(repo: Repo, tmp_path: Path, body: str) -> None:
    repo.stage("context.py", "# talks to captchaai\n")
    repo.commit()
    # Files git calls binary and a key needing file context make the scan
    # ask cat-file for blobs; the key sits late in the diff.
    repo.stage("aa.ps1", b"\xff\xfe" + '$env:CAPTCHAAI_API_KEY = "x"\r\n'.encode("utf-16-le"))
    for n in range(50):
        repo.stage(f"b{n:02}.txt", "filler line\n" * 40)
    repo.stage("zz.py", f'# captchaai\nsolver = TwoCaptcha("{fake_key()}")\n')
    env = _wrapper(tmp_path, body)
    for args in (("scan",), ("scan", "--commits", "HEAD")):
        if args[1:] and "cat-file" in body:
            continue
        if args[1:]:
            repo.commit("all")
        result = repo.run(*args, env=env)
        assert_one_error_line(result, "git")


def test_stdout_closed_early(repo: Repo) -> None:
    _many_keys(repo)
    for fmt in ("text", "json"):
        proc = subprocess.Popen(
            [console_script(), "scan", "--format", fmt],
            cwd=repo.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
        assert code == 2, (code, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "output closed" in lines[0], err


def test_stdout_closed_early_in_a_shell_pipeline(repo: Repo) -> None:
    _many_keys(repo)
    script = f'"{console_script()}" scan | head -c 10 >/dev/null; echo "status=${{PIPESTATUS[0]}}" >&2'
    proc = subprocess.run(["bash", "-c", script], cwd=repo.path, capture_output=True, text=True, check=False)
    assert "status=2" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("captchaai-guard: error:") == 1


def test_stdout_closed_before_start(repo: Repo) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    proc = subprocess.run(
        [console_script(), "scan"],
        cwd=repo.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    assert proc.returncode == 1
    closed = subprocess.run(
        ["bash", "-c", f'"{console_script()}" scan >&-'],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert closed.returncode == 2, closed.stderr
    assert "Traceback" not in closed.stderr


@pytest.mark.parametrize("args", [["rules"], ["rules", "--format", "json"]])
def test_a_listing_to_a_closed_stdout_is_an_error(repo: Repo, args: list[str]) -> None:
    """``rules`` writes through the same checked output as the reports:
    with nowhere to write, it says so instead of exiting 0."""
    command = " ".join([f'"{console_script()}"', *args])
    closed = subprocess.run(["bash", "-c", f"{command} >&-"], cwd=repo.path, capture_output=True, text=True)
    assert closed.returncode == 2, closed.stderr
    assert closed.stderr.count("captchaai-guard: error:") == 1 and "Traceback" not in closed.stderr


def test_a_full_disk_under_stdout_is_an_error_clean_or_not(repo: Repo) -> None:
    """The console script leaves without the interpreter's teardown: a report
    that cannot be written (``/dev/full``) still ends in exit 2 and one line,
    whether the scan found a key or not."""
    repo.stage("a.txt", "hello\n")
    for staged in ((), ("b.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")):
        if staged:
            repo.stage(*staged)
        for fmt in ("text", "json"):
            with open("/dev/full", "wb") as full:
                proc = subprocess.run(
                    [console_script(), "scan", "--format", fmt],
                    cwd=repo.path,
                    stdout=full,
                    stderr=subprocess.PIPE,
                    text=True,
                    check=False,
                )
            assert proc.returncode == 2, (staged, fmt, proc.stderr)
            assert proc.stderr.count("captchaai-guard: error:") == 1 and "Traceback" not in proc.stderr


def test_unwritable_output_file(repo: Repo, tmp_path: Path) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = repo.run("scan", "--output", str(tmp_path / "no" / "such" / "dir" / "report.txt"))
    assert_one_error_line(result, "cannot write")


def test_bad_usage_is_exit_2_without_traceback(repo: Repo) -> None:
    for args in (["scan", "--format", "xml"], ["scan", "--nope"], ["no-such-command"], ["scan", "x"]):
        result = repo.run(*args)
        assert result.code == 2 and "Traceback" not in result.err
        assert result.err.splitlines()[-1].startswith("Error:"), result.err


# --- limits, a broken git, a full temporary folder ---------------------------

HOOK = "captchaai-guard-hook"
ENTRIES = [
    ["scan"],
    ["scan", "--format", "json"],
    ["scan", "--commits", "HEAD"],
    ["scan", "--files"],
    ["scan", "--no-baseline"],
    [HOOK, "pre-commit"],
]


def _run_limited(repo: Repo, args: list[str], limit: int, env: dict[str, str] | None = None) -> Result:
    """``args`` (a console script's) with at most ``limit`` open files (ulimit -n)."""
    import resource

    argv = [console_script(HOOK), *args[1:]] if args[0] == HOOK else [console_script(), *args]

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.run(
        argv, cwd=repo.path, capture_output=True, env=env, check=False, preexec_fn=limited
    )
    return Result(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


@pytest.mark.parametrize("args", ENTRIES, ids=" ".join)
def test_too_few_open_files_is_one_line_and_exit_2(repo: Repo, args: list[str]) -> None:
    """``ulimit -n`` from 5 (below that the interpreter itself cannot
    start) up: each run either scans to the end (a key was found: exit 1
    with the report) or fails closed with one line, never a traceback and
    never exit 0."""
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit("key")
    repo.stage("b.env", f"CAPTCHAAI_API_KEY_2={fake_key()}\n")
    failed = []
    for limit in (5, 6, 7, 8, 9, 10, 12, 16, 24):
        result = _run_limited(repo, args, limit)
        assert "Traceback" not in result.err, (limit, result.err)
        if result.code == 2:
            assert_one_error_line(result, "open files")
            failed.append(limit)
        else:
            assert result.code == 1, (limit, result.code, result.err)
            report = result.out if args[0] == "scan" and "--format" not in args else result.out + result.err
            assert "b.env" in report or "a.env" in report, (limit, result.out, result.err)
    assert 5 in failed


def test_debug_variable_adds_the_traceback(repo: Repo) -> None:
    """CAPTCHAAI_GUARD_DEBUG=1: an unexpected error (here: no file
    descriptor left while modules load) shows its traceback, then the line."""
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit("key")
    debug = _env(CAPTCHAAI_GUARD_DEBUG="1")
    seen = 0
    for limit in range(5, 12):
        quiet = _run_limited(repo, ["scan", "--commits", "HEAD"], limit)
        if quiet.code != 2 or "raise the limit" not in quiet.err or "could not run" in quiet.err:
            continue  # (not an unexpected error at this limit)
        assert_one_error_line(quiet)
        loud = _run_limited(repo, ["scan", "--commits", "HEAD"], limit, env=debug)
        assert loud.code == 2 and "Traceback (most recent call last)" in loud.err, loud.err
        assert loud.err.splitlines()[-1] == quiet.err.strip()
        seen += 1
    assert seen


def _junk_git(tmp_path: Path, body: str) -> dict[str, str]:
    bindir = tmp_path / "junk-bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / "git"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return _env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("code", [0, 1])
def test_a_git_that_prints_junk_is_named_and_never_passes(repo: Repo, tmp_path: Path, code: int) -> None:
    """A ``git`` first on PATH that answers every command with junk (exit 0,
    or exit 1 with the junk on stderr): every entry point fails closed and
    says what that git printed (its first line, shortened, keys masked)."""
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    key = fake_key()
    junk = f"garbage {key} " + "word " * 80
    stream = "" if code == 0 else " >&2"
    env = _junk_git(tmp_path, f'echo "{junk}"{stream}\necho "second line"{stream}\nexit {code}')
    for args in ENTRIES:
        script = console_script(HOOK) if args[0] == HOOK else console_script()
        proc = subprocess.run(
            [script, *(args[1:] if args[0] == HOOK else args)],
            cwd=repo.path,
            capture_output=True,
            env=env,
            check=False,
        )
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        assert_one_error_line(result, "garbage ***" + key[-4:])
        line = result.err.strip()
        assert key not in line and "second line" not in line and "not found on PATH" not in line
        assert len(line) < 320, line
        if code == 0:
            assert "unexpected answer from git rev-parse" in line and "working git" in line, line


def test_git_in_a_missing_folder_is_not_a_missing_git(repo: Repo, tmp_path: Path) -> None:
    """A work-tree top git names but that is not a folder: said so, not
    "git was not found"."""
    env = _junk_git(
        tmp_path,
        f'case "$*" in *--show-toplevel*) echo "{tmp_path}/gone"; exit 0 ;; esac\nexec "{REAL_GIT}" "$@"',
    )
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    for args in (["scan", "--files"], ["scan", "--no-baseline"]):
        result = repo.run(*args, env=env)
        assert_one_error_line(result, "rev-parse", "gone")
        assert "not found on PATH" not in result.err


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a real tmpfs of a given size (root only; skipped elsewhere)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        target = tmp_path / f"tmpfs-{len(mounted)}"
        target.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def _fill(folder: Path) -> None:
    """Write into ``folder`` until its file system has no room left."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0


def test_a_full_temporary_folder_does_not_stop_the_scan(repo: Repo, tmpfs: Callable[[str], Path]) -> None:
    """TMPDIR on a full tmpfs: git's output and errors go through pipes
    instead, so the scan still finds the key, and git's own message still
    comes through."""
    full = tmpfs("64k")
    _fill(full)
    env = _env(TMPDIR=str(full))
    key_lines = "".join(f"# padding line {n}\n" for n in range(20000)) + f"CAPTCHAAI_API_KEY={fake_key()}\n"
    repo.stage("a.env", key_lines)
    for args in (["scan"], ["scan", "--no-baseline"], ["scan", "--format", "json"]):
        result = repo.run(*args, env=env)
        assert result.code == 1 and "a.env" in result.out, (args, result.err)
    hook = subprocess.run(
        [console_script(HOOK), "pre-commit"], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert hook.returncode == 1 and "a.env" in hook.stderr, hook.stderr
    assert_one_error_line(repo.run("scan", "--commits", "no-such-branch", env=env), "no-such-branch")


def test_a_temporary_folder_that_fills_up_is_named(repo: Repo, tmpfs: Callable[[str], Path]) -> None:
    """TMPDIR with room to start but not for the whole staged diff: git
    fails writing it, and its message (written there too) is lost; the
    error names the folder and says it is full."""
    small = tmpfs("1280k")
    env = _env(TMPDIR=str(small))
    names = [f"CAPTCHAAI_API_KEY_{i % 8 + 2}" for i in range(8000)]
    for n in range(6):
        repo.stage(f"f{n}.env", "".join(f"{name}=placeholder{i}\n" for i, name in enumerate(names)))
    repo.commit("placeholders")
    for n in range(6):  # every line edited, each with a key: git has to diff them
        repo.stage(f"f{n}.env", "".join(f"{name}={fake_key()}\n" for name in names))
    results = [repo.run("scan", env=env), repo.run("scan", "--no-baseline", env=env)]
    hook = subprocess.run(
        [console_script(HOOK), "pre-commit"], cwd=repo.path, env=env, capture_output=True, check=False
    )
    results.append(Result(hook.returncode, "", hook.stderr.decode()))
    for result in results:
        assert_one_error_line(result, "git diff failed", str(small), "is full", "No space left on device")


def test_an_error_line_is_masked_even_without_re() -> None:
    """The last-resort masking (used when ``re`` cannot load) hides every
    long run of letters and digits, as the regular one hides keys."""
    from captchaai_guard.errors import _scrub

    key = fake_key()
    assert _scrub(f"bad value {key}: try again") == f"bad value ***{key[-4:]}: try again"
    assert key not in _scrub(f"x={key}{key}")
