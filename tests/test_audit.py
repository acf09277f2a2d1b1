"""``captchaai-guard audit``: the installed command against real repositories."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from captchaai_guard.audit.code import env_reads, raw_key_logs
from tests.conftest import Repo, console_script, fake_key

IDS = (
    "key-not-in-source",
    "env-files-ignored",
    "key-from-environment",
    "logging-masks-key",
    "separate-dev-prod-keys",
    "pre-commit-hook",
    "rotation-plan",
)
LEVELS = {
    "key-not-in-source": "Required",
    "env-files-ignored": "Required",
    "key-from-environment": "Required",
    "logging-masks-key": "Recommended",
    "separate-dev-prod-keys": "Recommended",
    "pre-commit-hook": "Recommended",
    "rotation-plan": "Optional",
}
CLIENT = (
    "import os\nimport requests\n\n"
    'API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n\n'
    "def submit(image):\n"
    '    return requests.post("https://ocr.captchaai.com/in.php", data={"key": API_KEY, "body": image})\n'
)
HOOK = "#!/bin/sh\n# captchaai-guard managed hook: remove with 'captchaai-guard uninstall'\nexit 0\n"


def audit(repo: Repo, *args: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = repo.run("audit", "--format", "json", *args)
    assert result.code in (0, 1), result.err
    items = json.loads(result.out)
    return result.code, {item["id"]: item for item in items}, result.out + result.err


def install_hook(repo: Repo, content: str = HOOK, mode: int = 0o755) -> Path:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(content, encoding="utf-8")
    hook.chmod(mode)
    return hook


def good_repo(repo: Repo) -> tuple[str, str]:
    """A repository that follows the whole checklist."""
    dev, prod = fake_key(), fake_key()
    repo.stage(".gitignore", ".env\n.env.*\n!.env.example\n")
    repo.stage(".env.example", "CAPTCHAAI_API_KEY=your_api_key_here\n")
    repo.stage("client.py", CLIENT)
    repo.stage(
        "SECURITY.md", "# Security\n\nRotate the CaptchaAI API key every 90 days and after any leak.\n"
    )
    repo.write(".env.development", f"CAPTCHAAI_API_KEY={dev}\n")
    repo.write(".env.production", f"CAPTCHAAI_API_KEY={prod}\n")
    repo.commit()
    install_hook(repo)
    return dev, prod


def test_good_repo_passes_every_item(repo: Repo) -> None:
    dev, prod = good_repo(repo)
    code, items, raw = audit(repo)
    assert code == 0
    assert {i: items[i]["status"] for i in IDS} == dict.fromkeys(IDS, "pass")
    assert dev not in raw and prod not in raw


def test_json_shape(repo: Repo) -> None:
    good_repo(repo)
    result = repo.run("audit", "--format", "json")
    items = json.loads(result.out)
    assert isinstance(items, list)
    assert [item["id"] for item in items] == list(IDS)
    for item in items:
        assert set(item) == {"id", "title", "level", "status", "evidence", "fix"}
        assert item["level"] == LEVELS[item["id"]]
        assert item["status"] in {"pass", "fail", "warn", "skip"}
        assert isinstance(item["title"], str) and item["title"]
        for evidence in item["evidence"]:
            assert set(evidence) == {"path", "line", "detail"}


def test_text_table(repo: Repo) -> None:
    key = fake_key()
    repo.stage(".gitignore", ".env*\n")
    repo.stage("client.py", CLIENT + f'BACKUP = "{key}"  # CAPTCHAAI_API_KEY\n')
    repo.stage("cfg.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("audit")
    assert result.code == 1
    assert "\x1b[" not in result.out
    lines = result.out.splitlines()
    assert any(
        line.startswith("FAIL") and "Required" in line and "API key not in source code" in line
        for line in lines
    )
    assert "cfg.py:1:" in result.out
    assert f"***{key[-4:]}" in result.out
    assert key not in result.out + result.err
    assert "fix: " in result.out
    assert "1 required item fails." in result.out


def _tty_run(repo: Repo, env: dict[str, str]) -> str:
    primary, secondary = pty.openpty()
    proc = subprocess.run(
        [console_script(), "audit"],
        cwd=repo.path,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.returncode in (0, 1)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_without_no_color(repo: Repo) -> None:
    good_repo(repo)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[" in _tty_run(repo, env)
    assert "\x1b[" not in _tty_run(repo, {**env, "NO_COLOR": ""})
    assert "\x1b[" not in repo.run("audit", env=env).out


def test_not_a_repository_is_an_error(tmp_path: Path, repo: Repo) -> None:
    result = repo.run("audit", cwd=tmp_path)
    assert result.code == 2
    assert "not a git repository" in result.err
    assert "Traceback" not in result.err


# API key not in source ---------------------------------------------------------------


def test_key_in_a_tracked_file_fails(repo: Repo) -> None:
    good_repo(repo)
    key = fake_key()
    repo.stage("settings.json", json.dumps({"captchaai": {"key": key}}) + "\n")
    repo.commit()
    code, items, raw = audit(repo)
    assert code == 1
    item = items["key-not-in-source"]
    assert item["status"] == "fail"
    assert item["evidence"][0]["path"] == "settings.json" and item["evidence"][0]["line"] == 1
    assert key not in raw


def test_history_finds_a_key_removed_later(repo: Repo) -> None:
    good_repo(repo)
    key = fake_key()
    repo.stage("old.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    sha = repo.commit("add key")
    repo.git("rm", "-q", "old.py")
    repo.commit("remove key")
    code, items, _ = audit(repo)
    assert code == 0 and items["key-not-in-source"]["status"] == "pass"
    code, items, raw = audit(repo, "--history")
    assert code == 1
    item = items["key-not-in-source"]
    assert item["status"] == "fail"
    assert any(e["path"] == "old.py" and sha[:12] in e["detail"] for e in item["evidence"])
    assert key not in raw
    text = repo.run("audit", "--history")
    assert text.code == 1 and key not in text.out and sha[:12] in text.out


def test_history_sees_other_branches(repo: Repo) -> None:
    good_repo(repo)
    key = fake_key()
    repo.git("checkout", "-q", "-b", "side")
    repo.stage("side.sh", f"export CAPTCHAAI_API_KEY={key}\n")
    repo.commit()
    repo.git("checkout", "-q", "main")
    code, items, raw = audit(repo, "--history")
    assert code == 1 and items["key-not-in-source"]["evidence"][0]["path"] == "side.sh"
    assert key not in raw


# .env files ignored ----------------------------------------------------------------


def test_env_not_ignored_fails(repo: Repo) -> None:
    repo.stage(".gitignore", ".env\n")
    repo.commit()
    code, items, _ = audit(repo)
    item = items["env-files-ignored"]
    assert code == 1 and item["status"] == "fail"
    assert {e["path"] for e in item["evidence"]} == {".env.local", ".env.production"}
    assert ".gitignore" in item["fix"]


def test_tracked_env_file_fails_even_when_ignored(repo: Repo) -> None:
    repo.stage(".gitignore", ".env*\n")
    repo.write("config/.env", "DEBUG=1\n")
    repo.git("add", "-f", "config/.env")
    repo.commit()
    code, items, _ = audit(repo)
    item = items["env-files-ignored"]
    assert code == 1 and item["status"] == "fail"
    assert item["evidence"] == [{"path": "config/.env", "line": None, "detail": "tracked by git"}]
    assert "git rm --cached config/.env" in item["fix"]


def test_info_exclude_counts_as_ignored(repo: Repo) -> None:
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "exclude").write_text(".env*\n", encoding="utf-8")
    _, items, _ = audit(repo)
    assert items["env-files-ignored"]["status"] == "pass"


# key loaded from the environment ---------------------------------------------------


def test_code_without_env_read_fails(repo: Repo) -> None:
    good_repo(repo)
    repo.stage(
        "client.py",
        "import requests\nfrom settings import API_KEY\n\n"
        'requests.get("https://ocr.captchaai.com/res.php", params={"key": API_KEY})\n',
    )
    code, items, _ = audit(repo)
    item = items["key-from-environment"]
    assert code == 1 and item["status"] == "fail"
    assert item["evidence"][0]["path"] == "client.py" and item["evidence"][0]["line"] == 4


@pytest.mark.parametrize(
    ("name", "source"),
    [
        (
            "app.js",
            "const apiKey = process.env.CAPTCHAAI_API_KEY;\nfetch(`https://ocr.captchaai.com/in.php?key=${apiKey}`);\n",
        ),
        (
            "app.rb",
            "key = ENV.fetch('CAPTCHAAI_API_KEY')\nuri = \"https://ocr.captchaai.com/in.php?key=#{key}\"\n",
        ),
        ("solve.sh", 'curl -F "key=$CAPTCHAAI_API_KEY" https://ocr.captchaai.com/in.php\n'),
        ("main.go", 'key := os.Getenv("CAPTCHAAI_API_KEY") // captchaai api_key\n'),
        (
            "bot.py",
            "from dotenv import dotenv_values\ncfg = dotenv_values()\n"
            'api_key = cfg["CAPTCHAAI_API_KEY"]  # for CaptchaAI\n',
        ),
        (
            "bot2.py",
            "from captchaai_guard.keys import get_api_key\napi_key = get_api_key()\n"
            'URL = "https://ocr.captchaai.com/in.php"\n',
        ),
    ],
)
def test_env_reads_in_several_languages_pass(repo: Repo, name: str, source: str) -> None:
    repo.stage(name, source)
    _, items, _ = audit(repo)
    item = items["key-from-environment"]
    assert item["status"] == "pass", item
    assert item["evidence"][0]["path"] == name


def test_reading_another_variable_warns(repo: Repo) -> None:
    repo.stage(".gitignore", ".env*\n")
    repo.stage(
        "client.py",
        'import os\napi_key = os.environ["SOLVER_KEY"]\nURL = "https://ocr.captchaai.com/in.php"\n',
    )
    code, items, _ = audit(repo)
    assert items["key-from-environment"]["status"] == "warn"
    assert code == 0


def test_no_captchaai_code_is_skipped(repo: Repo) -> None:
    repo.stage("main.py", "print('hello')\n")
    _, items, _ = audit(repo)
    assert items["key-from-environment"]["status"] == "skip"


# logging masks the key ----------------------------------------------------------------


def test_printing_the_key_fails_but_does_not_change_the_exit_code(repo: Repo) -> None:
    good_repo(repo)
    repo.stage("client.py", CLIENT + 'print(f"using key {API_KEY}")\n')
    code, items, _ = audit(repo)
    item = items["logging-masks-key"]
    assert item["status"] == "fail" and code == 0
    assert item["evidence"] == [
        {"path": "client.py", "line": 8, "detail": "print() formats API_KEY unmasked"}
    ]
    assert "SecureApiKey" in item["fix"]


def test_log_filter_covers_logging_calls_not_prints(repo: Repo) -> None:
    good_repo(repo)
    setup = "import logging\nfrom captchaai_guard.keys import install_log_masking\ninstall_log_masking()\n"
    repo.stage("log.py", setup + 'logging.info("key %s", api_key)\n')
    _, items, _ = audit(repo)
    assert items["logging-masks-key"]["status"] == "pass"
    repo.stage("log.py", setup + "print(api_key)\n")
    _, items, _ = audit(repo)
    assert items["logging-masks-key"]["status"] == "fail"


def test_masked_output_passes(repo: Repo) -> None:
    good_repo(repo)
    repo.stage("client.py", CLIENT + 'print("key ends with", API_KEY[-4:])\nprint("set CAPTCHAAI_API_KEY")\n')
    _, items, _ = audit(repo)
    assert items["logging-masks-key"]["status"] == "pass"


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("print(api_key)", "api_key"),
        ('logger.info(f"using {self.api_key}")', "api_key"),
        ('logging.debug("k=%s", CAPTCHAAI_API_KEY)', "CAPTCHAAI_API_KEY"),
        ("console.log(`key ${apiKey}`)", "apiKey"),
        ('echo "key $CAPTCHAAI_API_KEY"', "CAPTCHAAI_API_KEY"),
        ('Write-Host "key: $env:CAPTCHAAI_API_KEY"', "CAPTCHAAI_API_KEY"),
        ('puts "key #{api_key}"', "api_key"),
        ("print(key.value)", "key.value"),
    ],
)
def test_raw_key_log_calls(line: str, name: str) -> None:
    found = raw_key_logs(line + "\n")
    assert [(f.line, f.name) for f in found] == [(1, name)]


@pytest.mark.parametrize(
    "line",
    [
        'print("Set CAPTCHAAI_API_KEY first")',
        "echo 'key $CAPTCHAAI_API_KEY'",
        "print(api_key[-4:])",
        "print(mask(api_key))",
        "print(len(apiKey))",
        "print(key.masked)",
        "print(api_key_name)",
        "# print(api_key)",
        "print(secure_api_key)",
    ],
)
def test_safe_log_calls(line: str) -> None:
    assert raw_key_logs(line + "\n") == []


def test_env_reads_skip_comments() -> None:
    text = '# os.environ["CAPTCHAAI_API_KEY"]\nkey = os.getenv("CAPTCHAAI_API_KEY_2")\n'
    assert env_reads(text) == [2]


# different keys for dev and prod ---------------------------------------------------


def test_same_key_in_two_environments_fails(repo: Repo) -> None:
    good_repo(repo)
    key = fake_key()
    repo.write(".env.development", f"CAPTCHAAI_API_KEY={key}\n")
    repo.write(".env.production", f"DEBUG=0\nCAPTCHAAI_API_KEY={key}\n")
    code, items, raw = audit(repo)
    item = items["separate-dev-prod-keys"]
    assert item["status"] == "fail" and code == 0
    detail = item["evidence"][0]["detail"]
    assert ".env.development:1" in detail and ".env.production:2" in detail and "fingerprint" in detail
    assert key not in raw and key[-4:] not in detail


def test_one_environment_only_warns(repo: Repo) -> None:
    repo.stage(".gitignore", ".env*\n")
    repo.stage("client.py", CLIENT)
    repo.write(".env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] == "warn"


def test_base_env_and_local_override_are_not_a_mix(repo: Repo) -> None:
    repo.stage(".gitignore", ".env*\n")
    key = fake_key()
    repo.write(".env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.write(".env.local", f"CAPTCHAAI_API_KEY={key}\n")
    repo.write(".env.production", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] == "pass"


def test_separate_variables_pass(repo: Repo) -> None:
    repo.stage(
        "settings.py",
        'import os\nKEY = os.environ["CAPTCHAAI_API_KEY_PROD" if PROD else "CAPTCHAAI_API_KEY_DEV"]\n',
    )
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] == "pass"


def test_nothing_configured_is_skipped(repo: Repo) -> None:
    repo.stage("main.py", "print('hello')\n")
    _, items, _ = audit(repo)
    assert items["separate-dev-prod-keys"]["status"] == "skip"


# pre-commit hook -----------------------------------------------------------------------


def test_no_hook_fails(repo: Repo) -> None:
    _, items, _ = audit(repo)
    item = items["pre-commit-hook"]
    assert item["status"] == "fail" and "captchaai-guard install" in item["fix"]


def test_other_hook_is_not_ours(repo: Repo) -> None:
    install_hook(repo, "#!/bin/sh\nexit 0\n")
    _, items, _ = audit(repo)
    assert items["pre-commit-hook"]["status"] == "fail"


def test_hook_in_hooks_path(repo: Repo) -> None:
    hooks = repo.path / ".githooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text(HOOK, encoding="utf-8")
    (hooks / "pre-commit").chmod(0o755)
    repo.git("config", "core.hooksPath", ".githooks")
    _, items, _ = audit(repo)
    item = items["pre-commit-hook"]
    assert item["status"] == "pass" and item["evidence"][0]["path"] == ".githooks/pre-commit"


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_hook_not_executable_warns(repo: Repo) -> None:
    install_hook(repo, mode=0o644)
    _, items, _ = audit(repo)
    assert items["pre-commit-hook"]["status"] == "warn"


def test_framework_config(repo: Repo) -> None:
    repo.stage(
        ".pre-commit-config.yaml",
        "repos:\n  - repo: https://example.com/captchaai-guard\n    rev: v0.1.0\n"
        "    hooks:\n      - id: captchaai-guard\n",
    )
    _, items, _ = audit(repo)
    assert items["pre-commit-hook"]["status"] == "warn"  # configured, not installed
    install_hook(repo, "#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n")
    _, items, _ = audit(repo)
    assert items["pre-commit-hook"]["status"] == "pass"


# rotation plan ---------------------------------------------------------------------------


def test_no_rotation_plan_fails_optionally(repo: Repo) -> None:
    good_repo(repo)
    repo.git("rm", "-q", "SECURITY.md")
    code, items, _ = audit(repo)
    assert items["rotation-plan"]["status"] == "fail" and code == 0


def test_rotation_keys_count_as_a_plan(repo: Repo) -> None:
    repo.stage(".gitignore", ".env*\n")
    first, second = fake_key(), fake_key()
    repo.write(".env", f"CAPTCHAAI_API_KEY={first}\nCAPTCHAAI_API_KEY_2={second}\n")
    _, items, raw = audit(repo)
    item = items["rotation-plan"]
    assert item["status"] == "pass"
    assert first not in raw and second not in raw
    assert item["evidence"] == [{"path": ".env", "line": 2, "detail": "rotation keys configured"}]


def test_readme_rotation_section(repo: Repo) -> None:
    repo.stage(
        "README.md", "# App\n\n## Keys\n\nRotating the API key: create a new one, then revoke the old.\n"
    )
    _, items, _ = audit(repo)
    assert items["rotation-plan"]["status"] == "pass"
    assert items["rotation-plan"]["evidence"][0] == {
        "path": "README.md",
        "line": 5,
        "detail": "documents key rotation",
    }


def test_checks_import_neither_click_nor_gitpython() -> None:
    code = (
        "import sys, captchaai_guard.audit.checklist, captchaai_guard.audit.report; "
        "print(sorted(n for n in ('click', 'git') if n in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_no_output_ever_holds_a_key(repo: Repo) -> None:
    keys = [fake_key() for _ in range(6)]
    repo.stage("client.py", CLIENT + f'print("{keys[0]}")\nlogger.info(f"{{api_key}} {keys[1]}")\n')
    repo.stage(".env", f"CAPTCHAAI_API_KEY={keys[2]}\nCAPTCHAAI_API_KEY_2={keys[3]}\n")
    repo.write(".env.production", f"CAPTCHAAI_API_KEY={keys[2]}\n")
    repo.stage("old.yaml", f"captchaai:\n  api_key: {keys[4]}\n")
    repo.commit()
    repo.git("rm", "-q", "old.yaml")
    repo.commit()
    repo.write(".env.development", f"CAPTCHAAI_API_KEY={keys[5]}\n")
    outputs = [repo.run("audit", *args) for args in ([], ["--history"], ["--format", "json", "--history"])]
    assert [r.code for r in outputs] == [1, 1, 1]
    for result in outputs:
        for key in keys:
            assert key not in result.out + result.err
