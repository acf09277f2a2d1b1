"""The ``scan`` command without click: a request in, a report out, an exit code back.

:mod:`captchaai_guard.commands.cli` parses the options into a :class:`ScanRequest`;
the console script's quick path (:mod:`captchaai_guard.commands.console`) builds the
same request for a plain ``scan`` or ``scan --commits RANGE`` and calls the
same :func:`run_scan`, so both answer alike.

One scan can write several reports of the same findings: the one
``--format``/``--output`` names, then each ``--report FORMAT[:FILE]``
(``ScanRequest.reports``), all before the exit code is returned.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from captchaai_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, GitError, GuardError
from captchaai_guard.report import Summary, isatty, renderer, use_color
from captchaai_guard.report.output import emit

TYPE_CHECKING = False  # names for annotations only, not imported at run time
if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

    from click._termui_impl import ProgressBar

    from captchaai_guard.findings import Finding

PROGRESS_FORMATS = ("text", "github")  # json and sarif stay quiet
PROGRESS_LABELS = ("captchaai-guard: scanning commits", "scanning commits", "")  # shorter on narrow terminals
PROGRESS_INTERVAL = 0.1  # seconds between redraws
_MISSING_REVISION = re.compile(r"bad revision|unknown revision|ambiguous argument|bad object")
_FULL_HISTORY = "actions/checkout with fetch-depth: 0, or GIT_DEPTH: 0 in GitLab CI"


class ScanRequest(NamedTuple):
    """What to scan (``mode``: staged, commits, files or stdin) and how to report it."""

    mode: str = "staged"
    commits: str | None = None
    paths: Sequence[str] = ()
    config_path: str | None = None
    baseline_path: str | None = None
    use_baseline: bool = True
    verify: bool = False
    verify_url: str | None = None
    verify_timeout: float = 5.0
    fmt: str = "text"
    output: str | None = None
    reports: Sequence[tuple[str, str | None]] = ()  # more (format, file or None: stdout) of the same scan
    explain: bool = False


def report_targets(request: ScanRequest) -> list[tuple[str, str | None]]:
    """Every report ``request`` asks for, ``--format``/``--output`` first:
    ``(format, file)``, the file None for standard output. At most one may go
    to standard output and no file may be named twice (one would overwrite
    the other); else a :class:`~captchaai_guard.errors.GuardError`."""
    main = None if request.output in (None, "-") else request.output
    targets = [(request.fmt, main), *request.reports]
    on_stdout = [fmt for fmt, path in targets if path is None]
    if len(on_stdout) > 1:
        raise GuardError(
            f"{len(on_stdout)} reports ({', '.join(on_stdout)}) would go to standard output: "
            "give all but one a file (--output FILE, --report FORMAT:FILE)"
        )
    seen: set[str] = set()
    for _, path in targets:
        if path is not None:
            name = os.path.normcase(os.path.abspath(path))
            if name in seen:
                raise GuardError(f"two reports would be written to {path}: give each its own file")
            seen.add(name)
    return targets


def run_scan(request: ScanRequest, root: str | Path | None) -> int:
    """Scan, write the report, return the exit code (0 clean, 1 keys found).
    ``root`` is the repository (None outside one: only ``stdin`` works).
    Problems raise :class:`~captchaai_guard.errors.GuardError`."""
    import gc

    from captchaai_guard.config import settings
    from captchaai_guard.scan import scan_commits, scan_diff, scan_files, scan_staged
    from captchaai_guard.sources import prestart

    # What is loaded now lives as long as the process: the collector need not
    # walk it again each time the scan's many small objects trigger it.
    gc.freeze()
    targets = report_targets(request)  # before anything is read
    setup = settings.load(root, request.config_path, request.baseline_path, request.use_baseline)
    engine, include = setup.engine, setup.include
    stream: Iterator[Finding]
    bar: ProgressBar[int] | None = None
    tally: _Tally | None = None
    fmt = request.fmt
    explain: list[dict[str, object]] | None = None
    if request.explain:
        from captchaai_guard.detect.candidates import EVERY_RUN

        explain = []
        engine.required = EVERY_RUN  # (no line settled before the engine: each candidate is listed)
    if request.mode == "stdin":
        source = "stdin"
        if sys.stdin is None:
            raise GuardError("standard input is closed: --stdin has no diff to read")
        stream = scan_diff(engine, sys.stdin.buffer, include=include, strip_color=True, explain=explain)
    else:
        assert root is not None
        if request.mode == "commits":
            assert request.commits is not None
            source = f"commits {request.commits}"
            revisions = request.commits.split()
            bar = _progress_bar(root, revisions, fmt)
            tally = _Tally(bar)
            stream = scan_commits(root, revisions, engine, tally, include, explain)
        elif request.mode == "files":
            from pathlib import Path

            source = "files"
            folder = Path(root)
            stream = scan_files(expand(request.paths, folder), folder, engine, include, explain)
        else:
            source = "staged changes"
            stream = scan_staged(root, engine, include, explain)
    prestart.when_idle(lambda: [renderer(f) for f, _ in targets])  # while git writes, not after
    try:
        findings = list(stream)
    except GitError as exc:
        if request.mode == "commits" and _MISSING_REVISION.search(str(exc)):
            raise GitError(f"{exc} (in CI, fetch the whole history: {_FULL_HISTORY})") from None
        raise
    finally:
        if tally is not None:
            tally.close()  # the bar finished on its own line before any report
        prestart.forget_idle()
    extra: dict[str, object] = {}
    if setup.baseline is not None:
        findings, extra["baselined"] = setup.accepted(findings)
    if request.verify and findings:
        from captchaai_guard.detect.verify import base_url
        from captchaai_guard.detect.verify import verify as verify_findings

        url = base_url(request.verify_url, setup.config.verify_url)
        findings = verify_findings(findings, url, request.verify_timeout)
    commits = tally.seen if tally is not None else None
    for report_fmt, path in targets:  # every report written, or an error (exit 2)
        color = report_fmt == "text" and path is None and use_color(sys.stdout)
        shown = {**extra, "explain": explain} if explain is not None and report_fmt == "json" else extra
        summary = Summary(source=source, color=color, commits=commits, extra=shown)
        emit(renderer(report_fmt)(findings, summary), path)
    if explain is not None and all(report_fmt != "json" for report_fmt, _ in targets):
        from captchaai_guard.report.explain import render_explanation

        sys.stderr.write(render_explanation(explain, use_color(sys.stderr)))
    return EXIT_FINDINGS if findings else EXIT_CLEAN


class _Tally:
    """Counts the commits a scan read, and moves the progress bar if any: at
    most every :data:`PROGRESS_INTERVAL` seconds (a long range must not
    redraw the line for each commit), and at the end."""

    def __init__(self, bar: ProgressBar[int] | None) -> None:
        self.bar = bar
        self.seen = 0
        self.drawn = float("-inf")

    def __call__(self, seen: int) -> None:
        self.seen = seen
        bar = self.bar
        if bar is None:
            return
        import time

        now = time.monotonic()
        if now - self.drawn >= PROGRESS_INTERVAL or seen >= (bar.length or 0):
            self.drawn = now
            self._move()

    def _move(self) -> None:
        assert self.bar is not None
        self.bar.update(min(self.seen, self.bar.length or 0) - self.bar.pos)

    def close(self) -> None:
        """Draw the last count and end the bar's line (the cursor shown again)."""
        if self.bar is not None:
            self._move()
            self.bar.render_finish()
            self.bar = None


def progress_layout(total: int, columns: int) -> tuple[str, str, int]:
    """The label, template and bar width of a progress line that fits in
    ``columns``: label, bar (up to 30 characters), ``done/total``, percent
    and ETA, one character short of the terminal's width (a line that wraps
    cannot be redrawn in place). On a narrow terminal the label shortens,
    then goes."""
    info = len(f"{total}/{total}  100%  ") + len("1d 00:00:00")  # ETA: hh:mm:ss, days beyond
    for label in PROGRESS_LABELS:
        template = "%(label)s [%(bar)s]  %(info)s" if label else "[%(bar)s]  %(info)s"
        room = columns - 1 - len(template % {"label": label, "bar": "", "info": ""}) - info
        if room >= 10:
            break
    return label, template, max(1, min(30, room))


def _progress_bar(root: str | Path, revisions: Sequence[str], fmt: str) -> ProgressBar[int] | None:
    """A progress bar on stderr for ``--commits``, only on a terminal and for
    the human formats (counting the range costs one cheap ``git rev-list``)."""
    if fmt not in PROGRESS_FORMATS or not isatty(sys.stderr):
        return None
    from captchaai_guard.sources import gitio

    total = gitio.count_commits(root, revisions)
    return progress_bar(total, sys.stderr) if total else None


def progress_bar(total: int, stream: TextIO) -> ProgressBar[int]:
    """click's progress bar for ``total`` commits on the terminal ``stream``,
    drawn at once (click is imported only here: only for a terminal)."""
    import click

    try:
        columns = os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        columns = 80
    label, template, width = progress_layout(total, columns)
    bar = click.progressbar(
        length=total,
        label=label,
        show_eta=True,
        show_percent=True,
        show_pos=True,
        bar_template=template,
        width=width,
        file=stream,
    )
    bar.render_progress()
    return bar


def expand(paths: Sequence[str], root: Path) -> list[Path]:
    """Files named on the command line; directories expand to their files."""
    from pathlib import Path

    if not paths:
        return tracked_files(root)
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            result.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if not p.is_symlink() and p.is_file() and ".git" not in p.relative_to(path).parts
                )
            )
        elif path.is_file():
            result.append(path)
        else:
            raise GuardError(f"no such file or directory: {raw}")
    return result


def tracked_files(root: Path) -> list[Path]:
    """The tracked files of the work tree at ``root`` and, recursively, of its
    checked-out submodules (``git ls-files --recurse-submodules``: each
    submodule's own index), as paths under ``root``.

    Symlinks (their target is not content), gitlinks of submodules that are
    not checked out and files missing from the work tree are not files to read."""
    from captchaai_guard.sources import gitio

    out = gitio.run(["ls-files", "-z", "--cached", "--recurse-submodules"], cwd=root)
    names = dict.fromkeys(p for p in out.split(b"\0") if p)  # an unmerged path is listed per stage
    tracked = (root / p.decode("utf-8", "surrogateescape") for p in names)
    return [p for p in tracked if not p.is_symlink() and p.is_file()]
