"""The repository of install, uninstall, audit, fix and baseline, found with
GitPython (captchaai_guard.sources.repository): where git finds it, the
same errors as git's answers give, and a missing or broken git is one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Repo, env_with, fake_key, repo_apart
from tests.robust import assert_one_error_line

# The commands that find their repository with GitPython (install: for the
# note about submodules, and the top it recurses from).
COMMANDS = [
    ["audit"],
    ["fix", "--dry-run"],
    ["baseline", "--output", "-"],
    ["install"],
    ["install", "--recurse-submodules"],
    ["uninstall", "--recurse-submodules"],
]
ids = pytest.mark.parametrize("args", COMMANDS, ids=" ".join)


def _baselined_paths(out: str) -> list[str]:
    return [entry["path"] for entry in json.loads(out)["findings"]]


def _tree(path: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(top, name), path)
        for top, dirs, files in os.walk(path)
        for name in dirs + files
    }


def test_the_top_is_found_from_a_subfolder_and_in_a_linked_worktree(repo: Repo, tmp_path: Path) -> None:
    repo.stage("conf/a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit("key")
    result = repo.run("baseline", "--output", "-", cwd=repo.path / "conf")
    assert result.code == 0, result.err
    assert _baselined_paths(result.out) == ["conf/a.env"]  # paths from the top: the top was found
    linked = tmp_path / "linked tree"
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked))
    other = Repo(linked)
    other.stage("conf/b.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = other.run("baseline", "--output", "-", cwd=linked / "conf")
    assert _baselined_paths(result.out) == ["conf/a.env", "conf/b.env"], result.err
    result = other.run("audit", "--format", "json", cwd=linked / "conf")
    assert result.code == 1, result.err  # the keys of the linked work tree: a Required item fails
    assert "conf/b.env" in result.out


@pytest.mark.parametrize("args", [["audit"], ["fix"], ["baseline"]], ids=" ".join)
def test_bare_repository_and_git_folder_are_clear_errors(repo: Repo, tmp_path: Path, args: list[str]) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    assert_one_error_line(repo.run(*args, cwd=bare / "refs"), "bare repository")
    assert_one_error_line(repo.run(*args, cwd=repo.path / ".git" / "objects"), "inside the .git folder")
    assert_one_error_line(repo.run(*args, cwd=tmp_path), "not a git repository")


def test_ceiling_directories_stop_the_search_where_they_stop_git(repo: Repo) -> None:
    """GitPython's own search ignores GIT_CEILING_DIRECTORIES; git does not go
    up into one of them, and neither do these commands."""
    sub = repo.path / "sub"
    sub.mkdir()
    repo.stage("sub/a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    ceiling = env_with(GIT_CEILING_DIRECTORIES=str(repo.path))
    probe = subprocess.run(["git", "rev-parse"], cwd=sub, env=ceiling, capture_output=True, check=False)
    assert probe.returncode != 0  # git: not a repository here
    for args in (["audit"], ["fix"], ["baseline"], ["install", "--recurse-submodules"]):
        assert_one_error_line(repo.run(*args, cwd=sub, env=ceiling), "not a git repository")
    # A ceiling is never the folder git starts in: from the top, the repository is found.
    assert repo.run("baseline", "--output", "-", env=ceiling).code == 0
    below = env_with(GIT_CEILING_DIRECTORIES=str(sub))
    assert repo.run("baseline", "--output", "-", cwd=sub, env=below).code == 0


@pytest.fixture
def mounted(repo: Repo) -> Iterator[Path]:
    """A tmpfs mounted in the work tree (root only; skipped elsewhere)."""
    target = repo.path / "mnt"
    target.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], capture_output=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_the_search_stops_at_a_file_system_boundary_as_git_does(repo: Repo, mounted: Path) -> None:
    assert_one_error_line(repo.run("baseline", "--output", "-", cwd=mounted), "not a git repository")
    across = env_with(GIT_DISCOVERY_ACROSS_FILESYSTEM="1")
    result = repo.run("baseline", "--output", "-", cwd=mounted, env=across)
    assert result.code == 0, result.err


def test_git_dir_and_work_tree_set(repo: Repo, tmp_path: Path) -> None:
    env, work = repo_apart(tmp_path)
    for cwd in (tmp_path, work / "sub"):
        result = repo.run("baseline", "--output", "-", cwd=cwd, env=env)
        assert _baselined_paths(result.out) == ["sub/a.env"], (cwd, result.err)


def test_a_broken_dot_git_file_is_named(repo: Repo) -> None:
    sub = repo.path / "vendor"
    sub.mkdir()
    (sub / ".git").write_text("not a gitfile\n")
    for args in (["audit"], ["baseline"], ["fix"]):
        assert_one_error_line(repo.run(*args, cwd=sub), str(sub / ".git"))


@ids
def test_git_missing(repo: Repo, tmp_path: Path, args: list[str]) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = env_with(PATH=str(empty), GIT_PYTHON_REFRESH="warn")  # (GitPython's advice would be pages)
    assert_one_error_line(repo.run(*args, env=env), "git was not found")
    assert_one_error_line(repo.run("uninstall", env=env), "git was not found")


@pytest.mark.parametrize("code", [0, 1])
@ids
def test_a_git_that_prints_junk_is_named(repo: Repo, tmp_path: Path, args: list[str], code: int) -> None:
    """A ``git`` first on PATH that answers everything with junk: one line
    with what it printed (keys masked), and nothing written anywhere."""
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    key = fake_key()
    stream = "" if code == 0 else " >&2"
    bindir = tmp_path / "junk-bin"
    bindir.mkdir()
    script = bindir / "git"
    script.write_text(
        f'#!/bin/sh\necho "garbage {key} words"{stream}\necho "second line"{stream}\nexit {code}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    before = _tree(repo.path)
    result = repo.run(*args, env=env_with(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}"))
    assert_one_error_line(result, "garbage ***" + key[-4:])
    assert key not in result.err and "second line" not in result.err
    assert _tree(repo.path) == before


def test_gitpython_settings_change_nothing(repo: Repo) -> None:
    """GitPython's own variables (another git, loud start-up checks) neither
    change what the commands see nor add output."""
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    env = env_with(GIT_PYTHON_GIT_EXECUTABLE="/nonexistent/git", GIT_PYTHON_REFRESH="error")
    result = repo.run("baseline", "--output", "-", env=env)
    assert result.code == 0 and result.err == "", result.err
    assert _baselined_paths(result.out) == ["app.py"]
    result = repo.run("install", env=env)
    assert result.code == 0 and result.err == "", result.err


def test_dubious_ownership_is_git_s_one_line(repo: Repo) -> None:
    """GitPython opens a repository git refuses (safe.directory); the next
    thing asked of git says why, in one line."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    subprocess.run(["chown", "-R", "65534:65534", str(repo.path)], check=True)
    for args in (["audit"], ["fix"], ["baseline"], ["install"], ["install", "--recurse-submodules"]):
        assert_one_error_line(repo.run(*args), "dubious ownership")


def test_modules_load_gitpython_only_when_they_look_for_the_repository(repo: Repo) -> None:
    """Importing the commands does not load GitPython (the scan and the hook
    import some of them); finding the repository does, and leaves no child
    process behind (no zombie: GitPython's ``git version`` is waited for)."""
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "import captchaai_guard.commands.install, captchaai_guard.commands.audit\n"
        "import captchaai_guard.commands.fix, captchaai_guard.commands.baseline\n"
        "from captchaai_guard.sources import repository\n"
        "print('git' in sys.modules)\n"
        "print(repository.work_tree(), repository.is_work_tree_top(Path('.')))\n"
        "print('git' in sys.modules)\n"
        "try:\n"
        "    os.waitpid(-1, os.WNOHANG)\n"
        "except ChildProcessError:\n"
        "    print('no child')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False", f"{repo.path.resolve()} True", "True", "no child"]
    assert proc.stderr == ""
