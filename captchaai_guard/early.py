"""A staged diff that git started before the scan modules were loaded.

The fast path (:func:`captchaai_guard.hook.clean_quickly`) spawns ``git diff
--cached`` and reads its first megabyte. When that cannot settle the scan,
the running git (and what was read) is kept here, and the scan that follows
goes on reading it (:class:`captchaai_guard.gitio.GitStream`) instead of
asking git for the same diff again. Only ``os`` is imported.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


# git writes ahead into the pipe while the scan checks the block read before;
# with the default 64 KiB pipe it would wait after every 64 KiB.
PIPE_SIZE = 1 << 20


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
        if self.fd is not None:
            try:  # noqa: SIM105 - contextlib is not loaded on the hook path
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


class Started:
    """A git process the fast path started: its command, environment and
    folder, the output read so far (``head``), the pipe to read the rest
    from (None: git has exited, ``status`` holds its exit code) and the
    file its errors go to. Once kept, a reader drains the pipe."""

    __slots__ = ("argv", "cwd", "env", "errors", "fd", "head", "pid", "reader", "status")

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
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.pid = pid
        self.fd = fd
        self.head = head
        self.status = status
        self.errors = errors
        self.reader: AheadReader | None = None

    def discard(self) -> None:
        """Stop git and release what it holds."""
        if self.status is None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.status = -9
        if self.reader is not None:
            self.reader.close()  # closes the pipe
            self.reader = self.fd = None
        for fd in (self.fd, self.errors):
            if fd is not None:
                try:  # noqa: SIM105 - contextlib is not loaded on the hook path
                    os.close(fd)
                except OSError:
                    pass
        self.fd = self.errors = None


_kept: Started | None = None


def keep(started: Started) -> None:
    """Keep ``started`` for the scan, reading ahead from now on."""
    global _kept
    discard()
    if started.fd is not None:
        started.reader = AheadReader(started.fd, started.head)
    _kept = started


def pending() -> bool:
    """True when a started git is kept for the scan."""
    return _kept is not None


def take() -> Started | None:
    """The kept process (once), or None."""
    global _kept
    started, _kept = _kept, None
    return started


def discard() -> None:
    """Stop the kept process, if the scan did not take it."""
    started = take()
    if started is not None:
        started.discard()
