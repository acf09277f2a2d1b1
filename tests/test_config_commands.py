"""One configuration and one baseline for every command: ``audit`` and ``fix``
read ``.captchaai-guard.toml`` (or ``--config``) and the baseline as ``scan`` does."""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.conftest import Repo, Result, fake_key

BASELINE = ".captchaai-guard-baseline.json"
CUSTOM = """
[[rules]]
id = "myco-token"
description = "MyCo API token"
regex = 'myco_token\\s*=\\s*"(?P<secret>[A-Za-z0-9_-]{20})"'
keywords = ["myco_token"]
"""
# The two rules that see `CAPTCHAAI_API_KEY = "<key>"` in a Python file.
DISABLE_ASSIGNMENT = (
    'disable = ["captchaai-guide-assignment", "captchaai-env-assignment", "captchaai-evidence"]\n'
)
CLIENT_WITHOUT_ENV = (
    "import requests\n\n"
    "def submit(key, image):\n"
    '    return requests.post("https://ocr.captchaai.com/in.php", data={"key": key, "body": image})\n'
)


def token() -> str:
    return secrets.token_urlsafe(15)


def assignment(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def audit(repo: Repo, *args: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = repo.run("audit", "--format", "json", *args)
    assert result.code in (0, 1), result.err
    items = json.loads(result.out)
    return result.code, {item["id"]: item for item in items}, result.out + result.err


def source_item(repo: Repo, *args: str) -> tuple[str, list[str], str]:
    """Status and evidence details of the "API key not in source" item."""
    _, items, raw = audit(repo, *args)
    item = items["key-not-in-source"]
    return item["status"], [str(e["detail"]) for e in item["evidence"]], raw


def assert_one_error_line(result: Result, *fragments: str) -> None:
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("captchaai-guard: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.out + result.err


# audit ---------------------------------------------------------------------------


def test_audit_skips_excluded_paths_in_every_check(repo: Repo) -> None:
    key = fake_key()
    repo.stage("vendor/sdk/client.py", CLIENT_WITHOUT_ENV + assignment(key))
    repo.stage("app.py", "print('hello')\n")
    repo.commit()
    _, items, _ = audit(repo)
    assert items["key-not-in-source"]["status"] == "fail"
    assert items["key-from-environment"]["status"] == "fail"

    repo.write(".captchaai-guard.toml", 'exclude = ["vendor/**"]\n')
    code, items, raw = audit(repo)
    assert items["key-not-in-source"]["status"] == "pass"
    [evidence] = items["key-not-in-source"]["evidence"]
    assert "1 more excluded by the configuration" in evidence["detail"]
    assert items["key-from-environment"]["status"] == "skip"
    assert "vendor/" not in raw and key not in raw
    assert code == 0 or items["env-files-ignored"]["status"] == "fail"


def test_audit_honours_allow(repo: Repo) -> None:
    repo.stage("tests/fixture.py", assignment(fake_key()).rstrip("\n") + "  # TEST FIXTURE\n")
    repo.commit()
    assert source_item(repo)[0] == "fail"
    repo.write(".captchaai-guard.toml", 'allow = ["TEST FIXTURE"]\n')
    assert source_item(repo)[0] == "pass"


def test_audit_honours_disable(repo: Repo) -> None:
    repo.stage("settings.py", assignment(fake_key()))
    repo.commit()
    assert source_item(repo)[0] == "fail"
    repo.write(".captchaai-guard.toml", DISABLE_ASSIGNMENT)
    assert source_item(repo)[0] == "pass"


def test_audit_applies_custom_rules_and_config_option(repo: Repo) -> None:
    value = token()
    repo.stage("app.py", f'myco_token = "{value}"\n')
    repo.commit()
    assert source_item(repo)[0] == "pass"  # no configuration: not a CaptchaAI key
    other = repo.path.parent / "guard.toml"
    other.write_text(CUSTOM, encoding="utf-8")
    status, evidence, raw = source_item(repo, "--config", str(other))
    assert status == "fail"
    assert evidence == [f"MyCo API token (***{value[-4:]})"]
    assert value not in raw
    repo.write(".captchaai-guard.toml", CUSTOM)
    assert source_item(repo)[0] == "fail"
    repo.write(".captchaai-guard.toml", 'disable = ["myco-token"]\n' + CUSTOM)
    assert source_item(repo)[0] == "pass"


def test_audit_custom_rules_see_history(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", CUSTOM)
    repo.stage("app.py", f'myco_token = "{token()}"\n')
    repo.commit()
    repo.stage("app.py", "myco_token = None\n")
    repo.commit()
    assert source_item(repo)[0] == "pass"
    status, evidence, _ = source_item(repo, "--history")
    assert status == "fail" and "in commit" in evidence[0]


def test_audit_honours_the_baseline(repo: Repo) -> None:
    old = fake_key()
    repo.stage("app.py", assignment(old))
    assert repo.run("baseline").code == 0
    repo.git("add", BASELINE)
    repo.commit()

    status, evidence, raw = source_item(repo)
    assert status == "pass"
    assert evidence[-1] == f"1 finding accepted by the baseline ({BASELINE})"
    assert old not in raw
    # --history: the same key at the same path in older commits is baselined too.
    status, evidence, _ = source_item(repo, "--history")
    assert status == "pass" and "accepted by the baseline" in evidence[-1]

    status, evidence, _ = source_item(repo, "--no-baseline")
    assert status == "fail" and not any("baseline" in e for e in evidence)

    new = fake_key()
    repo.stage("other.py", assignment(new))
    repo.commit()
    status, evidence, raw = source_item(repo)
    assert status == "fail"
    assert evidence == [
        f"CaptchaAI API key assigned to CAPTCHAAI_API_KEY (***{new[-4:]})",
        f"1 finding accepted by the baseline ({BASELINE})",
    ]
    assert new not in raw and old not in raw


def test_audit_baseline_option(repo: Repo) -> None:
    repo.stage("app.py", assignment(fake_key()))
    repo.commit()
    elsewhere = repo.path.parent / "accepted.json"
    assert repo.run("baseline", "--output", str(elsewhere)).code == 0
    assert source_item(repo)[0] == "fail"  # not at the root: not read
    status, evidence, _ = source_item(repo, "--baseline", str(elsewhere))
    assert status == "pass" and "accepted by the baseline" in evidence[-1]
    result = repo.run("audit", "--baseline", str(elsewhere), "--no-baseline")
    assert result.code == 2 and "choose one of --baseline, --no-baseline" in result.err


def test_audit_corrupt_baseline_is_an_error(repo: Repo) -> None:
    repo.stage("app.py", "x = 1\n")
    repo.commit()
    repo.write(BASELINE, "{not json")
    assert_one_error_line(repo.run("audit"), BASELINE, "corrupt baseline")
    assert repo.run("audit", "--no-baseline").code in (0, 1)


def test_audit_allow_applies_to_the_dev_prod_check(repo: Repo) -> None:
    shared = fake_key()
    repo.write(".env.development", f"CAPTCHAAI_API_KEY={shared}\n")
    repo.write(".env.production", f"CAPTCHAAI_API_KEY={shared}\n")
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] == "fail"
    repo.write(".captchaai-guard.toml", f'allow = ["^{shared[:8]}"]\n')
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] != "fail"


def test_audit_invalid_config(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'exclude = "vendor"\n')
    assert_one_error_line(repo.run("audit"), ".captchaai-guard.toml: exclude: must be a list of strings")
    assert_one_error_line(repo.run("audit", "--config", "missing.toml"), "configuration file not found")


# fix -----------------------------------------------------------------------------


def test_fix_leaves_excluded_files_alone(repo: Repo) -> None:
    kept, fixed = fake_key(), fake_key()
    repo.write(".captchaai-guard.toml", 'exclude = ["vendor/**"]\n')
    vendored = repo.stage("vendor/sdk.py", assignment(kept))
    repo.stage("app.py", assignment(fixed))
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert "vendor/sdk.py" not in result.out
    assert vendored.read_text() == assignment(kept)
    assert repo.git("show", ":vendor/sdk.py") == assignment(kept)
    assert 'os.environ["CAPTCHAAI_API_KEY"]' in repo.git("show", ":app.py")
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={fixed}\n"
    assert kept not in result.out + result.err and fixed not in result.out + result.err


def test_fix_paths_skip_excluded_files(repo: Repo) -> None:
    key = fake_key()
    repo.stage("vendor/sdk.py", assignment(key))
    repo.commit()
    repo.write(".captchaai-guard.toml", 'exclude = ["vendor"]\n')
    result = repo.run("fix", "vendor")
    assert result.code == 0, result.out + result.err
    assert "no CaptchaAI API keys to fix" in result.out
    assert (repo.path / "vendor/sdk.py").read_text() == assignment(key)
    assert not (repo.path / ".env").exists()


def test_fix_honours_disable_and_config_option(repo: Repo) -> None:
    line = assignment(fake_key())
    target = repo.stage("settings.py", line)
    other = repo.path.parent / "guard.toml"
    other.write_text(DISABLE_ASSIGNMENT, encoding="utf-8")
    result = repo.run("fix", "--config", str(other))
    assert result.code == 0, result.out + result.err
    assert "no CaptchaAI API keys to fix" in result.out
    assert target.read_text() == line
    repo.write(".captchaai-guard.toml", DISABLE_ASSIGNMENT)
    assert "no CaptchaAI API keys to fix" in repo.run("fix").out
    assert target.read_text() == line
    assert repo.run("fix", "--config", str(repo.path.parent / "missing.toml")).code == 2
    result = repo.run("fix", "--config", str(repo.path / ".captchaai-guard.toml"), "--no-baseline")
    assert result.code == 0 and target.read_text() == line


def test_fix_honours_allow(repo: Repo) -> None:
    line = assignment(fake_key()).rstrip("\n") + "  # TEST FIXTURE\n"
    target = repo.stage("app.py", line)
    repo.write(".captchaai-guard.toml", 'allow = ["TEST FIXTURE"]\n')
    result = repo.run("fix")
    assert result.code == 0 and "no CaptchaAI API keys to fix" in result.out
    assert target.read_text() == line


def test_fix_gives_manual_steps_for_custom_rules(repo: Repo) -> None:
    value, key = token(), fake_key()
    repo.write(".captchaai-guard.toml", CUSTOM)
    content = f'myco_token = "{value}"\n' + assignment(key)
    target = repo.stage("app.py", content)
    result = repo.run("fix")
    assert result.code == 1, result.out + result.err
    assert "app.py:1: found by the custom rule 'myco-token'" in result.out
    assert "MYCO_TOKEN" in result.out
    assert value not in result.out + result.err and key not in result.out + result.err
    fixed = target.read_text()
    assert f'myco_token = "{value}"' in fixed  # left for the user
    assert key not in fixed and 'os.environ["CAPTCHAAI_API_KEY"]' in fixed
    assert value not in (repo.path / ".env").read_text()
    assert "1 CaptchaAI API key(s) still staged" in result.out


def test_fix_leaves_baselined_keys_alone(repo: Repo) -> None:
    key = fake_key()
    target = repo.stage("app.py", assignment(key))
    assert repo.run("baseline").code == 0
    repo.git("add", BASELINE)
    repo.commit()
    result = repo.run("fix", "app.py")
    assert result.code == 0, result.out + result.err
    assert "1 baselined key left alone" in result.out
    assert target.read_text() == assignment(key)
    result = repo.run("fix", "--no-baseline", "app.py")
    assert result.code == 0, result.out + result.err
    assert key not in target.read_text()


def test_fix_invalid_config_changes_nothing(repo: Repo) -> None:
    key = fake_key()
    target = repo.stage("app.py", assignment(key))
    repo.write(".captchaai-guard.toml", '[[rules]]\nid = "a"\nregex = "(a)\\\\1"\n')
    result = repo.run("fix")
    assert_one_error_line(result, ".captchaai-guard.toml: rules[0].regex: rule 'a': backreferences")
    assert target.read_text() == assignment(key)
    assert repo.git("show", ":app.py") == assignment(key)
    assert not (repo.path / ".env").exists()
    assert key not in result.out + result.err
