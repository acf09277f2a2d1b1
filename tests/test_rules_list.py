"""``captchaai-guard rules``: built-in and configured rules."""

from __future__ import annotations

import json

from captchaai_guard.detect.rules import RULES
from tests.conftest import Repo

CONFIG = """disable = ["captchaai-field"]

[[rules]]
id = "myco-token"
description = "MyCo API token"
regex = 'myco_token=(?P<secret>[a-z0-9]{20})'
"""


def test_rules_text_lists_builtin_and_config(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", CONFIG)
    result = repo.run("rules")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == len(RULES) + 1
    for rule in RULES:
        assert any(line.startswith(rule.id + " ") and rule.description in line for line in lines)
    assert lines[-1].split()[:2] == ["myco-token", "config"] and "MyCo API token" in lines[-1]
    assert any(line.startswith("captchaai-field ") and line.endswith("(disabled)") for line in lines)


def test_rules_json(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", CONFIG)
    result = repo.run("rules", "--format", "json")
    rows = json.loads(result.out)["rules"]
    assert [r["id"] for r in rows] == [r.id for r in RULES] + ["myco-token"]
    assert {r["source"] for r in rows[:-1]} == {"built-in"}
    assert rows[-1] == {
        "id": "myco-token",
        "description": "MyCo API token",
        "source": "config",
        "enabled": True,
    }
    assert next(r for r in rows if r["id"] == "captchaai-field")["enabled"] is False


def test_rules_with_config_option_outside_a_repository(repo: Repo) -> None:
    outside = repo.path.parent / "outside"
    outside.mkdir()
    (outside / "guard.toml").write_text(CONFIG)
    result = repo.run("rules", "--format", "json", "--config", "guard.toml", cwd=outside)
    assert result.code == 0, result.err
    assert json.loads(result.out)["rules"][-1]["id"] == "myco-token"
    assert len(json.loads(repo.run("rules", "--format", "json", cwd=outside).out)["rules"]) == len(RULES)
