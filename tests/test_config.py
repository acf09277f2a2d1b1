"""Configuration: where it is found, what each key does, how it fails."""

from __future__ import annotations

import json
import secrets

import pytest

from captchaai_guard.config.project import glob_to_regex
from captchaai_guard.detect.engine import MAX_CUSTOM_LINE
from tests.conftest import Repo, fake_key

CUSTOM = """
[[rules]]
id = "myco-token"
description = "MyCo API token"
regex = 'myco_token\\s*=\\s*"(?P<secret>[A-Za-z0-9_-]{20})"'
keywords = ["myco_token"]
"""


def token() -> str:
    """A fresh 20-character MyCo-style token (shorter than any CaptchaAI key)."""
    return secrets.token_urlsafe(15)


def findings(repo: Repo, *args: str) -> list[dict[str, object]]:
    result = repo.run("scan", "--format", "json", *args)
    assert result.code in (0, 1), result.err
    found: list[dict[str, object]] = json.loads(result.out)["findings"]
    return found


def test_custom_rule_from_dedicated_file(repo: Repo) -> None:
    value = token()
    repo.write(".captchaai-guard.toml", CUSTOM)
    repo.stage("app.py", f'myco_token = "{value}"\n')
    result = repo.run("scan")
    assert result.code == 1, result.out + result.err
    assert "myco-token" in result.out and "app.py:1:15" in result.out
    assert value not in result.out + result.err


def test_custom_rule_from_pyproject(repo: Repo) -> None:
    repo.write(
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.captchaai-guard]\n'
        + CUSTOM.replace("[[rules]]", "[[tool.captchaai-guard.rules]]"),
    )
    repo.stage("app.py", f'myco_token = "{token()}"\n')
    assert [f["rule_id"] for f in findings(repo)] == ["myco-token"]


def test_config_option_overrides_the_repository_file(repo: Repo) -> None:
    repo.write(
        ".captchaai-guard.toml",
        'disable = ["captchaai-guide-assignment", "captchaai-env-assignment", "captchaai-evidence"]\n',
    )
    other = repo.write("elsewhere/guard.toml", CUSTOM)
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\nmyco_token = "{token()}"\n')
    assert {f["rule_id"] for f in findings(repo)} == set()
    assert {f["rule_id"] for f in findings(repo, "--config", str(other))} == {
        "captchaai-guide-assignment",
        "myco-token",
    }


def test_no_config_no_custom_findings(repo: Repo) -> None:
    repo.stage("app.py", f'myco_token = "{token()}"\n')
    assert findings(repo) == []


def test_custom_rule_without_secret_group_reports_whole_match(repo: Repo) -> None:
    repo.write(
        ".captchaai-guard.toml",
        '[[rules]]\nid = "acme"\nregex = "acme_[a-z0-9]{16}"\n',  # no keywords: every added line
    )
    value = "acme_" + secrets.token_hex(8)
    repo.stage("notes.txt", f"token {value} here\n")
    found = findings(repo)
    assert [(f["rule_id"], f["masked"], f["column"]) for f in found] == [("acme", "***" + value[-4:], 7)]


def test_custom_rule_in_files_commits_and_stdin(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", CUSTOM)
    repo.stage("app.py", f'x = 1\nmyco_token = "{token()}"\n')
    repo.commit()
    assert [f["line"] for f in findings(repo, "--files")] == [2]
    assert [f["line"] for f in findings(repo, "--commits", "HEAD")] == [2]
    diff = repo.git("show", "--format=", "HEAD").encode()
    result = repo.run("scan", "--stdin", "--format", "json", input=diff)
    assert [f["rule_id"] for f in json.loads(result.out)["findings"]] == ["myco-token"]


def test_custom_rules_are_case_sensitive_unless_asked(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", CUSTOM)
    repo.stage("a.py", f'MYCO_TOKEN = "{token()}"\n')
    assert findings(repo) == []
    repo.write(".captchaai-guard.toml", CUSTOM.replace("regex = '", "regex = '(?i)"))
    assert [f["rule_id"] for f in findings(repo)] == ["myco-token"]


def test_exclude(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'exclude = ["vendor/**", "*.min.js", "docs/*.md"]\n')
    line = f'CAPTCHAAI_API_KEY = "{fake_key()}"\n'
    for name in ("vendor/a/b.py", "web/app.min.js", "docs/x.md", "docs/deep/x.md", "src/app.py"):
        repo.stage(name, line)
    expected = {"docs/deep/x.md", "src/app.py"}
    assert {f["path"] for f in findings(repo)} == expected
    assert {f["path"] for f in findings(repo, "--files")} == expected
    repo.commit()
    assert {f["path"] for f in findings(repo, "--commits", "HEAD")} == expected
    diff = repo.git("show", "--format=", "HEAD").encode()
    result = repo.run("scan", "--stdin", "--format", "json", input=diff)
    assert {f["path"] for f in json.loads(result.out)["findings"]} == expected


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("vendor/**", ["vendor/a.py", "vendor/x/y.py"], ["src/vendor/a.py", "vendored/a.py"]),
        ("vendor", ["vendor/a.py", "src/vendor/a.py"], ["vendored/a.py"]),
        ("*.min.js", ["a.min.js", "x/y/a.min.js"], ["a.js", "a.min.jsx"]),
        ("docs/*.md", ["docs/a.md"], ["docs/x/a.md", "other/docs/a.md"]),
        ("**/fixtures/**", ["fixtures/a", "a/b/fixtures/c/d"], ["fixturesx/a"]),
        ("src/**/*.py", ["src/a.py", "src/x/y/a.py"], ["a.py", "src/a.pyc"]),
        ("test_?.py", ["test_a.py"], ["test_ab.py"]),
        ("[!a]*.txt", ["b.txt"], ["a.txt"]),
    ],
)
def test_glob_translation(pattern: str, matches: list[str], misses: list[str]) -> None:
    import re

    compiled = re.compile(glob_to_regex(pattern))
    for path in matches:
        assert compiled.match(path), (pattern, path)
    for path in misses:
        assert not compiled.match(path), (pattern, path)


def test_allow_on_secret_and_on_line(repo: Repo) -> None:
    kept, by_secret, by_line = fake_key(), fake_key(), fake_key()
    repo.write(".captchaai-guard.toml", f'allow = ["^{by_secret[:8]}", "TEST FIXTURE"]\n')
    repo.stage(
        "app.py",
        f'CAPTCHAAI_API_KEY = "{kept}"\n'
        f'CAPTCHAAI_API_KEY = "{by_secret}"\n'
        f'CAPTCHAAI_API_KEY = "{by_line}"  # TEST FIXTURE\n',
    )
    assert [f["masked"] for f in findings(repo)] == ["***" + kept[-4:]]


def test_disable(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'disable = ["captchaai-url-key"]\n')
    repo.stage("a.md", f"curl https://ocr.captchaai.com/res.php?key={fake_key()}&action=getbalance\n")
    assert "captchaai-url-key" not in {f["rule_id"] for f in findings(repo)}
    repo.write(".captchaai-guard.toml", "")
    assert "captchaai-url-key" in {f["rule_id"] for f in findings(repo)}


def test_disable_a_custom_rule(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'disable = ["myco-token"]\n' + CUSTOM)
    repo.stage("app.py", f'myco_token = "{token()}"\n')
    assert findings(repo) == []


INVALID = [
    ("exclude = [", "invalid TOML"),
    ('colour = "red"\n', "colour: unknown key"),
    ('exclude = "vendor"\n', "exclude: must be a list of strings"),
    ("allow = [1]\n", "allow: must be a list of strings"),
    ('allow = ["("]\n', "allow[0]: invalid regex"),
    ('allow = ["x", "(?<=x)y"]\n', "allow[1]: lookbehind (?<=...) not supported"),
    ('allow = [".*"]\n', "allow[0]: regex matches the empty string"),
    ('exclude = ["[z-a]"]\n', "exclude[0]: invalid glob"),
    ('disable = ["no-such-rule"]\n', "disable[0]: unknown rule id 'no-such-rule'"),
    ('rules = "x"\n', "rules: must be an array of tables"),
    ('[[rules]]\nid = "a"\n', "rules[0].regex: missing"),
    ('[[rules]]\nregex = "a{3}"\n', "rules[0].id: missing"),
    ('[[rules]]\nid = "a"\nregex = "a{3}"\ncolor = 1\n', "rules[0].color: unknown key"),
    ('[[rules]]\nid = "a"\nregex = 5\n', "rules[0].regex: must be a string"),
    ('[[rules]]\nid = "a b"\nregex = "ab"\n', "rules[0].id: invalid rule id"),
    ('[[rules]]\nid = "a"\nregex = "x["\n', "rules[0].regex: invalid regex"),
    ('[[rules]]\nid = "a"\nregex = "x?"\n', "rules[0].regex: regex matches the empty string"),
    ('[[rules]]\nid = "a"\nregex = "x(?=y)"\n', "rules[0].regex: rule 'a': lookahead (?=...) not supported"),
    ('[[rules]]\nid = "a"\nregex = "ab"\nkeywords = "ab"\n', "rules[0].keywords: must be a list"),
    ('[[rules]]\nid = "a"\nregex = "ab"\n[[rules]]\nid = "a"\nregex = "cd"\n', "rules[1].id: duplicate"),
    ('[[rules]]\nid = "captchaai-field"\nregex = "ab"\n', "rules[0].id: duplicate rule id"),
    ("verify_url = 3\n", "verify_url: must be an http"),
    ('verify_url = "ftp://x"\n', "verify_url: must be an http"),
]


@pytest.mark.parametrize(("content", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_config_is_one_clear_line(repo: Repo, content: str, message: str) -> None:
    repo.write(".captchaai-guard.toml", content)
    repo.stage("a.txt", "hello\n")
    for command in (["scan"], ["rules"], ["baseline", "--output", "-"], ["audit"], ["fix", "--dry-run"]):
        result = repo.run(*command)
        assert result.code == 2, (command, result.out, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert ".captchaai-guard.toml: " in lines[0] and message in lines[0], lines[0]
        assert "Traceback" not in result.err


def test_invalid_pyproject_names_the_table_key(repo: Repo) -> None:
    repo.write("pyproject.toml", '[tool.captchaai-guard]\nexclude = "x"\n')
    result = repo.run("scan")
    assert result.code == 2
    assert "pyproject.toml: tool.captchaai-guard.exclude: must be a list of strings" in result.err


def test_missing_config_option_file(repo: Repo) -> None:
    result = repo.run("scan", "--config", "nope.toml")
    assert result.code == 2
    assert "nope.toml: configuration file not found" in result.err


def test_pyproject_without_our_table_is_ignored(repo: Repo) -> None:
    repo.write("pyproject.toml", '[project]\nname = "x"\n[tool.other]\nexclude = 1\n')
    repo.stage("a.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    assert len(findings(repo)) == 1


def test_custom_rules_skip_lines_longer_than_max_custom_line(repo: Repo) -> None:
    """A custom rule never sees a line longer than MAX_CUSTOM_LINE (a
    minified bundle gets the built-in rules only)."""
    repo.write(
        ".captchaai-guard.toml",
        '[[rules]]\nid = "slow"\nregex = "a[a-z0-9]*[0-9]x"\nkeywords = ["a"]\n',
    )
    repo.stage("big.txt", "a" * (1 << 20) + "9x\n")
    repo.stage("ok.txt", "a" * (MAX_CUSTOM_LINE - 100) + "9x\n")
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.err
    assert [f["path"] for f in json.loads(result.out)["findings"]] == ["ok.txt"]


@pytest.mark.parametrize(
    "regex", ["(a+)+b", "(a|a)*b", "(x*y?)*z", "(.*a){10}", ".*.*=.*x", "(\\\\w+\\\\d+)"]
)
def test_formerly_refused_regexes_load(repo: Repo, regex: str) -> None:
    """Shapes that make a backtracking engine explode are no problem for RE2."""
    repo.write(".captchaai-guard.toml", f'[[rules]]\nid = "nested"\nregex = "{regex}"\n')
    result = repo.run("rules")
    assert result.code == 0, result.err
    assert "nested" in result.out


def test_stdin_outside_a_repository_with_config_option(repo: Repo) -> None:
    outside = repo.path.parent / "outside"
    outside.mkdir()
    (outside / "guard.toml").write_text(CUSTOM)
    diff = f'diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -0,0 +1 @@\n+myco_token = "{token()}"\n'
    result = repo.run("scan", "--stdin", "--config", "guard.toml", input=diff.encode(), cwd=outside)
    assert result.code == 1, result.err
    assert "myco-token" in result.out
    assert repo.run("scan", "--stdin", input=diff.encode(), cwd=outside).code == 0
