"""The git command line and environment every scan asks git with.

Kept apart from :mod:`captchaai_guard.sources.gitio` and free of imports beyond
``os``: the commit hook's fast path spawns git with these and nothing else.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

CONFIG_PINS: tuple[str, ...] = (
    "core.quotePath=true",
    "color.ui=never",
    "color.diff=never",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.relative=false",
    "diff.external=",
    "diff.submodule=short",
    "diff.renames=true",
    "log.showSignature=false",
    "log.showRoot=true",
    "core.pager=cat",
)
DIFF_FLAGS: tuple[str, ...] = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--unified=0",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--full-index",
    "--find-renames",
    "--diff-filter=d",
    "--submodule=short",
    "--no-relative",
    "--inter-hunk-context=0",
)
# git reads every blob it diffs into a buffer of its own and frees it. With
# glibc's defaults a buffer above 128 KiB is mapped and unmapped each time
# (and a freed heap top trimmed), so every page of the next one is faulted
# in again: on a 20 MB staged diff that is 10,000 page faults, a quarter of
# git's time in a virtual machine. Past these limits the memory is reused
# (git's peak stays the same). Other C libraries ignore the names.
MALLOC_ENV: tuple[tuple[str, str], ...] = (
    ("MALLOC_MMAP_THRESHOLD_", str(32 << 20)),  # glibc's largest allowed
    ("MALLOC_TRIM_THRESHOLD_", str(1 << 30)),
)
_DROP_ENV = ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER", "PAGER")
# Paths git reads from the environment relative to the directory it starts
# in; git runs from the top of the work tree, so they are made absolute.
_PATH_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)


def _absolute(value: str, base: str) -> str:
    if not value:
        return value
    return os.pathsep.join(os.path.join(base, part) if part else part for part in value.split(os.pathsep))


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    if cwd:
        for name in _PATH_ENV:
            if name in env:
                env[name] = _absolute(env[name], cwd)
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = ""
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    for name, value in MALLOC_ENV:
        env.setdefault(name, value)  # a user's own setting wins
    return env


def git_argv(args: Sequence[str]) -> list[str]:
    argv = ["git", "--no-pager"]
    for pin in CONFIG_PINS:
        argv += ["-c", pin]
    return argv + list(args)


# How ``git log`` prints a commit's header: a line of its own, marked with
# \x1f (never in a diff line's first column), fields separated by \x1e.
COMMIT_MARK = "\x1fcommit "
FIELD_SEP = "\x1e"
LOG_FORMAT = "--format=" + COMMIT_MARK + "%H" + FIELD_SEP + "%an" + FIELD_SEP + "%ae" + FIELD_SEP + "%aI"


def log_commands(revisions: Sequence[str]) -> list[list[str]]:
    """The ``git log`` commands that show every commit of ``revisions`` with
    its own patch: the commits with one parent, and the merges as dense
    combined diffs (``--cc``), where a line the merge added beyond all its
    parents (a conflict resolution, an "evil" edit) is marked ``+`` in every
    parent's column."""
    log = ["log", "-p", "--root", LOG_FORMAT, *DIFF_FLAGS]
    return [[*log, "--no-merges", *revisions], [*log, "--merges", "--cc", *revisions]]
