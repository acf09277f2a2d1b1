"""After `captchaai-guard fix` the program runs, the repository stays
consistent (`scan` and `audit` agree with what fix wrote), and no key is
left where git can pick it up: .env modes and symlinks, rotation names for
a second key, temporary files of a run killed with SIGKILL."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from captchaai_guard.remedy.guide import EXAMPLE_ADVICE, SHELL_LOAD
from tests.conftest import BIN, Repo, Result, console_script, fake_key

README = Path(__file__).resolve().parent.parent / "README.md"
PROGRAM = 'CAPTCHAAI_API_KEY = "{key}"\nprint("key ends with", CAPTCHAAI_API_KEY[-4:])\n'


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPTCHAAI_API_KEY")}


def run_python(repo: Repo, name: str, shell_prefix: str = "") -> subprocess.CompletedProcess[str]:
    command = f"{shell_prefix}{sys.executable} {name}" if shell_prefix else None
    args: list[str] | str = command if command else [sys.executable, name]
    return subprocess.run(
        args, shell=bool(command), cwd=repo.path, env=clean_env(), capture_output=True, text=True, check=False
    )


def printed_shell_load(result: Result) -> str:
    """The shell command fix printed for loading .env."""
    m = re.search(r"repository root: (.+)$", result.out, re.MULTILINE)
    assert m is not None, result.out
    return m.group(1).strip()


def no_key(result: Result, *keys: str) -> None:
    for key in keys:
        assert key not in result.out + result.err


# 1. the program runs after fix -------------------------------------------------------


def test_without_dotenv_fix_prints_how_to_load_env_and_that_works(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", PROGRAM.format(key=key))
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert "load_dotenv" not in (repo.path / "app.py").read_text()
    assert ".env is not loaded by itself" in result.out
    assert "pip install python-dotenv" in result.out
    command = printed_shell_load(result)
    assert command == SHELL_LOAD
    bare = run_python(repo, "app.py")
    assert bare.returncode != 0 and "KeyError: 'CAPTCHAAI_API_KEY'" in bare.stderr
    loaded = run_python(repo, "app.py", shell_prefix=f"{command}; ")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == f"key ends with {key[-4:]}"
    no_key(result, key)


@pytest.mark.parametrize(
    ("dependency_file", "content"),
    [
        ("requirements.txt", "requests>=2\npython-dotenv==1.0.1\n"),
        ("requirements-dev.txt", "python_dotenv\n"),
        ("pyproject.toml", '[project]\nname = "app"\ndependencies = ["python-dotenv>=1"]\n'),
        ("Pipfile", '[packages]\npython-dotenv = "*"\n'),
        ("setup.cfg", "[options]\ninstall_requires =\n    python-dotenv\n"),
    ],
)
def test_project_with_python_dotenv_gets_load_dotenv_and_runs(
    repo: Repo, dependency_file: str, content: str
) -> None:
    key = fake_key()
    repo.write(dependency_file, content)
    repo.stage("app.py", '"""The app."""\n\n' + PROGRAM.format(key=key))
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    text = (repo.path / "app.py").read_text()
    assert text.count("from dotenv import load_dotenv") == 1 and text.count("load_dotenv()") == 1
    assert "; load_dotenv() added (python-dotenv loads .env)" in result.out
    assert ".env is not loaded by itself" not in result.out
    ran = run_python(repo, "app.py")  # nothing exported: python-dotenv reads .env
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"key ends with {key[-4:]}"
    assert ruff(repo, "app.py") == ""
    assert key not in repo.git("show", ":app.py")


def test_dotenv_in_a_subproject_and_module_in_a_subfolder(repo: Repo) -> None:
    key = fake_key()
    repo.write("service/pyproject.toml", '[project]\ndependencies = ["python-dotenv"]\n')
    repo.stage("service/app/main.py", f'import sys\n\nKEY = "{key}"  # captchaai\nprint(KEY[-4:])\n')
    repo.stage("other/tool.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert "load_dotenv()" in (repo.path / "service/app/main.py").read_text()
    assert "load_dotenv" not in (repo.path / "other/tool.py").read_text()  # not that project's
    assert "Python (other/tool.py)" in result.out
    ran = run_python(repo, "service/app/main.py")
    assert ran.returncode == 0 and ran.stdout.strip() == key[-4:], ran.stderr


def test_file_that_calls_load_dotenv_already_is_left_to_it(repo: Repo) -> None:
    key = fake_key()
    source = (
        "from dotenv import load_dotenv\n\nload_dotenv()\n\n"
        f'CAPTCHAAI_API_KEY = "{key}"\nprint(CAPTCHAAI_API_KEY[-4:])\n'
    )
    repo.stage("app.py", source)
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    text = (repo.path / "app.py").read_text()
    assert text.count("load_dotenv()") == 1
    assert ".env is not loaded by itself" not in result.out
    ran = run_python(repo, "app.py")
    assert ran.returncode == 0 and ran.stdout.strip() == key[-4:], ran.stderr


def test_javascript_gets_the_node_way_to_load_env(repo: Repo) -> None:
    key = fake_key()
    repo.stage("client.js", f"const captchaaiApiKey = '{key}';\nconsole.log(captchaaiApiKey.slice(-4));\n")
    repo.stage("run.sh", f"#!/bin/sh\nexport CAPTCHAAI_API_KEY={key}\necho ok\n")
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert "JavaScript/TypeScript (client.js): node --env-file=.env client.js" in result.out
    assert f"run.sh: in the shell, at the repository root: {SHELL_LOAD}" in result.out
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    ran = subprocess.run(
        [node, "--env-file=.env", "client.js"], cwd=repo.path, env=clean_env(), capture_output=True, text=True
    )
    if "bad option" in ran.stderr:
        pytest.skip("this node has no --env-file")
    assert ran.returncode == 0 and ran.stdout.strip() == key[-4:], ran.stderr


def test_script_that_sources_env_and_a_template_need_no_hint(repo: Repo) -> None:
    key = fake_key()
    last_four = '"$(printf %s "$CAPTCHAAI_API_KEY" | tail -c 4)"'
    script = repo.stage(
        "deploy.sh",
        f"#!/bin/sh\nset -a; . ./.env; set +a\nexport CAPTCHAAI_API_KEY={key}\necho {last_four}\n",
    )
    repo.write(".env.example", f"CAPTCHAAI_API_KEY={key}\n")
    repo.git("add", "-f", ".env.example")
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert ".env is not loaded by itself" not in result.out
    assert (repo.path / ".env.example").read_text() == "CAPTCHAAI_API_KEY=\n"
    ran = subprocess.run(["sh", str(script)], cwd=repo.path, env=clean_env(), capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.strip() == key[-4:], ran.stderr


# 2. two keys for one name ---------------------------------------------------------------


def test_two_files_with_two_keys_both_get_fixed_and_both_run(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    repo.stage("a.py", PROGRAM.format(key=key))
    repo.stage("b.py", PROGRAM.format(key=other))
    result = repo.run("fix")
    assert result.code == 0, result.out + result.err
    assert "fix a.py (work tree and staged): reads CAPTCHAAI_API_KEY from the environment" in result.out
    assert "fix b.py (work tree and staged): reads CAPTCHAAI_API_KEY_2 from the environment" in result.out
    assert "(CAPTCHAAI_API_KEY holds a different key)" in result.out
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={key}\nCAPTCHAAI_API_KEY_2={other}\n"
    assert repo.run("scan").code == 0
    assert "After fix: no CaptchaAI API keys in the staged changes." in result.out
    for name, expected in (("a.py", key), ("b.py", other)):
        ran = run_python(repo, name, shell_prefix=f"{SHELL_LOAD}; ")
        assert ran.stdout.strip() == f"key ends with {expected[-4:]}", ran.stderr
    no_key(result, key, other)


def test_explicit_rotation_name_is_kept_and_a_clash_moves_on(repo: Repo) -> None:
    one, two, three = fake_key(), fake_key(), fake_key()
    repo.stage("a.py", f'CAPTCHAAI_API_KEY = "{one}"\n')
    repo.stage("b.py", f'CAPTCHAAI_API_KEY = "{two}"\n')
    repo.stage("c.py", f'CAPTCHAAI_API_KEY_2 = "{three}"\n')  # its own name comes first
    result = repo.run("fix")
    assert result.code == 0, result.out
    env = set((repo.path / ".env").read_text().splitlines())
    assert env == {f"CAPTCHAAI_API_KEY={one}", f"CAPTCHAAI_API_KEY_2={three}", f"CAPTCHAAI_API_KEY_3={two}"}
    assert 'os.environ["CAPTCHAAI_API_KEY_3"]' in (repo.path / "b.py").read_text()
    assert repo.run("scan").code == 0


def test_env_holding_the_name_with_another_key_gives_the_next_free_name(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    repo.write(".env", f"CAPTCHAAI_API_KEY={other}\n")
    (repo.path / ".env").chmod(0o600)
    repo.stage("app.py", PROGRAM.format(key=key))
    result = repo.run("fix")
    assert result.code == 0, result.out
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={other}\nCAPTCHAAI_API_KEY_2={key}\n"
    assert "fix app.py (work tree and staged): reads CAPTCHAAI_API_KEY_2" in result.out
    assert repo.run("scan").code == 0
    ran = run_python(repo, "app.py", shell_prefix=f"{SHELL_LOAD}; ")
    assert ran.stdout.strip() == f"key ends with {key[-4:]}", ran.stderr


# 3. fix and audit agree; one text about .env.example -------------------------------------


def test_fix_then_audit_gitignore_check_passes(repo: Repo) -> None:
    repo.stage("app.py", PROGRAM.format(key=fake_key()))
    result = repo.run("fix")
    assert result.code == 0, result.out
    audit = repo.run("audit", "--format", "json")
    items = {item["id"]: item for item in json.loads(audit.out)}
    assert items["env-files-ignored"]["status"] == "pass", items["env-files-ignored"]
    repo.stage(".env.example", "CAPTCHAAI_API_KEY=\n")  # the template stays committable
    assert ".env.example" in repo.git("ls-files")


def test_example_advice_is_one_text_everywhere(repo: Repo) -> None:
    repo.stage("app.py", PROGRAM.format(key=fake_key()))
    scan = repo.run("scan")
    assert scan.code == 1 and EXAMPLE_ADVICE in scan.out
    fixed = repo.run("fix")
    assert fixed.code == 0 and EXAMPLE_ADVICE in fixed.out
    (repo.path / ".gitignore").write_text("*.log\n")
    audit = repo.run("audit", "--format", "json")
    item = {i["id"]: i for i in json.loads(audit.out)}["env-files-ignored"]
    assert item["status"] == "fail" and EXAMPLE_ADVICE in item["fix"]
    assert "`.env`, `.env.*`, `!.env.example`" in item["fix"]
    readme = README.read_text("utf-8")
    assert readme.count(EXAMPLE_ADVICE) >= 2  # the blocked-commit sample and the fix section
    assert SHELL_LOAD in readme


def test_no_example_advice_when_the_template_exists(repo: Repo) -> None:
    repo.stage(".env.example", "CAPTCHAAI_API_KEY=\n")
    repo.stage("app.py", PROGRAM.format(key=fake_key()))
    result = repo.run("fix")
    assert result.code == 0 and EXAMPLE_ADVICE not in result.out


# 4. import os keeps the file clean for ruff --------------------------------------------


def ruff(repo: Repo, name: str) -> str:
    exe = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed; run: python -m pip install '.[test]'")
    proc = subprocess.run(
        [exe, "check", "--isolated", "--select", "I,E,F", "--output-format", "concise", "--quiet", name],
        cwd=repo.path,
        capture_output=True,
        text=True,
    )
    return proc.stdout + proc.stderr


LAYOUTS = {
    "bare": 'KEY = "{key}"  # captchaai\nprint(KEY)\n',
    "docstring": '"""Settings."""\nCAPTCHAAI_API_KEY = "{key}"\nprint(CAPTCHAAI_API_KEY)\n',
    "future": (
        '#!/usr/bin/env python3\n"""Settings."""\n\nfrom __future__ import annotations\n\n'
        'CAPTCHAAI_API_KEY = "{key}"\nprint(CAPTCHAAI_API_KEY)\n'
    ),
    "sections": (
        '"""App."""\n\nfrom __future__ import annotations\n\nimport json\nimport sys\n'
        "from pathlib import Path\n\nimport requests\n\nfrom mypkg import helpers\n\n"
        'CAPTCHAAI_API_KEY = "{key}"\nprint(json, sys, Path, requests, helpers, CAPTCHAAI_API_KEY)\n'
    ),
    "third_party_only": (
        'import requests\n\n\ndef solve():\n    url = "https://ocr.captchaai.com/in.php"\n'
        '    return requests.post(url, data={{"key": "{key}"}})\n'
    ),
    "decorated": '@print\ndef key():\n    captchaai_api_key = "{key}"\n    return captchaai_api_key\n',
}


@pytest.mark.parametrize("dotenv", [False, True], ids=["plain", "dotenv"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_rewritten_python_is_clean_for_ruff(repo: Repo, layout: str, dotenv: bool) -> None:
    key = fake_key()
    repo.write("mypkg/__init__.py", "helpers = 1\n")
    if dotenv:
        repo.write("requirements.txt", "python-dotenv\n")
    repo.stage("app.py", LAYOUTS[layout].format(key=key))
    assert ruff(repo, "app.py") == ""  # clean before
    result = repo.run("fix", "app.py")
    assert result.code == 0, result.out + result.err
    text = (repo.path / "app.py").read_text()
    assert key not in text and text.count("import os") == 1
    assert ("load_dotenv()" in text) is dotenv
    assert ruff(repo, "app.py") == "", text


# 5. .env: mode 0600, never through a symbolic link ---------------------------------------


def test_existing_env_with_the_key_is_tightened_to_0600(repo: Repo) -> None:
    key = fake_key()
    repo.write(".env", f"CAPTCHAAI_API_KEY={key}\n")
    (repo.path / ".env").chmod(0o644)
    repo.stage("app.py", PROGRAM.format(key=key))
    dry = repo.run("fix", "--dry-run")
    assert "would restrict .env to mode 0600 (was 0644)" in dry.out
    assert stat.S_IMODE((repo.path / ".env").stat().st_mode) == 0o644
    result = repo.run("fix")
    assert result.code == 0, result.out
    assert "restrict .env to mode 0600 (was 0644): it holds a key" in result.out
    assert stat.S_IMODE((repo.path / ".env").stat().st_mode) == 0o600
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={key}\n"


def test_new_env_is_0600_whatever_the_umask(repo: Repo) -> None:
    repo.stage("app.py", PROGRAM.format(key=fake_key()))
    proc = subprocess.run(
        [console_script(), "fix"], cwd=repo.path, capture_output=True, preexec_fn=lambda: os.umask(0)
    )
    assert proc.returncode == 0, proc.stdout
    assert stat.S_IMODE((repo.path / ".env").stat().st_mode) == 0o600


def regular_files(repo: Repo) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in repo.path.iterdir() if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("target_exists", [True, False], ids=["to-a-file", "dangling"])
def test_env_that_is_a_symlink_is_refused(repo: Repo, tmp_path: Path, target_exists: bool) -> None:
    key = fake_key()
    target = tmp_path / "shared.env"
    if target_exists:
        target.write_text("OTHER=1\n")
        target.chmod(0o644)
    (repo.path / ".env").symlink_to(target)
    repo.stage("app.py", PROGRAM.format(key=key))
    before = regular_files(repo)
    index = repo.git("ls-files", "-s")
    for args in (["fix", "--dry-run"], ["fix"]):
        result = repo.run(*args)
        assert result.code == 2, result.out + result.err
        assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
        assert ".env is a symbolic link" in result.err
        no_key(result, key)
    assert regular_files(repo) == before
    assert repo.git("ls-files", "-s") == index
    assert not (repo.path / ".gitignore").exists()
    if target_exists:
        assert target.read_text() == "OTHER=1\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    else:
        assert not target.exists()


# 6. a fix killed with SIGKILL leaves no key where git looks ------------------------------

# Loaded into the fix process through PYTHONPATH: it pauses the process right
# before the temporary file of .env (holding the key) is renamed into place.
PAUSE_HOOK = """\
import os, time
_replace = os.replace
def _paused(src, dst, *args, **kwargs):
    if os.path.basename(os.fspath(dst)) == ".env":
        with open(os.environ["FIX_PAUSED_AT"], "w") as marker:
            marker.write(os.path.abspath(os.fspath(src)))
        time.sleep(300)
    return _replace(src, dst, *args, **kwargs)
os.replace = _paused
"""


def kill_fix_before_env_is_written(repo: Repo, tmp_path: Path) -> Path:
    """Run a real `captchaai-guard fix`, SIGKILL it while the temporary file
    of .env exists; that file's path."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(PAUSE_HOOK)
    marker = tmp_path / "paused"
    path = os.pathsep.join(p for p in (str(hook_dir), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "FIX_PAUSED_AT": str(marker)}
    proc = subprocess.Popen(
        [console_script(), "fix"], cwd=repo.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "fix never reached the write of .env"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return Path(marker.read_text())


def assert_nothing_for_git_to_pick_up(repo: Repo, key: str) -> None:
    status = repo.git("status", "--porcelain", "--ignored=no", "--untracked-files=all")
    assert ".captchaai-guard" not in status, status
    repo.git("add", "-A")
    staged = repo.git("diff", "--cached", "--name-only").split()
    assert not [name for name in staged if "captchaai-guard" in name], staged
    assert key not in repo.git("diff", "--cached", "--", ".", ":!app.py")


def test_sigkill_leaves_the_key_only_inside_the_git_dir(repo: Repo, tmp_path: Path) -> None:
    key = fake_key()
    repo.stage("app.py", PROGRAM.format(key=key))
    temp = kill_fix_before_env_is_written(repo, tmp_path)
    assert temp.read_text() == f"CAPTCHAAI_API_KEY={key}\n"  # paused with the key on disk
    assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    git_dir = Path(repo.git("rev-parse", "--absolute-git-dir").strip())
    assert git_dir in temp.parents
    assert_nothing_for_git_to_pick_up(repo, key)
    again = repo.run("fix")
    assert again.code == 0, again.out + again.err
    assert "removed 1 temporary file an interrupted fix left" in again.out
    assert not temp.exists() and not list((git_dir / "captchaai-guard" / "tmp").iterdir())
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={key}\n"
    no_key(again, key)


def _other_filesystem(than: Path) -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or os.stat(shm).st_dev == os.stat(than).st_dev:
        return None
    return shm


def test_sigkill_with_the_git_dir_on_another_filesystem(tmp_path: Path) -> None:
    """os.replace cannot cross filesystems: the temporary file goes beside
    .env under a name info/exclude ignores, and the next fix removes it."""
    shm = _other_filesystem(tmp_path)
    if shm is None:
        pytest.skip("no second filesystem (/dev/shm) to hold the git directory")
    work = tmp_path / "work"
    git_dir = Path(shm) / f"captchaai-guard-test-{os.getpid()}-{time.monotonic_ns()}.git"
    init = ["git", "init", "-q", "-b", "main", f"--separate-git-dir={git_dir}", str(work)]
    subprocess.run(init, check=True)
    try:
        repo = Repo(work)
        key = fake_key()
        repo.stage("app.py", PROGRAM.format(key=key))
        temp = kill_fix_before_env_is_written(repo, tmp_path)
        assert temp.parent == work
        assert re.fullmatch(r"\.captchaai-guard-\d+-[0-9a-f]+\.tmp", temp.name)
        assert temp.read_text() == f"CAPTCHAAI_API_KEY={key}\n"
        assert ".captchaai-guard-*.tmp" in (git_dir / "info" / "exclude").read_text()
        assert_nothing_for_git_to_pick_up(repo, key)
        again = repo.run("fix")
        assert again.code == 0, again.out + again.err
        assert "removed 1 temporary file an interrupted fix left" in again.out
        assert not temp.exists()
        assert not [p for p in work.iterdir() if p.name.startswith(".captchaai-guard-")]
        assert repo.run("scan").code == 0
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)


def test_leftover_of_an_older_version_at_the_top_is_removed(repo: Repo) -> None:
    key = fake_key()
    leftover = repo.write(".captchaai-guard-k3y_x9a1.tmp", f"CAPTCHAAI_API_KEY={key}\n")
    result = repo.run("fix")
    assert result.code == 0 and "removed 1 temporary file" in result.out
    assert not leftover.exists()
