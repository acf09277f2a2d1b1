"""git processes started before the scan modules are loaded.

The commit hook's fast path (:func:`captchaai_guard.commands.hook.clean_quickly`)
spawns ``git diff --cached`` and waits for it to exit or pass a megabyte;
when that cannot settle the scan, the running git is kept here. For
``captchaai-guard scan --commits``, :func:`start_log` starts the ``git log``
commands at once. A kept git writes on while Python imports the scan
modules, and the scan takes it (:class:`captchaai_guard.sources.gitio.GitStream`)
instead of asking git again: the staged diff goes into an anonymous file
(:class:`GrowingFile`), a log into a pipe a thread reads ahead
(:class:`AheadReader`).
git is spawned with ``os.posix_spawn``: only ``os`` is imported at load time.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from subprocess import Popen


# git writes ahead into the pipe while the scan checks the block read before;
# with the default 64 KiB pipe it would wait after every 64 KiB.
PIPE_SIZE = 1 << 20


def close(*fds: int | None) -> None:
    """Close each descriptor that is not None, whatever state it is in."""
    for fd in fds:
        if fd is not None:
            try:  # noqa: SIM105 - contextlib is not loaded on the hook path
                os.close(fd)
            except OSError:
                pass


def grow_pipe(fd: int, size: int = PIPE_SIZE) -> None:
    """Enlarge a pipe's buffer where the system allows it (Linux); else leave it."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is None:
        return
    try:
        fcntl.fcntl(fd, setter, size)
    except OSError:  # above /proc/sys/fs/pipe-max-size, or not permitted
        return


class AheadReader:
    """Reads a git pipe in a background thread, ahead of the scan.

    git never waits for the scan (while Python imports modules, compiles
    rules or checks a block): what it writes is kept in memory, up to
    ``limit`` bytes. The thread wakes rarely: after a short read it lets the
    pipe fill for a moment (unless the scan is waiting), and small reads are
    joined into blocks of at least :data:`JOIN` bytes. ``head`` is output
    read before (by the fast path).
    """

    CHUNK = PIPE_SIZE
    JOIN = 1 << 18
    NAP = 0.004  # seconds; git writes about 0.5 MB in that time

    def __init__(self, fd: int | None, head: bytes = b"", limit: int = 32 << 20) -> None:
        import threading
        from collections import deque

        self.fd = fd
        self.limit = limit
        self.chunks: deque[bytes] = deque([head] if head else [])
        self.size = len(head)
        self.done = False
        self.closed = False
        self.waiting = False
        self.error: OSError | None = None
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        if fd is None:  # git's whole output is ``head``
            self.done = True
            return
        grow_pipe(fd)
        self.thread = threading.Thread(target=self._run, args=(fd,), name="git-reader", daemon=True)
        self.thread.start()

    def _run(self, fd: int) -> None:
        from time import sleep

        pending: list[bytes] = []
        held = 0
        cond = self.cond
        while True:
            with cond:
                while self.size >= self.limit and not self.closed:
                    cond.wait()
                if self.closed:
                    return
            try:
                data = os.read(fd, self.CHUNK)
            except OSError as exc:
                with cond:
                    self.error, self.done = exc, True
                    cond.notify_all()
                return
            if data:
                pending.append(data)
                held += len(data)
            with cond:
                if pending and (not data or held >= self.JOIN or self.waiting):
                    block = pending[0] if len(pending) == 1 else b"".join(pending)
                    self.chunks.append(block)
                    self.size += held
                    pending, held = [], 0
                    cond.notify_all()
                if not data:
                    self.done = True
                    cond.notify_all()
                    return
                nap = len(data) < self.JOIN and not self.waiting
            if nap:
                sleep(self.NAP)

    def read(self, size: int = -1) -> bytes:
        """The next block git wrote (``size`` is a hint), or b"" at the end."""
        while _idle:  # nothing to read yet: do what the scan will need later
            with self.cond:
                if self.chunks or self.done:
                    break
            run_idle()
        with self.cond:
            while not self.chunks and not self.done:
                self.waiting = True
                self.cond.wait()
            self.waiting = False
            if not self.chunks:
                if self.error is not None:
                    raise self.error
                return b""
            data = self.chunks.popleft()
            self.size -= len(data)
            self.cond.notify_all()
            return data

    def close(self) -> None:
        """Stop reading (git must have exited or been killed) and close the pipe."""
        with self.cond:
            self.closed = True
            self.chunks.clear()
            self.cond.notify_all()
        if self.thread is not None:
            # git has exited, so its pipe is at its end; should another
            # process still hold the pipe open, the (daemon) thread is left
            # blocked, with its descriptor, rather than this wait hang.
            self.thread.join(timeout=2.0)
            if self.thread.is_alive():
                return
        close(self.fd)
        self.fd = None


class GrowingFile:
    """Reads the anonymous file git writes its output to, while it writes.

    git is never held back (no pipe to fill, no thread to wake): its output
    lands in the page cache at its own pace, and a read returns what is
    there, waiting only when the scan has caught up with git. ``proc``
    tells when git has exited (its ``poll``); after that, a read that finds
    nothing more is the end.
    """

    NAP = 0.0003  # seconds between looks when the scan has caught up with git
    BLOCK = 1 << 20

    def __init__(self, fd: int, proc: Child | Popen[bytes]) -> None:
        self.fd: int | None = fd
        self.proc = proc
        self.offset = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        """The next bytes git wrote (at most ``size``), or b"" at the end."""
        fd = self.fd
        if fd is None:
            return b""
        want = size if size > 0 else self.BLOCK
        while True:
            data = os.pread(fd, want, self.offset)
            if data:
                self.offset += len(data)
                return data
            if self.done:
                return b""
            if self.proc.poll() is not None:
                self.done = True  # what git wrote before it exited is read next
                continue
            if _idle:  # the scan has caught up with git: do what it will need later
                run_idle()
                continue
            from time import sleep

            sleep(self.NAP)

    def close(self) -> None:
        if self.fd is not None:
            release(self.fd)
        self.fd = None


# Freeing the pages of a file git wrote megabytes into takes time (about
# 5 ms per 20 MB, in the closing process): from this size on, the last
# reference goes to a short-lived ``cat``, which frees them as it exits
# while the scan writes its report.
HAND_OFF = 4 << 20
_helpers: list[int] = []  # pids of those ``cat``s, reaped on the next release


def release(fd: int) -> None:
    """Close ``fd``, a file git wrote its output into; a large one is freed
    by another process (see :data:`HAND_OFF`), never left open."""
    _reap()
    try:
        large = os.fstat(fd).st_size >= HAND_OFF
    except OSError:
        large = False
    if not large or not hasattr(os, "posix_spawnp"):
        close(fd)
        return
    hold, let_go = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, hold, 0),  # reads until this process lets go
        (os.POSIX_SPAWN_DUP2, fd, 1),  # holds the file (writes nothing to it)
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    try:  # noqa: SIM105 - contextlib is not loaded on the hook path
        _helpers.append(started(os.posix_spawnp("cat", ["cat"], dict(os.environ), file_actions=actions)))
    except OSError:
        pass  # no cat: this process frees the file itself
    close(hold, fd)  # while ``cat`` still holds the file, this is quick
    close(let_go)  # ``cat`` reads its end, exits and frees the file


def _reap() -> None:
    """Collect the ``cat``s of earlier releases that have exited."""
    for pid in list(_helpers):
        try:
            done, _ = reap(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else
            done = pid
        if done:
            _helpers.remove(pid)


# -- the children of this process ---------------------------------------------
# Every process a scan starts (git, a forked parser, a ``cat`` of release())
# is its owner's to reap, and its owner stops it when the scan ends early
# (``finally``). What an interrupted or failed run still has on its way out
# is stopped by stop_children(): the processes recorded here (pid -> the
# Popen that started it, or None for os.posix_spawn and os.fork), and on
# Linux any other child /proc lists, and their children. A pid leaves the record when reaped,
# so that a pid the system gave to another process is never signalled.
_running: dict[int, Popen[bytes] | None] = {}


def started(pid: int, proc: Popen[bytes] | None = None) -> int:
    """Record the child ``pid`` (started by ``proc``, if by subprocess)."""
    _running[pid] = proc
    return pid


def reap(pid: int, options: int = 0) -> tuple[int, int]:
    """``os.waitpid(pid, options)``, forgetting ``pid`` once it is reaped."""
    try:
        done = os.waitpid(pid, options)
    except ChildProcessError:
        _running.pop(pid, None)
        raise
    if done[0]:
        _running.pop(pid, None)
    return done


def reaped(proc: Popen[bytes]) -> None:
    """Forget a child started by subprocess, once its ``wait`` returned."""
    if proc.returncode is not None:
        _running.pop(proc.pid, None)


def stop_children() -> None:
    """Kill (SIGKILL) and reap every child this process has not reaped, and
    on Linux what those children started (a git wrapper's git, say): a run
    that ends early leaves no git behind. Never raises."""
    children: dict[int, Popen[bytes] | None] = dict(_running)
    _running.clear()
    for pid in _frozen_descendants():
        children.setdefault(pid, None)
    for pid, proc in children.items():
        try:
            if proc is None:
                os.kill(pid, 9)
            elif proc.returncode is None:
                proc.kill()
        except OSError:
            pass
    others = []
    for pid, proc in children.items():
        try:
            if proc is not None:
                proc.wait()
            else:
                os.waitpid(pid, 0)
        except ChildProcessError:  # not a child: a grandchild, the system reaps it
            others.append(pid)
        except (OSError, ValueError):
            pass
    _wait_gone(others)


def _frozen_descendants(rounds: int = 10) -> list[int]:
    """Every process under this one (Linux), each stopped (SIGSTOP) as it is
    found: a stopped process starts nothing more, so looking again until no
    new one shows up finds what a child started meanwhile (a git wrapper's
    git), which killing the child first would have orphaned."""
    stop = __import__("_signal").SIGSTOP  # (the C module: no enum)
    seen: list[int] = []
    for _ in range(rounds):
        new = [pid for pid in _descendants(["self"]) if pid not in seen]
        if not new:
            break
        for pid in new:
            try:  # noqa: SIM105 - contextlib is not loaded on the hook path
                os.kill(pid, stop)
            except OSError:
                pass
        seen += new
    return seen


def _descendants(parents: list[str]) -> list[int]:
    """The processes /proc lists under ``parents`` (Linux), children first."""
    found: list[int] = []
    for parent in parents:
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                fd = os.open(f"/proc/{parent}/task/{thread}/children", os.O_RDONLY)
            except OSError:
                continue
            try:
                found += [int(pid) for pid in os.read(fd, 1 << 16).split()]
            except (OSError, ValueError):
                pass
            finally:
                os.close(fd)
    if found:
        found += _descendants([str(pid) for pid in found])
    return found


def _wait_gone(pids: list[int], timeout: float = 0.5) -> None:
    """Wait (a moment at most) until the killed processes ``pids``, which
    are not this process's children, are dead (gone, or zombies)."""
    from time import monotonic, sleep

    deadline = monotonic() + timeout
    for pid in pids:
        while monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    if handle.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                        break
            except (OSError, IndexError):
                break
            sleep(0.001)


_idle: list[Callable[[], object]] = []


def when_idle(task: Callable[[], object]) -> None:
    """Run ``task`` (loading a module the report needs, say) the next time
    the scan waits for git to write more, instead of after the scan; it may
    never run (then the scan does that work when it needs it)."""
    _idle.append(task)


def pending_idle() -> bool:
    """True when a task waits for the scan to be idle."""
    return bool(_idle)


def run_idle() -> None:
    """Run the oldest waiting task; a failure is left for the scan to meet
    when it does that work itself."""
    task = _idle.pop(0)
    try:  # noqa: SIM105 - contextlib is not loaded on the hook path
        task()
    except Exception:  # the same work is done, and fails loudly, later
        pass


def forget_idle() -> None:
    """Drop the tasks that did not run (the scan is over)."""
    _idle.clear()


class Child:
    """A process started with ``os.posix_spawn``, with the part of
    :class:`subprocess.Popen` a scan uses (``poll``, ``wait``, ``kill``)."""

    def __init__(self, pid: int, status: int | None = None) -> None:
        self.pid = pid
        self.returncode = status

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = reap(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = reap(self.pid)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:  # noqa: SIM105 - contextlib is not loaded on the hook path
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass


def can_fork() -> bool:
    """A forked child can share the work: ``os.fork`` exists and there is a
    second CPU to run it."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


class Forked:
    """A forked child that computes ``task()`` (a value :mod:`marshal` can
    write) while this process goes on; :meth:`result` reads it back.
    Anything the child cannot finish fails the scan, never passes it."""

    def __init__(self, task: Callable[[], object]) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid:
            started(pid)
        else:  # the child: compute, send, leave
            os.close(read_end)
            code = 0
            try:
                import marshal

                view = memoryview(marshal.dumps(task()))  # type: ignore[arg-type]
                while view:
                    view = view[os.write(write_end, view) :]
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        os.close(write_end)
        self.child: Child | None = Child(pid)
        self.fd = read_end

    def result(self, what: str) -> object:
        """The child's value (``what`` it computed names it in the error)."""
        child = self.child
        assert child is not None
        self.child = None
        while pending_idle() and child.poll() is None:  # do what the scan will need later
            run_idle()
        chunks = []
        try:
            while chunk := os.read(self.fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(self.fd)
            code = child.wait()
        if code != 0:
            from captchaai_guard.errors import GuardError

            raise GuardError(f"the process scanning {what} failed (exit {code})")
        import marshal

        return marshal.loads(b"".join(chunks))

    def abandon(self) -> None:
        """Stop the child (the scan was interrupted); nothing once read."""
        child, self.child = self.child, None
        if child is not None:
            os.close(self.fd)
            try:
                child.kill()
                child.wait()
            except OSError:
                pass


class Started:
    """A git process the fast path started: its command, environment and
    folder, the output read so far (``head``), where to read the rest from
    (``fd``: a pipe, or with ``growing`` the file git writes to, read from
    its start; None: git has exited and ``head`` is all), its exit code
    once known (``status``) and the file its errors go to. Once kept, a
    reader reads ``fd``."""

    __slots__ = ("argv", "child", "cwd", "env", "errors", "fd", "growing", "head", "reader", "status")

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        pid: int,
        fd: int | None,
        head: bytes,
        status: int | None,
        errors: int | None,
        growing: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.child = Child(pid, status)
        self.fd = fd
        self.head = head
        self.status = status
        self.errors = errors
        self.growing = growing
        self.reader: AheadReader | GrowingFile | None = None

    def discard(self) -> None:
        """Stop git and release what it holds."""
        try:
            self.child.kill()
            self.status = self.child.wait()
        except OSError:
            pass
        if self.reader is not None:
            self.reader.close()  # closes the pipe
            self.reader = self.fd = None
        close(self.fd, self.errors)
        self.fd = self.errors = None


_kept: list[Started] = []


def keep(started: Started) -> None:
    """Keep ``started`` for the scan, reading ahead from now on."""
    if started.fd is not None and started.growing:
        started.reader = GrowingFile(started.fd, started.child)
    elif started.fd is not None:
        started.reader = AheadReader(started.fd, started.head)
    _kept.append(started)


def pending() -> bool:
    """True when a started git is kept for the scan."""
    return bool(_kept)


def take(match: Callable[[Started], bool]) -> Started | None:
    """The first kept process ``match`` accepts (once), or None."""
    for i, started in enumerate(_kept):
        if match(started):
            return _kept.pop(i)
    return None


def discard() -> None:
    """Stop the kept processes the scan did not take."""
    while _kept:
        _kept.pop().discard()


# -- starting git with os.posix_spawn (no subprocess on the hook path) --------


def error_file() -> int | None:
    """An anonymous file (for git's errors, or its output) where the system
    has O_TMPFILE (Linux) and the temporary folder takes one and has room
    (see :func:`temp_full`), else None."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        fd = os.open(temp_folder(), flag | os.O_RDWR, 0o600)
    except OSError:
        return None
    if temp_full([fd]):  # what git writes there would be lost
        os.close(fd)
        return None
    return fd


def temp_folder() -> str:
    """Where :func:`error_file` makes its files (``TMPDIR``, else /tmp)."""
    return os.environ.get("TMPDIR") or "/tmp"


TEMP_ROOM = 1 << 20  # less free space than this: the folder counts as full


def temp_full(fds: Sequence[int] = ()) -> bool:
    """True when the file system of ``fds`` (files in the temporary
    folder), or else of :func:`temp_folder`, has almost no room left: a git
    writing there failed for that reason, and its message may be lost."""
    try:
        infos = [os.fstatvfs(fd) for fd in fds] if fds else [os.statvfs(temp_folder())]
    except (OSError, AttributeError):  # (no statvfs on Windows)
        return False
    return any(info.f_bavail * info.f_frsize < TEMP_ROOM for info in infos)


def output_file() -> int | None:
    """An anonymous file for git's output (see :class:`GrowingFile`), or None
    where there is none or a file-size limit (``ulimit -f``) could cut it."""
    return error_file() if _file_size_unlimited() else None


def _file_size_unlimited() -> bool:
    """No ``ulimit -f``: read from /proc (the ``resource`` module takes
    longer to import than the whole look), else asked of ``resource``."""
    try:
        fd = os.open("/proc/self/limits", os.O_RDONLY)
        try:
            text = os.read(fd, 8192)
        finally:
            os.close(fd)
        at = text.find(b"\nMax file size ")
        if at != -1:
            return text[at:].split()[3] == b"unlimited"  # Max file size SOFT HARD bytes
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # not POSIX
        return False
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] == resource.RLIM_INFINITY


def spawn(
    argv: Sequence[str], env: Mapping[str, str], errors: int | None, into: int | None = None
) -> tuple[int, int] | None:
    """Start ``argv`` with its output on a pipe, or into the file ``into``
    (``errors``: where its stderr goes, else /dev/null): ``(pid, read end)``
    (``into`` itself for a file), or None where that cannot be done here (no
    posix_spawn, closed standard streams, no such program)."""
    if not hasattr(os, "posix_spawnp"):
        return None
    if into is not None:
        read_end, write_end = into, os.dup(into)
    else:
        read_end, write_end = os.pipe()
    if min(read_end, write_end) <= 2:  # stdio closed: do not juggle descriptors
        if into is None:
            os.close(read_end)
        os.close(write_end)
        return None
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, write_end, 1),
        (os.POSIX_SPAWN_DUP2, errors, 2)
        if errors is not None
        else (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    try:
        pid = started(os.posix_spawnp(argv[0], list(argv), env, file_actions=actions))
    except OSError:
        if into is None:
            os.close(read_end)
        return None
    finally:
        os.close(write_end)
    return pid, read_end


def output(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """What ``argv`` prints, or None when it cannot run or fails."""
    started = spawn(argv, env, None)
    if started is None:
        return None
    data = collect(*started)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def collect(pid: int, fd: int) -> bytes | None:
    """All that the process ``pid`` (started by :func:`spawn`) prints on
    ``fd``, once it has exited; None when it failed."""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)
    _, status = reap(pid)
    return b"".join(chunks) if status == 0 else None


def start_log(revisions: Sequence[str]) -> str | None:
    """Start the ``git log`` commands that scan ``revisions`` (see
    :func:`captchaai_guard.sources.gitargs.log_commands`) from the top of the work
    tree and keep them; return that folder, or None (nothing started: the
    scan asks git itself, and reports what goes wrong)."""
    from captchaai_guard.sources.gitargs import git_argv, git_env

    env = git_env()
    # Without a pathspec (after ``--``, relative to the folder git starts
    # in) a log prints the same from any folder of the work tree: it starts
    # here at once, while git finds the top.
    here = "--" not in revisions
    started = _spawn_logs(revisions, env, None) if here else []
    if started is None:
        return None
    top = output(git_argv(["rev-parse", "--show-toplevel"]), env)
    root = top[:-1] if top and top.endswith("\n") else ""
    if not os.path.isabs(root) or not os.path.isdir(root):  # (not a git answer: the scan reports it)
        for log in started:
            log.discard()
        return None
    if not here:
        started = _spawn_logs(revisions, env, root)
        if started is None:
            return None
    for log in started:
        log.cwd = root  # what it prints is the same as from there
        keep(log)
    return root


def _spawn_logs(revisions: Sequence[str], env: Mapping[str, str], root: str | None) -> list[Started] | None:
    """Start the log commands (from ``root``, else from here); None, with
    nothing left running, when one cannot be started."""
    from captchaai_guard.sources.gitargs import git_argv, log_commands

    started: list[Started] = []
    for args in log_commands(revisions):
        argv = git_argv(args)
        errors = error_file()
        # Without a file for its errors, the scan starts git itself (they go to a pipe).
        command = argv if root is None else [argv[0], "-C", root, *argv[1:]]
        spawned = None if errors is None else spawn(command, env, errors)
        if spawned is None:
            close(errors)
            for log in started:
                log.discard()
            return None
        pid, fd = spawned
        started.append(Started(argv, env, root or "", pid, fd, b"", None, errors))
    return started
