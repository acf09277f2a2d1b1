"""The scan path stays lean: GitPython is never imported by a scan, and the
library modules never import click."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Repo, fake_key


def _imported(code: str, cwd: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_scan_does_not_import_gitpython(repo: Repo) -> None:
    repo.stage("a.txt", "hello\n")
    names = _imported(
        "import sys; from captchaai_guard.commands.cli import main; "
        "sys.argv=['captchaai-guard','scan']; main()",
        str(repo.path),
    )
    assert "captchaai_guard.scan" in names
    assert "git" not in names


def test_library_does_not_import_click(repo: Repo) -> None:
    names = _imported(
        "from pathlib import Path; from captchaai_guard.scan import scan_staged;"
        " list(scan_staged(Path('.')))",
        str(repo.path),
    )
    assert "captchaai_guard.detect.engine" in names
    assert "click" not in names and "git" not in names


def test_settings_and_audit_checks_do_not_import_click(repo: Repo) -> None:
    repo.write(".captchaai-guard.toml", 'exclude = ["vendor/**"]\n')
    repo.stage("a.txt", "hello\n")
    names = _imported(
        "from pathlib import Path; from captchaai_guard.config import settings;"
        " from captchaai_guard.audit.checklist import run_audit; s = settings.load(Path('.'));"
        " run_audit(Path('.'), engine=s.engine, include=s.include)",
        str(repo.path),
    )
    assert "captchaai_guard.config.project" in names and "captchaai_guard.audit.checklist" in names
    assert "click" not in names and "git" not in names


def test_quick_scans_import_neither_pathlib_nor_dataclasses(repo: Repo) -> None:
    """A plain ``scan`` that finds a key, and ``scan --commits``, load only
    what they use: pathlib and dataclasses each cost a scan's start-up
    several milliseconds, importlib about one. (typing, and the contextlib
    it imports, are loaded for the records: about 2 ms.)"""
    repo.stage("a.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.commit("key")
    repo.stage("b.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    bare = _imported("pass", str(repo.path))  # what site loads (an editable install's finder ...)
    for args in (["scan"], ["scan", "--commits", "HEAD"]):
        code = (
            "import sys; from captchaai_guard.commands.console import main; "
            f"sys.argv=['x', *{args!r}]; main()"
        )
        names = _imported(code, str(repo.path))
        assert "captchaai_guard.findings" in names, args  # a key was found
        assert "captchaai_guard.scan" in names, args
        slow = {"pathlib", "dataclasses", "click", "importlib"}
        assert not slow & (names - bare), args
