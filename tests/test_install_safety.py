"""``install`` and ``uninstall`` never destroy what the user wrote: an edited
managed hook is refused (or, with ``--force``, kept aside), and the
temporary file never takes the name of an existing file."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from captchaai_guard.commands.install import (
    BACKUP_SUFFIX,
    DIGEST_PREFIX,
    EDITED_SUFFIX,
    SIGNATURE,
    install_hook,
    render_hook,
    unedited,
)
from tests.conftest import Repo, fake_key


def commit(cwd: Path, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=cwd, capture_output=True, text=True, check=False
    )


def key_line(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def listing(directory: Path) -> dict[str, bytes]:
    """Every file in ``directory`` (samples aside) and its bytes."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.endswith(".sample")}


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    repo.stage("README.md", "hello\n")
    repo.commit("initial")
    return repo


@pytest.fixture
def hooks(seeded: Repo) -> Path:
    return seeded.path / ".git" / "hooks"


def assert_blocks(repo: Repo, key: str) -> None:
    repo.stage("app.py", key_line(key))
    proc = commit(repo.path, "key")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"***{key[-4:]}" in proc.stderr and key not in proc.stderr
    repo.git("reset", "-q")


def test_reinstalling_an_edited_hook_refuses_and_keeps_it(seeded: Repo, hooks: Path) -> None:
    assert seeded.run("install").code == 0
    hook = hooks / "pre-commit"
    marker = seeded.path.parent / "user-line-ran"
    edited = hook.read_text().replace("hook_type=pre-commit\n", f'hook_type=pre-commit\ntouch "{marker}"\n')
    hook.write_text(edited)
    before = listing(hooks)

    result = seeded.run("install")
    assert result.code == 2, result.out
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("captchaai-guard: error: "), result.err
    assert "edited" in lines[0] and "--force" in lines[0] and EDITED_SUFFIX in lines[0]
    assert "Traceback" not in result.err
    assert listing(hooks) == before  # nothing written, nothing left behind

    seeded.stage("a.txt", "fine\n")
    assert commit(seeded.path, "clean").returncode == 0
    assert marker.exists()  # the user's line still runs


def test_force_keeps_every_edited_hook_aside(seeded: Repo, hooks: Path) -> None:
    assert seeded.run("install").code == 0
    hook = hooks / "pre-commit"
    first = hook.read_text() + "# my first note\n"
    hook.write_text(first)
    hook.chmod(0o750)

    result = seeded.run("install", "--force")
    assert result.code == 0, result.err
    kept = hooks / f"pre-commit{EDITED_SUFFIX}"
    assert kept.name in result.out
    assert kept.read_text() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o750
    assert unedited(hook.read_text())
    assert_blocks(seeded, fake_key())

    second = hook.read_text() + "# my second note\n"
    hook.write_text(second)
    assert seeded.run("install", "--force").code == 0
    assert kept.read_text() == first  # the first copy is never written over
    assert (hooks / f"pre-commit{EDITED_SUFFIX}.1").read_text() == second
    assert seeded.run("install").code == 0  # unedited again: reinstalls quietly
    assert set(listing(hooks)) == {"pre-commit", kept.name, f"{kept.name}.1"}


def test_a_hand_made_hook_with_the_signature_counts_as_edited(seeded: Repo, hooks: Path) -> None:
    """No digest line (written by hand or before hooks had one): not rewritten."""
    hook = hooks / "pre-commit"
    text = f"#!/bin/sh\n{SIGNATURE}\necho custom\nexit 0\n"
    hook.write_text(text)
    hook.chmod(0o755)
    result = seeded.run("install")
    assert result.code == 2 and "edited" in result.err
    assert hook.read_text() == text
    result = seeded.run("uninstall")
    assert result.code == 0 and EDITED_SUFFIX in result.out
    assert not hook.exists()
    assert (hooks / f"pre-commit{EDITED_SUFFIX}").read_text() == text


def test_a_changed_interpreter_is_an_update_not_an_edit(seeded: Repo, hooks: Path) -> None:
    install_hook("pre-commit", python=str(seeded.path / "old-venv" / "python"), cwd=seeded.path)
    result = seeded.run("install")
    assert result.code == 0 and "updated" in result.out, result.out + result.err
    assert set(listing(hooks)) == {"pre-commit"}
    assert_blocks(seeded, fake_key())


def test_uninstall_keeps_an_edited_hook_and_restores_the_previous(seeded: Repo, hooks: Path) -> None:
    hook = hooks / "pre-commit"
    previous = "#!/bin/sh\nexit 0\n"
    hook.write_text(previous)
    hook.chmod(0o755)
    assert seeded.run("install").code == 0
    edited = hook.read_text() + "echo mine\n"
    hook.write_text(edited)
    result = seeded.run("uninstall")
    assert result.code == 0, result.err
    assert hook.read_text() == previous
    assert (hooks / f"pre-commit{EDITED_SUFFIX}").read_text() == edited
    assert not (hooks / f"pre-commit{BACKUP_SUFFIX}").exists()


def test_uninstall_of_an_unedited_hook_keeps_no_copy(seeded: Repo, hooks: Path) -> None:
    assert seeded.run("install").code == 0
    assert seeded.run("uninstall").code == 0
    assert listing(hooks) == {}


def test_forced_edited_symlink_leaves_its_target(seeded: Repo, hooks: Path) -> None:
    assert seeded.run("install").code == 0
    hook = hooks / "pre-commit"
    target = seeded.path.parent / "my-hook"
    target.write_text(hook.read_text() + "echo mine\n")
    target.chmod(0o755)
    hook.unlink()
    hook.symlink_to(target)
    before = target.read_text()
    assert seeded.run("install").code == 2
    result = seeded.run("install", "--force")
    assert result.code == 0 and str(target) in result.out
    assert not hook.is_symlink() and unedited(hook.read_text())
    assert target.read_text() == before


@pytest.mark.parametrize("hook_type", ["pre-commit", "pre-push"])
def test_files_named_like_the_temporary_file_are_left_alone(
    seeded: Repo, hooks: Path, hook_type: str
) -> None:
    hooks.mkdir(exist_ok=True)
    mine = {
        f"{hook_type}.captchaai-guard-tmp": b"mine 1\n",
        f".{hook_type}.captchaai-guard-tmp": b"mine 2\n",
        f"{hook_type}{EDITED_SUFFIX}": b"mine 3\n",
    }
    for name, data in mine.items():
        (hooks / name).write_bytes(data)
    assert seeded.run("install", "--hook-type", hook_type).code == 0
    install_hook(hook_type, python=str(seeded.path / "other" / "python"), cwd=seeded.path)
    assert seeded.run("install", "--hook-type", hook_type).code == 0  # an update: a rewrite
    hook = hooks / hook_type
    hook.write_text(hook.read_text() + "# edited\n")
    assert seeded.run("install", "--hook-type", hook_type, "--force").code == 0
    assert seeded.run("uninstall", "--hook-type", hook_type).code == 0
    after = listing(hooks)
    for name, data in mine.items():
        assert after.pop(name) == data
    # the forced install kept the edited hook under the next free name; no temporary file is left
    assert set(after) == {f"{hook_type}{EDITED_SUFFIX}.1"}


def test_the_hook_is_written_through_a_fresh_temporary_file(seeded: Repo, hooks: Path) -> None:
    """A directory that holds only the hook afterwards, executable, not writable by others."""
    old_umask = os.umask(0o022)
    try:
        install_hook("pre-commit", cwd=seeded.path)
    finally:
        os.umask(old_umask)
    hook = hooks / "pre-commit"
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    assert set(listing(hooks)) == {"pre-commit"}


def test_the_digest_is_not_key_like_and_a_tracked_hook_passes_its_own_scan(seeded: Repo) -> None:
    text = render_hook("pre-commit", "/usr/bin/python3", chain=False)
    (digest_line,) = [line for line in text.splitlines() if line.startswith(DIGEST_PREFIX)]
    assert re.fullmatch(r"[0-9a-f]{16}", digest_line[len(DIGEST_PREFIX) :])
    assert not re.search(r"[0-9a-fA-F]{32}", text)
    seeded.git("config", "core.hooksPath", ".githooks")
    assert seeded.run("install").code == 0
    seeded.git("add", ".githooks/pre-commit")
    proc = commit(seeded.path, "track the hook")
    assert proc.returncode == 0, proc.stderr
    assert seeded.run("scan", "--files").code == 0


def test_unedited_sees_any_change() -> None:
    text = render_hook("pre-push", "/opt/py/bin/python", chain=True)
    assert unedited(text)
    assert not unedited(text.replace("chain=1", "chain=0"))
    assert not unedited(text + "\n")
    assert not unedited(text.replace("\n", "\r\n"))
    assert not unedited("\n".join(line for line in text.splitlines() if not line.startswith(DIGEST_PREFIX)))


def test_forcing_over_an_edited_chaining_hook_says_the_previous_stops(seeded: Repo, hooks: Path) -> None:
    hook = hooks / "pre-commit"
    marker = seeded.path.parent / "previous-ran"
    previous = f'#!/bin/sh\necho ran >> "{marker}"\n'
    hook.write_text(previous)
    hook.chmod(0o755)
    assert seeded.run("install").code == 0
    hook.write_text(hook.read_text() + "# edited\n")
    result = seeded.run("install", "--force")
    assert result.code == 0, result.err
    assert f"pre-commit{BACKUP_SUFFIX} no longer runs (--force)" in result.out
    assert (hooks / f"pre-commit{BACKUP_SUFFIX}").read_text() == previous
    seeded.stage("a.txt", "fine\n")
    assert commit(seeded.path, "clean").returncode == 0
    assert not marker.exists()
    assert seeded.run("uninstall").code == 0
    assert hook.read_text() == previous
