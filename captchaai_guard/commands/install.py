"""``captchaai-guard install`` and ``uninstall``: the standalone git hook.

The hook is a small POSIX sh script in the directory git reads hooks from
(``git rev-parse --git-path hooks``: honours ``core.hooksPath`` and linked
worktrees). It runs :mod:`captchaai_guard.commands.hook` with the interpreter that
installed it, falls back to ``captchaai-guard-hook`` on PATH, and fails
closed when neither can run.

A hook that was already there is moved aside to
``<hook>.captchaai-guard-previous`` and chained: it runs first, with the same
arguments and standard input, and a failure stops the commit or push before
the scan. ``--force`` still keeps the old hook under that name (so
``uninstall`` can bring it back) but does not run it. ``uninstall`` removes
only a hook that carries :data:`SIGNATURE` and restores the previous one.

Nothing the user wrote is ever lost. The hook carries a digest of its own
text (:data:`DIGEST_PREFIX`), so a hook edited after install is told apart
from one install may rewrite: ``install`` refuses to replace an edited hook
unless ``--force`` is given, and ``--force`` and ``uninstall`` first keep it
as ``<hook>.captchaai-guard-edited`` (or ``-edited.N``, never over an
existing file). The new hook is written to a fresh temporary file in the
hooks directory (``tempfile.mkstemp``) and renamed over the old one.

``--recurse-submodules`` does the same in every checked-out submodule,
recursively (a commit made inside a submodule runs the submodule's hooks,
under ``.git/modules/<name>/hooks``, not the superproject's).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from captchaai_guard.errors import GuardError

HOOK_TYPES = ("pre-commit", "pre-push")
SIGNATURE = "# captchaai-guard managed hook: remove with 'captchaai-guard uninstall'"
BACKUP_SUFFIX = ".captchaai-guard-previous"
EDITED_SUFFIX = ".captchaai-guard-edited"
# The digest is the first 16 hex digits of the sha256 of the hook's text with
# nothing after this prefix: enough to notice an edit, too short to look like a key.
DIGEST_PREFIX = "# Digest (install and uninstall keep an edited hook aside): "
_CHAIN_ON, _CHAIN_OFF = "chain=1", "chain=0"

_TEMPLATE = """\
#!/bin/sh
{signature}
{digest_line}
# Blocks CaptchaAI API keys in the {hook_type} stage. Installed by captchaai-guard {version}.
# Skip it once (not recommended): git {verb} --no-verify
hook_type={hook_type}
python={python}
lib={lib}
{chain}
previous="$(dirname "$0")/{hook_type}{backup_suffix}"
{stdin_save}
if [ "$chain" = 1 ] && [ -f "$previous" ] && [ -x "$previous" ]; then
    {feed}"$previous" "$@" || exit $?
fi
if [ -x "$python" ]; then
    {feed}"$python" -S -c '{launcher}' "$lib" "$hook_type" "$@"
    status=$?
    [ "$status" -ne 127 ] && exit "$status"
fi
if command -v captchaai-guard-hook >/dev/null 2>&1; then
    {feed}captchaai-guard-hook "$hook_type" "$@"
    exit $?
fi
echo "captchaai-guard: error: cannot run the {hook_type} hook: $python cannot import captchaai_guard \
and captchaai-guard-hook is not on PATH; reinstall captchaai-guard and run 'captchaai-guard install' \
(or remove this hook: $0)" >&2
exit 2
"""
# Python starts without the site module (-S: no .pth files, a third of a
# bare start-up) and imports the hook from the folder the package was
# installed in, after the standard library; the hook loads site itself
# before it needs more than the standard library. The current directory is
# not on sys.path (a repository must not be able to shadow the package).
# When the package is not in that folder any more, site is loaded and the
# import tried again; 127 means "not installed here". ``run`` exits
# without the interpreter's teardown (see captchaai_guard.errors.leave).
_LAUNCHER = (
    "import sys\n"
    'if sys.path[:1] == [""]:\n'
    "    del sys.path[0]\n"
    "sys.path.append(sys.argv.pop(1))\n"
    "try:\n"
    "    from captchaai_guard.commands.hook import run\n"
    "except ImportError:\n"
    "    import site\n"
    "    site.main()\n"
    "    try:\n"
    "        from captchaai_guard.commands.hook import run\n"
    "    except ImportError:\n"
    "        sys.exit(127)\n"
    "run()"
)
_PUSH_STDIN_SAVE = "input=$(cat)"
_PUSH_FEED = """{ [ -z "$input" ] || printf '%s\\n' "$input"; } | """


def _quote(text: str) -> str:
    """Single-quote for POSIX sh."""
    return "'" + text.replace("'", "'\\''") + "'"


def package_folder() -> str:
    """The sys.path entry this package is imported from."""
    import captchaai_guard

    return os.path.dirname(os.path.dirname(os.path.abspath(captchaai_guard.__file__)))


def render_hook(hook_type: str, python: str, chain: bool) -> str:
    from captchaai_guard import __version__

    push = hook_type == "pre-push"
    text = _TEMPLATE.format(
        signature=SIGNATURE,
        digest_line=DIGEST_PREFIX,
        hook_type=hook_type,
        version=__version__,
        verb="push" if push else "commit",
        python=_quote(python),
        lib=_quote(package_folder()),
        chain=_CHAIN_ON if chain else _CHAIN_OFF,
        backup_suffix=BACKUP_SUFFIX,
        stdin_save=_PUSH_STDIN_SAVE if push else "",
        feed=_PUSH_FEED if push else "",
        launcher=_LAUNCHER,
    )
    blank = "\n" + DIGEST_PREFIX + "\n"
    return text.replace(blank, "\n" + DIGEST_PREFIX + _digest(text) + "\n", 1)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def unedited(text: str) -> bool:
    """True when ``text`` is a hook exactly as :func:`render_hook` wrote it."""
    lines = text.split("\n")
    for number, line in enumerate(lines[:8]):
        if line.startswith(DIGEST_PREFIX):
            lines[number] = DIGEST_PREFIX
            return line[len(DIGEST_PREFIX) :] == _digest("\n".join(lines))
    return False  # no digest: edited, or written before hooks had one


def is_ours(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = [handle.readline() for _ in range(5)]
    except OSError:
        return False
    return any(line.rstrip("\r\n") == SIGNATURE for line in head)


def _chains(path: Path) -> bool:
    try:
        return _CHAIN_ON in path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False


def hooks_dir(cwd: Path | None = None) -> Path:
    """Where git reads hooks from, absolute.

    git's own answer (``rev-parse --git-path hooks``): ``core.hooksPath`` may
    come from any configuration git reads (a worktree's, an included file,
    ``git -c``), relative to the top of the work tree or not, and hooks of
    linked worktrees live in the common git folder. GitPython knows the
    hooks folder only as ``<git dir>/hooks``."""
    from captchaai_guard.sources import gitio

    try:
        out = gitio.run(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], cwd=cwd)
    except GuardError as exc:
        if "not a git repository" in str(exc):
            raise GuardError("not a git repository (run captchaai-guard install inside one)") from None
        out = b""  # (asked again below: that error, if it is not about --path-format)
    text = os.fsdecode(out).removesuffix("\n")
    if "\n" in text or not os.path.isabs(text):
        # git older than 2.31: no --path-format (or printed back), and a
        # relative answer is relative to the folder git runs in
        args = ["rev-parse", "--git-path", "hooks"]
        out = gitio.run(args, cwd=cwd)
        text = os.fsdecode(out).removesuffix("\n")
        if not text or "\n" in text:
            raise gitio.unexpected(args, out)  # (a git that answers anything: no folder to write to)
    path = Path(text)
    return path if path.is_absolute() else Path(cwd or ".").resolve() / path


@dataclass(frozen=True)
class Paths:
    hook: Path
    backup: Path


def paths(hook_type: str, cwd: Path | None = None) -> Paths:
    directory = hooks_dir(cwd)
    return Paths(directory / hook_type, directory / (hook_type + BACKUP_SUFFIX))


def _executable_mode() -> int:
    """What a new file gets under the current umask, plus execute for all."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o666 & ~umask) | stat.S_IRUSR | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def _write_executable(path: Path, text: str) -> None:
    """Write ``text`` to a fresh temporary file next to ``path`` (a name no
    other file has: never a user's file), then rename it over ``path``."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".captchaai-guard-tmp")
    except OSError as exc:
        raise GuardError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        tmp.chmod(_executable_mode())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GuardError(f"cannot write {path}: {exc.strerror or exc}") from None


def _create_exclusive(directory: Path, base: str) -> tuple[int, Path]:
    """Create ``base`` in ``directory``, or ``base.1``, ``base.2``... when
    taken: never an existing file."""
    for number in range(1000):
        candidate = directory / (base if number == 0 else f"{base}.{number}")
        try:
            return os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise GuardError(f"cannot create {candidate}: {exc.strerror or exc}") from None
    raise GuardError(f"cannot keep a copy in {directory}: {base} to {base}.999 all exist; remove some")


def _keep_edited(hook: Path) -> str:
    """Keep a copy of an edited hook before it is replaced or removed; the
    note that says where. A symbolic link is replaced or removed itself, its
    target is left as it is."""
    if hook.is_symlink():
        return f"{hook.name} was a link to an edited hook: {os.readlink(hook)} is left as it is"
    try:
        data = hook.read_bytes()
        mode = stat.S_IMODE(hook.stat().st_mode)
    except OSError as exc:
        raise GuardError(f"cannot read {hook}: {exc.strerror or exc}") from None
    fd, copy = _create_exclusive(hook.parent, hook.name + EDITED_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        copy.chmod(mode)
    except OSError as exc:
        copy.unlink(missing_ok=True)
        raise GuardError(f"cannot write {copy}: {exc.strerror or exc}") from None
    return f"the edited hook was kept as {copy.name}"


def _move_aside(hook: Path, backup: Path) -> None:
    """Rename ``hook`` to ``backup``, which must not exist (a hard link
    first, so that a file created meanwhile is never replaced)."""
    taken = GuardError(
        f"{hook} is not a captchaai-guard hook and {backup.name} already exists; "
        "move one of them away and run install again"
    )
    if backup.exists() or backup.is_symlink():
        raise taken
    try:
        os.link(hook, backup, follow_symlinks=False)
    except FileExistsError:
        raise taken from None
    except OSError:  # no hard links here (or a folder): a plain rename
        try:
            os.replace(hook, backup)
        except OSError as exc:
            raise GuardError(f"cannot move {hook} aside: {exc.strerror or exc}") from None
        return
    try:
        hook.unlink()
    except OSError as exc:
        backup.unlink(missing_ok=True)
        raise GuardError(f"cannot move {hook} aside: {exc.strerror or exc}") from None


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def install_hook(
    hook_type: str, *, force: bool = False, python: str | None = None, cwd: Path | None = None
) -> str:
    """Install the hook; return a message saying what happened."""
    where = paths(hook_type, cwd)
    python = python or sys.executable
    hook, backup = where.hook, where.backup
    try:
        hook.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GuardError(f"cannot create {hook.parent}: {exc.strerror or exc}") from None
    exists = hook.exists() or hook.is_symlink()
    notes: list[str] = []
    if exists and is_ours(hook):
        current = _read(hook)
        edited = current is None or not unedited(current)
        if edited and not force:
            raise GuardError(
                f"{hook} was written by captchaai-guard and edited since; installing again would "
                "drop those edits: keep them in another file, or run 'captchaai-guard install --force', "
                f"which saves the edited hook as {hook.name}{EDITED_SUFFIX} first"
            )
        chain = backup.exists() and _chains(hook) and not force
        text = render_hook(hook_type, python, chain)
        if current == text:
            return f"captchaai-guard {hook_type} hook already installed at {hook}"
        if edited:
            notes.append(_keep_edited(hook))
        if force and backup.exists() and _chains(hook):
            notes.append(f"the previous hook {backup.name} no longer runs (--force)")
        _write_executable(hook, text)
        message = f"captchaai-guard {hook_type} hook updated at {hook}" + (
            f" (runs {backup.name} first)" if chain else ""
        )
        return "\n".join([message, *notes])
    if exists:
        _move_aside(hook, backup)
        if force:
            notes.append(f"the previous hook was kept as {backup.name} but no longer runs (--force)")
        else:
            notes.append(f"the previous hook was moved to {backup.name} and runs first")
    chain = exists and not force
    try:
        _write_executable(hook, render_hook(hook_type, python, chain))
    except GuardError:
        if exists:
            os.replace(backup, hook)
        raise
    message = f"captchaai-guard {hook_type} hook installed at {hook} (runs {python})"
    return "\n".join([message, *notes])


def uninstall_hook(hook_type: str, cwd: Path | None = None) -> str:
    """Remove our hook and restore the previous one; refuse a foreign hook.
    An edited hook is kept as ``<hook>.captchaai-guard-edited`` first."""
    where = paths(hook_type, cwd)
    hook, backup = where.hook, where.backup
    restore = backup.exists() or backup.is_symlink()
    notes: list[str] = []
    if hook.exists() or hook.is_symlink():
        if not is_ours(hook):
            raise GuardError(f"{hook} is not a captchaai-guard hook; not removing it")
        current = _read(hook)
        if current is None or not unedited(current):
            notes.append(_keep_edited(hook))
        try:
            hook.unlink()
        except OSError as exc:
            raise GuardError(f"cannot remove {hook}: {exc.strerror or exc}") from None
        message = f"captchaai-guard {hook_type} hook removed from {hook}"
    elif not restore:
        return f"no captchaai-guard {hook_type} hook installed in {hook.parent}"
    else:
        message = f"no captchaai-guard {hook_type} hook at {hook}"
    if restore:
        try:
            os.replace(backup, hook)
        except OSError as exc:
            raise GuardError(f"cannot restore {backup}: {exc.strerror or exc}") from None
        notes.append(f"the previous hook was restored from {backup.name}")
    return "\n".join([message, *notes])


# --- submodules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Submodule:
    name: str  # its path from the top of the outermost work tree, '/'-separated
    path: Path  # its work tree
    checked_out: bool


def submodules(top: Path, prefix: str = "") -> list[Submodule]:
    """The submodules of the work tree at ``top`` (the gitlinks of its index),
    and recursively those of each checked-out one.

    Read from the index, not from ``git submodule foreach``: that stops at the
    first gitlink without a ``.gitmodules`` entry."""
    from captchaai_guard.sources import gitio, repository

    # (git ls-files, not GitPython's index: that refuses index version 4,
    # which feature.manyFiles turns on)
    out = gitio.run(["ls-files", "-z", "--stage"], cwd=top)
    names: dict[str, None] = {}
    for entry in out.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        if meta.startswith(b"160000 "):
            names[raw.decode("utf-8", "surrogateescape")] = None  # unmerged: once
    found: list[Submodule] = []
    for name in names:
        path = top / name
        shown = prefix + name
        if not repository.is_work_tree_top(path):
            found.append(Submodule(shown, path, checked_out=False))
            continue
        found.append(Submodule(shown, path, checked_out=True))
        found.extend(submodules(path, shown + "/"))
    return found


def _each_repository(hook_type: str, action: Callable[[Path], str], verb: str) -> tuple[list[str], list[str]]:
    """Run ``action`` (install or uninstall in a work tree) in this work tree
    and every checked-out submodule, once per hooks directory.
    Return the messages and the errors."""
    from captchaai_guard.sources import repository

    try:
        top = repository.work_tree()
    except GuardError as exc:
        raise GuardError(f"--recurse-submodules needs a work tree: {exc}") from None
    modules = submodules(top)
    targets = [("", top)] + [(f"submodule {m.name}: ", m.path) for m in modules if m.checked_out]
    messages: list[str] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for label, path in targets:
        try:
            directory = os.path.realpath(hooks_dir(path))
            if directory in seen:
                owner = seen[directory] or "the superproject"
                messages.append(f"{label}uses the hooks of {owner} ({directory})")
                continue
            seen[directory] = label.removesuffix(": ")
            messages.extend(label + line for line in action(path).splitlines())
        except GuardError as exc:
            errors.append(label + str(exc))
    for module in modules:
        if not module.checked_out:
            messages.append(
                f"submodule {module.name}: not checked out, no {hook_type} hook {verb} "
                "(after 'git submodule update --init --recursive', run this again)"
            )
    return messages, errors


def _submodule_note(hook_type: str) -> str | None:
    """A hint when checked-out submodules of this work tree have no hook."""
    from captchaai_guard.sources import repository

    try:
        top = repository.work_tree()
        if not (top / ".gitmodules").is_file():
            return None
        bare = [m for m in submodules(top) if m.checked_out and not is_ours(paths(hook_type, m.path).hook)]
    except GuardError:
        return None
    if not bare:
        return None
    if len(bare) == 1:
        what, inside = f"the submodule {bare[0].name} has", "it"
    else:
        what, inside = f"{len(bare)} submodules have", "them"
    return (
        f"note: {what} no {hook_type} hook, so commits made inside {inside} are not checked: "
        "run 'captchaai-guard install --recurse-submodules'"
    )


def _report(messages: list[str], errors: list[str], verb: str) -> None:
    from captchaai_guard.commands.cli import fail

    for message in messages:
        click.echo(message)
    for error in errors:
        fail(error)
    if errors:
        raise GuardError(f"{len(errors)} of the repositories above are left as they were: hook not {verb}")


_hook_type_option = click.option(
    "--hook-type",
    "-t",
    type=click.Choice(HOOK_TYPES),
    default="pre-commit",
    show_default=True,
    help="Which git hook.",
)
_recurse_option = click.option(
    "--recurse-submodules",
    "recurse",
    is_flag=True,
    help="Also in every checked-out submodule, recursively (commits made inside them run their own hooks).",
)


@click.command()
@_hook_type_option
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing hook instead of chaining it, or an edited captchaai-guard hook "
    "(both are kept aside).",
)
@_recurse_option
def install(hook_type: str, force: bool, recurse: bool) -> None:
    """Install the git hook that blocks CaptchaAI API keys.

    An existing hook keeps running before the scan (it is chained);
    `captchaai-guard uninstall` puts it back. A captchaai-guard hook that
    was edited is not replaced without --force.
    """
    if not recurse:
        click.echo(install_hook(hook_type, force=force))
        note = _submodule_note(hook_type)
        if note is not None:
            click.echo(note)
        return
    messages, errors = _each_repository(
        hook_type, lambda path: install_hook(hook_type, force=force, cwd=path), "installed"
    )
    _report(messages, errors, "installed")


@click.command(short_help="Remove the git hook and restore the previous one.")
@_hook_type_option
@_recurse_option
def uninstall(hook_type: str, recurse: bool) -> None:
    """Remove the git hook written by install and restore the previous one.

    A hook that was edited after install is kept as
    <hook>.captchaai-guard-edited.
    """
    if not recurse:
        click.echo(uninstall_hook(hook_type))
        return
    messages, errors = _each_repository(
        hook_type, lambda path: uninstall_hook(hook_type, cwd=path), "removed"
    )
    _report(messages, errors, "removed")
