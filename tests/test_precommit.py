"""The hook under the real pre-commit framework (``pre-commit try-repo`` and
``pre-commit run`` against a committed copy of this checkout).

The hook environment is built once per test session (a session-wide
``PRE_COMMIT_HOME``); the first test pays for it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from captchaai_guard import PROJECT_URL
from tests.conftest import BIN, Repo, fake_key
from tests.test_signals import Stopped, catches, group, interrupt, slow_git

# One worker runs them all, so the session-wide environment is built once.
pytestmark = [pytest.mark.precommit, pytest.mark.xdist_group("precommit")]

PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Checkout:
    path: Path
    sha: str


def _git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.com",
    )
    return env


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Checkout:
    """This work tree (tracked and new files, uncommitted edits included),
    committed into a fresh repository so pre-commit can clone a revision."""
    env = _git_env(tmp_path_factory.mktemp("checkout-home"))
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
        env=env,
    ).stdout
    target = tmp_path_factory.mktemp("checkout") / "captchaai-guard"
    target.mkdir()
    for raw in listed.split(b"\0"):
        if not raw:
            continue
        name = os.fsdecode(raw)
        source = PROJECT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "snapshot"],
    ):
        subprocess.run(["git", *args], cwd=target, check=True, capture_output=True, env=env)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=target, check=True, capture_output=True, text=True, env=env
    ).stdout.strip()
    return Checkout(target, sha)


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(autouse=True)
def shared_home(isolated_git: None, pre_commit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    yield


@dataclass
class Run:
    code: int
    output: str


def pre_commit(repo: Repo, *args: str, env: dict[str, str] | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


def try_repo(repo: Repo, checkout: Checkout, *args: str) -> Run:
    return pre_commit(repo, "try-repo", str(checkout.path), "captchaai-guard", "--ref", checkout.sha, *args)


def use_config(repo: Repo, checkout: Checkout, **hook: object) -> None:
    """A .pre-commit-config.yaml (staged) using the checkout at its commit."""
    config = {
        "repos": [
            {"repo": str(checkout.path), "rev": checkout.sha, "hooks": [{"id": "captchaai-guard", **hook}]}
        ]
    }
    repo.stage(".pre-commit-config.yaml", yaml.safe_dump(config))


def key_line(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def test_hook_definition_parses() -> None:
    (hook,) = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "captchaai-guard"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    assert {"pre-commit", "pre-push"} <= set(hook["stages"])
    own = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())
    assert [h["id"] for r in own["repos"] for h in r["hooks"]] == ["captchaai-guard"]


def test_try_repo_staged_key_fails_clean_change_passes(repo: Repo, checkout: Checkout) -> None:
    # try-repo builds the hook environment in a throw-away store every time,
    # so it runs once; the clean change goes through the cached environment.
    key = fake_key()
    repo.stage("app.py", key_line(key))
    run = try_repo(repo, checkout)
    assert run.code == 1, run.output
    assert f"***{key[-4:]}" in run.output
    assert key not in run.output
    assert "git commit --no-verify" in run.output

    repo.stage("app.py", 'import os\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n')
    use_config(repo, checkout)
    run = pre_commit(repo, "run")
    assert run.code == 0, run.output
    assert "Passed" in run.output


def test_files_and_exclude_are_honoured(repo: Repo, checkout: Checkout) -> None:
    use_config(repo, checkout, exclude="^tests/fixtures/", files=r"\.(py|json)$")
    repo.stage("tests/fixtures/fake.py", key_line(fake_key()))  # excluded
    repo.stage("notes.txt", key_line(fake_key()))  # not in files:
    repo.stage("app.py", "x = 1\n")
    run = pre_commit(repo, "run")
    assert run.code == 0, run.output

    key = fake_key()
    repo.stage("config.json", f'{{"key": "{key}"}}\n')
    run = pre_commit(repo, "run")
    assert run.code == 1, run.output
    assert f"***{key[-4:]}" in run.output and key not in run.output
    assert "fake.py" not in run.output and "notes.txt" not in run.output


def test_all_files_with_nothing_staged_scans_whole_files(repo: Repo, checkout: Checkout) -> None:
    use_config(repo, checkout, exclude="^fixtures/")
    key = fake_key()
    repo.stage("fixtures/demo.py", key_line(fake_key()))
    repo.stage("app.py", key_line(key))
    repo.commit("keys committed without the hook")
    run = pre_commit(repo, "run", "--all-files")
    assert run.code == 1, run.output
    assert "app.py:1:22" in run.output and key not in run.output
    assert "demo.py" not in run.output

    repo.stage("app.py", "x = 1\n")
    repo.commit("removed")
    run = pre_commit(repo, "run", "--all-files")
    assert run.code == 0, run.output


def test_push_stage_scans_the_pushed_range(repo: Repo, checkout: Checkout) -> None:
    use_config(repo, checkout)
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    key = fake_key()
    repo.stage("app.py", key_line(key))
    repo.commit("key")
    repo.stage("app.py", "x = 1\n")
    tip = repo.commit("key removed again")
    run = pre_commit(repo, "run", "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", tip)
    assert run.code == 1, run.output
    assert f"***{key[-4:]}" in run.output and key not in run.output
    assert "git push --no-verify" in run.output

    repo.stage("app.py", "x = 2\n")
    clean = repo.commit("clean")
    run = pre_commit(repo, "run", "--hook-stage", "pre-push", "--from-ref", tip, "--to-ref", clean)
    assert run.code == 0, run.output


def test_project_config_runs_its_own_hook(checkout: Checkout, tmp_path: Path) -> None:
    """Dogfooding: the project's own configuration passes on the project."""
    copy = Repo(tmp_path / "self")
    shutil.copytree(checkout.path, copy.path)
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    run = pre_commit(copy, "run", "--all-files", env=dict(os.environ, PATH=path))
    assert run.code == 0, run.output
    assert "captchaai-guard" in run.output and "Passed" in run.output


def test_submodule_with_its_own_config_blocks_its_commits(
    repo: Repo, checkout: Checkout, tmp_path: Path
) -> None:
    """The framework's hook in a submodule: the submodule's own config and
    `pre-commit install` inside it (the superproject's hook never sees its files)."""
    origin = Repo(tmp_path / "origin")
    origin.path.mkdir()
    origin.git("init", "-q", "-b", "main")
    origin.stage("lib.txt", "lib\n")
    origin.commit("lib")
    repo.stage("README.md", "hello\n")
    repo.commit("top")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(origin.path), "vendor/lib")
    inner = Repo(repo.path / "vendor" / "lib")
    use_config(inner, checkout)
    inner.commit("config")
    assert pre_commit(inner, "install").code == 0
    key = fake_key()
    inner.stage("app.py", key_line(key))
    proc = subprocess.run(["git", "commit", "-m", "key"], cwd=inner.path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"***{key[-4:]}" in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr


def test_a_blocked_commit_says_how_to_get_the_commands_it_names(repo: Repo, checkout: Checkout) -> None:
    """pre-commit keeps captchaai-guard in an environment of its own: the
    advice names a command (captchaai-guard fix) only after the line that
    installs it. The standalone hook, run from an install, does not."""
    use_config(repo, checkout)
    repo.stage("app.py", key_line(fake_key()))
    run = pre_commit(repo, "run")
    assert run.code == 1, run.output
    lines = run.output.splitlines()
    install = next(n for n, line in enumerate(lines) if f"pipx install git+{PROJECT_URL}" in line)
    assert any(f"python -m pip install git+{PROJECT_URL}" in line for line in lines[install:])
    named = re.compile(r"captchaai-guard (fix|baseline|install)\b")
    commands = [n for n, line in enumerate(lines) if named.search(line)]
    assert commands and min(commands) > install, run.output

    repo.stage(".pre-commit-config.yaml", "repos: []\n")
    hook = subprocess.run(
        [str(BIN / "captchaai-guard-hook"), "pre-commit"], cwd=repo.path, capture_output=True, text=True
    )
    assert hook.returncode == 1 and "captchaai-guard fix" in hook.stderr
    assert "pipx install" not in hook.stderr


def _framework_run(repo: Repo, tmp_path: Path, signum: int, whole_group: bool) -> Stopped:
    """``pre-commit run`` with a git that holds the scan's diff open,
    interrupted once the hook's Python runs (and catches SIGTERM)."""
    marker = tmp_path / "git-printed"
    env = slow_git(tmp_path, marker)
    del env["GIT_EXEC_PATH"]  # (pre-commit runs git itself: its own git stays the real one)
    found: list[int] = []

    def ready(proc: subprocess.Popen[bytes]) -> bool:
        for line in group(proc.pid, width=1 << 16) if marker.exists() else []:
            pid, _, command = line.partition(": ")
            if "captchaai_guard.commands.hook" in command and catches(int(pid), signal.SIGTERM):
                found[:] = [int(pid)]
                return True
        return False

    return interrupt(
        [sys.executable, "-m", "pre_commit", "run", "--color", "never"],
        repo.path,
        env,
        signum,
        ready,
        target=lambda proc: found[0],
        whole_group=whole_group,
        merged=True,
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads processes from /proc")
def test_a_signal_under_the_framework_leaves_nothing_running(
    repo: Repo, checkout: Checkout, tmp_path: Path
) -> None:
    use_config(repo, checkout)
    repo.stage("app.py", key_line(fake_key()))
    assert pre_commit(repo, "run").code == 1  # (the hook environment is ready)

    stopped = _framework_run(repo, tmp_path / "term", signal.SIGTERM, whole_group=False)
    assert stopped.code == 1, stopped.err
    assert stopped.err.count("captchaai-guard: error: interrupted by SIGTERM") == 1, stopped.err
    assert "Traceback" not in stopped.err
    assert not stopped.left, stopped.left

    # Ctrl-C: pre-commit stops too (its own message), and no git stays behind.
    stopped = _framework_run(repo, tmp_path / "int", signal.SIGINT, whole_group=True)
    assert stopped.code != 0
    assert "Traceback" not in stopped.err
    assert not stopped.left, stopped.left


def _readme_top() -> str:
    text = (PROJECT / "README.md").read_text("utf-8")
    return text[: text.index("\n## ")]


def test_readme_starts_with_what_a_new_user_runs_in_their_own_repository() -> None:
    top = _readme_top()
    for command in (f"pipx install git+{PROJECT_URL}", f"python -m pip install git+{PROJECT_URL}"):
        assert command in top
    assert top.index(f"pipx install git+{PROJECT_URL}") < top.index("captchaai-guard install")
    text = (PROJECT / "README.md").read_text("utf-8")
    configs = [
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
        if "repos:" in block and "captchaai-guard" in block
    ]
    assert len(configs) >= 2
    listed = subprocess.run(["git", "tag"], cwd=PROJECT, capture_output=True, text=True, check=False)
    tags = listed.stdout.split()
    for config in configs:
        (entry,) = config["repos"]
        assert entry["repo"] == PROJECT_URL
        assert [hook["id"] for hook in entry["hooks"]] == ["captchaai-guard"]
        # No release tags yet: a tag the project does not have would make pre-commit fail.
        rev = str(entry["rev"])
        assert rev in tags or not re.fullmatch(r"v?\d+(\.\d+)*", rev), rev
    assert "pre-commit autoupdate" in text


def test_a_new_user_installs_from_the_git_url(checkout: Checkout, tmp_path: Path) -> None:
    """The README's install line (pip from the project's git URL, here its
    committed copy), then ``captchaai-guard install`` in a repository of
    one's own: a commit with a key is blocked, the advice names commands
    the user now has."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    url = f"git+file://{checkout.path}@{checkout.sha}"  # for git+{PROJECT_URL}
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", url], capture_output=True, text=True, check=False
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    own = Repo(tmp_path / "own")
    own.path.mkdir()
    own.git("init", "-q")
    install = subprocess.run(
        [str(venv / "bin" / "captchaai-guard"), "install"], cwd=own.path, capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr
    key = fake_key()
    own.stage("settings.py", key_line(key))
    commit = subprocess.run(
        ["git", "commit", "-q", "-m", "key"], cwd=own.path, capture_output=True, text=True
    )
    assert commit.returncode == 1, commit.stdout + commit.stderr
    assert f"***{key[-4:]}" in commit.stderr and key not in commit.stderr
    assert "captchaai-guard fix" in commit.stderr and "pipx install" not in commit.stderr
    assert own.git("rev-list", "--all") == ""  # nothing was committed
