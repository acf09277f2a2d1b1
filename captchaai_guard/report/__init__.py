"""Reporters: findings in, text out. Nothing here knows where findings came from.

Each format lives in its own module with ``render(findings, summary) -> str``
and is imported only when asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from captchaai_guard.findings import Finding

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")


def parse_report(spec: str) -> tuple[str, str | None]:
    """``FORMAT`` or ``FORMAT:FILE`` (``scan --report``) -> ``(format, file)``;
    the file is None for standard output (no file, or ``-``). Raises
    ValueError for an unknown format or an empty file name."""
    fmt, colon, path = spec.partition(":")
    if fmt not in FORMATS:
        choices = ", ".join(FORMATS)
        raise ValueError(f"unknown report format {fmt!r}: use FORMAT or FORMAT:FILE, FORMAT one of {choices}")
    if colon and not path:
        raise ValueError(f"no file after {fmt!r}: use {fmt}:FILE, or {fmt} alone for standard output")
    return fmt, None if path in ("", "-") else path


def isatty(stream: object) -> bool:
    check = getattr(stream, "isatty", None)
    return bool(check and check())


def use_color(stream: object) -> bool:
    """Colour only on a terminal, never with NO_COLOR (any value)."""
    return "NO_COLOR" not in os.environ and isatty(stream)


class Summary:
    """What was scanned, for the report header and exit code.

    A plain class, not a dataclass: a clean report is printed without
    importing ``dataclasses`` (and the ``inspect`` module it pulls in)."""

    __slots__ = ("color", "commits", "extra", "files", "framework", "hook", "source")

    def __init__(
        self,
        source: str,  # "staged changes", "commits main..HEAD", "files", "stdin"
        color: bool = False,
        hook: bool = False,
        commits: int | None = None,
        files: int | None = None,
        extra: dict[str, object] | None = None,
        framework: bool = False,  # run by the pre-commit framework (see remediation.advice)
    ) -> None:
        self.source = source
        self.framework = framework
        self.color = color
        self.hook = hook
        self.commits = commits
        self.files = files
        self.extra: dict[str, object] = {} if extra is None else extra

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Summary({fields})"


Renderer = Callable[[Sequence["Finding"], Summary], str]


def renderer(fmt: str) -> Renderer:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    name = f"captchaai_guard.report.{fmt}_report"
    __import__(name)  # (importlib would cost the scan's start-up its own import)
    render: Renderer = sys.modules[name].render
    return render
