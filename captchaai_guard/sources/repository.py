"""The repository a command works in, found with GitPython.

For the commands where a few tens of milliseconds do not matter: ``install``
and ``uninstall``, ``audit``, ``fix`` and ``baseline``. The scan paths and
the commit hook never import this module (nor GitPython): they start git
themselves (:mod:`captchaai_guard.sources.gitio`,
:mod:`captchaai_guard.sources.prestart`), and GitPython's import alone costs
more than their whole run.

The repository is found as git finds it, from the current folder up:
GitPython reads each folder's ``.git`` (a folder, or a file pointing at a
linked worktree's or a submodule's git folder) and the repository's
``core.bare`` and ``core.worktree``; the walk up stops where git's does,
under a folder of ``GIT_CEILING_DIRECTORIES`` and at a file-system boundary
(unless ``GIT_DISCOVERY_ACROSS_FILESYSTEM`` is set). No git process runs
for it. With ``GIT_DIR`` set there is nothing to find, and git's own rules
(``GIT_WORK_TREE``, ``core.worktree``, ``core.bare``) say where the work
tree is: git is asked. What git alone can answer (the hooks folder under ``core.hooksPath``, the
tracked files, the ignore rules, ``safe.directory``) is still asked of git,
through :mod:`~captchaai_guard.sources.gitio`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from captchaai_guard.errors import GitError, redact, shorten

if TYPE_CHECKING:
    import git

NOT_A_REPOSITORY = "not a git repository (run captchaai-guard inside one)"
BARE = "this is a bare repository: there is no index or work tree to scan"
INSIDE_GIT_DIR = "inside the .git folder: run captchaai-guard from the work tree"
_REFRESH = "GIT_PYTHON_REFRESH"
_TRUE = ("1", "true", "yes", "on")


_loaded = False


def _load() -> None:
    """Check that the git on PATH is a working git, and import GitPython;
    or raise the error line that says why not.

    The check is git's own (through :mod:`~captchaai_guard.sources.gitio`):
    a missing git, or one that answers with junk, is reported as everywhere
    else in the tool. GitPython runs ``git version`` on import too and would
    print a page of advice, or raise it, when that fails; it is kept quiet
    here whatever the user's ``GIT_PYTHON_REFRESH`` says."""
    global _loaded
    if _loaded:
        return
    from captchaai_guard.sources import gitio

    out = gitio.run(["version"])
    if not out.startswith(b"git version "):
        raise gitio.unexpected(["version"], out)
    saved = os.environ.get(_REFRESH)
    os.environ[_REFRESH] = "quiet"
    try:
        import git  # noqa: F401
    except ImportError as exc:
        first = redact(shorten((str(exc).strip() or type(exc).__name__).splitlines()[0], 200))
        raise GitError(f"GitPython cannot be loaded ({first}): reinstall captchaai-guard") from None
    finally:
        if saved is None:
            os.environ.pop(_REFRESH, None)
        else:
            os.environ[_REFRESH] = saved
    _loaded = True


def _open(path: str) -> git.Repo | None:
    """The repository GitPython opens at ``path`` (its ``.git``, or ``path``
    itself when it is a git folder), or None when ``path`` is not one."""
    import git

    try:
        return git.Repo(path, expand_vars=False)
    except git.InvalidGitRepositoryError:  # (a linked worktree's own git folder too)
        return None
    except git.NoSuchPathError:
        raise GitError(f"cannot open the repository: no such folder {path!r}") from None
    except (OSError, ValueError) as exc:  # an unreadable .git file or config (or one not in UTF-8)
        detail = getattr(exc, "strerror", None) or exc
        raise GitError(f"cannot open the repository at {path}: {redact(shorten(str(detail), 200))}") from None


def _ceilings() -> set[str]:
    """The folders of ``GIT_CEILING_DIRECTORIES`` (git ignores relative ones)."""
    value = os.environ.get("GIT_CEILING_DIRECTORIES", "")
    return {os.path.realpath(part) for part in value.split(os.pathsep) if os.path.isabs(part)}


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _discover(start: str) -> git.Repo:
    """The repository of the folder ``start`` (absolute, real), as git
    finds it; :data:`NOT_A_REPOSITORY` when there is none."""
    _load()
    ceilings = _ceilings()
    across = os.environ.get("GIT_DISCOVERY_ACROSS_FILESYSTEM", "").lower() in _TRUE
    device = _device(start)
    path = start
    while True:
        repo = _open(path)
        if repo is not None:
            return repo
        dotgit = os.path.join(path, ".git")
        if os.path.lexists(dotgit) and not os.path.isdir(dotgit):
            raise GitError(f"{dotgit} is neither a git folder nor a file naming one: run 'git status' there")
        parent = os.path.dirname(path)
        if parent == path or parent in ceilings or (not across and _device(parent) != device):
            raise GitError(NOT_A_REPOSITORY)
        path = parent


def _inside(path: str, folder: str | os.PathLike[str]) -> bool:
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def work_tree(cwd: str | Path | None = None) -> Path:
    """The top of the work tree of ``cwd``'s repository (the current
    folder's by default); a clear error outside one, in a bare repository or
    inside the git folder."""
    if os.environ.get("GIT_DIR"):
        # Nothing to find: git's own rules on GIT_WORK_TREE, core.worktree
        # and core.bare decide where the work tree is.
        from captchaai_guard.sources import gitio

        return gitio.repo_root(cwd)
    try:
        here = os.path.realpath(cwd if cwd is not None else os.getcwd())
    except OSError:
        raise GitError("the current folder no longer exists") from None
    with _discover(here) as repo:
        top = repo.working_tree_dir
        if repo.bare or top is None:
            raise GitError(BARE)
        if any(_inside(here, folder) for folder in (repo.git_dir, repo.common_dir)):
            raise GitError(INSIDE_GIT_DIR)
        return Path(os.path.realpath(top))


def is_work_tree_top(path: Path) -> bool:
    """True when ``path`` is the top of a work tree of its own (a submodule
    that is checked out, say): its ``.git`` names a repository with a work tree."""
    if not os.path.lexists(path / ".git"):
        return False
    _load()
    try:
        repo = _open(os.fspath(path))
    except GitError:
        return False
    if repo is None:
        return False
    with repo:
        top = repo.working_tree_dir
        return not repo.bare and top is not None and os.path.realpath(top) == os.path.realpath(path)
