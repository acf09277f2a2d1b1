"""The ``captchaai-guard`` console script.

``captchaai-guard scan`` of the staged changes (optionally with
``--format``) in a repository whose staged diff holds no candidate line is
answered by the commit hook's fast path (:func:`captchaai_guard.hook.clean_quickly`)
and the clean report, before click and the scan modules are imported.
Everything else, and any doubt, goes to :func:`captchaai_guard.cli.main`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

FORMATS = ("text", "json", "sarif", "github")  # captchaai_guard.report.FORMATS (a test keeps them equal)


def quick_format(args: Sequence[str]) -> str | None:
    """The report format when ``args`` is a plain ``scan`` of the staged changes."""
    if not args or args[0] != "scan":
        return None
    rest = list(args[1:])
    if not rest:
        return "text"
    if len(rest) == 2 and rest[0] == "--format":
        fmt = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--format="):
        fmt = rest[0][len("--format=") :]
    else:
        return None
    return fmt if fmt in FORMATS else None


def _clean_report(fmt: str) -> str | None:
    """The report of a clean staged scan, or None when the fast path cannot tell."""
    from captchaai_guard import hook

    if os.path.lexists(hook.BASELINE_FILE) or not hook.clean_quickly((), os.environ):
        return None
    from captchaai_guard.report import Summary, renderer, use_color

    color = fmt == "text" and use_color(sys.stdout)
    return renderer(fmt)([], Summary(source="staged changes", color=color))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    fmt = quick_format(args)
    if fmt is not None:
        try:
            text = _clean_report(fmt)
        except Exception:  # any doubt: the full command decides (and reports)
            text = None
        if text is not None:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:
                from captchaai_guard.cli import main as cli_main

                return cli_main(args)
            return 0
    from captchaai_guard.cli import main as cli_main

    return cli_main(args)
