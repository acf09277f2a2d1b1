"""The standalone git hooks: install, chain, uninstall, and real commits and
pushes that they block or let through."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from captchaai_guard.commands.install import BACKUP_SUFFIX, SIGNATURE, install_hook
from tests.conftest import BIN, Repo, fake_key


def git(
    cwd: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, input=input, env=env
    )


def head(cwd: Path) -> str:
    return git(cwd, "rev-parse", "HEAD").stdout.strip()


def key_line(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def write_hook(path: Path, body: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "#!/bin/sh\n" + body
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return text


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    """A repository with one clean commit."""
    repo.stage("README.md", "hello\n")
    repo.commit("initial")
    return repo


def assert_blocked(proc: subprocess.CompletedProcess[str], key: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"***{key[-4:]}" in output
    assert key not in output


def test_install_blocks_a_staged_key_and_lets_clean_commits_through(seeded: Repo) -> None:
    result = seeded.run("install")
    assert result.code == 0, result.err
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    assert hook.stat().st_mode & stat.S_IXUSR
    assert SIGNATURE in hook.read_text()
    assert sys.executable in hook.read_text()

    before = head(seeded.path)
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    proc = git(seeded.path, "commit", "-m", "add key")
    assert_blocked(proc, key)
    assert "app.py:1:22" in proc.stderr
    assert "git commit --no-verify" in proc.stderr
    assert "captchaai-guard: allow" in proc.stderr
    assert "captchaai-guard fix" in proc.stderr
    assert head(seeded.path) == before

    seeded.stage("app.py", 'import os\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n')
    proc = git(seeded.path, "commit", "-m", "clean")
    assert proc.returncode == 0, proc.stderr
    assert head(seeded.path) != before


def test_commit_with_paths_judges_what_is_committed(seeded: Repo) -> None:
    """`git commit FILE` uses a temporary index; the hook must see it."""
    assert seeded.run("install").code == 0
    key = fake_key()
    seeded.stage("README.md", "hello\nworld\n")
    seeded.write("app.py", key_line(key))
    seeded.git("add", "--intent-to-add", "app.py")
    assert_blocked(git(seeded.path, "commit", "-m", "x", "app.py"), key)


def test_reinstall_is_idempotent(seeded: Repo) -> None:
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    assert seeded.run("install").code == 0
    text = hook.read_text()
    again = seeded.run("install")
    assert again.code == 0 and "already installed" in again.out
    assert hook.read_text() == text
    names = {p.name for p in hook.parent.glob("pre-commit*")} - {"pre-commit.sample"}
    assert names == {"pre-commit"}


def test_core_hooks_path_is_honoured(seeded: Repo) -> None:
    seeded.git("config", "core.hooksPath", ".githooks")
    assert seeded.run("install").code == 0
    assert (seeded.path / ".githooks" / "pre-commit").is_file()
    assert not (seeded.path / ".git" / "hooks" / "pre-commit").exists()
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    assert_blocked(git(seeded.path, "commit", "-m", "x"), key)


def test_core_hooks_path_from_a_subdirectory(seeded: Repo) -> None:
    seeded.git("config", "core.hooksPath", "hooks-dir")
    sub = seeded.path / "src" / "pkg"
    sub.mkdir(parents=True)
    assert seeded.run("install", cwd=sub).code == 0
    assert (seeded.path / "hooks-dir" / "pre-commit").is_file()
    assert not (sub / "hooks-dir").exists()


def test_linked_worktree(seeded: Repo, tmp_path: Path) -> None:
    other = tmp_path / "linked"
    seeded.git("worktree", "add", "-q", "-b", "feature", str(other))
    result = seeded.run("install", cwd=other)
    assert result.code == 0, result.err
    assert (seeded.path / ".git" / "hooks" / "pre-commit").is_file()
    key = fake_key()
    (other / "app.py").write_text(key_line(key))
    git(other, "add", "app.py")
    assert_blocked(git(other, "commit", "-m", "x"), key)
    (other / "app.py").write_text("x = 1\n")
    git(other, "add", "app.py")
    assert git(other, "commit", "-q", "-m", "clean").returncode == 0


def test_existing_hook_is_chained_and_restored(seeded: Repo) -> None:
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    marker = seeded.path.parent / "previous-ran"
    original = write_hook(hook, f'echo ran >> "{marker}"\nexit 0\n')
    result = seeded.run("install")
    assert result.code == 0 and BACKUP_SUFFIX in result.out
    assert (hook.parent / f"pre-commit{BACKUP_SUFFIX}").read_text() == original

    seeded.stage("a.txt", "fine\n")
    assert git(seeded.path, "commit", "-q", "-m", "clean").returncode == 0
    assert marker.read_text() == "ran\n"
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    assert_blocked(git(seeded.path, "commit", "-m", "key"), key)
    assert marker.read_text() == "ran\nran\n"

    assert seeded.run("uninstall").code == 0
    assert hook.read_text() == original
    assert hook.stat().st_mode & stat.S_IXUSR
    assert not (hook.parent / f"pre-commit{BACKUP_SUFFIX}").exists()


def test_failing_chained_hook_stops_before_the_scan(seeded: Repo) -> None:
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    write_hook(hook, 'echo "previous hook says no" >&2\nexit 3\n')
    assert seeded.run("install").code == 0
    seeded.stage("a.txt", "fine\n")
    proc = git(seeded.path, "commit", "-m", "clean")
    assert proc.returncode != 0
    assert "previous hook says no" in proc.stderr
    seeded.stage("app.py", key_line(fake_key()))
    proc = git(seeded.path, "commit", "-m", "key")
    assert proc.returncode != 0
    assert "CaptchaAI API key found" not in proc.stderr


def test_force_replaces_without_chaining_and_keeps_a_backup(seeded: Repo) -> None:
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    original = write_hook(hook, "exit 1\n")
    result = seeded.run("install", "--force")
    assert result.code == 0 and "--force" in result.out
    seeded.stage("a.txt", "fine\n")
    assert git(seeded.path, "commit", "-q", "-m", "clean").returncode == 0
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    assert_blocked(git(seeded.path, "commit", "-m", "key"), key)
    assert seeded.run("install").code == 0  # re-install keeps --force's choice
    assert "chain=0" in hook.read_text()
    assert seeded.run("uninstall").code == 0
    assert hook.read_text() == original


def test_uninstall_refuses_a_foreign_hook(seeded: Repo) -> None:
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    original = write_hook(hook, "exit 0\n")
    result = seeded.run("uninstall")
    assert result.code == 2
    assert "not a captchaai-guard hook" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    assert hook.read_text() == original


def test_uninstall_without_a_hook_is_a_no_op(seeded: Repo) -> None:
    result = seeded.run("uninstall", "--hook-type", "pre-push")
    assert result.code == 0 and "no captchaai-guard pre-push hook" in result.out


def test_install_refuses_to_overwrite_an_old_backup(seeded: Repo) -> None:
    hooks = seeded.path / ".git" / "hooks"
    write_hook(hooks / "pre-commit", "exit 0\n")
    write_hook(hooks / f"pre-commit{BACKUP_SUFFIX}", "exit 0\n")
    result = seeded.run("install")
    assert result.code == 2 and "already exists" in result.err


def test_install_outside_a_repository(tmp_path: Path, repo: Repo) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    result = repo.run("install", cwd=outside)
    assert result.code == 2 and "not a git repository" in result.err


def _path_without_guard() -> str:
    dirs = {str(Path(p).parent) for p in (shutil.which("git"), shutil.which("sh")) if p}
    assert str(BIN) not in dirs
    return os.pathsep.join(sorted(dirs))


def test_falls_back_to_path_then_fails_closed(seeded: Repo) -> None:
    install_hook("pre-commit", python=str(seeded.path / "gone" / "python"), cwd=seeded.path)
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), _path_without_guard()]))
    assert_blocked(git(seeded.path, "commit", "-m", "key", env=env), key)

    env["PATH"] = _path_without_guard()
    proc = git(seeded.path, "commit", "-m", "key", env=env)
    assert proc.returncode != 0
    assert "cannot run the pre-commit hook" in proc.stderr
    seeded.stage("app.py", "x = 1\n")
    assert git(seeded.path, "commit", "-m", "clean", env=env).returncode != 0  # fails closed


# --- pre-push -------------------------------------------------------------------------------


@pytest.fixture
def pushed(seeded: Repo, tmp_path: Path) -> Repo:
    """``seeded`` with a bare remote ``origin`` that has its main branch."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    seeded.git("remote", "add", "origin", str(remote))
    seeded.git("push", "-q", "origin", "main")
    return seeded


def remote_head(repo: Repo, branch: str) -> str:
    return repo.git("ls-remote", "origin", f"refs/heads/{branch}").split("\t")[0]


def test_pre_push_blocks_a_key_in_any_pushed_commit(pushed: Repo) -> None:
    assert pushed.run("install", "--hook-type", "pre-push").code == 0
    before = remote_head(pushed, "main")
    key = fake_key()
    pushed.stage("app.py", key_line(key))
    pushed.commit("key")
    pushed.stage("app.py", "x = 1\n")  # removed again: still in history
    pushed.commit("remove key")
    proc = git(pushed.path, "push", "origin", "main")
    assert_blocked(proc, key)
    assert "git push --no-verify" in proc.stderr
    assert remote_head(pushed, "main") == before


def test_pre_push_clean_push_and_deletion_pass(pushed: Repo) -> None:
    assert pushed.run("install", "--hook-type", "pre-push").code == 0
    pushed.stage("a.txt", "fine\n")
    pushed.commit("clean")
    proc = git(pushed.path, "push", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert remote_head(pushed, "main") == head(pushed.path)
    assert git(pushed.path, "push", "-q", "origin", "main:gone").returncode == 0
    assert git(pushed.path, "push", "-q", "origin", ":gone").returncode == 0


def test_pre_push_new_branch_is_compared_with_the_remote(pushed: Repo) -> None:
    assert pushed.run("install", "--hook-type", "pre-push").code == 0
    old_key = fake_key()
    pushed.stage("legacy.py", key_line(old_key))
    pushed.commit("already on the remote")
    assert git(pushed.path, "push", "-q", "--no-verify", "origin", "main").returncode == 0

    pushed.git("checkout", "-q", "-b", "feature")
    pushed.stage("b.txt", "fine\n")
    pushed.commit("clean on feature")
    proc = git(pushed.path, "push", "origin", "feature")
    assert proc.returncode == 0, proc.stderr  # the remote already has the old commit

    pushed.git("checkout", "-q", "-b", "feature2")
    key = fake_key()
    pushed.stage("c.py", key_line(key))
    pushed.commit("new key")
    pushed.stage("d.txt", "fine\n")
    pushed.commit("clean on top")
    proc = git(pushed.path, "push", "origin", "feature2")
    assert_blocked(proc, key)
    assert old_key[-4:] not in proc.stderr
    assert remote_head(pushed, "feature2") == ""


def test_pre_push_chain_gets_the_same_stdin(pushed: Repo) -> None:
    hook = pushed.path / ".git" / "hooks" / "pre-push"
    seen = pushed.path.parent / "seen"
    write_hook(hook, f'cat > "{seen}"\nexit 0\n')
    assert pushed.run("install", "--hook-type", "pre-push").code == 0
    key = fake_key()
    pushed.stage("app.py", key_line(key))
    sha = pushed.commit("key")
    assert_blocked(git(pushed.path, "push", "origin", "main"), key)
    assert f"refs/heads/main {sha} refs/heads/main " in seen.read_text()


# --- the hook entry point itself -----------------------------------------------------------


def run_hook(cwd: Path, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "captchaai_guard.commands.hook", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        check=False,
    )


def test_hook_errors_fail_closed(seeded: Repo, tmp_path: Path) -> None:
    for args, stdin, message in (
        (("post-merge",), "", "unknown hook type"),
        (("pre-push", "origin"), "only three fields\n", "unexpected pre-push input"),
        ((), "", "usage"),
    ):
        proc = run_hook(seeded.path, *args, input=stdin)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    proc = run_hook(outside, "pre-commit")
    assert proc.returncode == 2 and "not a git repository" in proc.stderr


def test_hook_with_files_limits_the_staged_scan(seeded: Repo) -> None:
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    seeded.stage("b.txt", "fine\n")
    assert run_hook(seeded.path, "pre-commit", "b.txt").returncode == 0
    assert run_hook(seeded.path, "pre-commit", "b.txt", "app.py").returncode == 1
    assert run_hook(seeded.path, "pre-commit").returncode == 1


def test_hook_with_files_and_nothing_staged_scans_whole_files(seeded: Repo) -> None:
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    seeded.commit("key, bypassing the hook")
    proc = run_hook(seeded.path, "pre-commit", "app.py")
    assert proc.returncode == 1 and f"***{key[-4:]}" in proc.stderr
    assert run_hook(seeded.path, "pre-commit", "README.md").returncode == 0
    assert run_hook(seeded.path, "pre-commit").returncode == 0  # nothing staged


def test_hook_push_range_from_the_framework(seeded: Repo) -> None:
    base = head(seeded.path)
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    seeded.commit("key")
    seeded.stage("app.py", "x = 1\n")
    tip = seeded.commit("removed")
    env = dict(os.environ, PRE_COMMIT_FROM_REF=base, PRE_COMMIT_TO_REF=tip)
    proc = subprocess.run(
        [sys.executable, "-m", "captchaai_guard.commands.hook", "pre-commit", "app.py"],
        cwd=seeded.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1 and f"***{key[-4:]}" in proc.stderr
    env["PRE_COMMIT_FROM_REF"] = tip
    proc = subprocess.run(
        [sys.executable, "-m", "captchaai_guard.commands.hook", "pre-commit", "app.py"],
        cwd=seeded.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_hook_imports_neither_click_nor_gitpython(seeded: Repo) -> None:
    seeded.stage("app.py", key_line(fake_key()))
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "captchaai_guard.commands.hook", "pre-commit"],
        cwd=seeded.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert {"captchaai_guard.scan", "captchaai_guard.remedy.guide"} <= names
    assert not names & {"click", "git", "argparse", "captchaai_guard.commands.cli"}
    # no such files here
    assert not names & {"captchaai_guard.config.project", "captchaai_guard.config.baseline"}


def test_hook_follows_the_configuration_and_baseline_like_scan(seeded: Repo) -> None:
    seeded.stage(".captchaai-guard.toml", 'exclude = ["fixtures/**"]\n')
    seeded.stage("fixtures/demo.py", key_line(fake_key()))
    assert run_hook(seeded.path, "pre-commit").returncode == 0
    assert run_hook(seeded.path, "pre-commit", "fixtures/demo.py").returncode == 0
    assert seeded.run("scan").code == 0

    key = fake_key()
    seeded.stage("app.py", key_line(key))
    assert run_hook(seeded.path, "pre-commit").returncode == 1
    assert seeded.run("baseline").code == 0
    seeded.git("add", ".captchaai-guard-baseline.json")
    assert seeded.run("scan").code == 0
    assert run_hook(seeded.path, "pre-commit").returncode == 0


def test_file_names_match_the_loaders() -> None:
    from captchaai_guard.commands import hook
    from captchaai_guard.config import baseline, settings

    assert hook.BASELINE_FILE == baseline.BASELINE_FILE == settings.BASELINE_FILE


def test_hook_reads_configuration_from_pyproject(seeded: Repo) -> None:
    seeded.stage("pyproject.toml", '[tool.captchaai-guard]\nexclude = ["fixtures/**"]\n')
    seeded.stage("fixtures/demo.py", key_line(fake_key()))
    assert run_hook(seeded.path, "pre-commit").returncode == 0
    seeded.stage("pyproject.toml", '[tool.captchaai-guard]\nexclude = "not a list"\n')
    proc = run_hook(seeded.path, "pre-commit")
    assert proc.returncode == 2 and "pyproject.toml" in proc.stderr


def test_hook_file_arguments_are_relative_to_the_current_directory(seeded: Repo) -> None:
    key = fake_key()
    seeded.stage("src/app.py", key_line(key))
    sub = seeded.path / "src"
    assert run_hook(sub, "pre-commit", "app.py").returncode == 1
    assert run_hook(sub, "pre-commit", "other.py").returncode == 0
    seeded.commit("key, bypassing the hook")
    proc = run_hook(sub, "pre-commit", "app.py")  # nothing staged: whole file
    assert proc.returncode == 1 and "src/app.py:1:22" in proc.stderr


def test_fast_path_keywords_are_the_engines() -> None:
    from captchaai_guard.commands import hook
    from captchaai_guard.detect.engine import Engine

    assert Engine().required == hook.REQUIRED


def _hook_modules(cwd: Path, *args: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "captchaai_guard.commands.hook", "pre-commit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.returncode, names


def test_a_clean_commit_is_settled_without_the_scan_modules(seeded: Repo) -> None:
    digest = fake_key() + fake_key()  # a long run without a keyword: no rule can match
    seeded.stage("checksums.txt", f"sha256 = {digest}\n")
    code, names = _hook_modules(seeded.path)
    assert code == 0
    scan_modules = {"captchaai_guard.scan", "captchaai_guard.detect.engine", "captchaai_guard.detect.rules"}
    assert not names & scan_modules
    # Catching SIGINT/SIGTERM uses the C module (`signal` imports enum); no traceback module.
    assert not names & {"signal", "traceback"}
    assert not names & {"typing", "re2"}  # (the scan's records import typing; custom regexes re2)
    code, names = _hook_modules(seeded.path, "checksums.txt")
    assert code == 0 and "captchaai_guard.scan" not in names and "typing" not in names


def test_fast_path_hands_every_possible_key_to_the_scan(seeded: Repo) -> None:
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    code, names = _hook_modules(seeded.path)
    assert code == 1 and "captchaai_guard.scan" in names
    seeded.git("reset", "-q")
    # a named file without staged changes is scanned whole
    assert _hook_modules(seeded.path, "app.py")[0] == 1
    # UTF-16 text is a binary file to git: its blob is read by the scan
    seeded.stage("app.py", ("\ufeff" + key_line(key)).encode("utf-16-le"))
    assert _hook_modules(seeded.path)[0] == 1


def test_fast_path_defers_to_custom_rules(seeded: Repo) -> None:
    seeded.stage(".captchaai-guard.toml", '[[rules]]\nid = "acme"\nregex = "acme_[a-z0-9]{16}"\n')
    seeded.stage("notes.txt", f"acme_{secrets.token_hex(8)}\n")
    assert _hook_modules(seeded.path)[0] == 1


def test_fast_path_reads_the_index_git_names(seeded: Repo, tmp_path: Path) -> None:
    other = tmp_path / "index"
    env = {**os.environ, "GIT_INDEX_FILE": str(other)}
    seeded.write("app.py", key_line(fake_key()))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=seeded.path, env=env, check=True)
    subprocess.run(["git", "add", "app.py"], cwd=seeded.path, env=env, check=True)
    assert run_hook(seeded.path, "pre-commit").returncode == 0  # the usual index is clean
    proc = subprocess.run(
        [sys.executable, "-m", "captchaai_guard.commands.hook", "pre-commit"],
        cwd=seeded.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr


def test_installed_hook_finds_the_package_when_its_folder_is_stale(seeded: Repo) -> None:
    assert seeded.run("install").code == 0
    hook = seeded.path / ".git" / "hooks" / "pre-commit"
    text = hook.read_text()
    lines = [line for line in text.splitlines() if line.startswith("lib=")]
    assert len(lines) == 1
    hook.write_text(text.replace(lines[0], f"lib='{seeded.path / 'nowhere'}'"))
    key = fake_key()
    seeded.stage("app.py", key_line(key))
    assert_blocked(git(seeded.path, "commit", "-m", "add key"), key)
    seeded.stage("app.py", "print('hello')\n")
    proc = git(seeded.path, "commit", "-m", "clean")
    assert proc.returncode == 0, proc.stderr
