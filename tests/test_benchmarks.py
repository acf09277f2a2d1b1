"""The benchmark script runs and its corpora are deterministic (no timing here)."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import Repo, console_script

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import run  # noqa: E402


def test_help() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "--quick" in proc.stdout and "--peers" in proc.stdout


def test_bad_site_packages_options_are_one_line_errors(tmp_path: Path) -> None:
    for args, message in (
        (["--site-packages", str(tmp_path / "missing")], "is not a folder"),
        (["--site-mb", "0"], "--site-mb must be more than 0"),
        (["--site-commits", "0"], "--site-commits must be at least 1"),
    ):
        proc = subprocess.run([sys.executable, str(BENCH / "run.py"), *args, "--work", str(tmp_path / "w")],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 2 and message in proc.stderr.splitlines()[-1]
        assert "Traceback" not in proc.stderr and not (tmp_path / "w").exists()


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


def _site_packages(root: Path, files: int = 40, seed: int = 1) -> Path:
    """A small stand-in for a virtualenv's site-packages: packages of text
    files (Python, JSON, no extension, a ``.gitignore`` that ignores the
    JSON files), plus what the corpus leaves out: a binary file, a
    ``__pycache__`` folder and a link."""
    rng = random.Random(seed)
    pool = corpus.line_pool(seed, 500)
    for i in range(files):
        name = f"pkg{i % 4}/{'sub/' if i % 3 == 0 else ''}mod_{i:02d}{('.py', '.json', '')[i % 3]}"
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(corpus.text_file(rng, pool, rng.randint(300, 3000))) + "\n")
    (root / "pkg3" / ".gitignore").write_text("*.json\n")
    (root / "pkg0" / "native.so").write_bytes(b"\x7fELF\0\0" + bytes(range(256)) * 4)
    (root / "pkg0" / "__pycache__").mkdir()
    (root / "pkg0" / "__pycache__" / "mod_00.cpython-311.pyc").write_text("cached\n")
    (root / "pkg1" / "link.py").symlink_to(root / "pkg1" / "mod_01.json")
    return root


def test_tree_files_keeps_text_files_in_path_order(tmp_path: Path) -> None:
    root = _site_packages(tmp_path / "site", files=12)
    files, left = corpus.tree_files(root)
    paths = [f.path for f in files]
    assert paths == sorted(paths) and len(paths) == 13 and "pkg3/.gitignore" in paths
    assert not any("__pycache__" in p or p.endswith((".so", "link.py")) for p in paths)
    assert left == {"binary_files": 1, "binary_bytes": (root / "pkg0" / "native.so").stat().st_size,
                    "skipped_files": 1}
    assert files[0].data == (root / files[0].path).read_bytes()
    total = sum(len(f.data) for f in files)
    sample, _ = corpus.tree_files(root, max_bytes=total // 3)
    assert [f.path for f in sample] == sorted(f.path for f in sample)
    assert total // 3 <= sum(len(f.data) for f in sample) < total
    assert {f.path for f in sample} < set(paths)
    again, _ = corpus.tree_files(root, max_bytes=total // 3)
    assert again == sample


def test_content_stats_counts_hex_runs_and_keyword_lines() -> None:
    hex32, other, digest = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(32)
    text = (
        f"api_key = '{hex32}'\n"  # a run and a keyword
        f"etag: {other} {secrets.token_hex(16)}\n"  # two runs on one line
        f"sha256 = {digest}\n"  # longer: not a run of 32
        f"x{hex32} {hex32}y\n"  # not standing whole
        "TOKEN and Monkey: a keyword, twice\n"
        "plain line"  # no final newline
    )
    stats = corpus.content_stats([corpus.TreeFile("a.py", text.encode()), corpus.TreeFile("b", b"")])
    assert stats == {"lines": 6, "hex32_runs": 3, "hex32_lines": 2, "long_hex_runs": 1,
                     "key_token_lines": 2, "hex32_key_token_lines": 1}


def test_split_gives_every_commit_about_equal_bytes() -> None:
    def split(sizes: list[int], commits: int) -> list[list[int]]:
        files = [corpus.TreeFile(f"f{i:02d}", b"x" * size) for i, size in enumerate(sizes)]
        return [list(r) for r in corpus._split(files, commits)]

    assert split([100] * 12, 4) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert split([100] * 12, 5) == [[0, 1, 2], [3, 4], [5, 6, 7], [8, 9], [10, 11]]
    assert split([1000, 1, 1, 1], 3) == [[0], [1], [2, 3]]  # a large file: still a file per commit
    assert split([1, 1, 1, 1000], 3) == [[0, 1], [2], [3]]
    assert split([5, 5], 4) == [[0], [1]]  # fewer files than commits
    assert split([0, 0, 0], 2) == [[0], [1, 2]]


def _commits(path: Path) -> list[str]:
    return corpus.git(path, "rev-list", "--reverse", "HEAD").decode().split()


def test_tree_history_corpus_commits_the_files_in_order(tmp_path: Path) -> None:
    root = _site_packages(tmp_path / "site")
    a = corpus.tree_history_corpus(tmp_path / "a", root, seed=3, commits=12, keys=4)
    b = corpus.tree_history_corpus(tmp_path / "b", root, seed=3, commits=12, keys=4)
    assert corpus.git(a.path, "rev-parse", "HEAD") == corpus.git(b.path, "rev-parse", "HEAD")
    assert a.planted == b.planted and len(a.planted) == 4
    commits = _commits(a.path)
    assert len(commits) == a.commits == 12
    added: list[str] = []
    for commit in commits:  # each commit adds the next files, in path order
        names = corpus.git(a.path, "show", "--name-status", "--format=", commit).decode().split()
        assert names[::2] == ["A"] * (len(names) // 2) and names
        added += names[1::2]
    files, _ = corpus.tree_files(root)
    assert added == [f.path for f in files] and a.files == 41
    assert [p.commit for p in a.planted] == [1, 4, 7, 10]  # spread over the history
    planted_bytes = 0
    for key in a.planted:
        assert key.commit is not None
        shown = corpus.git(a.path, "show", f"{commits[key.commit]}:{key.path}").decode()
        line = shown.splitlines()[key.line - 1]
        assert key.key in line
        planted_bytes += len(line) + 1
        added_by = corpus.git(a.path, "log", "--format=%H", "--diff-filter=A", "--", key.path).split()
        assert added_by == [commits[key.commit].encode()]
    stats = a.stats
    assert stats["source_files"] == 41 and stats["binary_files"] == 1
    assert a.size == stats["source_bytes"] + planted_bytes  # the real files and the key lines
    assert stats["hex32_runs"] > 0 and stats["key_token_lines"] > 0  # the pool has etags and tokens


def test_tree_corpus_is_rebuilt_when_the_folder_changes(tmp_path: Path) -> None:
    root = _site_packages(tmp_path / "site", files=10)
    first = corpus.tree_history_corpus(tmp_path / "w", root, seed=3, commits=5, keys=2)
    head = corpus.git(first.path, "rev-parse", "HEAD")
    marker = first.path / ".git" / "marker"
    marker.write_text("kept while the folder is unchanged\n")
    assert corpus.tree_history_corpus(tmp_path / "w", root, seed=3, commits=5, keys=2) == first
    assert marker.is_file()
    (root / "pkg2" / "mod_02").write_text("changed\n")
    second = corpus.tree_history_corpus(tmp_path / "w", root, seed=3, commits=5, keys=2)
    assert not marker.exists() and corpus.git(second.path, "rev-parse", "HEAD") != head


def test_tree_staged_corpus_stages_the_same_files_and_keys(tmp_path: Path) -> None:
    root = _site_packages(tmp_path / "site")
    hist = corpus.tree_history_corpus(tmp_path / "w", root, seed=3, commits=12, keys=4)
    staged = corpus.tree_staged_corpus(tmp_path / "w", root, seed=3, commits=12, keys=4)
    assert staged.path != hist.path
    where = [(p.path, p.line, p.key) for p in hist.planted]
    assert [(p.path, p.line, p.key) for p in staged.planted] == where
    assert (staged.files, staged.size, staged.stats) == (hist.files, hist.size, hist.stats)
    status = corpus.git(staged.path, "diff", "--cached", "--name-status").decode().split()
    assert status[::2] == ["A"] * staged.files
    tree = corpus.git(hist.path, "ls-tree", "-r", "HEAD").decode()
    index = corpus.git(staged.path, "ls-files", "-s").decode()
    blobs = sorted(line.split()[2] for line in tree.splitlines())
    assert blobs == sorted(line.split()[1] for line in index.splitlines())  # byte for byte


def test_pr_base_counts_the_commits_a_merge_brings(repo: Repo) -> None:
    ids = []
    for n in range(3):
        repo.stage("main.txt", f"{n}\n")
        ids.append(repo.commit(f"main {n}"))
    repo.git("checkout", "-q", "-b", "topic", ids[1])
    for n in range(3):
        repo.stage("topic.txt", f"{n}\n")
        repo.commit(f"topic {n}")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "topic")
    # first parents: merge, main 2, main 1, main 0
    assert run.pr_base(repo.path, 1) == (ids[2], 4)  # the merge and the topic's three
    assert run.pr_base(repo.path, 5) == (ids[1], 5)
    assert run.pr_base(repo.path, 6) == (ids[0], 6)
    assert run.pr_base(repo.path, 7) is None


def test_pr_range_of_the_tree_history_finds_only_its_keys(tmp_path: Path) -> None:
    """What the PR-range workload checks, with the real scanner."""
    root = _site_packages(tmp_path / "site")
    hist = corpus.tree_history_corpus(tmp_path / "w", root, seed=3, commits=12, keys=4)
    found = run.pr_base(hist.path, 6)
    assert found is not None and found[1] == 6
    span = f"{found[0]}..HEAD"
    proc = subprocess.run([console_script(), "scan", "--commits", span, "--format", "json"], cwd=hist.path,
                          capture_output=True, check=False)
    assert proc.returncode == 1, proc.stderr
    got = {(f["path"], f["line"], f["masked"]) for f in json.loads(proc.stdout)["findings"]}
    inside = [p for p in hist.planted if p.commit is not None and p.commit >= 6]
    outside = [p for p in hist.planted if p not in inside]
    assert len(inside) == 2 == len(outside)
    check = run.expect_keys(inside, outside)
    assert got >= {(p.path, p.line, p.masked) for p in inside}
    assert not got & {(p.path, p.line, p.masked) for p in outside}
    assert check(run.Run(0.0, proc.returncode, 0, stdout=proc.stdout)) is None
    assert run.expect_keys(hist.planted)(run.Run(0.0, proc.returncode, 0, stdout=proc.stdout)) is not None
    assert run.expect_keys(inside, inside)(run.Run(0.0, proc.returncode, 0, stdout=proc.stdout)) is not None
