"""Detection details the corpus relies on, end to end through the CLI."""

from __future__ import annotations

import json

from tests.conftest import Repo, fake_key


def test_two_keys_on_one_line_are_both_masked(repo: Repo) -> None:
    first, second = fake_key(), fake_key()
    line = f'KEYS = {{"key": "{first}", "backup": "{second}"}}  # CAPTCHAAI_API_KEY_2={second}\n'
    repo.stage("two.py", line)
    for fmt in ("text", "json"):
        result = repo.run("scan", "--format", fmt)
        assert result.code == 1, result.err
        assert first not in result.out and second not in result.out


def test_guide_patterns_do_not_report_a_slice_of_a_digest(repo: Repo) -> None:
    digest = fake_key() + fake_key()  # 64 hex characters, like a sha256
    repo.stage("digest.py", f'CAPTCHAAI_API_KEY = "{digest}"\nconfig = {{"key": "{digest[:40]}"}}\n')
    result = repo.run("scan", "--format", "json")
    assert result.code == 0, result.out


def test_notebook_source_with_escaped_newlines(repo: Repo) -> None:
    key = fake_key()
    repo.stage("nb.ipynb", '{"source": "import os\\napi_key = \\"' + key + '\\"\\n# ocr.captchaai.com\\n"}\n')
    findings = json.loads(repo.run("scan", "--format", "json").out)["findings"]
    assert [f["masked"] for f in findings] == ["***" + key[-4:]]


def test_a_line_whose_runs_are_all_placeholders_compiles_no_rule() -> None:
    """Every built-in rule reports a run of 32 that stands whole and is no
    placeholder: a line without one is settled before any rule regex is
    compiled (a history full of documented zeros costs no compile time)."""
    from captchaai_guard.detect.engine import Engine

    engine = Engine()
    zeros, counting = "0" * 32, "0123456789abcdef" * 2
    assert engine.match_line("a.py", f'CAPTCHAAI_API_KEY = "{zeros}"  # key, token: {counting}') == []
    assert engine.match_line("a.json", f'{{"key": "\\\\n{zeros}", "client": "{counting}"}}') == []
    assert all(compiled._pattern is None for compiled in engine.rules)
    key = fake_key()
    (match,) = engine.match_line("a.py", f'CAPTCHAAI_API_KEY = "{key}"  # {zeros}')
    assert match.secret == key
