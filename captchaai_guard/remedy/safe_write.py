"""Replacing files that may hold a key without leaving a copy where git looks.

A file is written to a temporary file, flushed to disk and renamed into
place. The temporary file is made (mode 0600) in the git directory,
``<git dir>/captchaai-guard/tmp/``, which no ``git add`` ever reads. A
rename needs both names on one filesystem: for a target on another one, the
temporary file goes beside the target as ``.captchaai-guard-<pid>-<n>.tmp``,
a name that ``info/exclude`` is made to ignore before the file exists, and a
note in the tmp directory records where it is.

A run killed half-way (``kill -9``, a power cut) leaves at most those files;
:meth:`Writer.clean_leftovers`, called by the next ``fix``, removes the ones
whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from pathlib import Path

from captchaai_guard.errors import GuardError
from captchaai_guard.sources import gitio

TEMP_PATTERN = ".captchaai-guard-*.tmp"  # temporary files outside the git directory
TMP_DIR = "captchaai-guard/tmp"  # inside the git directory
_OURS = re.compile(r"(?P<pid>\d+)-[0-9a-f]+\.(?P<ext>tmp|where)")
_BESIDE = re.compile(r"\.captchaai-guard-(?:(?P<pid>\d+)-[0-9a-f]+|[^/]*)\.tmp")


class Writer:
    """Atomic replacement of files of one repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = gitio.git_path(root, TMP_DIR)
        self._ignored: set[Path] = set()  # directories whose temporary names git ignores

    def _tmp_dir(self) -> Path | None:
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
        return self.dir

    def write(self, path: Path, data: bytes, mode: int) -> None:
        """Replace ``path`` with ``data`` (file mode ``mode``), all or nothing."""
        tmp_dir = self._tmp_dir()
        token = f"{os.getpid()}-{secrets.token_hex(6)}"
        if tmp_dir is not None and _same_device(tmp_dir, path.parent):
            tmp = tmp_dir / f"{token}.tmp"
            try:
                _write_new(tmp, data, mode)
                os.replace(tmp, path)
                return
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                if exc.errno != errno.EXDEV:
                    raise
        self._write_beside(path, data, mode, tmp_dir, token)

    def _write_beside(self, path: Path, data: bytes, mode: int, tmp_dir: Path | None, token: str) -> None:
        tmp = path.parent / f".captchaai-guard-{token}.tmp"
        self._make_ignored(tmp)
        note = tmp_dir / f"{token}.where" if tmp_dir is not None else None
        try:
            if note is not None:
                _write_new(note, os.fsencode(tmp), 0o600)
            try:
                _write_new(tmp, data, mode)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        finally:
            if note is not None:
                with contextlib.suppress(OSError):
                    os.unlink(note)

    def _make_ignored(self, tmp: Path) -> None:
        """Make sure git ignores ``tmp`` (through ``info/exclude``) before it exists."""
        if tmp.parent in self._ignored:
            return
        try:
            name = tmp.relative_to(self.root).as_posix()
        except ValueError:
            self._ignored.add(tmp.parent)  # outside the work tree: git never looks there
            return
        if name not in gitio.ignored_paths(self.root, [name]):
            exclude = gitio.git_path(self.root, "info/exclude")
            try:
                exclude.parent.mkdir(parents=True, exist_ok=True)
                old = exclude.read_bytes() if exclude.is_file() else b""
                lead = b"\n" if old and not old.endswith(b"\n") else b""
                with exclude.open("ab") as handle:
                    handle.write(lead + TEMP_PATTERN.encode() + b"\n")
            except OSError as exc:
                raise GuardError(
                    f"cannot add {TEMP_PATTERN} to {exclude}: {exc.strerror or exc}; "
                    "a temporary file would not be ignored by git"
                ) from None
            if name not in gitio.ignored_paths(self.root, [name]):
                raise GuardError(
                    f"git does not ignore {TEMP_PATTERN} (a .gitignore rule un-ignores it); "
                    "refusing to write a temporary file git could add"
                )
        self._ignored.add(tmp.parent)

    def clean_leftovers(self) -> int:
        """Remove the temporary files of runs that were killed; how many."""
        removed = 0
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.dir):
                m = _OURS.fullmatch(entry.name)
                if m is None or _alive(int(m.group("pid"))):
                    continue
                if m.group("ext") == "where":
                    with contextlib.suppress(OSError):
                        target = Path(os.fsdecode(Path(entry.path).read_bytes()))
                        if _BESIDE.fullmatch(target.name) and target.is_file() and not target.is_symlink():
                            target.unlink()
                            removed += 1
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed + self._clean_top()

    def _clean_top(self) -> int:
        """Leftovers at the top of the work tree, where earlier versions put
        the temporary file of ``.env`` (untracked ones only)."""
        found: list[str] = []
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.root):
                m = _BESIDE.fullmatch(entry.name)
                if m is None or not entry.is_file(follow_symlinks=False):
                    continue
                if m.group("pid") is None or not _alive(int(m.group("pid"))):
                    found.append(entry.name)
        if not found:
            return 0
        tracked = set(gitio.tracked_files(self.root))
        removed = 0
        for name in found:
            if name not in tracked:
                with contextlib.suppress(OSError):
                    os.unlink(self.root / name)
                    removed += 1
        return removed


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _write_new(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (on Windows: assumed not, but for this one)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
