"""The ``captchaai-guard`` console script.

``captchaai-guard scan`` of the staged changes (optionally with
``--format``), at the top of a work tree without configuration or baseline,
is answered without click: a staged diff without a candidate line by the
commit hook's fast path (:func:`captchaai_guard.hook.clean_quickly`) before
the scan modules are imported, any other by the scan driver reading the git
that fast path started (:mod:`captchaai_guard.early`). The report is the
command's own (same renderer, same writer, same exit code). Everything else,
and any doubt, goes to :func:`captchaai_guard.cli.main`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from captchaai_guard.findings import Finding

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
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


def _quick_report(fmt: str) -> tuple[str, int] | None:
    """The report and exit code of a staged scan where the commit hook's fast
    path applies (the top of a work tree, no configuration, no baseline),
    or None: the full command decides. A clean diff is settled before any
    scan module is imported; otherwise the scan goes on reading the git the
    fast path started, with the built-in rules, and click is never loaded."""
    from captchaai_guard import early, hook

    if os.path.lexists(hook.BASELINE_FILE):
        return None
    findings: list[Finding] = []
    if not hook.clean_quickly((), os.environ):
        if not early.pending():
            return None
        from pathlib import Path

        from captchaai_guard.engine import Engine
        from captchaai_guard.scan import scan_staged

        findings = list(scan_staged(Path(os.getcwd()), Engine()))
    from captchaai_guard.report import Summary, renderer, use_color

    color = fmt == "text" and use_color(sys.stdout)
    text = renderer(fmt)(findings, Summary(source="staged changes", color=color))
    return text, EXIT_FINDINGS if findings else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(args)
    finally:
        from captchaai_guard import early

        early.discard()  # a git no scan took


def _main(args: list[str]) -> int:
    fmt = quick_format(args)
    if fmt is not None:
        try:
            quick = _quick_report(fmt)
        except KeyboardInterrupt:
            sys.stderr.write("captchaai-guard: error: interrupted\n")
            return EXIT_ERROR
        except Exception:  # any doubt: the full command decides (and reports)
            quick = None
        if quick is not None:
            from captchaai_guard.errors import OutputError
            from captchaai_guard.output import emit

            try:
                emit(quick[0], None)
            except OutputError:  # the full command reports it
                pass
            else:
                return quick[1]
    from captchaai_guard.cli import main as cli_main

    return cli_main(args)
