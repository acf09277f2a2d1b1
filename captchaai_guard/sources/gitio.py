"""Running git so that the user's configuration cannot change what we see.

Every diff is asked for with flags and ``-c`` overrides that pin colour,
prefixes, external diff drivers, textconv, path quoting, relative paths,
context size, rename detection and submodule format. Failures become
:class:`~captchaai_guard.errors.GitError` with one clear line.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

from captchaai_guard.errors import GitError, os_hint, redact, shorten
from captchaai_guard.sources import prestart
from captchaai_guard.sources.gitargs import (
    DIFF_FLAGS,
    git_argv,
    git_env,
    log_commands,
)

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:
    import subprocess
    from pathlib import Path
    from typing import IO


def as_stream(reader: object) -> IO[bytes]:
    """``reader`` (anything with ``read``) where a binary stream is expected:
    ``typing.cast`` without importing :mod:`typing`."""
    return reader  # type: ignore[return-value]


def _first_line(text: bytes) -> str:
    """The first non-empty line of what git printed, shortened, keys masked
    ("" when it printed nothing)."""
    for line in text.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            return redact(shorten(line.removeprefix("fatal: ").removeprefix("error: "), 200))
    return ""


NO_SPACE = "No space left on device"


def temp_full_message() -> str:
    folder = prestart.temp_folder()
    return (
        f"the temporary folder {folder} is full ({NO_SPACE}): "
        "free some space there or point TMPDIR at a folder with room"
    )


def failure(
    args: Sequence[str], code: int, err: bytes, out: bytes = b"", temp_full: bool = False
) -> GitError:
    """The error for ``git ARGS`` exiting with ``code``: what git printed
    (its first line; stdout's when stderr is empty). With ``temp_full`` (its
    output or errors went to the temporary folder, which is full), a
    message lost there or about space names that folder instead."""
    what = f"git {args[0]}" if args else "git"
    if code < 0:
        return GitError(f"{what} was killed by signal {-code}; the scan is incomplete")
    message = _first_line(err) or _first_line(out)
    if temp_full and (not message or NO_SPACE.lower() in message.lower()):
        return GitError(f"{what} failed: {temp_full_message()}")
    if not message:
        return GitError(f"{what} failed (exit code {code}) without a message")
    return GitError(f"{what} failed: {message}")


def _not_started(exc: OSError, cwd: str | Path | None, what: str = "git") -> GitError:
    """The error for a git that could not be started."""
    if cwd is not None and not os.path.isdir(cwd):
        return GitError(f"cannot run git in {os.fspath(cwd)!r}: no such folder")
    if isinstance(exc, FileNotFoundError):
        return GitError("git was not found on PATH; install git to use captchaai-guard")
    return GitError(f"could not run {what}: {os_hint(exc) or exc.strerror or exc}")


def run(
    args: Sequence[str],
    cwd: str | Path | None = None,
    input: bytes | None = None,
    ok: Collection[int] = (0,),
) -> bytes:
    """Run git and return its stdout; raise GitError when it exits outside ``ok``."""
    import subprocess  # not loaded by a scan whose git the fast path started

    try:
        proc = subprocess.run(
            git_argv(args), cwd=cwd, input=input, capture_output=True, env=git_env(), check=False
        )
    except OSError as exc:
        raise _not_started(exc, cwd) from None
    if proc.returncode not in ok:
        raise failure(args, proc.returncode, proc.stderr, proc.stdout)
    return proc.stdout


class _ErrorFile:
    """Where a streaming git writes its errors: an anonymous file, so a
    chatty stderr can never fill a pipe and stall git while its stdout is
    read. Where there is none (no O_TMPFILE, or a temporary folder without
    room), a pipe a thread reads ahead (:class:`prestart.AheadReader`)."""

    def __init__(self) -> None:
        self.handle: IO[bytes] | None = None
        self.pipe: prestart.AheadReader | None = None
        self.write_end: int | None = None
        fd = prestart.error_file()  # Linux: no tempfile import on the hook path
        if fd is not None:
            self.handle = os.fdopen(fd, "w+b")
            return
        read_end, self.write_end = os.pipe()
        self.pipe = prestart.AheadReader(read_end)

    @classmethod
    def adopt(cls, fd: int | None) -> _ErrorFile:
        """The file the fast path's git writes its errors to (None: dropped)."""
        errors = cls.__new__(cls)
        errors.handle = os.fdopen(fd, "w+b") if fd is not None else None
        errors.pipe = None
        errors.write_end = None
        return errors

    def target(self) -> IO[bytes] | int:
        if self.write_end is not None:
            return self.write_end
        import subprocess

        return self.handle if self.handle is not None else subprocess.DEVNULL

    def started(self) -> None:
        """git is started: only it holds the pipe's write end now."""
        prestart.close(self.write_end)
        self.write_end = None

    def fileno(self) -> int | None:
        try:
            return None if self.handle is None else self.handle.fileno()
        except (OSError, ValueError):
            return None

    def read(self) -> bytes:
        """The start of what git wrote (once it has exited)."""
        if self.pipe is not None:
            chunks: list[bytes] = []
            size = 0
            try:
                while chunk := self.pipe.read():
                    if size < 4096:
                        chunks.append(chunk)
                    size += len(chunk)
            except OSError:
                pass
            return b"".join(chunks)[:4096]
        if self.handle is None:
            return b""
        try:
            self.handle.seek(0)
            return self.handle.read(4096)
        except (OSError, ValueError):
            return b""

    def close(self) -> None:
        self.started()
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class GitStream:
    """A git process whose stdout is read as a stream: with ``to_file``, from
    the anonymous file git writes to (:class:`prestart.GrowingFile`, git never
    waits; for the staged diff, whose size the index bounds), else from a
    pipe read ahead by a thread (:class:`prestart.AheadReader`, memory bounded).

    :meth:`finish` must be called after reading; it raises when git failed or
    was killed, so a scan that did not see the whole diff never passes.
    """

    def __init__(self, args: Sequence[str], cwd: str | Path | None = None, to_file: bool = False) -> None:
        self.args = list(args)
        started = _take_early(self.args, cwd)
        self.reader: prestart.AheadReader | prestart.GrowingFile
        if started is not None:
            self.errors = _ErrorFile.adopt(started.errors)
            self.proc: subprocess.Popen[bytes] | prestart.Child = started.child
            self.reader = started.reader or prestart.AheadReader(None, started.head)
            self.stdout: IO[bytes] = as_stream(self.reader)
            return
        import subprocess

        self.errors = _ErrorFile()
        into = prestart.output_file() if to_file else None
        try:
            self.proc = subprocess.Popen(
                git_argv(args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if into is None else into,
                stderr=self.errors.target(),
                env=git_env(),
            )
        except OSError as exc:
            self.errors.close()
            prestart.close(into)
            raise _not_started(exc, cwd) from None
        prestart.started(self.proc.pid, self.proc)
        self.errors.started()
        if into is not None:
            self.reader = prestart.GrowingFile(into, self.proc)
            self.stdout = as_stream(self.reader)
            return
        assert self.proc.stdout is not None
        fd = os.dup(self.proc.stdout.fileno())
        self.proc.stdout.close()
        self.reader = prestart.AheadReader(fd)
        self.stdout = as_stream(self.reader)

    def finish(self) -> None:
        code = self._wait()
        # (before the files are closed: the space they hold is freed then)
        full = code > 0 and prestart.temp_full(self._temp_files())
        self.reader.close()
        err = self.errors.read()
        self.errors.close()
        if code != 0:
            raise failure(self.args, code, err, temp_full=full)

    def kill(self) -> None:
        self.proc.kill()
        self._wait()
        self.reader.close()
        self.errors.close()

    def _wait(self) -> int:
        code = self.proc.wait()
        if not isinstance(self.proc, prestart.Child):
            prestart.reaped(self.proc)
        return code

    def _temp_files(self) -> list[int]:
        """The descriptors of the temporary files git writes to."""
        fds = [getattr(self.reader, "fd", None) if isinstance(self.reader, prestart.GrowingFile) else None]
        fds.append(self.errors.fileno())
        return [fd for fd in fds if fd is not None]


def _take_early(args: Sequence[str], cwd: str | Path | None) -> prestart.Started | None:
    """The same git command, started early by the fast path, if there is one."""
    if cwd is None or not prestart.pending():
        return None
    argv, env, folder = git_argv(args), git_env(), os.path.realpath(cwd)
    return prestart.take(
        lambda started: (
            started.argv == argv and started.env == env and os.path.realpath(started.cwd) == folder
        )
    )


def repo_root(cwd: str | Path | None = None) -> Path:
    """The top of the work tree; a clear error outside one or in a bare repo."""
    args = ["rev-parse", "--is-bare-repository", "--is-inside-git-dir"]
    try:
        out = run(args, cwd=cwd)
    except GitError as exc:
        if "not a git repository" in str(exc):
            raise GitError("not a git repository (run captchaai-guard inside one)") from None
        raise
    state = out.split()
    if len(state) != 2 or not set(state) <= {b"true", b"false"}:
        raise unexpected(args, out)
    if state[0] == b"true":
        raise GitError("this is a bare repository: there is no index or work tree to scan")
    if state[1] == b"true":
        raise GitError("inside the .git folder: run captchaai-guard from the work tree")
    out = run(["rev-parse", "--show-toplevel"], cwd=cwd)
    top = out.decode("utf-8", "surrogateescape").removesuffix("\n")
    if not top:
        raise GitError("not inside a git work tree")
    if "\n" in top or not os.path.isabs(top) or not os.path.isdir(top):
        raise unexpected(["rev-parse", "--show-toplevel"], out)
    from pathlib import Path

    return Path(top)


def unexpected(args: Sequence[str], out: bytes) -> GitError:
    """git answered, but not as git does (a broken git, or a script named git)."""
    shown = _first_line(out)
    answer = repr(shown) if shown else "nothing"
    return GitError(f"unexpected answer from git {args[0]}: {answer} (is the git on PATH a working git?)")


def staged_diff(root: str | Path) -> GitStream:
    return GitStream(["diff", "--cached", *DIFF_FLAGS], cwd=root, to_file=True)


class _Chain:
    """Reads several streams one after the other, as one."""

    def __init__(self, streams: Sequence[IO[bytes]]) -> None:
        self.streams = list(streams)

    def read(self, size: int = -1) -> bytes:
        while self.streams:
            data = self.streams[0].read(size)
            if data:
                return data
            self.streams.pop(0)
        return b""


class ChainedStream:
    """Several git processes started at once, read one after the other:
    their work overlaps while the scan reads the first. Same interface as
    :class:`GitStream`."""

    def __init__(self, streams: Sequence[GitStream]) -> None:
        self.parts = list(streams)
        self.stdout: IO[bytes] = as_stream(_Chain([part.stdout for part in self.parts]))

    def finish(self) -> None:
        failures: list[GitError] = []
        for part in self.parts:
            try:
                part.finish()
            except GitError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def kill(self) -> None:
        for part in self.parts:
            part.kill()


def log_diff(root: str | Path, revisions: Sequence[str]) -> GitStream | ChainedStream:
    """Every commit of ``revisions`` with its own patch, added lines as '+'.

    Each commit is diffed against its parent, so a key added in one commit
    and removed in the next is still seen. A merge shows only what it added
    beyond all its parents (a combined diff); the parents' own commits are in
    the range. Merges come from a second git started at the same time, after
    the other commits.
    """
    streams: list[GitStream] = []
    try:
        for args in log_commands(revisions):
            streams.append(GitStream(args, cwd=root))
    except BaseException:  # (an interruption too: none is left running)
        for started in streams:
            started.kill()
        raise
    return streams[0] if len(streams) == 1 else ChainedStream(streams)


def count_commits(root: str | Path, revisions: Sequence[str]) -> int | None:
    """How many commits ``log_diff`` will show (for a progress bar); None if git cannot tell."""
    try:
        out = run(["rev-list", "--count", *revisions], cwd=root)
    except GitError:
        return None
    text = out.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


class BlobReader:
    """Reads blobs by sha through one lazily started ``git cat-file --batch``."""

    def __init__(self, root: str | Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.errors: _ErrorFile | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        import subprocess

        self.errors = _ErrorFile()
        try:
            proc = subprocess.Popen(
                git_argv(["cat-file", "--batch"]),
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors.target(),
                env=git_env(),
            )
        except OSError as exc:
            self.errors.close()
            raise _not_started(exc, self.root, "git cat-file") from None
        prestart.started(proc.pid, proc)
        self.errors.started()
        return proc

    def _failed(self, what: str, sha: str) -> GitError:
        """The error for a blob that could not be read, with git's own reason."""
        self._stop()
        reason = b""
        full = False
        if self.errors is not None:
            errors = self.errors.fileno()
            full = prestart.temp_full([] if errors is None else [errors])
            reason = self.errors.read()
            self.errors.close()
            self.errors = None
        line = _first_line(reason)
        if full and (not line or NO_SPACE.lower() in line.lower()):
            line = temp_full_message()
        detail = f": {line}" if line else ""
        return GitError(f"git cat-file {what} blob {sha[:12]}{detail}; the scan is incomplete")

    def read(self, sha: str) -> bytes:
        if self.proc is None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(sha.encode() + b"\n")
            self.proc.stdin.flush()
            header = self.proc.stdout.readline().split()
        except OSError:
            raise self._failed("stopped before reading", sha) from None
        if len(header) != 3 or header[1] != b"blob" or not header[2].isdigit():
            raise self._failed("could not read", sha)
        size = int(header[2])
        try:
            data = self.proc.stdout.read(size + 1)[:size]
        except OSError:
            data = b""
        if len(data) != size:
            raise self._failed("stopped while reading", sha)
        return data

    def close(self) -> None:
        """Stop cat-file; never raises (it may already be gone)."""
        self._stop()
        if self.errors is not None:
            self.errors.close()
            self.errors = None

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        import subprocess  # loaded already: the process was started with it

        for handle in (proc.stdin, proc.stdout):
            if handle is not None:
                try:  # noqa: SIM105 - contextlib costs the scan's start-up a millisecond
                    handle.close()
                except OSError:
                    pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            prestart.reaped(proc)


def tracked_files(root: Path) -> list[str]:
    out = run(["ls-files", "-z", "--cached"], cwd=root)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def ignored_paths(root: Path, paths: Sequence[str]) -> set[str]:
    """Which of ``paths`` the ignore rules (.gitignore, info/exclude...) cover.

    Asked with ``--no-index``: a tracked file is judged by the rules alone.
    """
    data = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)
    out = run(["check-ignore", "--no-index", "--stdin", "-z"], cwd=root, input=data, ok=(0, 1))
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def git_path(root: Path, name: str) -> Path:
    """``git rev-parse --git-path NAME`` (honours core.hooksPath for hooks)."""
    from pathlib import Path

    out = run(["rev-parse", "--git-path", name], cwd=root).decode("utf-8", "surrogateescape").strip()
    path = Path(out)
    return path if path.is_absolute() else root / path


# --- index and work-tree helpers used by ``captchaai-guard fix`` -----------


def index_entries(root: Path) -> list[tuple[str, str, int, str]]:
    """``(mode, sha, stage, path)`` of every index entry."""
    out = run(["ls-files", "-z", "--stage"], cwd=root)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        head, _, name = record.partition(b"\t")
        mode, sha, stage = head.decode().split()
        entries.append((mode, sha, int(stage), name.decode("utf-8", "surrogateescape")))
    return entries


def staged_paths(root: Path) -> set[str]:
    """Paths whose staged version differs from HEAD (all of them before the first commit)."""
    out = run(["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"], cwd=root)
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def write_blobs(root: Path, contents: Sequence[bytes]) -> list[str]:
    """Store each content as a blob exactly as given (no filters); return their shas.

    One ``git hash-object`` reads them from files in a private temporary folder.
    """
    if not contents:
        return []
    import tempfile  # only this path needs it; a commit hook does not

    with tempfile.TemporaryDirectory(prefix="captchaai-guard-") as tmp:
        names = []
        for n, data in enumerate(contents):
            name = os.path.join(tmp, str(n))
            with open(name, "wb") as handle:
                handle.write(data)
            names.append(name)
        out = run(
            ["hash-object", "-w", "--no-filters", "--stdin-paths"],
            cwd=root,
            input="".join(f"{name}\n" for name in names).encode(),
        )
    shas = out.decode().split()
    if len(shas) != len(contents):
        raise GitError("git hash-object did not store every file")
    return shas


def set_index_entries(root: Path, entries: Sequence[tuple[str, str, str]]) -> None:
    """Point index paths at blobs: ``(mode, sha, path)`` each, in one ``update-index``."""
    if entries:
        data = b"".join(
            f"{mode} {sha}\t{path}".encode("utf-8", "surrogateescape") + b"\0" for mode, sha, path in entries
        )
        run(["update-index", "-z", "--index-info"], cwd=root, input=data)


def remove_from_index(root: Path, paths: Sequence[str]) -> None:
    """Stop tracking ``paths``; the work-tree files stay."""
    data = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)
    run(["update-index", "-z", "--force-remove", "--stdin"], cwd=root, input=data)


def refresh_index(root: Path) -> None:
    """Refresh stat data after files were rewritten (1 only means "modified")."""
    run(["update-index", "-q", "--refresh"], cwd=root, ok=(0, 1))
