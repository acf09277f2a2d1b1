"""`captchaai-guard fix` end to end: every language, .env files, .gitignore."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, Result, fake_key

# file name, content ({key} is the key), what the fixed file must contain
LANGUAGES: list[tuple[str, str, str]] = [
    ("app.py", 'CAPTCHAAI_API_KEY = "{key}"\n', 'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]'),
    (
        "src/solve.js",
        "const captchaaiApiKey = '{key}';\n",
        "const captchaaiApiKey = process.env.CAPTCHAAI_API_KEY;",
    ),
    ("src/solve.ts", 'export const CAPTCHAAI_API_KEY = "{key}";\n', "= process.env.CAPTCHAAI_API_KEY;"),
    (
        "run.sh",
        'curl -F "key={key}" https://ocr.captchaai.com/in.php\n',
        'curl -F "key=${CAPTCHAAI_API_KEY}"',
    ),
    ("deploy.sh", "export CAPTCHAAI_API_KEY={key}\n", 'export CAPTCHAAI_API_KEY="${CAPTCHAAI_API_KEY:?'),
    (
        "api.php",
        "<?php\ndefine('CAPTCHAAI_API_KEY', '{key}');\n",
        "define('CAPTCHAAI_API_KEY', getenv('CAPTCHAAI_API_KEY'));",
    ),
    (
        "main.go",
        'package main\n\nimport "fmt"\n\nvar captchaaiKey = "{key}"\n\n'
        "func main() {{ fmt.Println(captchaaiKey) }}\n",
        'var captchaaiKey = os.Getenv("CAPTCHAAI_API_KEY")',
    ),
    ("solver.rb", "CAPTCHAAI_API_KEY = '{key}'\n", "CAPTCHAAI_API_KEY = ENV['CAPTCHAAI_API_KEY']"),
    (
        "Solver.cs",
        'using System;\nclass S {{ string captchaaiApiKey = "{key}"; }}\n',
        'string captchaaiApiKey = Environment.GetEnvironmentVariable("CAPTCHAAI_API_KEY");',
    ),
    (
        "Solver.java",
        'class S {{ String captchaaiApiKey = "{key}"; }}\n',
        'String captchaaiApiKey = System.getenv("CAPTCHAAI_API_KEY");',
    ),
]


def fix(repo: Repo, *args: str) -> Result:
    return repo.run("fix", *args)


def env_lines(repo: Repo) -> list[str]:
    return (repo.path / ".env").read_text().splitlines()


def assert_no_key_printed(result: Result, *keys: str) -> None:
    for key in keys:
        assert key not in result.out + result.err


@pytest.mark.parametrize(("name", "content", "expected"), LANGUAGES, ids=[c[0] for c in LANGUAGES])
def test_each_language_gets_its_environment_lookup(
    repo: Repo, name: str, content: str, expected: str
) -> None:
    key = fake_key()
    repo.stage(name, content.format(key=key))
    assert repo.run("scan").code == 1
    result = fix(repo)
    assert result.code == 0, result.out + result.err
    fixed = (repo.path / name).read_text()
    assert expected in fixed
    assert key not in fixed
    assert key not in repo.git("show", f":{name}")  # the staged version is fixed too
    assert env_lines(repo) == [f"CAPTCHAAI_API_KEY={key}"]
    assert stat.S_IMODE((repo.path / ".env").stat().st_mode) == 0o600
    assert repo.run("scan").code == 0
    assert "After fix: no CaptchaAI API keys" in result.out
    assert_no_key_printed(result, key)


def test_go_gets_os_import_and_csharp_without_using_is_qualified(repo: Repo) -> None:
    key = fake_key()
    repo.stage("main.go", LANGUAGES[6][1].format(key=key))
    repo.stage("S.cs", f'class S {{ string captchaaiApiKey = "{key}"; }}\n')
    assert fix(repo).code == 0
    go = (repo.path / "main.go").read_text()
    assert go.count('import "os"') == 1 and go.index("package main") < go.index('import "os"')
    assert (
        'System.Environment.GetEnvironmentVariable("CAPTCHAAI_API_KEY")' in (repo.path / "S.cs").read_text()
    )


def test_go_constant_needs_manual_steps(repo: Repo) -> None:
    key = fake_key()
    content = f'package main\n\nconst captchaaiKey = "{key}"\n'
    repo.stage("main.go", content)
    result = fix(repo)
    assert result.code == 1
    assert "constant" in result.out
    assert (repo.path / "main.go").read_text() == content


def test_python_import_os_added_once_after_docstring_and_future(repo: Repo) -> None:
    key = fake_key()
    repo.stage(
        "pkg/conf.py",
        f'#!/usr/bin/env python3\n"""Settings."""\n\nfrom __future__ import annotations\n\n'
        f'CAPTCHAAI_API_KEY = "{key}"\nURL = "https://ocr.captchaai.com/in.php?key={key}&json=1"\n',
    )
    repo.stage("pkg/has_os.py", f'import os\n\nsolver = TwoCaptcha("{key}")  # captchaai\n')
    assert fix(repo).code == 0
    conf = (repo.path / "pkg/conf.py").read_text()
    assert conf.count("import os") == 1
    lines = conf.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"
    future = lines.index("from __future__ import annotations")
    assert lines[future + 1 : future + 4] == ["", "import os", ""]
    assert "URL = f\"https://ocr.captchaai.com/in.php?key={os.environ['CAPTCHAAI_API_KEY']}&json=1\"" in conf
    assert (repo.path / "pkg/has_os.py").read_text().count("import os") == 1
    for name in ("pkg/conf.py", "pkg/has_os.py"):
        compile((repo.path / name).read_text(), name, "exec")
    # the rewritten module builds the same URL from the environment
    env = {**os.environ, "CAPTCHAAI_API_KEY": key}
    out = subprocess.run(
        [sys.executable, "-c", "import runpy; print(runpy.run_path('pkg/conf.py')['URL'])"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"https://ocr.captchaai.com/in.php?key={key}&json=1"


def test_shell_script_still_works_with_the_variable_set(repo: Repo) -> None:
    key = fake_key()
    script = repo.stage(
        "bin/solve.sh",
        f"#!/bin/sh\nexport CAPTCHAAI_API_KEY={key}\n"
        f"echo 'https://ocr.captchaai.com/res.php?key={key}&action=getbalance'\n",
    )
    script.chmod(0o755)
    repo.git("add", "bin/solve.sh")
    assert fix(repo).code == 0
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert repo.git("ls-files", "-s", "bin/solve.sh").startswith("100755")
    env = {**os.environ, "CAPTCHAAI_API_KEY": key}
    ok = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, check=False)
    assert ok.stdout.strip() == f"https://ocr.captchaai.com/res.php?key={key}&action=getbalance"
    env.pop("CAPTCHAAI_API_KEY")
    unset = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, check=False)
    assert unset.returncode != 0 and "set CAPTCHAAI_API_KEY" in unset.stderr


def test_javascript_url_becomes_a_template_literal(repo: Repo) -> None:
    key = fake_key()
    repo.stage(
        "client.js",
        f'const url = "https://ocr.captchaai.com/in.php?key={key}&json=1";\nconsole.log(url);\n',
    )
    assert fix(repo).code == 0
    node = subprocess.run(
        ["node", "client.js"],
        cwd=repo.path,
        env={**os.environ, "CAPTCHAAI_API_KEY": key},
        capture_output=True,
        text=True,
        check=False,
    )
    if node.returncode == 127 or "not found" in node.stderr:
        pytest.skip("node is not installed")
    assert node.stdout.strip() == f"https://ocr.captchaai.com/in.php?key={key}&json=1"


def test_rotation_keys_keep_their_names(repo: Repo) -> None:
    key, key2, key3 = fake_key(), fake_key(), fake_key()
    repo.stage(
        "keys.py",
        f'CAPTCHAAI_API_KEY = "{key}"\nCAPTCHAAI_API_KEY_2 = "{key2}"\nCAPTCHAAI_API_KEY_3 = "{key3}"\n',
    )
    repo.stage("rotate.sh", f"export CAPTCHAAI_API_KEY_2={key2}\n")
    result = fix(repo)
    assert result.code == 0, result.out
    text = (repo.path / "keys.py").read_text()
    for var in ("CAPTCHAAI_API_KEY", "CAPTCHAAI_API_KEY_2", "CAPTCHAAI_API_KEY_3"):
        assert f'{var} = os.environ["{var}"]' in text
    assert 'CAPTCHAAI_API_KEY_2="${CAPTCHAAI_API_KEY_2:?' in (repo.path / "rotate.sh").read_text()
    assert sorted(env_lines(repo)) == sorted(
        [f"CAPTCHAAI_API_KEY={key}", f"CAPTCHAAI_API_KEY_2={key2}", f"CAPTCHAAI_API_KEY_3={key3}"]
    )
    assert_no_key_printed(result, key, key2, key3)


@pytest.mark.parametrize("name", ["config.env", ".env.example", "deploy/prod.env"])
def test_tracked_env_style_file_is_emptied_and_key_moves_to_dotenv(repo: Repo, name: str) -> None:
    key = fake_key()
    repo.write(name, f"# settings\nexport CAPTCHAAI_API_KEY_2={key}  # rotation\nDEBUG=1\n")
    repo.git("add", "-f", name)
    assert fix(repo).code == 0
    assert (repo.path / name).read_text() == "# settings\nexport CAPTCHAAI_API_KEY_2=  # rotation\nDEBUG=1\n"
    assert env_lines(repo) == [f"CAPTCHAAI_API_KEY_2={key}"]
    assert repo.run("scan").code == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("config/settings.json", '{{"key": "{key}"}}\n'),
        ("notebook.ipynb", '{{"cells": [{{"source": ["CAPTCHAAI_API_KEY = \\"{key}\\""]}}]}}\n'),
        ("ci.yml", "env:\n  CAPTCHAAI_API_KEY: {key}\n"),
        ("notes.md", "Use CAPTCHAAI_API_KEY={key}\n"),
        ("job.sh", "cat <<'EOF'\nCAPTCHAAI_API_KEY={key}\nEOF\n"),
        ("a.py", "x = 1  # CAPTCHAAI_API_KEY={key}\n"),
    ],
)
def test_unsafe_files_are_left_alone_with_manual_steps(repo: Repo, name: str, content: str) -> None:
    key = fake_key()
    before = content.format(key=key)
    repo.stage(name, before)
    result = fix(repo)
    assert result.code == 1, result.out + result.err
    assert "manual steps" in result.out and name in result.out
    assert "CAPTCHAAI_API_KEY=<your key>" in result.out
    assert (repo.path / name).read_text() == before
    assert repo.git("show", f":{name}") == before
    assert not (repo.path / ".env").exists()
    assert_no_key_printed(result, key)


def test_existing_env_with_same_value_is_not_duplicated(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", f"OTHER=1\nCAPTCHAAI_API_KEY={key}\n")
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0
    assert env_lines(repo) == ["OTHER=1", f"CAPTCHAAI_API_KEY={key}"]
    assert ".env already holds CAPTCHAAI_API_KEY" in result.out


def test_existing_env_with_different_value_gets_the_next_free_name(repo: Repo) -> None:
    key, other, third = fake_key(), fake_key(), fake_key()
    env_text = f"CAPTCHAAI_API_KEY={other}\nCAPTCHAAI_API_KEY_2={third}"  # no final newline
    repo.write(".env", env_text)
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0, result.out
    assert (repo.path / ".env").read_text() == f"{env_text}\nCAPTCHAAI_API_KEY_3={key}\n"
    assert 'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY_3"]' in (repo.path / "app.py").read_text()
    added = f"add CAPTCHAAI_API_KEY_3=***{key[-4:]} to .env (CAPTCHAAI_API_KEY holds a different key)"
    assert added in result.out
    assert repo.run("scan").code == 0
    assert_no_key_printed(result, key, other, third)


def test_key_already_in_env_under_a_rotation_name_reuses_it(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    env_text = f"CAPTCHAAI_API_KEY={other}\nCAPTCHAAI_API_KEY_2={key}\n"
    repo.write(".env", env_text)
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0, result.out
    assert (repo.path / ".env").read_text() == env_text
    assert 'os.environ["CAPTCHAAI_API_KEY_2"]' in (repo.path / "app.py").read_text()
    assert ".env already holds CAPTCHAAI_API_KEY_2 with the same key" in result.out


def test_empty_placeholder_in_env_is_filled_in(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", "# copied from .env.example\nCAPTCHAAI_API_KEY=\nDEBUG=1\n")
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0, result.out
    assert env_lines(repo) == ["# copied from .env.example", f"CAPTCHAAI_API_KEY={key}", "DEBUG=1"]
    assert 'os.environ["CAPTCHAAI_API_KEY"]' in (repo.path / "app.py").read_text()


def test_all_rotation_names_taken_needs_manual_steps(repo: Repo) -> None:
    taken = [fake_key() for _ in range(9)]
    names = ["CAPTCHAAI_API_KEY", *(f"CAPTCHAAI_API_KEY_{n}" for n in range(2, 10))]
    env_text = "".join(f"{name}={value}\n" for name, value in zip(names, taken))
    repo.write(".env", env_text)
    key = fake_key()
    source = f'CAPTCHAAI_API_KEY = "{key}"\n'
    repo.stage("app.py", source)
    result = fix(repo)
    assert result.code == 1
    assert "_2 ... _9 for other keys" in result.out and "decide which keys are current" in result.out
    assert (repo.path / "app.py").read_text() == source
    assert (repo.path / ".env").read_text() == env_text
    assert_no_key_printed(result, key, *taken)


def test_env_appended_to_keeps_other_lines_and_becomes_0600(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", "DEBUG=1")
    (repo.path / ".env").chmod(0o640)
    repo.stage("run.sh", f"export CAPTCHAAI_API_KEY_4={key}\n")
    result = fix(repo)
    assert result.code == 0
    assert env_lines(repo) == ["DEBUG=1", f"CAPTCHAAI_API_KEY_4={key}"]
    assert stat.S_IMODE((repo.path / ".env").stat().st_mode) == 0o600
    assert "restrict .env to mode 0600 (was 0640)" in result.out


def test_gitignore_learns_dotenv_and_is_staged(repo: Repo) -> None:
    key = fake_key()
    repo.stage(".gitignore", "*.log")  # no final newline
    repo.commit()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    assert fix(repo).code == 0
    expected = "*.log\n.env\n.env.*\n!.env.example\n"
    assert (repo.path / ".gitignore").read_text() == expected
    assert repo.git("show", ":.gitignore") == expected
    assert repo.git("check-ignore", ".env").strip() == ".env"
    assert ".env" not in repo.git("status", "--porcelain")


def test_partly_staged_gitignore_keeps_its_unstaged_lines(repo: Repo) -> None:
    key = fake_key()
    repo.stage(".gitignore", "*.log\n")
    repo.write(".gitignore", "*.log\nbuild/\n")
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    assert fix(repo).code == 0
    added = ".env\n.env.*\n!.env.example\n"
    assert repo.git("show", ":.gitignore") == "*.log\n" + added
    assert (repo.path / ".gitignore").read_text() == "*.log\nbuild/\n" + added


def test_gitignore_with_dotenv_only_learns_the_variants(repo: Repo) -> None:
    key = fake_key()
    repo.stage(".gitignore", ".env\n")
    repo.commit()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0, result.out
    assert "add .env.* and !.env.example to .gitignore" in result.out
    assert (repo.path / ".gitignore").read_text() == ".env\n.env.*\n!.env.example\n"


@pytest.mark.parametrize("ignore", [".env\n.env.*\n!.env.example\n", ".env*\n"])
def test_gitignore_already_ignoring_is_untouched(repo: Repo, ignore: str) -> None:
    key = fake_key()
    repo.stage(".gitignore", ignore)
    repo.commit()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0
    assert ".gitignore" not in result.out
    assert repo.git("diff", "--cached", "--name-only").split() == ["app.py"]


def test_staged_dotenv_is_unstaged_and_kept_on_disk(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.write("app/.env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.git("add", "-f", ".env", "app/.env")
    result = fix(repo)
    assert result.code == 0, result.out
    assert repo.git("ls-files").split() == [".gitignore"]
    assert env_lines(repo) == [f"CAPTCHAAI_API_KEY={key}"]
    assert (repo.path / "app/.env").exists()
    assert repo.run("scan").code == 0


def test_paths_fix_committed_files(repo: Repo) -> None:
    key = fake_key()
    repo.stage("deploy/run.sh", f"#!/bin/sh\nexport CAPTCHAAI_API_KEY={key}\n")
    repo.commit()
    repo.write("tools/untracked.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    assert fix(repo).out.startswith("captchaai-guard fix: no CaptchaAI API keys")
    result = fix(repo, "deploy", "tools/untracked.py")
    assert result.code == 0, result.out
    assert key not in (repo.path / "deploy/run.sh").read_text()
    assert key not in repo.git("show", ":deploy/run.sh")
    assert key not in (repo.path / "tools/untracked.py").read_text()
    assert "tools/untracked.py" not in repo.git("ls-files")  # untracked files stay untracked
    assert repo.run("scan", "--files").code == 0


def test_nothing_to_fix_is_exit_0(repo: Repo) -> None:
    repo.stage("a.txt", "hello\n")
    result = fix(repo)
    assert result.code == 0 and "no CaptchaAI API keys to fix" in result.out
    assert not (repo.path / ".env").exists() and not (repo.path / ".gitignore").exists()


def test_scan_blocking_message_mentions_fix(repo: Repo) -> None:
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    result = repo.run("scan")
    assert result.code == 1 and "captchaai-guard fix" in result.out


def test_not_a_repository_is_exit_2(repo: Repo, tmp_path: Path) -> None:
    result = repo.run("fix", cwd=tmp_path)
    assert result.code == 2 and "not a git repository" in result.err
    assert "Traceback" not in result.err


def test_fix_from_a_subdirectory(repo: Repo) -> None:
    key = fake_key()
    repo.stage("src/app/main.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("fix", cwd=repo.path / "src")
    assert result.code == 0, result.out + result.err
    assert env_lines(repo) == [f"CAPTCHAAI_API_KEY={key}"]
    assert not (repo.path / "src" / ".env").exists()
    result = repo.run("fix", "app", cwd=repo.path / "src")
    assert result.code == 0 and "no CaptchaAI API keys to fix" in result.out


def test_committed_dotenv_receiving_a_key_stops_being_tracked(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", "DEBUG=1\n")
    repo.write("sub/.env", "PORT=8080\n")
    repo.git("add", "-f", ".env", "sub/.env")
    repo.commit()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = fix(repo)
    assert result.code == 0, result.out
    assert env_lines(repo) == ["DEBUG=1", f"CAPTCHAAI_API_KEY={key}"]
    tracked = repo.git("ls-files").split()
    assert ".env" not in tracked  # it now holds a key
    assert "sub/.env" in tracked  # committed defaults, untouched
    assert "D  .env" in repo.git("status", "--porcelain")
