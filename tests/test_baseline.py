"""Baseline: accept today's findings, keep reporting new ones."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Repo, fake_key

BASELINE = ".captchaai-guard-baseline.json"


def _masked(result_out: str) -> list[str]:
    return [f["masked"] for f in json.loads(result_out)["findings"]]


def test_baseline_records_fingerprints_not_keys(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("other.txt", "nothing here\n")
    result = repo.run("baseline")
    assert result.code == 0, result.err
    text = (repo.path / BASELINE).read_text()
    assert key not in text
    doc = json.loads(text)
    assert doc["version"] == 1
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["generated_at"])
    [entry] = doc["findings"]
    assert entry["rule_id"] == "captchaai-guide-assignment" and entry["path"] == "app.py"
    assert re.fullmatch(r"[0-9a-f]{64}", entry["fingerprint"])
    scanned = repo.run("scan", "--files", "--no-baseline", "--format", "json")
    assert json.loads(scanned.out)["findings"][0]["fingerprint"] == entry["fingerprint"]


def test_scan_skips_baselined_keys_and_reports_new_ones(repo: Repo) -> None:
    old = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{old}"\n')
    assert repo.run("baseline").code == 0
    repo.git("add", BASELINE)
    assert repo.run("scan").code == 0  # the baseline itself passes the scan
    assert repo.run("scan", "--files").code == 0
    repo.commit()

    # The baselined key's line moves: still baselined.
    repo.stage("app.py", f'import os\n\n\nCAPTCHAAI_API_KEY = "{old}"\n')
    assert repo.run("scan").code == 0
    # A new key is reported; the old one is not.
    new = fake_key()
    repo.stage("app.py", f'import os\nCAPTCHAAI_API_KEY = "{old}"\nCAPTCHAAI_API_KEY_2 = "{new}"\n')
    result = repo.run("scan", "--format", "json")
    assert result.code == 1
    assert _masked(result.out) == ["***" + new[-4:]]
    result = repo.run("scan", "--files", "--format", "json")
    assert _masked(result.out) == ["***" + new[-4:]]
    assert json.loads(result.out)["summary"]["baselined"] == 1
    # --no-baseline reports both.
    result = repo.run("scan", "--files", "--no-baseline", "--format", "json")
    assert sorted(_masked(result.out)) == sorted(["***" + old[-4:], "***" + new[-4:]])


def test_same_key_in_another_file_is_new(repo: Repo) -> None:
    key = fake_key()
    repo.stage("a.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.run("baseline")
    repo.stage("b.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("scan", "--format", "json")
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["b.py"]


def test_baseline_option_and_output(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    assert repo.run("baseline", "--output", "ci/accepted.json").code == 0
    assert not (repo.path / BASELINE).exists()
    assert repo.run("scan").code == 1
    assert repo.run("scan", "--baseline", "ci/accepted.json").code == 0
    assert repo.run("scan", "--commits", "--all").code == 0  # no commits yet: nothing to report


def test_baseline_applies_to_commit_history(repo: Repo) -> None:
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.commit()
    assert repo.run("scan", "--commits", "HEAD").code == 1
    repo.run("baseline")
    assert repo.run("scan", "--commits", "HEAD").code == 0


def test_baseline_to_stdout(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("baseline", "--output", "-")
    assert result.code == 0
    assert len(json.loads(result.out)["findings"]) == 1
    assert key not in result.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "corrupt baseline (invalid JSON"),
        ("[]", "corrupt baseline (not a JSON object)"),
        ('{"version": 9, "findings": []}', "unsupported baseline version 9"),
        ('{"version": 1}', "findings must be a list"),
        ('{"version": 1, "findings": [{"fingerprint": "abc"}]}', "findings[0].fingerprint is not a sha256"),
        ('{"version": 1, "findings": ["x"]}', "findings[0].fingerprint is not a sha256"),
    ],
)
def test_corrupt_baseline_is_an_error(repo: Repo, content: str, message: str) -> None:
    repo.write(BASELINE, content)
    repo.stage("a.txt", "hello\n")
    result = repo.run("scan")
    assert result.code == 2
    assert BASELINE in result.err and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert repo.run("scan", "--no-baseline").code == 0


def test_missing_explicit_baseline_is_an_error(repo: Repo) -> None:
    result = repo.run("scan", "--baseline", "nope.json")
    assert result.code == 2 and "nope.json: baseline file not found" in result.err


def test_baseline_and_no_baseline_conflict(repo: Repo) -> None:
    assert repo.run("scan", "--baseline", "x.json", "--no-baseline").code == 2


def test_baseline_honours_exclude(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'exclude = ["fixtures/**"]\n')
    repo.stage("fixtures/a.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.run("baseline")
    assert json.loads((repo.path / BASELINE).read_text())["findings"] == []
