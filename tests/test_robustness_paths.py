"""Unusual path names, deep trees and many staged files: every path is
reported exactly as git names it, relative to the top of the repository."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import Repo, fake_key
from tests.robust import where

NAMES = [
    "with space/a file.env",
    "ключ/ファイル ü.env",
    'quo"te\'s.env',
    "new\nline.env",
    "tab\tand\\backslash.env",
    "-leading-dash.env",
    "--help",
    "-n",
    "café\u0301.env",  # combining accent
    "trailing space .env",
    "#hash;semi&amp|pipe$dollar.env",
    "x" * 200 + ".env",
]


def _stage_all(repo: Repo) -> set[tuple[str, int]]:
    expected = set()
    for name in NAMES:
        repo.write(name, f"# config\nCAPTCHAAI_API_KEY={fake_key()}\n")
        expected.add((name, 2))
    # ``git add -A`` avoids argv quoting of names such as "--help".
    repo.git("add", "-A")
    return expected


def test_unusual_names_staged(repo: Repo) -> None:
    expected = _stage_all(repo)
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.err
    assert where(result) == expected


def test_unusual_names_in_commits(repo: Repo) -> None:
    expected = _stage_all(repo)
    repo.commit("keys")
    result = repo.run("scan", "--commits", "HEAD", "--format", "json")
    assert where(result) == expected


def test_unusual_names_tracked_files(repo: Repo) -> None:
    expected = _stage_all(repo)
    result = repo.run("scan", "--files", "--format", "json")
    assert where(result) == expected


def test_unusual_names_renamed(repo: Repo) -> None:
    for name in NAMES:
        repo.write(name, f"# config {name!r}\nvalue = 1\n")
    repo.git("add", "-A")
    repo.commit("plain")
    expected = set()
    for index, name in enumerate(NAMES):
        new = f"moved {index}/{name}"
        (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
        (repo.path / name).rename(repo.path / new)
        with (repo.path / new).open("a") as handle:
            handle.write(f"CAPTCHAAI_API_KEY={fake_key()}\n")
        expected.add((new, 3))
    repo.git("add", "-A")
    assert "R" in repo.git("diff", "--cached", "--name-status", "-M")
    result = repo.run("scan", "--format", "json")
    assert where(result) == expected


def test_leading_dash_paths_given_to_files_mode(repo: Repo) -> None:
    _stage_all(repo)
    result = repo.run("scan", "--format", "json", "--files", "--", "-leading-dash.env", "--help")
    assert where(result) == {("-leading-dash.env", 2), ("--help", 2)}


def test_deep_tree(repo: Repo) -> None:
    name = "/".join(f"d{n}" for n in range(120)) + "/deep.env"
    repo.stage(name, f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {(name, 1)}
    assert where(repo.run("scan", "--files", "--format", "json")) == {(name, 1)}


@pytest.mark.parametrize("count", [5000])
def test_thousands_of_staged_files(repo: Repo, count: int) -> None:
    def name(n: int) -> str:
        return f"pkg{n % 50}/module_{n}_with_a_rather_long_name_to_exceed_argv_limits.py"

    for n in range(count):
        (repo.path / f"pkg{n % 50}").mkdir(exist_ok=True)
        (repo.path / name(n)).write_text(f"x = {n}\n")
    keyed = {name(n) for n in (0, count // 2, count - 1)}
    for path in keyed:
        (repo.path / path).write_text(f"x = 0\nCAPTCHAAI_API_KEY = '{fake_key()}'\n")
    subprocess.run(["git", "add", "-A"], cwd=repo.path, check=True)
    result = repo.run("scan", "--format", "json")
    assert result.code == 1
    assert where(result) == {(path, 2) for path in keyed}
    result = repo.run("scan", "--files", "--format", "json")
    assert where(result) == {(path, 2) for path in keyed}
    assert json.loads(result.out)["summary"]["total"] == 3
