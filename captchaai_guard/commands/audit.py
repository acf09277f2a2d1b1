"""``captchaai-guard audit``: the security checklist for this repository."""

from __future__ import annotations

import sys

import click

from captchaai_guard.commands.cli import baseline_options, config_option, format_option


@click.command(short_help="Check the repository against the key security checklist.")
@config_option
@baseline_options
@format_option("text", "json")
@click.option("--history", is_flag=True, help="Also look for keys in every commit of every branch.")
def audit(
    config_path: str | None, baseline_path: str | None, no_baseline: bool, fmt: str, history: bool
) -> None:
    """Check the repository against the CaptchaAI key security checklist.

    The configuration (exclude, allow, disable, custom rules) and the
    baseline apply as for `scan`: baselined keys do not fail an item.

    Exit codes: 0 every Required item passes, 1 a Required item fails, 2 error.
    """
    from captchaai_guard.audit.checklist import required_failed, run_audit
    from captchaai_guard.audit.report import render_json, render_text
    from captchaai_guard.commands.cli import load_settings
    from captchaai_guard.errors import EXIT_CLEAN, EXIT_FINDINGS
    from captchaai_guard.report import use_color
    from captchaai_guard.report.output import emit
    from captchaai_guard.sources import repository

    root = repository.work_tree()
    setup = load_settings(root, config_path, baseline_path, no_baseline)
    items = run_audit(
        root, history=history, engine=setup.engine, include=setup.include, baseline=setup.baseline
    )
    color = use_color(sys.stdout)
    emit(render_json(items) if fmt == "json" else render_text(items, str(root), color=color), None)
    raise SystemExit(EXIT_FINDINGS if required_failed(items) else EXIT_CLEAN)
