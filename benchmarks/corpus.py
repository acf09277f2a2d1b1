"""Deterministic benchmark repositories.

Everything here is derived from one seed with :class:`random.Random`: the
same seed gives byte-identical files, the same planted keys and (through
``git fast-import`` with fixed dates) the same commit ids. Planted keys are
fake 32-hex values made at run time; they exist only in the work folder.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import stat
import string
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORPUS_VERSION = 1  # bump when the generated content changes
_PROSE = (
    "the request returns a token when the solver finishes and the caller polls the result "
    "with a short delay between attempts while the queue drains every worker reads its "
    "configuration from the environment before it starts so nothing secret is stored in "
    "the repository itself and a later commit cannot leak what was never written down"
)
_WORDS = _PROSE.split()
_IDENT = string.ascii_lowercase + "_"
# Key lines the scanner reports without file-level context.
_PLANT_TEMPLATES = (
    'CAPTCHAAI_API_KEY = "{key}"',
    "export CAPTCHAAI_API_KEY={key}",
    '    payload = {{"key": "{key}", "method": "userrecaptcha"}}',
    'url = "https://ocr.captchaai.com/in.php?key={key}&method=post"',
    '    client = CaptchaAI("{key}")',
)


@dataclass(frozen=True)
class Planted:
    """A fake key placed at ``path:line`` (1-based, in the new file)."""

    path: str
    line: int
    key: str
    commit: int | None = None  # index of the commit in a history corpus

    @property
    def masked(self) -> str:
        return "***" + self.key[-4:]


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def fake_key(rng: random.Random) -> str:
    """A random-looking 32-hex value that no placeholder filter drops."""
    while True:
        key = _hex(rng, 32)
        if len(set(key)) >= 10 and not key.isdigit():
            return key


def _ident(rng: random.Random) -> str:
    return "".join(rng.choice(_IDENT) for _ in range(rng.randint(4, 14)))


def _line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.40:  # code
        a, b, c = _ident(rng), _ident(rng), _ident(rng)
        shape = rng.randrange(5)
        if shape == 0:
            return f"def {a}({b}, {c}=None):"
        if shape == 1:
            return f"    {a} = {b}.{c}({rng.randint(0, 9999)})"
        if shape == 2:
            return f"    if {a} is not None and {b} > {rng.randint(0, 99)}:"
        if shape == 3:
            return f'        return {{"{a}": {b}, "{c}": {rng.random():.6f}}}'
        return f"import {a}.{b} as {c}"
    if kind < 0.55:  # hashes and checksums: long hex runs the prefilter must look at
        shape = rng.randrange(4)
        if shape == 0:
            return f"commit {_hex(rng, 40)}"
        if shape == 1:
            return f"sha256 = {_hex(rng, 64)}"
        if shape == 2:
            return f'etag: "{_hex(rng, 32)}"'
        return f"{_hex(rng, 32)}  {_ident(rng)}.tar.gz"
    if kind < 0.65:  # uuids
        u = _hex(rng, 32)
        return f"id: {u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
    if kind < 0.70:  # base64-ish blobs
        alphabet = string.ascii_letters + string.digits + "+/"
        return "data: " + "".join(rng.choice(alphabet) for _ in range(rng.randint(40, 76)))
    words = rng.choices(_WORDS, k=rng.randint(6, 18))  # prose
    return " ".join(words).capitalize() + "."


def line_pool(seed: int, size: int = 20_000) -> list[str]:
    rng = random.Random(f"pool-{seed}")
    return [_line(rng) for _ in range(size)]


def text_file(rng: random.Random, pool: Sequence[str], size: int) -> list[str]:
    """Lines of mixed text adding up to about ``size`` bytes."""
    lines: list[str] = []
    total = 0
    while total < size:
        batch = rng.choices(pool, k=max(16, (size - total) // 48))
        for line in batch:
            lines.append(line)
            total += len(line) + 1
            if total >= size:
                break
    return lines


def plant(rng: random.Random, lines: list[str], count: int, path: str) -> list[Planted]:
    """Replace ``count`` random lines by key lines; return where they are."""
    planted = []
    spots = sorted(rng.sample(range(len(lines)), min(count, len(lines))))
    for spot in spots:
        key = fake_key(rng)
        lines[spot] = rng.choice(_PLANT_TEMPLATES).format(key=key)
        planted.append(Planted(path=path, line=spot + 1, key=key))
    return planted


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, check=False, env=git_env()
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def git_env() -> dict[str, str]:
    """No user or system configuration; fixed identity and dates."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_AUTHOR_DATE="2024-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2024-01-01T00:00:00Z",
    )
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    return env


@dataclass(frozen=True)
class Corpus:
    """A built repository and the keys planted in it."""

    name: str
    path: Path
    planted: tuple[Planted, ...]
    size: int  # bytes of content staged or committed
    files: int
    commits: int = 0
    stats: dict[str, int] = field(default_factory=dict)  # what the content holds (tree corpora)


def _manifest(path: Path) -> Path:
    return path.parent / f"{path.name}.json"


def _load(name: str, path: Path, spec: dict[str, object]) -> Corpus | None:
    manifest = _manifest(path)
    if not manifest.is_file() or not path.is_dir():
        return None
    data = json.loads(manifest.read_text())
    if data.get("spec") != spec:
        return None
    planted = tuple(Planted(**p) for p in data["planted"])
    return Corpus(name, path, planted, data["size"], data["files"], data.get("commits", 0),
                  data.get("stats", {}))


def _save(corpus: Corpus, spec: dict[str, object]) -> None:
    doc = {
        "spec": spec,
        "planted": [asdict(p) for p in corpus.planted],
        "size": corpus.size,
        "files": corpus.files,
        "commits": corpus.commits,
        "stats": corpus.stats,
    }
    _manifest(corpus.path).write_text(json.dumps(doc))


def _fresh_repo(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    _manifest(path).unlink(missing_ok=True)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")


def staged_corpus(
    work: Path,
    name: str,
    size: int,
    seed: int,
    *,
    file_size: int = 512 * 1024,
    keys_per_mb: int = 4,
    modified: float = 0.0,
) -> Corpus:
    """A repository with one commit of a README and ``size`` bytes of mixed
    text staged on top, in files of about ``file_size`` bytes. With
    ``modified`` (a fraction), the files are committed first and that share
    of their lines (with the planted keys) is staged as edits: a diff of
    many small hunks instead of new files."""
    spec: dict[str, object] = {
        "v": CORPUS_VERSION,
        "kind": "staged",
        "size": size,
        "seed": seed,
        "file_size": file_size,
        "keys_per_mb": keys_per_mb,
    }
    if modified:
        spec["modified"] = modified
    path = work / name
    cached = _load(name, path, spec)
    if cached is not None:
        return cached
    _fresh_repo(path)
    (path / "README.md").write_text("benchmark repository\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "--no-verify", "-m", "init")
    rng = random.Random(f"{name}-{seed}")
    pool = line_pool(seed)
    planted: list[Planted] = []
    edits: dict[Path, list[str]] = {}
    total, index = 0, 0
    while total < size:
        chunk = min(file_size, size - total)
        rel = f"src/part{index // 50:03d}/module_{index:05d}.py"
        lines = text_file(rng, pool, chunk)
        if modified:
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text("\n".join(lines) + "\n")
            lines = [rng.choice(pool) if rng.random() < modified else line for line in lines]
            edits[path / rel] = lines
        if keys_per_mb:
            count = max(1, round(keys_per_mb * chunk / (1 << 20)))
            planted += plant(rng, lines, count, rel)
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines) + "\n"
        if not modified:
            target.write_text(data)
        total += len(data)
        index += 1
    if modified:  # the files as they were, committed; then the edits, staged
        git(path, "add", "-A")
        git(path, "commit", "-q", "--no-verify", "-m", "files")
        for target, lines in edits.items():
            target.write_text("\n".join(lines) + "\n")
    git(path, "add", "-A")
    corpus = Corpus(name, path, tuple(planted), total, index)
    _save(corpus, spec)
    return corpus


def small_corpus(work: Path, seed: int) -> Corpus:
    """One staged 2 KB source file, no key: the everyday commit."""
    return staged_corpus(work, "small", 2048, seed, file_size=2048, keys_per_mb=0)


def _fast_import_stream(
    rng: random.Random, pool: Sequence[str], commits: int, files: int, planted: list[Planted]
) -> Iterator[bytes]:
    contents: dict[str, list[str]] = {}
    names = [f"pkg{i % 7}/file_{i:03d}.py" for i in range(files)]
    base = 1_700_000_000
    for n in range(commits):
        out = [
            b"commit refs/heads/main\n",
            f"mark :{n + 1}\n".encode(),
            f"author Dev{n % 5} <dev{n % 5}@example.com> {base + n * 600} +0000\n".encode(),
            f"committer Dev{n % 5} <dev{n % 5}@example.com> {base + n * 600} +0000\n".encode(),
        ]
        message = f"change {n}: {rng.choice(pool)[:60]}\n".encode()
        out.append(f"data {len(message)}\n".encode() + message)
        if n:
            out.append(f"from :{n}\n".encode())
        for path in rng.sample(names, rng.randint(1, 3)):
            lines = contents.setdefault(path, [])
            if lines and rng.random() < 0.3:  # edit: drop a few lines
                start = rng.randrange(len(lines))
                del lines[start : start + rng.randint(1, 5)]
            new = text_file(rng, pool, rng.randint(200, 2400))
            if rng.random() < 0.02:
                spot = rng.randrange(len(new))
                key = fake_key(rng)
                new[spot] = rng.choice(_PLANT_TEMPLATES).format(key=key)
                planted.append(Planted(path=path, line=len(lines) + spot + 1, key=key, commit=n))
            lines.extend(new)
            data = ("\n".join(lines) + "\n").encode()
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(f"data {len(data)}\n".encode() + data + b"\n")
        yield b"".join(out)


def history_corpus(work: Path, seed: int, commits: int = 2000, files: int = 120) -> Corpus:
    """A linear history of ``commits`` commits touching 1-3 files each; about
    2% of the file changes add a fake key."""
    name = f"history{commits}"
    spec: dict[str, object] = {
        "v": CORPUS_VERSION,
        "kind": "history",
        "commits": commits,
        "files": files,
        "seed": seed,
    }
    path = work / name
    cached = _load(name, path, spec)
    if cached is not None:
        return cached
    _fresh_repo(path)
    rng = random.Random(f"{name}-{seed}")
    pool = line_pool(seed)
    planted: list[Planted] = []
    stream = b"".join(_fast_import_stream(rng, pool, commits, files, planted))
    git(path, "fast-import", "--quiet", input=stream)
    git(path, "reset", "-q", "--hard", "main")
    size = int(git(path, "count-objects", "-v").decode().split("size-pack: ")[1].split()[0]) * 1024
    corpus = Corpus(name, path, tuple(planted), size, files, commits)
    _save(corpus, spec)
    return corpus


# --- a folder of real files (a virtualenv's site-packages) as history or staged ---------------

TREE_VERSION = 1  # bump when the way tree corpora are built changes
_BINARY_PROBE = 8000  # git's binary verdict: a NUL byte in the first 8,000 bytes
_HEX_RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])")  # standing whole
_KEYWORD = re.compile(rb"key|token", re.IGNORECASE)


@dataclass(frozen=True)
class TreeFile:
    path: str  # relative to the folder, "/"-separated
    data: bytes


def tree_files(root: Path, max_bytes: int | None = None) -> tuple[list[TreeFile], dict[str, int]]:
    """The text files under ``root`` in path order, and what was left out:
    ``__pycache__`` and ``.git`` folders, links and other non-regular files,
    names git's fast-import or JSON would need quoting for, and files git
    calls binary (``binary_files``, ``binary_bytes``). With ``max_bytes``, a
    sample spread over the whole folder: files in the order of their path's
    SHA-256 until ``max_bytes`` is reached."""
    found: list[TreeFile] = []
    left = {"binary_files": 0, "binary_bytes": 0, "skipped_files": 0}
    for top, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git"))
        for name in names:
            full = os.path.join(top, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                rel.encode("utf-8")
                info = os.lstat(full)
            except (UnicodeEncodeError, OSError):
                left["skipped_files"] += 1
                continue
            if not stat.S_ISREG(info.st_mode) or "\n" in rel or rel.startswith('"'):
                left["skipped_files"] += 1
                continue
            try:
                data = Path(full).read_bytes()
            except OSError:
                left["skipped_files"] += 1
                continue
            if b"\0" in data[:_BINARY_PROBE]:
                left["binary_files"] += 1
                left["binary_bytes"] += len(data)
                continue
            found.append(TreeFile(rel, data))
    if max_bytes is not None:
        sample: list[TreeFile] = []
        total = 0
        for item in sorted(found, key=lambda f: hashlib.sha256(f.path.encode()).digest()):
            if total >= max_bytes:
                break
            sample.append(item)
            total += len(item.data)
        found = sample
    found.sort(key=lambda f: f.path)
    return found, left


def content_stats(files: Sequence[TreeFile]) -> dict[str, int]:
    """What the detection engine meets in ``files``: runs of exactly 32 hex
    digits standing whole (no letter or digit on either side) and the lines
    holding one, longer hex runs, lines holding "key" or "token" (any case),
    and lines holding both."""
    stats = {"lines": 0, "hex32_runs": 0, "hex32_lines": 0, "long_hex_runs": 0,
             "key_token_lines": 0, "hex32_key_token_lines": 0}
    for item in files:
        data = item.data
        stats["lines"] += data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
        seen = -2  # the line's start - 1 (-1 for the first line)
        for match in _KEYWORD.finditer(data):
            start = data.rfind(b"\n", 0, match.start())
            stats["key_token_lines"] += start != seen
            seen = start
        seen = -1
        for match in _HEX_RUN.finditer(data):
            if match.end() - match.start() > 32:
                stats["long_hex_runs"] += 1
                continue
            stats["hex32_runs"] += 1
            start = data.rfind(b"\n", 0, match.start()) + 1
            if start == seen:
                continue
            seen = start
            end = data.find(b"\n", match.end())
            stats["hex32_lines"] += 1
            line = data[start:] if end < 0 else data[start:end]
            stats["hex32_key_token_lines"] += _KEYWORD.search(line) is not None
    return stats


def _split(files: Sequence[TreeFile], commits: int) -> list[range]:
    """Consecutive runs of ``files`` (path order) of about equal bytes, one
    per commit; every commit gets at least one file."""
    count = len(files)
    commits = max(1, min(commits, count))
    prefix = [0]
    for item in files:
        prefix.append(prefix[-1] + len(item.data))
    total = prefix[-1]
    bounds = [0]
    for k in range(1, commits):
        bound = bisect.bisect_left(prefix, -(-k * total // commits))
        bounds.append(min(max(bound, bounds[-1] + 1), count - (commits - k)))
    bounds.append(count)
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def _plant_tree(
    rng: random.Random, files: list[TreeFile], chunks: Sequence[range], keys: int
) -> list[Planted]:
    """Insert a key line (at the start of a random line) into one file of
    each of ``keys`` commits spread evenly over the history, a ``.py`` file
    where the commit has one; ``files`` is changed in place."""
    planted = []
    keys = min(keys, len(chunks))
    for i in range(keys):
        commit = (2 * i + 1) * len(chunks) // (2 * keys)
        members = list(chunks[commit])
        index = rng.choice([j for j in members if files[j].path.endswith(".py")] or members)
        item = files[index]
        starts = [0, *(m.end() for m in re.finditer(rb"\n", item.data) if m.end() < len(item.data))]
        line = rng.randrange(len(starts))
        key = fake_key(rng)
        text = rng.choice(_PLANT_TEMPLATES).format(key=key).encode() + b"\n"
        at = starts[line]
        files[index] = TreeFile(item.path, item.data[:at] + text + item.data[at:])
        planted.append(Planted(path=item.path, line=line + 1, key=key, commit=commit))
    return planted


@dataclass(frozen=True)
class _Tree:
    real: list[TreeFile]  # the files as found
    left: dict[str, int]  # what was left out (tree_files)
    files: list[TreeFile]  # with the planted lines
    chunks: list[range]  # the files of each commit
    planted: list[Planted]
    spec: dict[str, object]

    def stats(self) -> dict[str, int]:
        """The real files' size and content (before the keys are planted),
        what was left out. Costs a pass over every line: only on a build."""
        return {"source_files": len(self.real), "source_bytes": sum(len(f.data) for f in self.real),
                **self.left, **content_stats(self.real)}


def _tree(root: Path, kind: str, seed: int, commits: int, keys: int, max_bytes: int | None) -> _Tree:
    real, left = tree_files(root, max_bytes)
    if not real:
        raise RuntimeError(f"no text files under {root}")
    digest = hashlib.sha256()
    for item in real:
        digest.update(item.path.encode() + b"\0" + str(len(item.data)).encode() + b"\0" + item.data)
    spec: dict[str, object] = {
        "v": TREE_VERSION,
        "kind": kind,
        "root": str(root),
        "digest": digest.hexdigest(),
        "seed": seed,
        "commits": commits,
        "keys": keys,
        "max_bytes": max_bytes,
    }
    files = list(real)
    chunks = _split(files, commits)
    planted = _plant_tree(random.Random(f"tree-{seed}"), files, chunks, keys)
    return _Tree(real, left, files, chunks, planted, spec)


def _tree_stream(files: Sequence[TreeFile], chunks: Sequence[range]) -> Iterator[bytes]:
    base = 1_700_000_000
    for n, members in enumerate(chunks):
        who = f"Dev{n % 5} <dev{n % 5}@example.com> {base + n * 600} +0000\n"
        out = [b"commit refs/heads/main\n", f"mark :{n + 1}\n".encode(),
               f"author {who}committer {who}".encode()]
        first, last = files[members[0]].path, files[members[-1]].path
        message = f"add {first} .. {last} ({len(members)} files)\n".encode()
        out.append(f"data {len(message)}\n".encode() + message)
        if n:
            out.append(f"from :{n}\n".encode())
        for index in members:
            item = files[index]
            out.append(b"M 100644 inline " + item.path.encode() + b"\n")
            out.append(f"data {len(item.data)}\n".encode() + item.data + b"\n")
        yield b"".join(out)


def tree_history_corpus(
    work: Path,
    root: Path,
    seed: int,
    *,
    commits: int = 200,
    keys: int = 8,
    max_bytes: int | None = None,
    name: str = "site-history",
) -> Corpus:
    """The text files under ``root`` (see :func:`tree_files`) committed in
    path order as a linear history of ``commits`` commits of about equal
    bytes; ``keys`` commits spread over it each add a fake key line to one
    of their files. ``stats`` holds what the real files hold
    (:func:`content_stats`, before the keys are planted) and what was left
    out."""
    tree = _tree(root, "tree-history", seed, commits, keys, max_bytes)
    path = work / name
    cached = _load(name, path, tree.spec)
    if cached is not None:
        return cached
    _fresh_repo(path)
    git(path, "fast-import", "--quiet", input=b"".join(_tree_stream(tree.files, tree.chunks)))
    git(path, "reset", "-q", "--hard", "main")
    size = sum(len(f.data) for f in tree.files)
    corpus = Corpus(name, path, tuple(tree.planted), size, len(tree.files), len(tree.chunks), tree.stats())
    _save(corpus, tree.spec)
    return corpus


def tree_staged_corpus(
    work: Path,
    root: Path,
    seed: int,
    *,
    commits: int = 200,
    keys: int = 8,
    max_bytes: int | None = None,
    name: str = "site-staged",
) -> Corpus:
    """The same files and planted keys as :func:`tree_history_corpus` with
    the same arguments, all staged at once as new files on top of an empty
    commit."""
    tree = _tree(root, "tree-staged", seed, commits, keys, max_bytes)
    path = work / name
    cached = _load(name, path, tree.spec)
    if cached is not None:
        return cached
    _fresh_repo(path)
    git(path, "commit", "-q", "--no-verify", "--allow-empty", "-m", "init")
    for item in tree.files:
        target = path / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
    git(path, "add", "-A", "-f")
    planted = tuple(Planted(p.path, p.line, p.key) for p in tree.planted)
    size = sum(len(f.data) for f in tree.files)
    corpus = Corpus(name, path, planted, size, len(tree.files), 0, tree.stats())
    _save(corpus, tree.spec)
    return corpus
