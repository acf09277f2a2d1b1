"""Every built-in rule's samples, end to end: staged in a real repository and
scanned by the installed command (positive and negative cases per rule)."""

from __future__ import annotations

import json

import pytest

from captchaai_guard.detect.rules import RULES, Rule
from tests.conftest import Repo, fake_key


def _file_for(rule: Rule, index: int, line: str) -> tuple[str, str]:
    """A path and content that give the sample its rule's context."""
    if rule.path:
        return f".captchaai/sample{index}.json", line + "\n"
    if rule.context in ("file", "evidence"):
        return f"{rule.id}/sample{index}.py", "# calls https://ocr.captchaai.com\n" + line + "\n"
    if rule.context == "binary":
        return f"{rule.id}/sample{index}.bin", line
    return f"{rule.id}/sample{index}.txt", line + "\n"


def _line_of(rule: Rule, content: str) -> int:
    """Where the sample's finding is: its last line (a binary file: line 1)."""
    return 1 if rule.context == "binary" else content.count("\n")


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples_are_reported(repo: Repo, rule: Rule) -> None:
    expected: dict[str, tuple[str, int]] = {}
    for index, sample in enumerate(rule.examples):
        key = fake_key()
        path, content = _file_for(rule, index, sample.format(key=key))
        repo.stage(path, content)
        expected[key] = (path, _line_of(rule, content))
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.out + result.err
    findings = json.loads(result.out)["findings"]
    for key, (path, line) in expected.items():
        assert key not in result.out
        hits = [f for f in findings if f["path"] == path and f["masked"] == "***" + key[-4:]]
        assert hits, f"{rule.id}: no finding for {path}"
        assert line in [hit["line"] for hit in hits]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_counter_examples_are_not_reported(repo: Repo, rule: Rule) -> None:
    if not rule.counter_examples:
        pytest.skip("rule has no counter-examples")
    for index, sample in enumerate(rule.counter_examples):
        # (a neutral path: a path naming CaptchaAI is evidence of its own)
        path = f".captchaai/neg{index}.json" if rule.path else f"neg/rule{RULES.index(rule)}-{index}.txt"
        repo.stage(path, sample.format(key=fake_key()) + "\n")
    result = repo.run("scan", "--format", "json")
    reported = {f["rule_id"] for f in json.loads(result.out)["findings"]}
    assert rule.id not in reported
