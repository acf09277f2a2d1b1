"""``captchaai-guard install`` and ``uninstall``: the standalone git hook.

The hook is a small POSIX sh script in the directory git reads hooks from
(``git rev-parse --git-path hooks``: honours ``core.hooksPath`` and linked
worktrees). It runs :mod:`captchaai_guard.hook` with the interpreter that
installed it, falls back to ``captchaai-guard-hook`` on PATH, and fails
closed when neither can run.

A hook that was already there is moved aside to
``<hook>.captchaai-guard-previous`` and chained: it runs first, with the same
arguments and standard input, and a failure stops the commit or push before
the scan. ``--force`` still keeps the old hook under that name (so
``uninstall`` can bring it back) but does not run it. ``uninstall`` removes
only a hook that carries :data:`SIGNATURE` and restores the previous one.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from captchaai_guard.errors import GuardError

HOOK_TYPES = ("pre-commit", "pre-push")
SIGNATURE = "# captchaai-guard managed hook: remove with 'captchaai-guard uninstall'"
BACKUP_SUFFIX = ".captchaai-guard-previous"
_CHAIN_ON, _CHAIN_OFF = "chain=1", "chain=0"

_TEMPLATE = """\
#!/bin/sh
{signature}
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
    "    from captchaai_guard.hook import run\n"
    "except ImportError:\n"
    "    import site\n"
    "    site.main()\n"
    "    try:\n"
    "        from captchaai_guard.hook import run\n"
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
    return _TEMPLATE.format(
        signature=SIGNATURE,
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
    """Where git reads hooks from, absolute."""
    from captchaai_guard import gitio

    try:
        out = gitio.run(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], cwd=cwd)
        return Path(os.fsdecode(out.strip()))
    except GuardError as exc:
        if "not a git repository" in str(exc):
            raise GuardError("not a git repository (run captchaai-guard install inside one)") from None
    # git older than 2.31: a relative answer is relative to the top of the work tree
    out = gitio.run(["rev-parse", "--git-path", "hooks"], cwd=cwd)
    path = Path(os.fsdecode(out.strip()))
    return path if path.is_absolute() else Path(cwd or ".").resolve() / path


@dataclass(frozen=True)
class Paths:
    hook: Path
    backup: Path


def paths(hook_type: str, cwd: Path | None = None) -> Paths:
    directory = hooks_dir(cwd)
    return Paths(directory / hook_type, directory / (hook_type + BACKUP_SUFFIX))


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".captchaai-guard-tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        mode = tmp.stat().st_mode
        tmp.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GuardError(f"cannot write {path}: {exc.strerror or exc}") from None


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
        chain = backup.exists() and _chains(hook) and not force
        text = render_hook(hook_type, python, chain)
        if hook.read_text(encoding="utf-8", errors="replace") == text:
            return f"captchaai-guard {hook_type} hook already installed at {hook}"
        _write_executable(hook, text)
        return f"captchaai-guard {hook_type} hook updated at {hook}" + (
            f" (runs {backup.name} first)" if chain else ""
        )
    if exists:
        if backup.exists() or backup.is_symlink():
            raise GuardError(
                f"{hook} is not a captchaai-guard hook and {backup.name} already exists; "
                "move one of them away and run install again"
            )
        try:
            os.replace(hook, backup)
        except OSError as exc:
            raise GuardError(f"cannot move {hook} aside: {exc.strerror or exc}") from None
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
    """Remove our hook and restore the previous one; refuse a foreign hook."""
    where = paths(hook_type, cwd)
    hook, backup = where.hook, where.backup
    restore = backup.exists() or backup.is_symlink()
    if hook.exists() or hook.is_symlink():
        if not is_ours(hook):
            raise GuardError(f"{hook} is not a captchaai-guard hook; not removing it")
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
        message += f"\nthe previous hook was restored from {backup.name}"
    return message


_hook_type_option = click.option(
    "--hook-type",
    "-t",
    type=click.Choice(HOOK_TYPES),
    default="pre-commit",
    show_default=True,
    help="Which git hook.",
)


@click.command()
@_hook_type_option
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing hook instead of chaining it (it is kept aside for uninstall).",
)
def install(hook_type: str, force: bool) -> None:
    """Install the git hook that blocks CaptchaAI API keys.

    An existing hook keeps running before the scan (it is chained);
    `captchaai-guard uninstall` puts it back.
    """
    click.echo(install_hook(hook_type, force=force))


@click.command(short_help="Remove the git hook and restore the previous one.")
@_hook_type_option
def uninstall(hook_type: str) -> None:
    """Remove the git hook written by install and restore the previous one."""
    click.echo(uninstall_hook(hook_type))
