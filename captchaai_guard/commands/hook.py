"""The git hook entry point: ``captchaai-guard-hook pre-commit|pre-push``.

It runs on every commit, so it stays lean: no click, no GitPython, no
argparse; only the scan drivers and the text reporter. Exit codes are the
ones of ``captchaai-guard scan``: 0 clean, 1 keys found, 2 error (the hook
fails closed: any error blocks the commit or push).

``pre-commit [FILES...]``
    Scans the added lines of the staged changes. Files named on the command
    line (the pre-commit framework passes them) limit the scan to those
    paths; a named file without staged changes (``pre-commit run
    --all-files`` or ``--files``) is scanned whole. When the pre-commit
    framework sets ``PRE_COMMIT_FROM_REF`` and ``PRE_COMMIT_TO_REF`` (its
    push stage), the commits ``FROM..TO`` are scanned instead.

``pre-push REMOTE [URL]``
    Reads ``<local ref> <local sha> <remote ref> <remote sha>`` lines on
    standard input (what git gives a pre-push hook) and scans every commit
    being pushed: ``remote_sha..local_sha``, or for a new branch the
    commits the remote does not have yet (``local_sha --not
    --remotes=REMOTE``). Deletions are skipped.
"""

from __future__ import annotations

import os
import sys

from captchaai_guard.config.locate import CONFIG_FILE, PYPROJECT, may_define_table
from captchaai_guard.errors import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    GuardError,
    describe,
    guard,
    leave,
    say,
)
from captchaai_guard.sources import prestart

# Only os, sys and the errors at import time: a commit without anything key-like is
# settled by the fast path below before the scan modules are imported.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path
    from typing import IO

    from captchaai_guard.config.project import PathFilter
    from captchaai_guard.detect.engine import Engine
    from captchaai_guard.findings import Finding

MODES = ("pre-commit", "pre-push")
USAGE = (
    "usage: captchaai-guard-hook pre-commit [FILES...]\n"
    "       captchaai-guard-hook pre-push REMOTE [URL]   (ref lines on stdin)\n"
)
PUSH_NOTE = (
    "These keys are in commits you are about to push: remove them from those commits\n"
    "(git commit --amend, git rebase -i) before pushing.\n"
    "Deliberately pushing anyway: git push --no-verify (not recommended).\n"
)
# The file read by captchaai_guard.config.baseline, named here so that a repository
# without one never imports that module (captchaai_guard.config.locate names the
# configuration files).
BASELINE_FILE = ".captchaai-guard-baseline.json"


def _may_have_config(root: str | Path) -> bool:
    """False only when captchaai_guard.config.project would surely find no file."""
    if os.path.lexists(os.path.join(root, CONFIG_FILE)):
        return True
    try:
        with open(os.path.join(root, PYPROJECT), "rb") as handle:
            return may_define_table(handle.read())
    except FileNotFoundError:
        return False
    except OSError:
        return True  # let the config loader report it


class Context:
    """What every mode needs, set up like ``captchaai-guard scan``: the
    repository root, the engine and path filter of its configuration."""

    def __init__(self) -> None:
        from captchaai_guard.detect.engine import Engine
        from captchaai_guard.sources import gitio

        self.root = gitio.repo_root()
        self.engine: Engine
        self.include: PathFilter | None = None
        if _may_have_config(self.root):
            from captchaai_guard.config import project as config

            settings = config.load(self.root)
            self.engine, self.include = settings.engine(), settings.include()
        else:
            self.engine = Engine()

    def also(self, accept: PathFilter) -> PathFilter:
        """``accept`` combined with the configuration's excludes."""
        include = self.include
        if include is None:
            return accept
        return lambda path: accept(path) and include(path)

    def accepted(self, findings: list[Finding]) -> list[Finding]:
        """Findings not accepted in the repository's baseline."""
        if not (self.root / BASELINE_FILE).is_file():
            return findings
        from captchaai_guard.config import baseline

        found = baseline.find(self.root)
        return findings if found is None else found.filter(findings)


class HookError(GuardError):
    """Bad hook arguments or input."""


def _is_zero(sha: str) -> bool:
    return not sha.strip("0")


def _rel(path: str, root: Path) -> str:
    """A path from the command line as git names it (relative to the top, '/')."""
    absolute = os.path.abspath(path)
    parent = os.path.realpath(os.path.dirname(absolute))
    full = os.path.join(parent, os.path.basename(absolute))
    try:
        return os.path.relpath(full, os.path.realpath(root)).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return path.replace(os.sep, "/")


def _staged_paths(root: Path, paths: Sequence[str]) -> set[str]:
    """Which of ``paths`` (git names) have staged changes."""
    from captchaai_guard.sources import gitio

    out = gitio.run(
        ["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-relative", "--", *paths],
        cwd=root,
    )
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def _commit_exists(root: Path, sha: str) -> bool:
    from captchaai_guard.sources import gitio

    try:
        gitio.run(["rev-parse", "--verify", "--quiet", "--end-of-options", sha + "^{commit}"], cwd=root)
    except GuardError:
        return False
    return True


def _unique(findings: Iterable[Finding]) -> Iterator[Finding]:
    seen: set[tuple[object, ...]] = set()
    for f in findings:
        key = (f.commit.sha if f.commit else None, f.path, f.line, f.column, f.rule_id)
        if key not in seen:
            seen.add(key)
            yield f


def pre_commit(files: Sequence[str], environ: Mapping[str, str]) -> tuple[list[Finding], str]:
    """Findings and the report's source name for the pre-commit mode."""
    from captchaai_guard.scan import scan_files, scan_staged

    ctx = Context()
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        return _framework_push(ctx, from_ref, to_ref, files), f"commits {from_ref}..{to_ref}"
    if not files:
        return ctx.accepted(list(scan_staged(ctx.root, ctx.engine, ctx.include))), "staged changes"
    names = {_rel(f, ctx.root): f for f in files}
    staged = _staged_paths(ctx.root, sorted(names))
    findings = list(scan_staged(ctx.root, ctx.engine, ctx.also(staged.__contains__))) if staged else []
    unstaged = [names[n] for n in sorted(names) if n not in staged]
    whole = [ctx.root / os.path.abspath(f) for f in unstaged if os.path.isfile(f)]
    findings += scan_files(whole, ctx.root, ctx.engine, ctx.include)
    findings = ctx.accepted(findings)
    if not whole:
        return findings, "staged changes"
    return findings, "staged changes and files" if staged else "files"


def _framework_push(ctx: Context, from_ref: str, to_ref: str, files: Sequence[str]) -> list[Finding]:
    """The pre-commit framework's push stage: every commit of FROM..TO.

    The framework passes the files changed in the range that survived the
    user's ``files:``/``exclude:``; a finding in one of the range's changed
    files that was not passed is left out. Files the range no longer has
    (deleted again, renamed away) cannot be filtered by the framework and
    are always reported: a key added and removed again is still in history.
    """
    from captchaai_guard.scan import scan_commits
    from captchaai_guard.sources import gitio

    root = ctx.root
    findings = list(scan_commits(root, [f"{from_ref}..{to_ref}"], ctx.engine, None, ctx.include))
    if files:
        passed = {_rel(f, root) for f in files}
        names = ["diff", "--name-only", "-z", "--no-renames"]
        try:
            out = gitio.run([*names, f"{from_ref}...{to_ref}", "--"], cwd=root)
        except GuardError:  # no merge base: the framework falls back to a plain diff too
            out = gitio.run([*names, f"{from_ref}..{to_ref}", "--"], cwd=root)
        changed = {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
        considered = {p for p in changed if os.path.lexists(root / p)}
        findings = [f for f in findings if f.path in passed or f.path not in considered]
    return ctx.accepted(findings)


def parse_push_lines(stdin: IO[str]) -> list[tuple[str, str, str, str]]:
    """The ``<local ref> <local sha> <remote ref> <remote sha>`` lines git sends."""
    if stdin is None:
        raise HookError("standard input is closed: pre-push reads the pushed refs from it")
    updates = []
    for line in stdin:
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise HookError(f"unexpected pre-push input line: {line.strip()[:80]!r}")
        local_ref, local_sha, remote_ref, remote_sha = fields
        updates.append((local_ref, local_sha, remote_ref, remote_sha))
    return updates


def push_revisions(root: Path, remote: str | None, local_sha: str, remote_sha: str) -> list[str] | None:
    """The ``git log`` revisions of one pushed ref, or None for a deletion."""
    if _is_zero(local_sha):
        return None
    if not _is_zero(remote_sha) and _commit_exists(root, remote_sha):
        return [f"{remote_sha}..{local_sha}"]
    # A new branch, or a forced push over commits we do not have: everything
    # the remote's tracking refs do not already hold.
    return [local_sha, "--not", f"--remotes={remote}" if remote else "--remotes"]


def pre_push(args: Sequence[str], stdin: IO[str]) -> tuple[list[Finding], str]:
    from captchaai_guard.scan import scan_commits

    remote = args[0] if args else None
    updates = parse_push_lines(stdin)
    ctx = Context()
    findings: list[Finding] = []
    for _local_ref, local_sha, _remote_ref, remote_sha in updates:
        revisions = push_revisions(ctx.root, remote, local_sha, remote_sha)
        if revisions is not None:
            findings += scan_commits(ctx.root, revisions, ctx.engine, None, ctx.include)
    target = f" to {remote}" if remote else ""
    return ctx.accepted(list(_unique(findings))), f"commits being pushed{target}"


def report(
    findings: Sequence[Finding], source: str, mode: str, stream: IO[str], framework: bool = False
) -> None:
    from captchaai_guard.report import Summary, renderer, use_color

    pushing = mode == "pre-push" or source.startswith("commits")
    # hook=True adds the `git commit --no-verify` escape hatch; a push has its own.
    summary = Summary(source=source, color=use_color(stream), hook=not pushing, framework=framework)
    text = renderer("text")(findings, summary)
    if pushing:
        text += PUSH_NOTE
    stream.write(text)
    stream.flush()


def _error(message: str) -> int:
    return say(message)


# --- the fast path -----------------------------------------------------------
# The scan only reads added lines (and files git calls binary), and every key
# it reports is a run of 32 letters and digits that stands whole on an added
# line (the lines captchaai_guard.detect.candidates lets through), or two quoted
# halves of one in a file that names CaptchaAI. A staged diff without such an
# added line, without CaptchaAI's name and without a binary file holds no
# key: that is settled here with os, one git process and bytes methods in C,
# before the scan modules are imported. Anything else takes the full path.

# Engine().required (a test keeps them equal): importing the rules costs more
# than a clean commit's whole check.
REQUIRED: tuple[bytes, ...] = ()  # no word: every whole run of 32 is a candidate
# CaptchaAI's name as captchaai_guard.detect.evidence.MENTION_PATTERN spells it (lower case).
NAMES = (b"captchaai", b"captcha_ai", b"captcha-ai", b"captchai", b"capchaai")
QUICK_LIMIT = 1 << 20  # a larger diff goes to the streaming scan
PRELOAD = 1 << 18  # see _watch_file


def _needs_scan(data: bytes, added_only: bool) -> bool:
    """True when a line of ``data`` (an added line, with ``added_only``)
    could match a built-in rule."""
    from captchaai_guard.detect.candidates import candidate_lines  # (bytes methods only)

    lowered = data.lower()
    if any(name in lowered for name in NAMES):
        return True  # (the halves of a key need no run of 32)
    return any(
        not added_only or data.startswith(b"+", start)
        for start, _ in candidate_lines(data, required=REQUIRED)
    )


def _plain_without_keys(path: str) -> bool:
    """True when the file is small, not binary or UTF-16/32, and no line of
    it could match."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(QUICK_LIMIT + 1)
    except OSError:
        return False
    if len(data) > QUICK_LIMIT or b"\0" in data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return not _needs_scan(data, added_only=False)


def _start_staged_diff() -> prestart.Started | None:
    """Start the staged diff as the scan asks for it and read up to
    :data:`QUICK_LIMIT` of it (None: git could not be started here).

    git writes into an anonymous file where the system has them (it never
    waits for the scan, see :class:`prestart.GrowingFile`), else into a pipe."""
    from captchaai_guard.sources.gitargs import DIFF_FLAGS, git_argv, git_env

    argv = git_argv(["diff", "--cached", *DIFF_FLAGS])
    env = git_env()
    errors = prestart.error_file()
    into = prestart.output_file()
    spawned = prestart.spawn(argv, env, errors, into)
    if spawned is None:
        prestart.close(errors, into)
        return None
    pid, read_end = spawned
    cwd = os.getcwd()
    if into is not None:
        return _watch_file(prestart.Started(argv, env, cwd, pid, into, b"", None, errors, growing=True))
    chunks, size = [], 0
    try:
        while size <= QUICK_LIMIT:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        os.close(read_end)
        prestart.Started(argv, env, cwd, pid, None, b"", None, errors).discard()
        return None
    head = b"".join(chunks)
    if size > QUICK_LIMIT:  # git is still writing: the scan goes on from here
        return prestart.Started(argv, env, cwd, pid, read_end, head, None, errors)
    os.close(read_end)
    _, status = prestart.reap(pid)
    return prestart.Started(argv, env, cwd, pid, None, head, os.waitstatus_to_exitcode(status), errors)


def _watch_file(started: prestart.Started) -> prestart.Started:
    """Wait until git has exited or written more than :data:`QUICK_LIMIT`
    into its file; a diff that fits is read whole into ``head``.

    While git writes a diff already past :data:`PRELOAD`, the scan modules
    are imported instead of waiting idle: such a diff is most likely too
    large to settle here."""
    from time import sleep

    fd = started.fd
    assert fd is not None
    child = started.child
    loaded = False
    while child.poll() is None and (size := os.fstat(fd).st_size) <= QUICK_LIMIT:
        if size > PRELOAD and not loaded:
            import captchaai_guard.scan  # noqa: F401

            loaded = True
            continue
        sleep(0.00005)
    started.status = child.returncode
    size = os.fstat(fd).st_size
    if started.status is not None and size <= QUICK_LIMIT:
        started.head = os.pread(fd, size + 1, 0)
        os.close(fd)
        started.fd = None
    return started


def clean_quickly(files: Sequence[str], environ: Mapping[str, str]) -> bool:
    """True when the pre-commit mode would surely find nothing (see above).

    Only at the top of a work tree, where git runs hooks (``GIT_DIR`` and
    ``GIT_INDEX_FILE`` are honoured by the git it spawns), without a
    configuration (custom rules need neither run nor keyword) and where ``posix_spawn`` exists.
    Named files without staged changes are scanned whole by the full path:
    here every named file must hold no run either.
    When the diff cannot be settled here, the running git is kept (see
    :mod:`captchaai_guard.sources.prestart`) for the full scan to go on reading.
    """
    if environ.get("PRE_COMMIT_FROM_REF") and environ.get("PRE_COMMIT_TO_REF"):
        return False
    if "GIT_WORK_TREE" in environ or not os.path.lexists(".git"):
        return False
    if _may_have_config("."):
        return False
    if not all(_plain_without_keys(name) for name in files if os.path.isfile(name)):
        return False
    started = _start_staged_diff()
    if started is None:
        return False
    if started.status != 0 and started.fd is None:  # git failed: the full path reports it
        started.discard()
        return False
    if not _looks_like_a_diff(started):  # (the full path asks git again, and reports it)
        started.discard()
        return False
    if started.fd is None and b"Binary files " not in started.head and not _needs_scan(started.head, True):
        started.discard()
        return True
    prestart.keep(started)
    return False


def _looks_like_a_diff(started: prestart.Started) -> bool:
    """True when git printed nothing or a diff: anything else (a broken
    git, a script named git) is left to the full path, which reports it."""
    head = started.head
    if not head and started.fd is not None and started.growing:
        head = os.pread(started.fd, 16, 0)
    return not head or head.startswith(b"diff --git ")


def _load_site() -> None:
    """Started with ``python -S`` (the installed hook): add site-packages now,
    as a normal start would have, before the full path imports more."""
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


def main(argv: Sequence[str] | None = None, framework: bool = False) -> int:
    """The hook (``argv``: its mode and arguments); ``framework``: started by
    the pre-commit framework (see :func:`run`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        (sys.stdout if args else sys.stderr).write(USAGE)
        return EXIT_CLEAN if args else EXIT_ERROR
    mode, rest = args[0], args[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    try:
        if mode == "pre-commit" and clean_quickly(rest, os.environ):
            return EXIT_CLEAN
        _load_site()
        if mode == "pre-commit":
            findings, source = pre_commit(rest, os.environ)
        elif mode == "pre-push":
            findings, source = pre_push(rest, sys.stdin)
        else:
            return _error(f"unknown hook type {mode!r} (expected {' or '.join(MODES)})")
        if findings:
            report(findings, source, mode, sys.stderr, framework)
            return EXIT_FINDINGS
        return EXIT_CLEAN
    except Exception as exc:  # fail closed, one line, no traceback
        return _error(describe(exc))
    finally:
        prestart.discard()  # a git the scan did not take


def run(framework: bool = False) -> None:
    """Console script entry point, and the pre-commit framework's (with
    ``framework``: the advice after a blocked commit says how to install
    the commands it names). SIGINT and SIGTERM, and any error, end it with
    one line and exit 2, leaving no git running (see
    :func:`~captchaai_guard.errors.guard`)."""
    leave(guard(lambda: main(framework=framework), prestart.stop_children))


if __name__ == "__main__":
    run()
