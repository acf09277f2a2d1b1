"""`captchaai-guard fix` never half-writes: dry run, partial staging, failures."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from tests.conftest import Repo, console_script, fake_key


def snapshot(repo: Repo) -> dict[str, bytes]:
    """Every file of the work tree and the index listing."""
    files = {
        p.relative_to(repo.path).as_posix(): p.read_bytes()
        for p in repo.path.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(repo.path).parts
    }
    files["<index>"] = repo.git("ls-files", "-s").encode()
    return files


def stage_mixed(repo: Repo, key: str) -> None:
    repo.stage("app.py", f'"""App."""\nCAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("web/client.js", f"const captchaaiApiKey = '{key}';\n")
    repo.stage("settings.json", f'{{"key": "{key}"}}\n')


def test_dry_run_shows_masked_diff_and_changes_nothing(repo: Repo) -> None:
    key = fake_key()
    stage_mixed(repo, key)
    before = snapshot(repo)
    result = repo.run("fix", "--dry-run")
    assert result.code == 1  # settings.json needs manual steps
    assert snapshot(repo) == before
    assert key not in result.out + result.err
    out = result.out
    assert f'-CAPTCHAAI_API_KEY = "***{key[-4:]}"' in out
    assert '+CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]' in out
    assert "+import os" in out
    assert "+const captchaaiApiKey = process.env.CAPTCHAAI_API_KEY;" in out
    assert f"+CAPTCHAAI_API_KEY=***{key[-4:]}" in out  # the .env line, masked
    assert "+++ b/.gitignore" in out and "+.env" in out
    assert "would fix app.py" in out and "nothing was changed" in out


def test_dry_run_exit_0_when_all_fixable(repo: Repo) -> None:
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    before = snapshot(repo)
    assert repo.run("fix", "--dry-run").code == 0
    assert snapshot(repo) == before


def test_partly_staged_file_keeps_unstaged_changes_unstaged(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.write("app.py", f'CAPTCHAAI_API_KEY = "{key}"\nprint("work in progress")\n')
    result = repo.run("fix")
    assert result.code == 0, result.out
    staged = repo.git("show", ":app.py")
    assert staged == 'import os\n\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n'
    work = (repo.path / "app.py").read_text()
    assert work == staged + 'print("work in progress")\n'
    unstaged = repo.git("diff", "app.py")
    changed = [line for line in unstaged.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ['+print("work in progress")']


def test_index_lock_midway_rolls_everything_back(repo: Repo) -> None:
    """Work-tree files and .env are written before the index; a locked index
    makes the last step fail, and every file comes back as it was."""
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("run.sh", f"export CAPTCHAAI_API_KEY={key}\n")
    lock = repo.path / ".git" / "index.lock"
    lock.write_bytes(b"")
    before = snapshot(repo)
    result = repo.run("fix")
    assert result.code == 2
    assert "nothing was changed" in result.err and "Traceback" not in result.err
    assert result.err.strip().count("\n") == 0
    assert snapshot(repo) == before
    assert not (repo.path / ".env").exists() and not (repo.path / ".gitignore").exists()
    assert not list(repo.path.rglob(".captchaai-guard-*"))
    lock.unlink()
    assert repo.run("fix").code == 0  # and it works once the lock is gone


def test_env_that_is_a_directory_is_an_error_before_any_write(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    (repo.path / ".env").mkdir()
    before = snapshot(repo)
    result = repo.run("fix")
    assert result.code == 2 and ".env" in result.err
    assert snapshot(repo) == before
    assert key not in result.out + result.err


def test_rewrite_that_would_not_compile_is_manual(repo: Repo) -> None:
    key = fake_key()
    # implicit concatenation: turning the first literal into a lookup breaks the syntax
    source = f'CAPTCHAAI_API_KEY = "{key}" "x"\n'
    repo.stage("bad.py", source)
    result = repo.run("fix")
    assert result.code == 1 and "would not compile" in result.out
    assert (repo.path / "bad.py").read_text() == source


def test_crlf_and_bom_are_kept(repo: Repo) -> None:
    key = fake_key()
    data = b"\xef\xbb\xbf" + f'"""Doc."""\r\nCAPTCHAAI_API_KEY = "{key}"\r\n'.encode()
    repo.stage("win.py", data)
    assert repo.run("fix").code == 0
    assert (repo.path / "win.py").read_bytes() == (
        b'\xef\xbb\xbf"""Doc."""\r\n\r\nimport os\r\n\r\n'
        b'CAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\r\n'
    )


def test_a_second_key_for_one_name_gets_its_own_name(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    repo.stage("a.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("b.py", f'CAPTCHAAI_API_KEY = "{other}"\n')
    result = repo.run("fix")
    assert result.code == 0, result.out
    assert (repo.path / ".env").read_text() == f"CAPTCHAAI_API_KEY={key}\nCAPTCHAAI_API_KEY_2={other}\n"
    assert 'os.environ["CAPTCHAAI_API_KEY"]' in (repo.path / "a.py").read_text()
    assert 'os.environ["CAPTCHAAI_API_KEY_2"]' in (repo.path / "b.py").read_text()
    assert other not in (repo.path / "b.py").read_text()


def test_key_printed_nowhere(repo: Repo, tmp_path: Path) -> None:
    key = fake_key()
    stage_mixed(repo, key)
    for args in (["fix", "--dry-run"], ["fix"], ["fix", "--dry-run"]):
        result = repo.run(*args)
        assert key not in result.out + result.err


def test_utf16_file_is_manual_not_silently_skipped(repo: Repo) -> None:
    key = fake_key()
    data = b"\xff\xfe" + f'$env:CAPTCHAAI_API_KEY = "{key}"\r\n'.encode("utf-16-le")
    repo.stage("setup.py", data)
    result = repo.run("fix")
    assert result.code == 1
    assert "setup.py" in result.out and "manual steps" in result.out
    assert (repo.path / "setup.py").read_bytes() == data


def test_python_that_does_not_compile_is_manual(repo: Repo) -> None:
    key = fake_key()
    source = f'print "hello"\nCAPTCHAAI_API_KEY = "{key}"\n'
    repo.stage("old.py", source)
    result = repo.run("fix")
    assert result.code == 1 and "does not compile as it is" in result.out
    assert (repo.path / "old.py").read_text() == source


def test_write_failure_midway_restores_files_already_replaced(repo: Repo) -> None:
    """A file-size limit (it binds root too) makes the third write fail after
    .env and a first source file were replaced; both come back as they were."""
    key = fake_key()
    repo.stage("a_small.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    big = "x = 1\n" * 400
    repo.stage("b_big.py", f'{big}CAPTCHAAI_API_KEY = "{key}"\n')
    before = snapshot(repo)
    limit = 1024

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [console_script(), "fix"], cwd=repo.path, capture_output=True, text=True, preexec_fn=small_files
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot write b_big.py" in proc.stderr and "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(repo) == before
    assert not (repo.path / ".env").exists()
    assert not list(repo.path.rglob(".captchaai-guard-*"))


def test_fix_library_does_not_import_click() -> None:
    code = "import sys, captchaai_guard.remedy.fix; print('click' in sys.modules, 'git' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
