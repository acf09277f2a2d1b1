"""The staged diff the fast path starts is handed to the scan (git runs
once), read ahead in a thread, and a git that fails after the hand-over
still fails the scan."""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from captchaai_guard.sources import prestart
from captchaai_guard.sources.prestart import AheadReader, Child, GrowingFile, output_file, spawn
from tests.conftest import Repo, console_script, fake_key

REAL_GIT = shutil.which("git")


def _logging_git(folder: Path, log: Path, fail_diff: bool = False) -> dict[str, str]:
    """A ``git`` first on PATH that logs each command line and runs the real
    git (with ``fail_diff``: a ``git diff`` exits 3 after its whole output)."""
    assert REAL_GIT is not None
    folder.mkdir()
    script = folder / "git"
    tail = f'case " $* " in *" diff "*) "{REAL_GIT}" "$@"; exit 3;; esac\n' if fail_diff else ""
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n{tail}exec "{REAL_GIT}" "$@"\n', encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _large_diff(repo: Repo, keys: list[str]) -> None:
    """Over a megabyte of staged text, a key at its start and one at its end."""
    filler = "".join(f"plain line {i} of filler text\n" for i in range(60_000))
    repo.stage("a_first.py", f'CAPTCHAAI_API_KEY = "{keys[0]}"\n')
    repo.stage("m_filler.txt", filler)
    repo.stage("z_last.sh", f"export CAPTCHAAI_API_KEY={keys[1]}\n")


def _hook(repo: Repo, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed hook script, as git runs it, with ``env``."""
    return subprocess.run(
        [console_script("captchaai-guard-hook"), "pre-commit"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _diff_runs(log: Path) -> int:
    """How many ``git diff --cached`` the logging git saw."""
    return sum(" diff --cached " in f" {line} " for line in log.read_text().splitlines())


def test_a_large_staged_diff_is_read_from_one_git(repo: Repo, tmp_path: Path) -> None:
    keys = [fake_key(), fake_key()]
    _large_diff(repo, keys)
    log = tmp_path / "git.log"
    env = _logging_git(tmp_path / "bin", log)
    result = repo.run("scan", "--format", "json", env=env)
    assert result.code == 1, result.err
    found = json.loads(result.out)["findings"]
    assert sorted(f["path"] for f in found) == ["a_first.py", "z_last.sh"]
    assert _diff_runs(log) == 1
    assert "--show-toplevel" not in log.read_text()  # no click, no repo_root: the fast path's folder


def test_the_hook_reads_a_large_staged_diff_from_one_git(repo: Repo, tmp_path: Path) -> None:
    keys = [fake_key(), fake_key()]
    _large_diff(repo, keys)
    log = tmp_path / "git.log"
    env = _logging_git(tmp_path / "bin", log)
    proc = _hook(repo, env)
    assert proc.returncode == 1
    assert "a_first.py:1" in proc.stderr and "z_last.sh:1" in proc.stderr
    assert _diff_runs(log) == 1


def test_a_git_failing_after_the_hand_over_fails_the_scan(repo: Repo, tmp_path: Path) -> None:
    _large_diff(repo, [fake_key(), fake_key()])
    env = _logging_git(tmp_path / "bin", tmp_path / "git.log", fail_diff=True)
    result = repo.run("scan", env=env)
    assert result.code == 2
    assert result.err.startswith("captchaai-guard: error: git diff failed")
    assert len(result.err.strip().splitlines()) == 1
    hook = _hook(repo, env)
    assert hook.returncode == 2 and "git diff failed" in hook.stderr


def test_a_small_diff_with_a_key_is_not_asked_for_twice(repo: Repo, tmp_path: Path) -> None:
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    log = tmp_path / "git.log"
    env = _logging_git(tmp_path / "bin", log)
    assert repo.run("scan", env=env).code == 1
    assert _diff_runs(log) == 1


def test_a_large_staged_diff_is_scanned_where_git_cannot_write_a_file(repo: Repo, tmp_path: Path) -> None:
    """git writes the staged diff into an anonymous temporary file; under a
    file-size limit (``ulimit -f``) or without a usable TMPDIR the scan
    reads it from a pipe instead, and still sees all of it."""
    keys = [fake_key(), fake_key()]
    _large_diff(repo, keys)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 18, 1 << 18))

    no_tmp = {**os.environ, "TMPDIR": str(tmp_path / "gone")}
    for env, limit in (({**os.environ}, small_files), (no_tmp, None)):
        for argv in ([console_script(), "scan"], [console_script("captchaai-guard-hook"), "pre-commit"]):
            proc = subprocess.run(
                argv, cwd=repo.path, capture_output=True, text=True, env=env, preexec_fn=limit, check=False
            )
            assert proc.returncode == 1, proc.stderr
            assert "a_first.py:1" in proc.stdout + proc.stderr and "z_last.sh:1" in proc.stdout + proc.stderr


def test_the_growing_file_reads_what_a_slow_writer_writes() -> None:
    """The reader waits for a writer that pauses, and reads to the end."""
    into = output_file()
    assert into is not None  # Linux, where the tests run
    script = "printf 'first\\n'; sleep 0.3; printf 'second\\n'; sleep 0.1; printf 'last'"
    started = spawn(["sh", "-c", script], dict(os.environ), None, into)
    assert started is not None
    pid, fd = started
    child = Child(pid)
    reader = GrowingFile(fd, child)
    data = b"".join(iter(lambda: reader.read(4), b""))
    reader.close()
    assert data == b"first\nsecond\nlast"
    assert child.wait() == 0


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _exits_soon(pid: int) -> bool:
    """True when ``pid`` (a child) exits within a few seconds; it is reaped."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.01)
    return False


def test_a_large_output_file_is_freed_by_a_short_lived_process(tmp_path: Path) -> None:
    """Closing a file of megabytes frees its pages in the closing process;
    ``release`` hands that to a ``cat`` that holds the file, writes nothing
    to it and exits at once, so the scan never waits for it."""
    path = tmp_path / "diff"
    data = os.urandom(prestart.HAND_OFF + 1)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDWR)
    before = set(prestart._helpers)
    prestart.release(fd)
    assert _closed(fd)
    (helper,) = set(prestart._helpers) - before
    assert _exits_soon(helper)  # it does not wait for this process to end
    prestart._helpers.remove(helper)
    assert path.read_bytes() == data  # untouched


def test_a_small_output_file_or_one_without_cat_is_closed_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "diff"
    path.write_bytes(b"x" * (prestart.HAND_OFF - 1))
    before = list(prestart._helpers)
    fd = os.open(path, os.O_RDONLY)
    prestart.release(fd)
    assert _closed(fd) and prestart._helpers == before
    path.write_bytes(b"x" * prestart.HAND_OFF)
    fd = os.open(path, os.O_RDONLY)
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    prestart.release(fd)
    assert _closed(fd) and prestart._helpers == before


def test_git_runs_with_an_allocator_that_keeps_its_memory(repo: Repo, tmp_path: Path) -> None:
    """git is asked to reuse freed memory (glibc's MALLOC_*_ settings) unless
    the user set them: its page faults were a quarter of a large diff's time."""
    assert REAL_GIT is not None
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "env.log"
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s %s\\n" "$MALLOC_MMAP_THRESHOLD_" "$MALLOC_TRIM_THRESHOLD_" >> "{log}"\n'
        f'exec "{REAL_GIT}" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    assert repo.run("scan", env=env).code == 1
    assert set(log.read_text().splitlines()) == {f"{32 << 20} {1 << 30}"}
    log.unlink()
    assert repo.run("scan", env={**env, "MALLOC_TRIM_THRESHOLD_": "4096"}).code == 1
    assert set(log.read_text().splitlines()) == {f"{32 << 20} 4096"}


def test_work_for_later_runs_while_the_scan_waits_for_git() -> None:
    """A task given to ``when_idle`` runs once, while a reader waits for a
    writer that pauses (the file git writes, or its pipe); one that fails
    is dropped without harming the read; what never ran is forgotten."""
    script = "printf 'first\\n'; sleep 0.3; printf 'last'"
    ran: list[str] = []

    def fail() -> None:
        ran.append("fail")
        raise RuntimeError("left for later")

    for growing in (True, False):
        ran.clear()
        prestart.when_idle(fail)
        prestart.when_idle(lambda: ran.append("task"))
        into = output_file() if growing else None
        started = spawn(["sh", "-c", script], dict(os.environ), None, into)
        assert started is not None
        pid, fd = started
        child = Child(pid)
        reader: GrowingFile | AheadReader = GrowingFile(fd, child) if growing else AheadReader(fd)
        data = b""
        while chunk := reader.read():
            data += chunk
        reader.close()
        child.wait()
        assert data == b"first\nlast"
        assert ran == ["fail", "task"], growing
    prestart.when_idle(lambda: ran.append("never"))
    prestart.forget_idle()
    assert not prestart._idle


def test_a_scan_offers_the_rules_compiling_as_idle_work_and_leaves_no_task(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rule's regex is offered to the scan's idle moments (compiling
    all of them is the work a first finding would wait for); no idle task
    outlives the scan (a library may scan again and again)."""
    from captchaai_guard.detect.engine import Engine
    from captchaai_guard.scan import scan_commits

    repo.stage("a.py", "x = 1\n")
    repo.commit()
    offered: list[object] = []
    real = prestart.when_idle

    def recording(task: Callable[[], object]) -> None:
        offered.append(task)
        real(task)

    monkeypatch.setattr(prestart, "when_idle", recording)
    engine = Engine()
    assert list(scan_commits(repo.path, ["--all"], engine)) == []
    assert len(offered) == len(engine.rules)
    assert not prestart._idle
    for task in engine.warm_up():
        task()
    assert all(rule._pattern is not None for rule in engine.rules)


def test_the_reader_hands_out_everything_in_order() -> None:
    read_end, write_end = os.pipe()
    pieces = [bytes([65 + i % 26]) * (1000 + 7919 * i % 70_000) for i in range(300)]

    def write() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            for i, piece in enumerate(pieces):
                out.write(piece)
                if i % 50 == 0:
                    time.sleep(0.01)  # the reader waits, then gets a short read

    writer = threading.Thread(target=write)
    writer.start()
    reader = AheadReader(read_end, head=b"head:")
    got = []
    while True:
        block = reader.read(1 << 20)
        if not block:
            break
        got.append(block)
    writer.join()
    reader.close()
    assert b"".join(got) == b"head:" + b"".join(pieces)


def test_the_reader_holds_at_most_its_limit() -> None:
    read_end, write_end = os.pipe()
    payload = os.urandom(1 << 16) * 64  # 4 MiB
    writer = threading.Thread(target=lambda: _write_all(write_end, payload))
    writer.start()
    reader = AheadReader(read_end, limit=1 << 20)
    time.sleep(0.3)  # the scan is busy: the reader stops at its limit
    assert reader.size <= (1 << 20) + AheadReader.CHUNK
    assert writer.is_alive()  # so git waits instead of memory growing
    data = b""
    while chunk := reader.read():
        data += chunk
    writer.join()
    reader.close()
    assert data == payload


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb", buffering=0) as out:
        out.write(data)


def test_closing_the_reader_early_stops_its_thread() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\nwhile True: sys.stdout.buffer.write(b'x' * 65536)"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    reader = AheadReader(os.dup(proc.stdout.fileno()), limit=1 << 20)
    proc.stdout.close()
    assert reader.read()
    proc.kill()
    proc.wait()
    reader.close()
    assert reader.thread is not None and not reader.thread.is_alive()


def test_a_commit_range_is_read_from_gits_started_first(repo: Repo, tmp_path: Path) -> None:
    """``scan --commits`` starts its ``git log`` commands before the scan
    modules load and reads each once, from any folder of the work tree: at
    once where it is, or, with a pathspec (relative to the top, as for the
    command), from the top."""
    repo.stage("base.txt", "base\n")
    base = repo.commit("base")
    repo.stage("sub/app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.commit("key")
    log = tmp_path / "git.log"
    env = _logging_git(tmp_path / "bin", log)
    result = repo.run(
        "scan", "--commits", f"{base}..HEAD", "--format", "json", env=env, cwd=repo.path / "sub"
    )
    assert result.code == 1, result.err
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["sub/app.py"]
    # (split on newlines only: the log format holds \x1e, a line break to splitlines)
    logs = [line for line in log.read_text().split("\n") if " log " in f" {line} "]
    assert len(logs) == len(set(logs)) >= 1
    assert not any(line.startswith("-C ") for line in logs)
    log.unlink()
    result = repo.run(
        "scan", "--commits", f"{base}..HEAD -- sub", "--format", "json", env=env, cwd=repo.path / "sub"
    )
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["sub/app.py"], result.err
    logs = [line for line in log.read_text().split("\n") if " log " in f" {line} "]
    assert len(logs) == len(set(logs)) >= 1
    assert all(
        line.startswith(f"-C {repo.path}") or f"-C {os.path.realpath(repo.path)}" in line for line in logs
    )


def test_a_bad_range_started_early_is_reported_once(repo: Repo) -> None:
    repo.stage("a.txt", "a\n")
    repo.commit()
    result = repo.run("scan", "--commits", "nosuchbranch..HEAD")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "fetch the whole history" in result.err
