"""No output ever holds a full key: every sub-command and every report format
runs over fixtures full of keys; stdout, stderr, report files, temporary
files, files written under HOME and new files in the repository are searched
for every key (lower and upper case)."""

from __future__ import annotations

import codecs
import importlib.util
import os
import re
import secrets
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from captchaai_guard.detect.rules import RULES
from captchaai_guard.report import FORMATS
from tests.conftest import Repo, console_script, fake_key


def _formats() -> list[str]:
    return [f for f in FORMATS if importlib.util.find_spec(f"captchaai_guard.report.{f}_report") is not None]


def _commands() -> list[str]:
    """Every sub-command ``captchaai-guard --help`` lists."""
    out = subprocess.run([console_script(), "--help"], capture_output=True, text=True, check=True).stdout
    section = out.split("Commands:", 1)[1]
    names = [m.group(1) for m in re.finditer(r"^\s{2}([a-z][\w-]*)", section, re.MULTILINE)]
    assert "scan" in names
    return names


class Fixture:
    def __init__(self, repo: Repo, tmp: Path) -> None:
        self.repo = repo
        self.keys: list[str] = []
        self.tmp = tmp
        self.outputs = tmp / "reports"
        self.outputs.mkdir()
        self.tmpdir = tmp / "tmpdir"
        self.tmpdir.mkdir()
        self.before: set[Path] = set()
        self.last_err = b""

    def key(self, upper: bool = False) -> str:
        key = fake_key().upper() if upper else fake_key()
        self.keys.append(key)
        return key

    def build(self) -> None:
        repo = self.repo
        repo.stage("docs/README.md", "# uses https://ocr.captchaai.com\n")
        repo.commit("base")
        for rule in RULES:
            for index, sample in enumerate(rule.examples):
                line = sample.format(key=self.key(upper=index % 2 == 1))
                name = f".captchaai/{rule.id}{index}.json" if rule.path else f"rules/{rule.id}/{index}.py"
                repo.stage(name, f"# captchaai\n{line}\n")
        two = f"CAPTCHAAI_API_KEY={self.key()} CAPTCHAAI_API_KEY_2={self.key()}  # two on one line\n"
        repo.stage("two.env", two)
        long_line = f"var a='{secrets.token_hex(4000)}';var CAPTCHAAI_API_KEY='{self.key()}';\n"
        repo.stage("min.js", long_line)
        utf16 = codecs.BOM_UTF16_LE + f'$env:CAPTCHAAI_API_KEY = "{self.key()}"\r\n'.encode("utf-16-le")
        repo.stage("setup.ps1", utf16)
        notebook = '{"cells": [{"source": ["CAPTCHAAI_API_KEY = \\"' + self.key() + '\\"\\n"]}]}\n'
        repo.stage("nb.ipynb", notebook)
        # A key of letters only (no digit to mark it as key-like) beside another key:
        # each finding's line shows the other one masked too.
        letters = "".join(secrets.choice(string.ascii_letters) for _ in range(32))
        self.keys.append(letters)
        cell = f'os.environ[\\"CAPTCHAAI_API_KEY\\"] = \\"{letters}\\"\\napi_key = \'{self.key()}\'\\n'
        repo.stage("two.ipynb", '{"cells": [{"source": "' + cell + '"}]}\n')
        repo.commit("keys")  # so --commits and --files see them too
        repo.stage("staged.env", f"CAPTCHAAI_API_KEY={self.key()}\n")
        self.before = set(self._files(repo.path))

    @staticmethod
    def _files(root: Path) -> Iterator[Path]:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TMPDIR=str(self.tmpdir), TEMP=str(self.tmpdir), TMP=str(self.tmpdir))
        return env

    def run(self, *args: str, stdin: bytes = b"", script: str = "captchaai-guard") -> bytes:
        proc = subprocess.run(
            [console_script(script), *args],
            cwd=self.repo.path,
            input=stdin,
            capture_output=True,
            env=self.env(),
            timeout=120,
            check=False,
        )
        assert b"Traceback" not in proc.stderr, (args, proc.stderr)
        self.last_err = proc.stderr
        self.check(proc.stdout + proc.stderr, f"output of {args}")
        return proc.stdout

    def check(self, data: bytes, where: str) -> None:
        lowered = data.lower()
        for key in self.keys:
            assert key.lower().encode() not in lowered, f"a full key in {where}"
            assert key.encode("utf-16-le").lower() not in lowered, f"a full UTF-16 key in {where}"

    def check_files(self) -> None:
        """Reports, temporary files, HOME, and files new in the repository
        (except .env files, where a key may be moved on purpose)."""
        home = Path(os.environ["HOME"])
        for root in (self.outputs, self.tmpdir, home):
            for path in self._files(root):
                self.check(path.read_bytes(), str(path))
        for path in self._files(self.repo.path):
            rel = path.relative_to(self.repo.path)
            if path in self.before or rel.name.startswith(".env") or rel.parts[:2] == (".git", "objects"):
                continue
            self.check(path.read_bytes(), str(rel))


@pytest.fixture
def fixture(repo: Repo, tmp_path: Path) -> Fixture:
    fx = Fixture(repo, tmp_path)
    fx.build()
    return fx


def test_scan_every_format_and_source(fixture: Fixture) -> None:
    diff = fixture.repo.git("log", "-p", "-1", "HEAD").encode()
    sources: list[tuple[list[str], bytes]] = [
        ([], b""),
        (["--commits", "HEAD"], b""),
        (["--commits", "--all"], b""),
        (["--files"], b""),
        (["--stdin"], diff),
        (["--explain"], b""),
        (["--explain", "--commits", "--all"], b""),
    ]
    formats = _formats()
    assert {"text", "json"} <= set(formats)
    for fmt in formats:
        for index, (source, stdin) in enumerate(sources):
            out = fixture.run("scan", "--format", fmt, *source, stdin=stdin)
            assert out, (fmt, source, fixture.last_err)
            report = fixture.outputs / f"{fmt}-{index}.out"
            fixture.run("scan", "--format", fmt, "--output", str(report), *source, stdin=stdin)
            assert report.stat().st_size > 0
    fixture.check_files()


def test_keys_in_arguments_and_errors(fixture: Fixture) -> None:
    key = fixture.key()
    for args in (
        ["scan", "--commits", key],
        ["scan", "--commits", f"{key}..HEAD"],
        ["scan", "--files", "--", f"{key}.env"],
        ["scan", "--format", key],
        ["scan", f"--{key}"],
        [key],
        ["scan", "--output", f"/nonexistent/{key}/report"],
    ):
        fixture.run(*args)
    fixture.check_files()


def test_every_sub_command(fixture: Fixture) -> None:
    """Each listed sub-command with --help, with no arguments, and with the
    keys' files as arguments (each may succeed or fail, never leak)."""
    for name in _commands():
        fixture.run(name, "--help")
        fixture.run(name)
        fixture.run(name, "staged.env", "two.env")
    fixture.check_files()


def test_git_hook_entry_point(fixture: Fixture) -> None:
    """The lean hook entry point that git and pre-commit run."""
    head = fixture.repo.git("rev-parse", "HEAD").strip()
    fixture.run("pre-commit", script="captchaai-guard-hook")
    fixture.run("pre-commit", "staged.env", "two.env", script="captchaai-guard-hook")
    push = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n".encode()
    fixture.run("pre-push", "origin", "/nowhere", stdin=push, script="captchaai-guard-hook")
    fixture.check_files()
