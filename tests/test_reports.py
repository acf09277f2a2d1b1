"""Every report format, through the installed CLI, on real repositories:
SARIF valid against the OASIS 2.1.0 schema, GitHub workflow commands
escaped, ``--output`` writing files, and never a full key anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from captchaai_guard.detect.rules import RULES
from captchaai_guard.findings import Commit, Finding
from captchaai_guard.report import Summary
from captchaai_guard.report.github_report import escape_data, escape_property
from captchaai_guard.report.github_report import render as render_github
from tests.conftest import Repo, Result, fake_key

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
FORMATS = ("text", "json", "sarif", "github")
MODES = ("staged", "commits", "files", "stdin")


def validate_sarif(doc: Any) -> None:
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(doc)


def sarif_results(text: str) -> list[dict[str, Any]]:
    doc = json.loads(text)
    validate_sarif(doc)
    (run,) = doc["runs"]
    results: list[dict[str, Any]] = run["results"]
    return results


def assert_no_key(key: str, *texts: str) -> None:
    """Neither the key nor any part of it longer than the masked tail."""
    for text in texts:
        assert key not in text
        assert key[:-4] not in text
        assert key[4:] not in text


def scan_in_mode(repo: Repo, mode: str, key: str, *args: str) -> Result:
    """Put a key where ``mode`` looks and run ``scan`` in that mode."""
    line = f'import os\nCAPTCHAAI_API_KEY = "{key}"\n'
    if mode == "staged":
        repo.stage("app.py", line)
        return repo.run("scan", *args)
    if mode == "commits":
        repo.stage("README.md", "hello\n")
        base = repo.commit("base")
        repo.stage("app.py", line)
        repo.commit("add key")
        return repo.run("scan", "--commits", f"{base}..HEAD", *args)
    if mode == "files":
        repo.write("app.py", line)
        return repo.run("scan", "--files", "app.py", *args)
    assert mode == "stdin"
    repo.stage("README.md", "hello\n")
    repo.commit("base")
    repo.stage("app.py", line)
    diff = repo.git("diff", "--cached").encode()
    return repo.run("scan", "--stdin", *args, input=diff)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_in_every_mode_masks_the_key(repo: Repo, fmt: str, mode: str) -> None:
    key = fake_key()
    result = scan_in_mode(repo, mode, key, "--format", fmt)
    assert result.code == 1, result.err
    assert f"***{key[-4:]}" in result.out
    assert_no_key(key, result.out, result.err)
    assert "app.py" in result.out
    if fmt == "sarif":
        (found,) = sarif_results(result.out)
        region = found["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"], region["endColumn"]) == (2, 22, 54)
    elif fmt == "github":
        assert result.out.startswith("::error file=app.py,line=2,col=22,endColumn=54,")


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_gets_the_report_and_stdout_stays_empty(repo: Repo, tmp_path: Path, fmt: str) -> None:
    key = fake_key()
    target = tmp_path / f"report.{fmt}"
    result = scan_in_mode(repo, "staged", key, "--format", fmt, "--output", str(target))
    assert result.code == 1
    assert result.out == ""
    written = target.read_text("utf-8")
    assert f"***{key[-4:]}" in written
    assert_no_key(key, written, result.err)
    if fmt == "sarif":
        assert len(sarif_results(written)) == 1
    if fmt == "json":
        assert json.loads(written)["summary"]["total"] == 1


def test_output_to_a_missing_folder_is_one_error_line(repo: Repo, tmp_path: Path) -> None:
    repo.stage("a.txt", "x\n")
    result = repo.run("scan", "--format", "sarif", "--output", str(tmp_path / "no" / "such" / "r.sarif"))
    assert result.code == 2
    assert result.err.startswith("captchaai-guard: error: cannot write")
    assert result.err.count("\n") == 1


def test_sarif_describes_every_rule(repo: Repo) -> None:
    repo.stage("a.txt", "x\n")
    result = repo.run("scan", "--format", "sarif")
    assert result.code == 0
    doc = json.loads(result.out)
    validate_sarif(doc)
    (run,) = doc["runs"]
    assert run["results"] == []
    driver = run["tool"]["driver"]
    assert driver["name"] == "captchaai-guard"
    assert driver["version"] and driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == [rule.id for rule in RULES]
    for descriptor, rule in zip(driver["rules"], RULES):
        assert descriptor["name"].isidentifier()
        assert descriptor["shortDescription"]["text"] == rule.description
        assert descriptor["fullDescription"]["text"]
        assert rule.remediation in descriptor["help"]["text"]
        assert "CAPTCHAAI_API_KEY" in descriptor["help"]["markdown"]
        assert descriptor["defaultConfiguration"]["level"] == "error"
        assert {"security", "secret"} <= set(descriptor["properties"]["tags"])
        assert float(descriptor["properties"]["security-severity"]) >= 7.0


def test_sarif_result_fields_for_a_commit(repo: Repo) -> None:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("src/deep dir/run.sh", f"export CAPTCHAAI_API_KEY={key}\n")
    sha = repo.commit("add key")
    result = repo.run("scan", "--commits", f"{base}..HEAD", "--format", "sarif")
    assert result.code == 1
    doc = json.loads(result.out)
    (found,) = sarif_results(result.out)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rules[found["ruleIndex"]]["id"] == found["ruleId"] == "captchaai-env-assignment"
    assert found["level"] == "error"
    assert f"***{key[-4:]}" in found["message"]["text"]
    location = found["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/deep%20dir/run.sh", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["snippet"]["text"] == f"***{key[-4:]}"
    assert location["contextRegion"]["snippet"]["text"] == f"export CAPTCHAAI_API_KEY=***{key[-4:]}"
    assert found["properties"]["commit"] == sha
    assert found["properties"]["author"] == "Test Author"
    assert found["properties"]["date"].startswith("20")
    (fingerprint,) = found["partialFingerprints"].values()
    assert len(fingerprint) == 64
    assert_no_key(key, result.out)


def _fingerprints(result: Result) -> list[tuple[str, int]]:
    pairs = []
    for r in sarif_results(result.out):
        region = r["locations"][0]["physicalLocation"]["region"]
        pairs.append((r["partialFingerprints"]["captchaaiGuardSecret/v1"], region["startLine"]))
    return pairs


def test_partial_fingerprint_survives_a_moved_line(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    line = f"CAPTCHAAI_API_KEY={key}\n"
    repo.stage("deploy.env", line + "WORKERS=4\n")
    repo.commit("add key")
    (first,) = _fingerprints(repo.run("scan", "--files", "--format", "sarif"))
    assert first[1] == 1
    repo.stage("deploy.env", "WORKERS=4\n# the worker's key\n" + line)
    repo.commit("move key down")
    (second,) = _fingerprints(repo.run("scan", "--files", "--format", "sarif"))
    assert second == (first[0], 3)
    # The history adds the same key twice (added, then moved): one fingerprint.
    history = _fingerprints(repo.run("scan", "--commits", "--all", "--format", "sarif"))
    assert sorted(history) == sorted([(first[0], 1), (first[0], 3)])
    # A different key at the same place is a different alert.
    repo.stage("deploy.env", f"CAPTCHAAI_API_KEY={other}\n")
    (third,) = _fingerprints(repo.run("scan", "--format", "sarif"))
    assert third[0] != first[0]


def test_github_escaping_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a,b:c%d\ne") == "a%2Cb%3Ac%25d%0Ae"
    assert escape_data("a:b,c") == "a:b,c"  # only properties escape ':' and ','


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Read a workflow command the way the runner does."""

    def unescape(text: str, prop: bool) -> str:
        pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
        for code, char in [*pairs, ("%25", "%")]:
            text = text.replace(code, char)
        return text

    assert line.startswith("::")
    head, sep, data = line[2:].partition("::")
    assert sep
    name, _, props = head.partition(" ")
    properties = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return name, {k: unescape(v, True) for k, v in properties.items()}, unescape(data, False)


def test_github_commands_round_trip_awkward_paths_and_authors(repo: Repo) -> None:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    name = "cfg/100%,a:b.env"
    repo.stage(name, f"CAPTCHAAI_API_KEY={key}\n")
    repo.git("commit", "-q", "--no-verify", "-m", "x", "--author", "O'Brien, Ops: 50% <ops@example.com>")
    result = repo.run("scan", "--commits", f"{base}..HEAD", "--format", "github")
    assert result.code == 1
    annotation, summary = result.out.splitlines()
    command, props, message = _parse_command(annotation)
    assert command == "error"
    assert props == {
        "file": name,
        "line": "1",
        "col": "19",
        "endColumn": "51",
        "title": "captchaai-env-assignment",
    }
    assert f"***{key[-4:]}" in message and "Fix:" in message and "rotate" in message
    assert "by O'Brien, Ops: 50%." in message
    assert summary.startswith("captchaai-guard: 1 CaptchaAI API key found in commits")
    assert_no_key(key, result.out)


def _finding(**changes: Any) -> Finding:
    key = fake_key()
    fields: dict[str, Any] = {
        "rule_id": "captchaai-env-assignment",
        "description": "CaptchaAI API key assigned to a CaptchaAI key name",
        "path": "a.env",
        "line": 1,
        "column": 19,
        "secret": key,
        "line_text": f"CAPTCHAAI_API_KEY={key}",
        "remediation": "Set it in the environment.",
    }
    fields.update(changes)
    return Finding(**fields)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _finding(commit=Commit("f" * 40, "Eve\n::error::forged", "e@x", "2024-01-01")),
        lambda: _finding(path="evil\n::warning::x.env"),
        lambda: _finding(description="multi\r\nline"),
    ],
)
def test_github_no_value_can_start_another_command(make: Callable[[], Finding]) -> None:
    out = render_github([make()], Summary(source="commits a..b\n::error::x"))
    lines = out.splitlines()
    assert len(lines) == 2
    assert sum(line.startswith("::") for line in lines) == 1


def test_clean_scan_in_github_format(repo: Repo) -> None:
    repo.stage("a.txt", "x\n")
    result = repo.run("scan", "--format", "github")
    assert result.code == 0
    assert result.out == "captchaai-guard: no CaptchaAI API keys found in staged changes.\n"


def test_sarif_file_outside_the_repository_gets_a_file_uri(repo: Repo, tmp_path: Path) -> None:
    key = fake_key()
    outside = tmp_path / "elsewhere" / "old settings.env"
    outside.parent.mkdir()
    outside.write_text(f"CAPTCHAAI_API_KEY={key}\n", encoding="utf-8")
    result = repo.run("scan", "--files", str(outside), "--format", "sarif")
    (found,) = sarif_results(result.out)
    location = found["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": outside.as_uri()}
    assert "%20" in location["uri"]
    assert_no_key(key, result.out)


def test_fingerprints_are_sha256_of_rule_path_and_key() -> None:
    """Fingerprints and secret hashes are SHA-256 digests (a baseline written
    by one version is read by the next): rule, path and key, NUL-separated."""
    import hashlib

    from captchaai_guard.findings import fingerprint, secret_hash

    key = fake_key()
    assert fingerprint("rule", "a/é.py", key) == hashlib.sha256(f"rule\0a/é.py\0{key}".encode()).hexdigest()
    assert secret_hash(key) == hashlib.sha256(key.encode()).hexdigest()
