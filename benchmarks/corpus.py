"""Deterministic benchmark repositories.

Everything here is derived from one seed with :class:`random.Random`: the
same seed gives byte-identical files, the same planted keys and (through
``git fast-import`` with fixed dates) the same commit ids. Planted keys are
fake 32-hex values made at run time; they exist only in the work folder.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
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
    return Corpus(name, path, planted, data["size"], data["files"], data.get("commits", 0))


def _save(corpus: Corpus, spec: dict[str, object]) -> None:
    doc = {
        "spec": spec,
        "planted": [asdict(p) for p in corpus.planted],
        "size": corpus.size,
        "files": corpus.files,
        "commits": corpus.commits,
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
