"""``captchaai-guard baseline``: accept the findings of the tracked tree as they are."""

from __future__ import annotations

from pathlib import Path

import click

from captchaai_guard.commands.cli import config_option, load_settings
from captchaai_guard.errors import GuardError
from captchaai_guard.report.output import emit


@click.command()
@config_option
@click.option(
    "--output",
    "-o",
    metavar="PATH",
    help="Where to write the baseline (default: .captchaai-guard-baseline.json at the repository root).",
)
def baseline(config_path: str | None, output: str | None) -> None:
    """Record the findings of every tracked file in a baseline.

    `scan` then reports only findings that are not in it. The file holds
    fingerprints (sha256 of rule, path and key), never a key: commit it.
    """
    from captchaai_guard.commands.scan import tracked_files
    from captchaai_guard.config import baseline as store
    from captchaai_guard.scan import scan_files
    from captchaai_guard.sources import repository

    root = repository.work_tree()
    setup = load_settings(root, config_path, no_baseline=True)  # a baseline records everything
    present = tracked_files(root)  # what scan --files reads
    findings = list(scan_files(present, root, setup.engine, setup.include))
    target = output or str(root / store.BASELINE_FILE)
    if target != "-":
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GuardError(f"cannot create the folder of {target}: {exc.strerror or exc}") from None
    emit(store.render(findings), target)
    if target != "-":
        where = Path(target)
        noun = "finding" if len(findings) == 1 else "findings"
        click.echo(f"captchaai-guard: baseline of {len(findings)} {noun} written to {where}", err=True)
