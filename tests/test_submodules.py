"""Submodules: ``install --recurse-submodules`` puts the hook in every
checked-out submodule (recursively), ``scan --files`` reads their files, and
what the superproject's own staged scan sees (only the gitlink)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from captchaai_guard.commands.install import BACKUP_SUFFIX, SIGNATURE
from tests.conftest import Repo, Result, fake_key

FILE_PROTOCOL = ("-c", "protocol.file.allow=always")


def commit(cwd: Path, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=cwd, capture_output=True, text=True, check=False
    )


def key_line(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def new_repo(path: Path, name: str) -> Repo:
    path.mkdir()
    repo = Repo(path)
    repo.git("init", "-q", "-b", "main")
    repo.stage(f"{name}.txt", f"{name}\n")
    repo.commit(name)
    return repo


def add_submodule(outer: Repo, source: Repo, where: str) -> Repo:
    outer.git(*FILE_PROTOCOL, "submodule", "add", "-q", str(source.path), where)
    outer.commit(f"add {where}")
    return Repo(outer.path / where)


def git_dir_hook(repo: Repo, hook_type: str = "pre-commit") -> Path:
    out = repo.git("rev-parse", "--path-format=absolute", "--git-path", f"hooks/{hook_type}")
    return Path(out.strip())


def findings(result: Result) -> set[tuple[str, int]]:
    assert result.code in (0, 1), result.err
    return {(f["path"], f["line"]) for f in json.loads(result.out)["findings"]}


@pytest.fixture
def tree(repo: Repo, tmp_path: Path) -> tuple[Repo, Repo, Repo]:
    """``repo`` with the submodule ``vendor/inner``, which has its own
    submodule ``deep``: (superproject, inner, deep), all checked out."""
    repo.stage("top.txt", "top\n")
    repo.commit("top")
    inner = add_submodule(repo, new_repo(tmp_path / "inner-origin", "inner"), "vendor/inner")
    deep = add_submodule(inner, new_repo(tmp_path / "deep-origin", "deep"), "deep")
    repo.git("add", "vendor/inner")
    repo.commit("inner has deep")
    return repo, inner, deep


def test_recurse_submodules_blocks_keys_committed_inside_them(tree: tuple[Repo, Repo, Repo]) -> None:
    top, inner, deep = tree
    result = top.run("install", "--recurse-submodules")
    assert result.code == 0, result.err
    assert "submodule vendor/inner: " in result.out and "submodule vendor/inner/deep: " in result.out
    for repo in (top, inner, deep):
        hook = git_dir_hook(repo)
        assert SIGNATURE in hook.read_text(), hook
    assert "/.git/modules/vendor/inner/hooks/" in str(git_dir_hook(inner))

    for repo in (inner, deep):
        key = fake_key()
        repo.stage("settings.py", key_line(key))
        proc = commit(repo.path, "key inside a submodule")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"***{key[-4:]}" in proc.stderr and key not in proc.stderr
        assert "settings.py:1:22" in proc.stderr  # relative to the submodule it is committed in
        repo.stage("settings.py", "import os\n")
        proc = commit(repo.path, "clean")
        assert proc.returncode == 0, proc.stderr

    again = top.run("install", "--recurse-submodules")
    assert again.code == 0 and again.out.count("already installed") == 3, again.out


def test_without_recursion_only_the_superproject_is_covered(tree: tuple[Repo, Repo, Repo]) -> None:
    """The superproject's hook sees a submodule change as a gitlink only."""
    top, inner, _deep = tree
    result = top.run("install")
    assert result.code == 0, result.err
    assert "2 submodules have no pre-commit hook" in result.out and "--recurse-submodules" in result.out
    assert not git_dir_hook(inner).exists()
    key = fake_key()
    inner.stage("settings.py", key_line(key))
    assert commit(inner.path, "key, nothing checks it").returncode == 0
    top.git("add", "vendor/inner")
    proc = commit(top.path, "bump the submodule")
    assert proc.returncode == 0, proc.stderr  # the gitlink holds no key
    # ...while scan --files reads the submodule's files
    assert findings(top.run("scan", "--files", "--format", "json")) == {("vendor/inner/settings.py", 1)}


def test_scan_files_descends_into_submodules(tree: tuple[Repo, Repo, Repo]) -> None:
    top, inner, deep = tree
    assert top.run("scan", "--files").code == 0
    inner.stage("committed.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    inner.commit("key")
    deep.stage("conf/staged.py", key_line(fake_key()))  # staged, not committed
    deep.write("untracked.py", key_line(fake_key()))  # not tracked: not a tracked file
    top.write("vendor/loose.py", key_line(fake_key()))  # not tracked either
    expected = {("vendor/inner/committed.env", 1), ("vendor/inner/deep/conf/staged.py", 1)}
    assert findings(top.run("scan", "--files", "--format", "json")) == expected
    # from a subdirectory too, paths from the superproject's top
    assert findings(top.run("scan", "--files", "--format", "json", cwd=top.path / "vendor")) == expected
    # the configuration's excludes apply to them
    top.write(".captchaai-guard.toml", 'exclude = ["vendor/inner/deep/**"]\n')
    assert findings(top.run("scan", "--files", "--format", "json")) == {("vendor/inner/committed.env", 1)}
    # a baseline made of the same files accepts them all
    assert top.run("baseline").code == 0
    assert top.run("scan", "--files").code == 0


def test_submodules_not_checked_out_are_named_and_skipped(
    tree: tuple[Repo, Repo, Repo], tmp_path: Path
) -> None:
    top, _inner, _deep = tree
    add_submodule(top, new_repo(tmp_path / "other-origin", "other"), "vendor/other")
    top.git("submodule", "deinit", "-q", "vendor/other")
    # a gitlink without a .gitmodules entry (git submodule foreach stops at it)
    top.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor/stray")
    result = top.run("install", "--recurse-submodules")
    assert result.code == 0, result.err
    assert "submodule vendor/other: not checked out" in result.out
    assert "submodule vendor/stray: not checked out" in result.out
    assert "submodule vendor/inner/deep: " in result.out
    assert top.run("scan", "--files").code == 0


def test_uninstall_recurse_submodules_restores_each_previous_hook(tree: tuple[Repo, Repo, Repo]) -> None:
    top, inner, deep = tree
    previous = git_dir_hook(inner)
    previous.parent.mkdir(parents=True, exist_ok=True)
    previous.write_text("#!/bin/sh\nexit 0\n")
    previous.chmod(0o755)
    assert top.run("install", "--recurse-submodules").code == 0
    assert (previous.parent / f"pre-commit{BACKUP_SUFFIX}").is_file()
    result = top.run("uninstall", "--recurse-submodules")
    assert result.code == 0, result.err
    assert not git_dir_hook(top).exists() and not git_dir_hook(deep).exists()
    assert previous.read_text() == "#!/bin/sh\nexit 0\n"


def test_one_hooks_directory_for_all_is_handled_once(tree: tuple[Repo, Repo, Repo], tmp_path: Path) -> None:
    shared = tmp_path / "shared-hooks"
    top, inner, _deep = tree
    top.git("config", "--global", "core.hooksPath", str(shared))
    result = top.run("install", "--recurse-submodules")
    assert result.code == 0, result.err
    assert result.out.count("uses the hooks of the superproject") == 2
    key = fake_key()
    inner.stage("settings.py", key_line(key))
    assert commit(inner.path, "key").returncode == 1
    result = top.run("uninstall", "--recurse-submodules")
    assert result.code == 0, result.err  # not a second uninstall that finds nothing or a restored hook
    assert not (shared / "pre-commit").exists()


def test_a_failing_submodule_is_reported_and_the_others_installed(tree: tuple[Repo, Repo, Repo]) -> None:
    top, inner, deep = tree
    hook = git_dir_hook(inner)
    hook.parent.mkdir(parents=True, exist_ok=True)
    for path in (hook, hook.with_name(hook.name + BACKUP_SUFFIX)):
        path.write_text("#!/bin/sh\nexit 0\n")
    result = top.run("install", "--recurse-submodules")
    assert result.code == 2
    assert "captchaai-guard: error: submodule vendor/inner: " in result.err and "already exists" in result.err
    assert "Traceback" not in result.err
    assert SIGNATURE in git_dir_hook(top).read_text() and SIGNATURE in git_dir_hook(deep).read_text()
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"


def test_pre_push_hooks_in_submodules(tree: tuple[Repo, Repo, Repo]) -> None:
    top, inner, deep = tree
    assert top.run("install", "--hook-type", "pre-push", "--recurse-submodules").code == 0
    for repo in (top, inner, deep):
        assert SIGNATURE in git_dir_hook(repo, "pre-push").read_text()
        assert not git_dir_hook(repo).exists()


def test_recursion_needs_a_work_tree(tmp_path: Path, repo: Repo) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    result = repo.run("install", "--recurse-submodules", cwd=bare)
    assert result.code == 2 and "--recurse-submodules needs a work tree" in result.err
    assert len(result.err.splitlines()) == 1
    assert repo.run("install", cwd=bare).code == 0  # a bare repository's own hook still installs
