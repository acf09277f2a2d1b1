"""``captchaai-guard rules``: the built-in and configured rules."""

from __future__ import annotations

import json

import click

from captchaai_guard.commands.cli import config_option, format_option, load_config, optional_root
from captchaai_guard.detect.rules import RULES
from captchaai_guard.report.output import emit


@click.command(short_help="List the rules: id, source and description.")
@config_option
@format_option("text", "json")
def rules(config_path: str | None, fmt: str) -> None:
    """List the rules: id, description and source (built-in or config)."""
    settings = load_config(optional_root(), config_path)
    disabled = set(settings.disable)
    rows = [
        {
            "id": rule.id,
            "description": rule.description,
            "source": rule.source,
            "enabled": rule.id not in disabled,
        }
        for rule in (*RULES, *settings.rules)
    ]
    if fmt == "json":
        emit(json.dumps({"rules": rows}, indent=2) + "\n", None)
        return
    width = max(len(str(row["id"])) for row in rows)
    lines = [
        f"{row['id']:<{width}}  {row['source']:<8}  {row['description']}"
        + ("" if row["enabled"] else "  (disabled)")
        for row in rows
    ]
    emit("".join(line + "\n" for line in lines), None)
