"""``captchaai-guard audit``: the security checklist for this repository."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option("--history", is_flag=True, help="Also look for keys in every commit of every branch.")
def audit(fmt: str, history: bool) -> None:
    """Check the repository against the CaptchaAI key security checklist.

    Exit codes: 0 every Required item passes, 1 a Required item fails, 2 error.
    """
    from captchaai_guard import gitio
    from captchaai_guard.audit import required_failed, run_audit
    from captchaai_guard.audit_report import render_json, render_text
    from captchaai_guard.cli import EXIT_CLEAN, EXIT_FINDINGS, emit, use_color

    root = gitio.repo_root()
    items = run_audit(root, history=history)
    color = use_color(sys.stdout)
    emit(render_json(items) if fmt == "json" else render_text(items, str(root), color=color), None)
    raise SystemExit(EXIT_FINDINGS if required_failed(items) else EXIT_CLEAN)
