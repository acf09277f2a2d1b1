"""Shared fixtures: real git repositories in temporary folders and the
installed ``captchaai-guard`` console script run as a subprocess."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def console_script(name: str = "captchaai-guard") -> str:
    """The installed console script next to this interpreter."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run: python -m pip install '.[test]'")
    return found


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch ``os.fork`` to record the children this process forks (their pids)."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    return forks


def env_with(**extra: str) -> dict[str, str]:
    """This process's environment with ``extra`` set."""
    return {**os.environ, **extra}


def repo_apart(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A repository kept apart from its work tree (``GIT_DIR`` and
    ``GIT_WORK_TREE`` name them) with ``sub/a.env`` staged, holding a fake
    key on line 1: the environment that names them, and the work tree."""
    git_dir, work = tmp_path / "store.git", tmp_path / "checkout"
    work.mkdir()
    env = env_with(GIT_DIR=str(git_dir), GIT_WORK_TREE=str(work))
    subprocess.run(["git", "init", "-q"], env=env, cwd=tmp_path, check=True)
    (work / "sub").mkdir()
    (work / "sub" / "a.env").write_text(f"CAPTCHAAI_API_KEY={fake_key()}\n")
    subprocess.run(["git", "add", "-A"], env=env, cwd=work, check=True)
    return env, work


def fake_key() -> str:
    """A fresh random 32-hex key, made at run time (never a real key)."""
    return secrets.token_hex(16)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Repo:
    path: Path

    def git(self, *args: str, check: bool = True, input: str | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=False, input=input
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def stage(self, name: str, content: str | bytes) -> Path:
        target = self.write(name, content)
        self.git("add", "--", name)
        return target

    def commit(self, message: str = "commit") -> str:
        self.git("commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        proc = subprocess.run(
            [console_script(), *args],
            cwd=cwd or self.path,
            capture_output=True,
            input=input,
            check=False,
            env=env,
        )
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git configuration leaks into a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "PRE_COMMIT_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PRE_COMMIT_HOME", str(home / ".cache" / "pre-commit"))
    os.environ.pop("CAPTCHAAI_API_KEY", None)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    yield Repo(path)
