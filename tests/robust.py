"""Helpers shared by the robustness tests (tests/test_robustness_*.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Repo, Result


def findings(result: Result) -> list[dict[str, Any]]:
    """The findings of a ``--format json`` run (fails on anything but exit 0/1)."""
    assert result.code in (0, 1), result.err
    found: list[dict[str, Any]] = json.loads(result.out)["findings"]
    return found


def where(result: Result) -> set[tuple[str, int]]:
    """``(path, line)`` of every finding of a ``--format json`` run."""
    return {(f["path"], f["line"]) for f in findings(result)}


def masked(key: str) -> str:
    return "***" + key[-4:]


def assert_one_error_line(result: Result, *words: str) -> None:
    """Exit 2 with exactly one non-empty line on stderr, no traceback."""
    assert result.code == 2, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for word in words:
        assert word in lines[0], lines[0]


def context_file(lines: int = 12) -> str:
    return "".join(f"line {n}\n" for n in range(1, lines + 1))


def commit_base(repo: Repo, name: str = "app/settings.py", lines: int = 12) -> str:
    """Commit a file of plain lines; return its content."""
    content = context_file(lines)
    repo.stage(name, content)
    repo.commit("base")
    return content
