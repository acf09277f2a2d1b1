"""Every kind of index entry and repository state: deletions, renames,
copies, mode changes, symlinks, submodules, empty files, the first commit,
merges, linked worktrees, bare repositories and GIT_DIR/GIT_WORK_TREE."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import Repo, env_with, fake_key, repo_apart
from tests.robust import assert_one_error_line, commit_base, where


def _committed_key(repo: Repo, name: str = "deploy/run.sh") -> str:
    key = fake_key()
    repo.stage(name, f"#!/bin/sh\nexport CAPTCHAAI_API_KEY={key}\necho run\n")
    repo.commit("key")
    return key


def test_deletion_of_a_file_with_a_key_passes(repo: Repo) -> None:
    _committed_key(repo)
    repo.git("rm", "-q", "deploy/run.sh")
    result = repo.run("scan")
    assert result.code == 0, result.out


def test_pure_rename_is_not_reflagged(repo: Repo) -> None:
    _committed_key(repo)
    (repo.path / "scripts").mkdir()
    repo.git("mv", "deploy/run.sh", "scripts/start.sh")
    assert repo.run("scan").code == 0


def test_rename_with_an_added_key_is_flagged(repo: Repo) -> None:
    _committed_key(repo)
    (repo.path / "scripts").mkdir()
    repo.git("mv", "deploy/run.sh", "scripts/start.sh")
    with (repo.path / "scripts/start.sh").open("a") as handle:
        handle.write(f"export CAPTCHAAI_API_KEY_2={fake_key()}\n")
    repo.git("add", "scripts/start.sh")
    assert "rename" in repo.git("diff", "--cached", "-M")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("scripts/start.sh", 4)}


def test_copy_puts_the_key_in_a_new_file_and_is_flagged(repo: Repo) -> None:
    _committed_key(repo)
    repo.git("config", "diff.renames", "copies")
    (repo.path / "copy.sh").write_bytes((repo.path / "deploy/run.sh").read_bytes())
    repo.git("add", "copy.sh")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("copy.sh", 2)}


def test_mode_change(repo: Repo) -> None:
    _committed_key(repo)
    repo.git("update-index", "--chmod=+x", "deploy/run.sh")
    assert "new mode" in repo.git("diff", "--cached")
    assert repo.run("scan").code == 0
    with (repo.path / "deploy/run.sh").open("a") as handle:
        handle.write(f"export CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.git("add", "deploy/run.sh")
    repo.git("update-index", "--chmod=+x", "deploy/run.sh")
    assert where(repo.run("scan", "--format", "json")) == {("deploy/run.sh", 4)}


def test_symlink_target_is_not_content(repo: Repo) -> None:
    key = fake_key()
    os.symlink(f"CAPTCHAAI_API_KEY={key}", repo.path / "link")
    os.symlink("real.env", repo.path / "alias.env")
    repo.stage("real.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.git("add", "link", "alias.env")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("real.env", 1)}
    assert where(repo.run("scan", "--files", "--format", "json")) == {("real.env", 1)}
    repo.commit("links")
    assert where(repo.run("scan", "--commits", "HEAD", "--format", "json")) == {("real.env", 1)}


def test_file_replaced_by_symlink_and_back(repo: Repo) -> None:
    repo.stage("conf.env", "A=1\n")
    repo.commit("file")
    (repo.path / "conf.env").unlink()
    os.symlink(f"CAPTCHAAI_API_KEY={fake_key()}", repo.path / "conf.env")
    repo.git("add", "conf.env")
    assert repo.run("scan").code == 0
    repo.commit("symlink")
    (repo.path / "conf.env").unlink()
    repo.stage("conf.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    assert where(repo.run("scan", "--format", "json")) == {("conf.env", 1)}


def test_submodule(repo: Repo, tmp_path: Path) -> None:
    inner = Repo(tmp_path / "inner")
    inner.path.mkdir()
    inner.git("init", "-q", "-b", "main")
    inner.stage("inner.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    inner.commit("inner key")
    repo.stage("top.txt", "top\n")
    repo.commit("top")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "vendor/inner")
    repo.git("config", "diff.submodule", "diff")
    result = repo.run("scan", "--format", "json")
    assert result.code == 0, result.out + result.err
    # A gitlink added by hand, pointing at a commit that is not present.
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor/missing")
    assert repo.run("scan").code == 0
    repo.commit("submodules")
    assert repo.run("scan", "--commits", "HEAD").code == 0
    # --files reads the files of the checked-out submodule too (paths from the top).
    assert where(repo.run("scan", "--files", "--format", "json")) == {("vendor/inner/inner.env", 1)}
    # A key added next to the submodules is still found.
    repo.stage("vendor/new.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    assert where(repo.run("scan", "--format", "json")) == {("vendor/new.env", 1)}


def test_empty_files_and_no_trailing_newline(repo: Repo) -> None:
    repo.stage("empty.env", "")
    repo.stage("empty2.py", b"")
    assert repo.run("scan").code == 0
    repo.stage("nonl.env", f"# a\n# b\nCAPTCHAAI_API_KEY={fake_key()}".encode())
    repo.stage("nonl_crlf.env", f"# a\r\nCAPTCHAAI_API_KEY={fake_key()}\r".encode())
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("nonl.env", 3), ("nonl_crlf.env", 2)}
    repo.commit()
    assert where(repo.run("scan", "--commits", "HEAD", "--format", "json")) == {
        ("nonl.env", 3),
        ("nonl_crlf.env", 2),
    }


def test_first_commit_has_no_head(repo: Repo) -> None:
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""
    assert repo.run("scan").code == 0  # nothing staged, no HEAD
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    assert where(repo.run("scan", "--format", "json")) == {("a.env", 1)}


def test_orphan_branch_has_no_head(repo: Repo) -> None:
    _committed_key(repo)
    repo.git("checkout", "-q", "--orphan", "fresh")
    # Everything in the index is new to the orphan branch.
    assert where(repo.run("scan", "--format", "json")) == {("deploy/run.sh", 2)}


def _conflict(repo: Repo) -> str:
    commit_base(repo, "f.env")
    repo.git("checkout", "-q", "-b", "other")
    key = fake_key()
    repo.stage("f.env", f"line 1\nCAPTCHAAI_API_KEY={key}\n")
    repo.commit("other")
    repo.git("checkout", "-q", "main")
    repo.stage("f.env", "line 1\nCAPTCHAAI_API_KEY=${VAULT}\n")
    repo.commit("main")
    repo.git("merge", "-q", "other", check=False)
    assert "U" in repo.git("status", "--porcelain")
    return key


def test_merge_in_progress_conflicted(repo: Repo) -> None:
    _conflict(repo)
    repo.stage("clean.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.err
    assert where(result) == {("clean.env", 1)}


def test_merge_in_progress_resolved(repo: Repo) -> None:
    key = _conflict(repo)
    repo.stage("f.env", f"line 1\nCAPTCHAAI_API_KEY={key}\nNEW_KEY=1\n")
    # The key comes in from the merged branch: it is new to this branch.
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("f.env", 2)}
    repo.stage("f.env", "line 1\nCAPTCHAAI_API_KEY=${VAULT}\n")
    assert repo.run("scan").code == 0


def test_linked_worktree(repo: Repo, tmp_path: Path) -> None:
    commit_base(repo)
    linked = tmp_path / "linked tree"
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked))
    other = Repo(linked)
    other.stage("conf/a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    for cwd in (linked, linked / "conf"):
        result = other.run("scan", "--format", "json", cwd=cwd)
        assert where(result) == {("conf/a.env", 1)}
    assert repo.run("scan").code == 0  # the main work tree has nothing staged
    other.commit("feature")
    assert where(repo.run("scan", "--commits", "main..feature", "--format", "json")) == {("conf/a.env", 1)}


def test_bare_repository_is_a_clear_error(repo: Repo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    result = repo.run("scan", cwd=bare)
    assert_one_error_line(result, "bare repository")
    assert_one_error_line(repo.run("scan", cwd=repo.path / ".git"))


def test_git_dir_and_work_tree_set(repo: Repo, tmp_path: Path) -> None:
    env, work = repo_apart(tmp_path)
    for cwd in (tmp_path, work, work / "sub"):
        result = repo.run("scan", "--format", "json", cwd=cwd, env=env)
        assert where(result) == {("sub/a.env", 1)}, (cwd, result.err)


def test_relative_git_dir_from_a_subdirectory(repo: Repo) -> None:
    repo.stage("sub/a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    env = env_with(GIT_DIR="../.git", GIT_WORK_TREE="..")
    result = repo.run("scan", "--format", "json", cwd=repo.path / "sub", env=env)
    assert where(result) == {("sub/a.env", 1)}, result.err


def test_relative_index_file_from_a_subdirectory(repo: Repo) -> None:
    """What a hook sees during ``git commit -a``: a temporary index."""
    repo.stage("sub/a.env", "A=1\n")
    repo.commit()
    (repo.path / "sub" / "a.env").write_text(f"CAPTCHAAI_API_KEY={fake_key()}\n")
    index = repo.path / ".git" / "next-index"
    env = env_with(GIT_INDEX_FILE=str(index))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo.path, env=env, check=True)
    subprocess.run(["git", "add", "sub/a.env"], cwd=repo.path, env=env, check=True)
    assert repo.run("scan").code == 0  # the real index is clean
    result = repo.run(
        "scan", "--format", "json", cwd=repo.path / "sub", env=env_with(GIT_INDEX_FILE="../.git/next-index")
    )
    assert where(result) == {("sub/a.env", 1)}, result.err
