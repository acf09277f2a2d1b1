"""SIGINT and SIGTERM during a scan: exit 2, one line, no traceback, and no
process the scan started (git, a forked parser) left running afterwards.

Real signals to real processes: each run is the leader of a session of its
own, so that whatever it started shares its process group, and what is left
of that group once it has exited is read from /proc. The ``git`` first on
PATH is a script that runs the real git and then holds its output open
(``exec sleep``) for the scan's diff and log commands only: such a scan can
only end by the signal, and a git left behind would live on for a minute.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Repo, console_script, fake_key

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads processes from /proc")

REAL_GIT = shutil.which("git") or "/usr/bin/git"
ENTRY = "from captchaai_guard.commands.hook import run; run(framework=True)"  # .pre-commit-hooks.yaml
SIGNALS = [signal.SIGINT, signal.SIGTERM]
NAMES: dict[int, str] = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def slow_git(tmp_path: Path, marker: Path) -> dict[str, str]:
    """An environment whose ``git`` holds the scan's diffs and logs open
    after printing them (touching ``marker`` first); other commands are
    the real git's."""
    bindir = tmp_path / "slow-bin"
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / "git"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  *--inter-hunk-context=0*) "{REAL_GIT}" "$@"; : > "{marker}"; exec sleep 60 ;;\n'
        "esac\n"
        f'exec "{REAL_GIT}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    # git puts its exec path first on a hook's PATH: there too, this one.
    env["GIT_EXEC_PATH"] = str(bindir)
    return env


def group(pgid: int, width: int = 120) -> list[str]:
    """The live (not zombie) processes of process group ``pgid``: "pid: command"
    (its first ``width`` characters)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{name}: {command[:width]}")
    return found


def catches(pid: int, signum: int) -> bool:
    """True once process ``pid`` has a handler for ``signum`` (SigCgt)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except OSError:
        pass
    return False


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)


@dataclass
class Stopped:
    code: int
    err: str
    left: list[str]  # what was still running in its process group once it had exited


def interrupt(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    signum: int,
    ready: Callable[[subprocess.Popen[bytes]], bool],
    target: Callable[[subprocess.Popen[bytes]], int] | None = None,
    delay: float = 0.0,
    whole_group: bool = False,
    merged: bool = False,
) -> Stopped:
    """Start ``argv``; once ``ready``, after ``delay``, send ``signum`` to
    ``target`` (default: the process itself), or to its whole group (a
    Ctrl-C at a terminal); wait for it to end. ``err`` is its stderr (with
    ``merged``, its stdout too)."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE if merged else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        start_new_session=True,
    )
    output = proc.stdout if merged else proc.stderr
    try:
        wait_for(lambda: ready(proc) or proc.poll() is not None, "the run to be ready")
        time.sleep(delay)
        if whole_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(target(proc) if target is not None else proc.pid, signum)
        assert output is not None
        err = output.read().decode("utf-8", "replace")
        code = proc.wait(timeout=30)
        # A process the run killed but did not start itself (a wrapper's git)
        # is torn down by the kernel after the run exits: give it a moment.
        # What the run failed to kill holds on (the slow git sleeps a minute).
        deadline = time.monotonic() + 0.5
        left = group(proc.pid)
        while left and time.monotonic() < deadline:
            time.sleep(0.01)
            left = group(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # (whatever a failing run left)
        proc.wait()
    return Stopped(code, err, left)


def assert_interrupted(stopped: Stopped, signum: int) -> None:
    """Exit 2, ending with the one line that says so, nothing left running.
    Only that line, unless the signal came while a clean-up ran (a
    generator's, at garbage collection): Python drops what a handler raises
    there, the git that clean-up stopped ends the diff early, and the scan
    may report what it read before the run still ends as interrupted."""
    lines = [line for line in stopped.err.splitlines() if line.strip()]
    assert stopped.code == 2, (stopped.code, stopped.err)
    assert lines[-1:] == [f"captchaai-guard: error: interrupted by {NAMES[signum]}"], stopped.err
    assert len(lines) == 1 or "CaptchaAI API key" in lines[0], stopped.err
    assert "Traceback" not in stopped.err and "Exception ignored" not in stopped.err, stopped.err
    assert not stopped.left, stopped.left


@pytest.fixture
def staged_key(repo: Repo) -> Repo:
    repo.stage("base.txt", "base\n")
    repo.commit("base")
    repo.stage("app.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit("key")
    repo.stage("next.env", f"CAPTCHAAI_API_KEY_2={fake_key()}\n")
    return repo


RUNS = {
    "scan": [console_script(), "scan"],
    "scan --commits": [console_script(), "scan", "--commits", "HEAD~1..HEAD"],
    "scan with click": [console_script(), "scan", "--no-baseline"],
    "hook": [console_script("captchaai-guard-hook"), "pre-commit"],
    "pre-commit entry": [sys.executable, "-c", ENTRY, "pre-commit", "next.env"],
}


@pytest.mark.parametrize("signum", SIGNALS, ids=NAMES.get)
@pytest.mark.parametrize("name", list(RUNS))
def test_a_signal_while_git_runs_stops_git_too(
    staged_key: Repo, tmp_path: Path, name: str, signum: int
) -> None:
    """The signal reaches the scan alone (``kill PID``, a CI time-out): the
    git it is reading is killed and reaped before it exits."""
    marker = tmp_path / "git-printed"
    env = slow_git(tmp_path, marker)
    stopped = interrupt(RUNS[name], staged_key.path, env, signum, lambda proc: marker.exists())
    assert_interrupted(stopped, signum)


@pytest.mark.parametrize("signum", SIGNALS, ids=NAMES.get)
def test_ctrl_c_reaches_the_whole_group(staged_key: Repo, tmp_path: Path, signum: int) -> None:
    marker = tmp_path / "git-printed"
    env = slow_git(tmp_path, marker)
    for argv in (RUNS["scan"], RUNS["scan --commits"]):
        printed = lambda proc: marker.exists()  # noqa: E731
        stopped = interrupt(argv, staged_key.path, env, signum, printed, whole_group=True)
        assert_interrupted(stopped, signum)
        marker.unlink()


@pytest.mark.parametrize("signum", SIGNALS, ids=NAMES.get)
@pytest.mark.parametrize("name", ["scan with click", "hook", "pre-commit entry"])
def test_a_signal_during_start_up_imports(staged_key: Repo, tmp_path: Path, name: str, signum: int) -> None:
    """From the moment the run catches SIGTERM (its first statement), a
    signal at any point of the start-up (click, the configuration, the scan
    modules, the first git calls) ends it the same way. The staged diff is
    past the size from which the hook's fast path imports the scan modules
    while git still writes."""
    lines = "".join(f"# line {n} of a large file with some text in it\n" for n in range(8000))
    staged_key.stage("big.txt", lines)
    env = slow_git(tmp_path, tmp_path / "git-printed")
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.04):
        stopped = interrupt(
            RUNS[name],
            staged_key.path,
            env,
            signum,
            lambda proc: catches(proc.pid, signal.SIGTERM),
            delay=delay,
        )
        assert_interrupted(stopped, signum)


def _hook_python(proc: subprocess.Popen[bytes]) -> int | None:
    """The Python process of the installed hook under ``proc`` (git commit),
    once it catches SIGTERM."""
    for line in group(proc.pid, width=1 << 16):
        pid, _, command = line.partition(": ")
        if "captchaai_guard.commands.hook" in command and catches(int(pid), signal.SIGTERM):
            return int(pid)
    return None


@pytest.mark.parametrize("whole_group", [False, True], ids=["sigterm-to-the-hook", "ctrl-c"])
def test_installed_hook(staged_key: Repo, tmp_path: Path, whole_group: bool) -> None:
    result = staged_key.run("install")
    assert result.code == 0, result.err
    marker = tmp_path / "git-printed"
    env = slow_git(tmp_path, marker)
    head = staged_key.git("rev-parse", "HEAD")
    signum = signal.SIGINT if whole_group else signal.SIGTERM
    found: list[int] = []

    def ready(proc: subprocess.Popen[bytes]) -> bool:
        pid = _hook_python(proc) if marker.exists() else None
        found[:] = [pid] if pid else []
        return pid is not None

    stopped = interrupt(
        ["git", "commit", "-q", "-m", "with a key"],
        staged_key.path,
        env,
        signum,
        ready,
        target=lambda proc: found[0],
        whole_group=whole_group,
    )
    assert stopped.code != 0
    lines = [line for line in stopped.err.splitlines() if "captchaai-guard" in line]
    assert lines == [f"captchaai-guard: error: interrupted by {NAMES[signum]}"], stopped.err
    assert "Traceback" not in stopped.err
    assert staged_key.git("rev-parse", "HEAD") == head  # nothing was committed
    # git commit may end before the hook (Ctrl-C): the rest of the group
    # goes within moments, and no git (a sleep of a minute) stays.
    deadline = time.monotonic() + 5
    while group_left(stopped) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not group_left(stopped), stopped.left


def group_left(stopped: Stopped) -> list[str]:
    return [line for line in stopped.left if _alive(int(line.partition(":")[0]))]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_signal_during_a_large_scan_leaves_nothing_running(repo: Repo) -> None:
    """A real git and a diff large enough for the forked parser and the
    work-tree reader: wherever the signal lands, the run either finished
    (exit 1) or was interrupted (exit 2, one line), and nothing it started
    runs on."""
    line = "# filler text of a large staged file, nothing secret here\n"
    for n in range(12):
        repo.write(f"big/{n:02}.txt", line * 18000 + f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.git("add", "big")
    outcomes = set()
    for args in (["scan"], ["scan", "--no-baseline"]):
        for delay in (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12):
            stopped = interrupt(
                [console_script(), *args],
                repo.path,
                dict(os.environ),
                signal.SIGTERM,
                lambda proc: catches(proc.pid, signal.SIGTERM),
                delay=delay,
            )
            assert not stopped.left, (args, delay, stopped.left)
            assert "Traceback" not in stopped.err
            if stopped.code == 2:
                assert_interrupted(stopped, signal.SIGTERM)
            else:
                assert stopped.code == 1, (args, delay, stopped.code, stopped.err)
            outcomes.add(stopped.code)
    assert 2 in outcomes


def test_a_signal_dropped_inside_a_callback_still_ends_the_run() -> None:
    """Python drops what a signal handler raises while a weakref callback runs
    (an import's module lock has one): the run still ends as interrupted,
    with its one line and nothing "ignored" on stderr."""
    code = textwrap.dedent(
        """
        import os, signal, sys, weakref
        from captchaai_guard.errors import guard

        class Thing:
            pass

        def main():
            thing = Thing()
            def callback(_):
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(10000):  # the handler runs in here
                    pass
            ref = weakref.ref(thing, callback)
            del thing
            return 0

        sys.exit(guard(main, lambda: None))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == ["captchaai-guard: error: interrupted by SIGTERM"], proc.stderr
