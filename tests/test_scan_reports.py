"""``scan --report FORMAT[:FILE]``: one scan, several reports of the same
findings, through the installed console script, with the usual exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import Repo, Result, fake_key

LOCATION = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): ", re.MULTILINE)
ANNOTATION = re.compile(r"^::error file=(?P<path>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),", re.MULTILINE)


def locations(fmt: str, text: str) -> set[tuple[str, int, int]]:
    """``(path, line, column)`` of every finding a report of ``fmt`` holds."""
    if fmt == "json":
        return {(f["path"], f["line"], f["column"]) for f in json.loads(text)["findings"]}
    if fmt == "sarif":
        found = set()
        for result in json.loads(text)["runs"][0]["results"]:
            where = result["locations"][0]["physicalLocation"]
            region = where["region"]
            found.add((where["artifactLocation"]["uri"], region["startLine"], region["startColumn"]))
        return found
    pattern = ANNOTATION if fmt == "github" else LOCATION
    return {(m["path"], int(m["line"]), int(m["col"])) for m in pattern.finditer(text)}


def two_keys(repo: Repo) -> tuple[list[str], str, str]:
    """A history whose second and third commits each add a key: keys, base, head."""
    keys = [fake_key(), fake_key()]
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("deploy.env", f"CAPTCHAAI_API_KEY={keys[0]}\n")
    repo.commit("first key")
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{keys[1]}"\n')
    head = repo.commit("second key")
    return keys, base, head


def git_logger(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``git`` on PATH is the real git, each call logged."""
    real = shutil.which("git")
    assert real is not None
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "git-calls"
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def history_reads(log: Path) -> int:
    """How many times git was asked for the range's diffs (``git log -p``: one
    scan asks for the commits and then for the merges)."""
    calls = log.read_text().splitlines()
    return sum(1 for call in calls if re.search(r"(^|\s)log -p\s", call))


def test_one_scan_writes_every_report_with_the_same_findings(repo: Repo, tmp_path: Path) -> None:
    keys, base, head = two_keys(repo)
    env, log = git_logger(tmp_path)
    out = tmp_path / "reports"
    out.mkdir()
    result = repo.run(
        "scan",
        "--commits",
        f"{base}..{head}",
        "--format",
        "github",
        "--report",
        f"sarif:{out / 'r.sarif'}",
        "--report",
        f"json:{out / 'r.json'}",
        "--report",
        f"text:{out / 'r.txt'}",
        env=env,
    )
    assert result.code == 1, result.err
    reads_for_four = history_reads(log)
    reports = {
        "github": result.out,
        "sarif": (out / "r.sarif").read_text("utf-8"),
        "json": (out / "r.json").read_text("utf-8"),
        "text": (out / "r.txt").read_text("utf-8"),
    }
    expected = {("deploy.env", 1, 19), ("app.py", 1, 22)}
    for fmt, text in reports.items():
        assert locations(fmt, text) == expected, fmt
        for key in keys:
            assert key not in text, fmt
            assert key[-4:] in text, fmt  # the masked form is there
    assert json.loads(reports["json"])["summary"]["commits_scanned"] == 2
    for key in keys:
        assert key not in result.err
    # The same scan with one report reads the history as often: one scan.
    log.unlink()
    single = repo.run("scan", "--commits", f"{base}..{head}", "--format", "github", env=env)
    assert single.code == 1 and single.out == reports["github"]
    assert reads_for_four == history_reads(log) > 0


def test_reports_of_a_clean_scan_and_of_staged_changes(repo: Repo, tmp_path: Path) -> None:
    repo.stage("README.md", "hello\n")
    repo.commit("base")
    clean = repo.run(
        "scan", "--commits", "HEAD", "--report", "json:clean.json", "--report", "sarif:clean.sarif"
    )
    assert clean.code == 0, clean.err
    assert "no CaptchaAI API keys found" in clean.out
    assert json.loads((repo.path / "clean.json").read_text())["findings"] == []
    assert json.loads((repo.path / "clean.sarif").read_text())["runs"][0]["results"] == []
    # Staged changes, the main report in a file and one on standard output.
    key = fake_key()
    repo.stage("config.env", f"CAPTCHAAI_API_KEY={key}\n")
    staged = repo.run("scan", "--format", "json", "--output", "staged.json", "--report", "github")
    assert staged.code == 1, staged.err
    assert locations("github", staged.out) == {("config.env", 1, 19)}
    assert locations("json", (repo.path / "staged.json").read_text()) == {("config.env", 1, 19)}
    assert key not in staged.out + (repo.path / "staged.json").read_text()


def one_error_line(result: Result) -> str:
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def test_two_reports_on_standard_output_or_in_one_file_are_refused_before_scanning(
    repo: Repo,
) -> None:
    _keys, base, head = two_keys(repo)
    rng = f"{base}..{head}"
    line = one_error_line(repo.run("scan", "--commits", rng, "--report", "github", "--report", "json:a.json"))
    assert "standard output" in line and "text, github" in line
    line = one_error_line(repo.run("scan", "--commits", rng, "-o", "a.json", "--report", "sarif:./a.json"))
    assert "two reports would be written to ./a.json" in line
    assert not (repo.path / "a.json").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("spec", "message"),
    [("yaml:out.yaml", "unknown report format 'yaml'"), ("sarif:", "no file after 'sarif'")],
)
def test_a_bad_report_value_is_a_usage_error(repo: Repo, spec: str, message: str) -> None:
    repo.stage("README.md", "hello\n")
    result = repo.run("scan", "--report", spec)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


def test_a_report_that_cannot_be_written_or_a_failed_scan_is_exit_2(repo: Repo, tmp_path: Path) -> None:
    keys, base, head = two_keys(repo)
    missing = tmp_path / "missing" / "r.sarif"
    result = repo.run("scan", "--commits", f"{base}..{head}", "--report", f"sarif:{missing}")
    line = one_error_line(result)
    assert "cannot write" in line and not missing.exists()
    assert all(key not in result.out + result.err for key in keys)
    # An error in the scan writes no report at all.
    failed = repo.run("scan", "--commits", "0123abcd..HEAD", "--report", "json:never.json")
    assert failed.code == 2 and not (repo.path / "never.json").exists()
