"""The benchmark script runs and its corpora are deterministic (no timing here)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402


def test_help() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "--quick" in proc.stdout and "--peers" in proc.stdout


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_staged_corpus_is_deterministic(tmp_path: Path) -> None:
    a = corpus.staged_corpus(tmp_path / "a", "s", 64 * 1024, seed=3, file_size=16 * 1024)
    b = corpus.staged_corpus(tmp_path / "b", "s", 64 * 1024, seed=3, file_size=16 * 1024)
    c = corpus.staged_corpus(tmp_path / "c", "s", 64 * 1024, seed=4, file_size=16 * 1024)
    assert a.planted == b.planted and len(a.planted) == a.files == 4
    assert _digest(a.path) == _digest(b.path) != _digest(c.path)
    for key in a.planted:
        line = (a.path / key.path).read_text().splitlines()[key.line - 1]
        assert key.key in line


def test_edited_corpus_stages_edits_to_committed_files(tmp_path: Path) -> None:
    a = corpus.staged_corpus(tmp_path / "a", "e", 64 * 1024, seed=3, file_size=16 * 1024, modified=0.2)
    b = corpus.staged_corpus(tmp_path / "b", "e", 64 * 1024, seed=3, file_size=16 * 1024, modified=0.2)
    assert a.planted == b.planted and _digest(a.path) == _digest(b.path)
    status = corpus.git(a.path, "diff", "--cached", "--name-status").decode().split()
    assert status[::2] == ["M"] * a.files  # edits, not new files
    diff = corpus.git(a.path, "diff", "--cached", "--unified=0").decode()
    assert diff.count("\n@@ ") > 100  # many small hunks
    for key in a.planted:
        assert f"\n+{(a.path / key.path).read_text().splitlines()[key.line - 1]}\n" in diff


def test_history_corpus_is_deterministic(tmp_path: Path) -> None:
    a = corpus.history_corpus(tmp_path / "a", seed=3, commits=60, files=10)
    b = corpus.history_corpus(tmp_path / "b", seed=3, commits=60, files=10)
    head = ["rev-parse", "HEAD"]
    assert corpus.git(a.path, *head) == corpus.git(b.path, *head)
    assert a.planted == b.planted
    count = corpus.git(a.path, "rev-list", "--count", "HEAD").strip()
    assert count == b"60"
