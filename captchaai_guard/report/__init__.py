"""Reporters: findings in, text out. Nothing here knows where findings came from.

Each format lives in its own module with ``render(findings, summary) -> str``
and is imported only when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from captchaai_guard.findings import Finding

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")


@dataclass(frozen=True)
class Summary:
    """What was scanned, for the report header and exit code."""

    source: str  # "staged changes", "commits main..HEAD", "files", "stdin"
    color: bool = False
    hook: bool = False
    commits: int | None = None
    files: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


Renderer = Callable[[Sequence[Finding], Summary], str]


def renderer(fmt: str) -> Renderer:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"captchaai_guard.report.{fmt}_report")
    render: Renderer = module.render
    return render
