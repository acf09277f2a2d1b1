"""The ``captchaai-guard`` console script.

A plain ``captchaai-guard scan`` (staged changes) or ``scan --commits
RANGE``, optionally with ``--format``, is answered without click, by the
same :func:`captchaai_guard.commands.scan.run_scan` the ``scan`` command calls:

* staged changes without a candidate line, at the top of a work tree without
  configuration or baseline, are settled by the commit hook's fast path
  (:func:`captchaai_guard.commands.hook.clean_quickly`) before the scan modules are
  imported; with one, the scan goes on reading the git that fast path
  started (:mod:`captchaai_guard.sources.prestart`);
* for a commit range, ``git log`` is started first (from the top of the
  work tree, like the command does) and read ahead while the scan modules load.

The report, writer and exit code are the command's own. Everything else,
and any doubt (an error included: the command reports it), goes to
:func:`captchaai_guard.commands.cli.main`. SIGINT, SIGTERM and anything unexpected
end the run with one line and exit 2, its git processes stopped
(:func:`captchaai_guard.errors.guard`).
"""

from __future__ import annotations

import os
import sys

from captchaai_guard.errors import EXIT_CLEAN, guard, leave

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

FORMATS = ("text", "json", "sarif", "github")  # captchaai_guard.report.FORMATS (a test keeps them equal)


def quick_request(args: Sequence[str]) -> tuple[str, str | None] | None:
    """``(format, commits)`` when ``args`` are ``scan`` with at most
    ``--format`` and ``--commits`` (each ``NAME VALUE`` or ``NAME=VALUE``);
    else None."""
    if not args or args[0] != "scan":
        return None
    values: dict[str, str] = {}
    rest = list(args[1:])
    while rest:
        name = rest.pop(0)
        if "=" in name:
            name, value = name.split("=", 1)
        elif rest:
            value = rest.pop(0)
        else:
            return None
        # click takes the next word as the value, dashes or not (--commits --all).
        if name not in ("--format", "--commits") or not value:
            return None
        values[name] = value
    fmt = values.get("--format", "text")
    return (fmt, values.get("--commits")) if fmt in FORMATS else None


def _quick(fmt: str, commits: str | None) -> int:
    from captchaai_guard.commands import hook
    from captchaai_guard.report.output import emit
    from captchaai_guard.sources import prestart

    if commits is None:
        if not os.path.lexists(hook.BASELINE_FILE) and hook.clean_quickly((), os.environ):
            from captchaai_guard.report import Summary, renderer, use_color

            color = fmt == "text" and use_color(sys.stdout)
            emit(renderer(fmt)([], Summary(source="staged changes", color=color)), None)
            return EXIT_CLEAN
        top: str | None = os.getcwd() if prestart.pending() else None  # clean_quickly checked it
    else:
        # git log starts now, and runs while the scan modules load.
        top = prestart.start_log(commits.split())
    from captchaai_guard.commands.scan import ScanRequest, run_scan

    root: str | Path | None = top  # a str: pathlib is slow to import
    if root is None:
        from captchaai_guard.sources import gitio

        root = gitio.repo_root()
    mode = "staged" if commits is None else "commits"
    return run_scan(ScanRequest(mode=mode, commits=commits, fmt=fmt), root)


def console() -> None:
    """The console script: :func:`main` under :func:`~captchaai_guard.errors.guard`,
    then out (see :func:`~captchaai_guard.errors.leave`)."""
    leave(guard(main, _stop_children))


def _stop_children() -> None:
    from captchaai_guard.sources import prestart

    prestart.stop_children()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        request = quick_request(args)
        if request is not None:
            try:
                return _quick(*request)
            except Exception:  # any doubt: the full command decides (and reports)
                pass
        from captchaai_guard.commands.cli import main as cli_main

        return cli_main(args)
    finally:
        from captchaai_guard.sources import prestart

        prestart.discard()  # a git no scan took
