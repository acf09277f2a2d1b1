"""The cheap pyproject.toml check never says "no" to a file that defines
the tool.captchaai-guard table (the TOML parser is the judge)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from captchaai_guard.config.locate import may_define_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

DEFINES = [
    '[tool.captchaai-guard]\nexclude = ["x/**"]\n',
    '[ tool . "captchaai-guard" ]\nexclude = []\n',
    "[tool.'captchaai-guard']  # ours\ndisable = []\n",
    '[[tool.captchaai-guard.rules]]\nid = "a"\nregex = "b"\n',
    'tool.captchaai-guard.exclude = ["a"]\n',
    '[tool]\ncaptchaai-guard = { exclude = ["a"] }\n',
    '[tool]\n"captchaai-guard".exclude = ["a"]\n',
    'tool = { captchaai-guard = { exclude = ["a"] } }\n',
    '[tool.black]\nline-length = 100\n[tool]\ncaptchaai-guard.disable = []\n',
    'x = """\n[project]\n"""\n[tool]\ncaptchaai-guard = {}\n',
]
DOES_NOT = [
    '[project]\nname = "captchaai-guard"\n',
    '[project.scripts]\ncaptchaai-guard = "captchaai_guard.commands.console:main"\n'
    '[tool.ruff]\nline-length = 110\n',
    '[tool.setuptools]\npackages = ["captchaai_guard"]\n',
    "[project]\nname = 'demo'\n",
]


@pytest.mark.parametrize("text", DEFINES)
def test_files_that_define_the_table_are_a_yes(text: str) -> None:
    assert "captchaai-guard" in tomllib.loads(text).get("tool", {})
    assert may_define_table(text.encode())


@pytest.mark.parametrize("text", DOES_NOT)
def test_files_without_the_table_are_a_no(text: str) -> None:
    assert "captchaai-guard" not in tomllib.loads(text).get("tool", {})
    assert not may_define_table(text.encode())


def test_this_projects_pyproject_is_a_no() -> None:
    """So the commit hook takes its fast path on this repository too."""
    data = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_bytes()
    assert b"captchaai-guard" in data
    assert not may_define_table(data)
