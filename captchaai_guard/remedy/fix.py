"""Turning findings into a clean commit: plan every edit, then apply them all.

:func:`plan_fix` reads, never writes: for each file with findings it rewrites
the staged (index) version and the work-tree version that hold a key (see
:mod:`captchaai_guard.remedy.rewrite`), collects the keys for ``.env`` at the
repository root, the ``.gitignore`` lines git still needs (``.env``,
``.env.*``, ``!.env.example``: what ``audit`` checks) and which ``.env``
files must leave the index. Each key gets a variable: the name its line
gives it, or, when ``.env`` or another file holds a different key under
that name, the next free rotation name (``CAPTCHAAI_API_KEY_2`` ... ``_9``).
In a project that uses python-dotenv, a rewritten Python file that does not
call ``load_dotenv()`` gets it. A file that cannot be rewritten safely is
left alone and gets manual steps. So does a value found by a custom rule of
the configuration: its shape and meaning are the user's, so no rewrite can
be known to be safe; the steps name the variable it could move to.

:func:`apply_plan` writes ``.env`` first (so a key is never lost; mode 0600,
never through a symbolic link), then the rewritten files, then
``.gitignore``, then the index. Every file is replaced through a temporary
file git never sees (:mod:`captchaai_guard.remedy.safe_write`), its mode kept. If
any step fails, everything already written is put back from the originals
held in memory, the index included.

A ``.env`` file leaves the index when it is staged (new or changed) or when
it is the root ``.env`` that receives keys; other tracked ``.env`` files
(committed defaults, unchanged) are left alone.

A partly staged file (work tree differs from the index) is handled by
rewriting both versions: the index gets the rewritten staged version
(``git hash-object -w`` + ``git update-index --cacheinfo``), the work tree
its own rewritten version, so unstaged changes stay unstaged.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from captchaai_guard.detect.rules import RULES
from captchaai_guard.errors import GuardError
from captchaai_guard.findings import Finding, mask
from captchaai_guard.remedy import pyimports
from captchaai_guard.remedy.guide import ENV_VAR, GITIGNORE_LINES, IGNORED_ENV_FILES, language_of
from captchaai_guard.remedy.rewrite import CannotRewrite, Rewritten, kind_of, rewrite, variable_for
from captchaai_guard.remedy.safe_write import Writer
from captchaai_guard.sources import gitio

ENV_FILE = ".env"
GITIGNORE = ".gitignore"
_ENV_LINE = re.compile(
    r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<q>[\"']?)(?P<value>.*?)(?P=q)\s*(?:#.*)?$"
)
_KEYLIKE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])")
_NEW_FILE_MODE = "100644"
_BUILT_IN = frozenset(rule.id for rule in RULES)
ENV_MODE = 0o600
ROTATION_NAMES = (ENV_VAR, *(f"{ENV_VAR}_{n}" for n in range(2, 10)))
_DEPENDENCY_FILES = re.compile(r"requirements[\w.-]*\.(?:txt|in)|pyproject\.toml|Pipfile|setup\.(?:cfg|py)")
_DOTENV_DEPENDENCY = re.compile(rb"(?i)python[-_.]?dotenv")
# A program that loads .env itself: a dotenv library, node --env-file, a shell `. ./.env`.
_LOADS_ENV = re.compile(r"(?im)dotenv|--env-file|(?:^|[;&|(])\s*(?:\.|source)\s+[\"']?[^\s;]*\.env\b")
_TEMPLATE = re.compile(r"(?i)example|sample|template|dist")


@dataclass(frozen=True)
class ManualStep:
    path: str
    line: int
    reason: str
    steps: str


@dataclass(frozen=True)
class Version:
    """One version of a file (the work tree's or the index's), before and after."""

    old: bytes | None
    new: bytes
    mode: str = _NEW_FILE_MODE  # index mode; for the work tree, unused


@dataclass
class FileChange:
    path: str
    worktree: Version | None = None
    index: Version | None = None
    variables: dict[str, str] = field(default_factory=dict)  # secret -> variable
    dotenv_added: bool = False  # load_dotenv() added to this Python file
    loads_env: bool = False  # the program loads .env by itself (python-dotenv, dotenv...)


@dataclass
class Plan:
    root: Path
    secrets: set[str] = field(default_factory=set)
    files: list[FileChange] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    env_path: Path | None = None
    env_old: bytes | None = None
    env_added: list[tuple[str, str]] = field(default_factory=list)  # (variable, secret)
    env_present: list[str] = field(default_factory=list)
    env_empty: set[str] = field(default_factory=set)  # names .env holds with an empty value
    env_mode: int | None = None  # the existing .env's permission bits
    env_symlink: bool = False
    renamed: dict[str, str] = field(default_factory=dict)  # secret -> the name another key holds
    gitignore: FileChange | None = None
    gitignore_lines: list[str] = field(default_factory=list)
    unstage: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[FileChange]:
        """The rewritten files, then ``.gitignore`` when it changes."""
        return [*self.files, *([self.gitignore] if self.gitignore else [])]

    @property
    def env_tighten(self) -> bool:
        """Whether the existing ``.env``, which holds a key, must become mode 0600."""
        holds = bool(self.env_added or self.env_present)
        return holds and self.env_mode is not None and self.env_mode != ENV_MODE

    @property
    def load_needed(self) -> list[str]:
        """The rewritten files whose program does not load ``.env`` by itself."""
        return [change.path for change in self.files if not change.loads_env]

    @property
    def env_new(self) -> bytes | None:
        """``.env`` with the new keys: an empty ``NAME=`` filled in, others appended."""
        if not self.env_added:
            return None
        fill = {var: secret for var, secret in self.env_added if var in self.env_empty}
        lines = (self.env_old or b"").splitlines(keepends=True)
        for i, line in enumerate(lines):
            m = _ENV_LINE.match(line.decode("utf-8", "replace").rstrip("\r\n"))
            if m is not None and m.group("name") in fill and not m.group("value"):
                ending = line[len(line.rstrip(b"\r\n")) :] or b"\n"
                lines[i] = f"{m.group('name')}={fill[m.group('name')]}".encode() + ending
        if lines and not lines[-1].endswith(b"\n"):
            lines[-1] += b"\n"
        added = [f"{var}={secret}\n".encode() for var, secret in self.env_added if var not in self.env_empty]
        return b"".join(lines + added)


# --- planning -----------------------------------------------------------------


class _IndexView:
    """The index read once: entries by path, blobs through one ``git cat-file --batch``."""

    def __init__(self, root: Path) -> None:
        self.by_path: dict[str, list[tuple[str, str, int, str]]] = {}
        for entry in gitio.index_entries(root):
            self.by_path.setdefault(entry[3], []).append(entry)
        self.blobs = gitio.BlobReader(root)

    def entries(self, path: str) -> list[tuple[str, str, int, str]]:
        return self.by_path.get(path, [])

    def close(self) -> None:
        self.blobs.close()


def plan_fix(root: Path, findings: Iterable[Finding]) -> Plan:
    """Every edit that fixes ``findings``; nothing is written."""
    plan = Plan(root=root)
    by_path: dict[str, list[Finding]] = {}
    wanted: dict[str, str] = {}  # secret -> the name its first line gives it
    for finding in sorted(findings, key=lambda f: (f.path, f.line, f.column)):
        plan.secrets.add(finding.secret)
        if finding.rule_id not in _BUILT_IN:
            _manual_custom(plan, finding)
            continue
        by_path.setdefault(finding.path, []).append(finding)
        wanted.setdefault(finding.secret, variable_for(finding.line_text, finding.column))
    if not by_path:
        return plan
    env = _read_env(root, plan)
    names, unplaced = _allocate(plan, wanted, env)
    planned: dict[str, str] = {}  # variable -> secret, for this run
    index = _IndexView(root)
    context = _Context(root)
    try:
        for path in sorted(by_path):
            _plan_file(plan, index, context, path, by_path[path], names, unplaced, env, planned)
        staged = gitio.staged_paths(root)
        for tracked in sorted(index.by_path):
            if PurePosixPath(tracked).name != ENV_FILE:
                continue
            if tracked in staged or (tracked == ENV_FILE and plan.env_added):
                plan.unstage.append(tracked)
        if plan.files or plan.env_added or plan.unstage or env:
            plan.gitignore = _plan_gitignore(root, index, plan)
    finally:
        index.close()
    if plan.env_symlink and (plan.env_added or plan.env_tighten):
        raise GuardError(
            f"{ENV_FILE} is a symbolic link; fix does not write through it: "
            f"make {ENV_FILE} a regular file (or add the keys where it points, mode 0600) and run fix again"
        )
    return plan


def _allocate(plan: Plan, wanted: dict[str, str], env: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """The variable of each key: the name its line gives it, unless ``.env``
    or an earlier key holds another key under that name; then the name
    ``.env`` already holds it under, or the next free rotation name
    (``CAPTCHAAI_API_KEY_2`` ... ``_9``). Keys for which none is free are
    returned apart (they get manual steps)."""
    holder = {var: value for var, value in env.items() if value}  # name -> key
    names: dict[str, str] = {}
    later: list[str] = []
    for secret, var in wanted.items():
        if holder.get(var, secret) == secret:
            names[secret] = var
            holder[var] = secret
        else:
            later.append(secret)
    unplaced: set[str] = set()
    for secret in later:
        var = wanted[secret]
        free = next((n for n in ROTATION_NAMES if holder.get(n) == secret), None)
        free = free or next((n for n in ROTATION_NAMES if n not in holder), None)
        names[secret] = free or var
        if free is None:
            unplaced.add(secret)
            continue
        holder[free] = secret
        plan.renamed[secret] = var
    return names, unplaced


class _Context:
    """What the project around a file uses: python-dotenv, its own modules."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dotenv: dict[Path, bool] = {}
        self._first_party: frozenset[str] | None = None

    def uses_dotenv(self, path: str) -> bool:
        """Whether a dependency file (requirements*.txt, pyproject.toml, Pipfile,
        setup.cfg, setup.py) next to ``path`` or above it, up to the
        repository's top, names python-dotenv."""
        folder = (self.root / path).parent
        while True:
            if self._declares_dotenv(folder):
                return True
            if folder == self.root or self.root not in folder.parents:
                return False
            folder = folder.parent

    def _declares_dotenv(self, folder: Path) -> bool:
        if folder not in self._dotenv:
            found = False
            try:
                entries = [e for e in os.scandir(folder) if _DEPENDENCY_FILES.fullmatch(e.name)]
            except OSError:
                entries = []
            for entry in entries:
                try:
                    head = Path(entry.path).read_bytes()[:1_000_000] if entry.is_file() else b""
                except OSError:
                    continue
                if _DOTENV_DEPENDENCY.search(head):
                    found = True
                    break
            self._dotenv[folder] = found
        return self._dotenv[folder]

    @property
    def first_party(self) -> frozenset[str]:
        """Top-level modules of the project (at the top or in ``src/``), as isort sees them."""
        if self._first_party is None:
            names: set[str] = set()
            for folder in (self.root, self.root / "src"):
                try:
                    for entry in os.scandir(folder):
                        if entry.name.startswith("."):
                            continue
                        if entry.name.endswith(".py"):
                            names.add(entry.name[:-3])
                        elif entry.is_dir():
                            names.add(entry.name)
                except OSError:
                    continue
            self._first_party = frozenset(names)
        return self._first_party


def _read_env(root: Path, plan: Plan) -> dict[str, str]:
    """``.env``'s variables (the last value of each, as dotenv loaders read it)."""
    path = root / ENV_FILE
    plan.env_path = path
    plan.env_symlink = path.is_symlink()
    if not path.exists():
        return {}
    if not path.is_file():
        raise GuardError(f"{ENV_FILE} at the repository root is not a regular file; cannot store keys in it")
    try:
        data = path.read_bytes()
        plan.env_mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise GuardError(f"cannot read {ENV_FILE}: {exc.strerror or exc}") from None
    plan.env_old = data
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        m = _ENV_LINE.match(line)
        if m is not None:
            values[m.group("name")] = m.group("value")
    plan.env_empty = {name for name, value in values.items() if not value}
    return values


def _manual(plan: Plan, path: str, line: int, reason: str, variable: str) -> None:
    lang = language_of(path)
    name = PurePosixPath(path).name.lower()
    if name.endswith(".ipynb"):
        how = f'in the cell, read it with os.environ["{variable}"] and clear the cell outputs'
    elif kind_of(path) is None:
        how = f"read it from the environment instead: {lang.read.format(var=variable)}"
    else:
        how = f"replace it with: {lang.read.format(var=variable)}"
    steps = (
        f"put {variable}=<your key> in {ENV_FILE} (git-ignored), remove the key from {path} and {how}; "
        f"then git add {path}"
    )
    plan.manual.append(ManualStep(path, line, reason, steps))


def _manual_custom(plan: Plan, finding: Finding) -> None:
    """Steps for a value found by a custom rule: fix never rewrites those."""
    if PurePosixPath(finding.path).name == ENV_FILE:
        return  # where secrets belong; staged .env files are unstaged
    variable = re.sub(r"[^A-Za-z0-9]+", "_", finding.rule_id).strip("_").upper()
    if variable[:1].isdigit():
        variable = "_" + variable
    reason = (
        f"found by the custom rule {finding.rule_id!r} ({finding.masked}); fix rewrites CaptchaAI keys only"
    )
    steps = (
        f"move the value into an environment variable such as {variable} (kept out of git, e.g. in "
        f"{ENV_FILE}), read it from the environment in {finding.path} instead; then git add {finding.path}"
    )
    plan.manual.append(ManualStep(finding.path, finding.line, reason, steps))


def _plan_file(
    plan: Plan,
    index: _IndexView,
    context: _Context,
    path: str,
    findings: list[Finding],
    names: dict[str, str],
    unplaced: set[str],
    env: dict[str, str],
    planned: dict[str, str],
) -> None:
    first = min(findings, key=lambda f: f.line)
    variable = names[first.secret]
    if PurePosixPath(path).is_absolute() or path.startswith("../"):
        _manual(plan, path, first.line, "the file is outside the repository", variable)
        return
    if PurePosixPath(path).name == ENV_FILE:
        return  # where keys belong; staged .env files are unstaged below
    crowded = next((f for f in findings if f.secret in unplaced), None)
    if crowded is not None:
        reason = (
            f"{ENV_FILE} and this fix already use {ROTATION_NAMES[0]} and _2 ... _9 for other keys; "
            f"{path} was left unchanged"
        )
        steps = (
            f"decide which keys are current, remove the others from {ENV_FILE} (rotate them in the "
            "CaptchaAI dashboard); then run fix again"
        )
        plan.manual.append(ManualStep(path, crowded.line, reason, steps))
        return
    dotenv = kind_of(path) == "python" and context.uses_dotenv(path)
    try:
        change = _rewrite_versions(plan.root, index, path, names, dotenv, context.first_party)
    except CannotRewrite as exc:
        _manual(plan, path, exc.line, exc.reason, variable)
        return
    if change is None:
        reason = "the key is not stored as UTF-8 text in this file"
        _manual(plan, path, first.line, reason, variable)
        return
    for secret, var in change.variables.items():
        held = env.get(var) or planned.get(var)
        if held and held != secret:
            where = f"{ENV_FILE} already holds" if env.get(var) else "another file uses"
            reason = f"{where} a different key for {var} ({mask(held)}); {path} was left unchanged"
            steps = (
                f"decide which key is current: keep one {var} in {ENV_FILE} (rotate the other in the "
                f"CaptchaAI dashboard), or give this key its own name ({var}_2 ... _9); then run fix again"
            )
            plan.manual.append(ManualStep(path, first.line, reason, steps))
            return
    for secret, var in change.variables.items():
        if env.get(var):
            if var not in plan.env_present:
                plan.env_present.append(var)
        elif var not in planned:
            planned[var] = secret
            plan.env_added.append((var, secret))
    plan.files.append(change)


def _decode(data: bytes) -> tuple[str, bytes]:
    bom = b"\xef\xbb\xbf"
    body = data[len(bom) :] if data.startswith(bom) else data
    try:
        return body.decode("utf-8"), data[: len(data) - len(body)]
    except UnicodeDecodeError:
        raise CannotRewrite(1, "the file is not UTF-8 text") from None


def _holds(data: bytes, secrets: dict[str, str]) -> bool:
    return any(secret.encode() in data for secret in secrets)


def _loads_env(path: str, result: Rewritten) -> bool:
    """Whether the rewritten program loads ``.env`` by itself."""
    if kind_of(path) == "python":
        try:
            return pyimports.calls_load_dotenv(ast.parse(result.text))
        except (SyntaxError, ValueError):
            return False
    if kind_of(path) == "dotenv":  # read by whatever reads it; a template by nothing
        return _TEMPLATE.search(PurePosixPath(path).name) is not None
    return _LOADS_ENV.search(result.text) is not None


def _rewrite_one(
    path: str,
    data: bytes,
    secrets: dict[str, str],
    change: FileChange,
    dotenv: bool,
    first_party: frozenset[str],
) -> bytes:
    text, bom = _decode(data)
    present = {secret: var for secret, var in secrets.items() if secret in text}
    result = rewrite(path, text, present, dotenv=dotenv, first_party=first_party)
    change.variables.update(result.variables)
    change.dotenv_added = change.dotenv_added or result.added_load_dotenv
    change.loads_env = _loads_env(path, result)
    return bom + result.text.encode("utf-8")


def _rewrite_versions(
    root: Path,
    index: _IndexView,
    path: str,
    secrets: dict[str, str],
    dotenv: bool = False,
    first_party: frozenset[str] = frozenset(),
) -> FileChange | None:
    """The rewritten index and work-tree versions of ``path`` that hold a key."""
    change = FileChange(path)
    exact = index.entries(path)
    if any(e[2] != 0 for e in exact):
        raise CannotRewrite(1, "the file has unresolved merge conflicts")
    if exact:
        mode, sha = exact[0][0], exact[0][1]
        if mode not in ("100644", "100755"):
            raise CannotRewrite(1, "the staged entry is not a regular file")
        staged = index.blobs.read(sha)
        if _holds(staged, secrets):
            new = _rewrite_one(path, staged, secrets, change, dotenv, first_party)
            change.index = Version(staged, new, mode)
    target = root / path
    if target.is_symlink():
        raise CannotRewrite(1, "the file is a symbolic link")
    if target.is_file():
        try:
            current = target.read_bytes()
        except OSError as exc:
            raise GuardError(f"cannot read {path}: {exc.strerror or exc}") from None
        if _holds(current, secrets):
            if change.index is not None and current == change.index.old:
                new = change.index.new
            else:
                new = _rewrite_one(path, current, secrets, change, dotenv, first_party)
            change.worktree = Version(current, new)
    if change.index is None and change.worktree is None:
        return None
    return change


def gitignore_needs(root: Path) -> list[str]:
    """The lines of :data:`GITIGNORE_LINES` that ``.gitignore`` still needs for
    git to ignore ``.env`` and its variants (``.env.local`` ...), keeping
    ``.env.example`` committable unless something ignores it already."""
    ignored = gitio.ignored_paths(root, [*IGNORED_ENV_FILES, ".env.example"])
    dotenv, variants, unignore = GITIGNORE_LINES
    lines = [] if ENV_FILE in ignored else [dotenv]
    if any(name not in ignored for name in IGNORED_ENV_FILES if name != ENV_FILE):
        lines.append(variants)
        if ".env.example" not in ignored:
            lines.append(unignore)
    return lines


def _plan_gitignore(root: Path, index: _IndexView, plan: Plan) -> FileChange | None:
    lines = gitignore_needs(root)
    if not lines:
        return None
    plan.gitignore_lines = lines
    change = FileChange(GITIGNORE)
    target = root / GITIGNORE
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise GuardError(f"{GITIGNORE} is not a regular file; add {' '.join(lines)} to it by hand")
    current = target.read_bytes() if target.exists() else None
    change.worktree = Version(current, _append_lines(current, lines))
    entries = [e for e in index.entries(GITIGNORE) if e[2] == 0]
    if entries:
        mode, sha = entries[0][0], entries[0][1]
        staged = index.blobs.read(sha)
        new = change.worktree.new if staged == current else _append_lines(staged, lines)
        change.index = Version(staged, new, mode)
    else:
        change.index = Version(None, change.worktree.new)
    return change


def _append_lines(data: bytes | None, lines: list[str]) -> bytes:
    data = data or b""
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(b"\n"):
        data += newline
    return data + b"".join(line.encode() + newline for line in lines)


# --- applying -----------------------------------------------------------------


def _mode_of(path: Path, default: int) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return default


def clean_leftovers(root: Path) -> int:
    """Remove what a killed ``fix`` left (temporary files); how many."""
    return Writer(root).clean_leftovers()


def apply_plan(plan: Plan) -> None:
    """Write everything the plan holds, or nothing at all."""
    root = plan.root
    writer = Writer(root)
    undo: list[Callable[[], None]] = []
    index_path = gitio.git_path(root, "index")
    index_backup = index_path.read_bytes() if index_path.is_file() else None

    def put(path: Path, old: bytes | None, new: bytes, mode: int, old_mode: int | None = None) -> None:
        try:
            writer.write(path, new, mode)
        except OSError as exc:
            name = path.relative_to(root) if path.is_relative_to(root) else path
            raise GuardError(f"cannot write {name}: {exc.strerror or exc}") from None
        if old is None:
            undo.append(path.unlink)
        else:
            undo.append(_restorer(writer, path, old, mode if old_mode is None else old_mode))

    try:
        env_new = plan.env_new
        env_path = plan.env_path
        if env_path is not None and (env_new is not None or plan.env_tighten):
            if plan.env_symlink or env_path.is_symlink():
                raise GuardError(f"{ENV_FILE} is a symbolic link; fix does not write through it")
            if env_new is not None:
                put(env_path, plan.env_old, env_new, ENV_MODE, plan.env_mode)
            elif plan.env_mode is not None:
                os.chmod(env_path, ENV_MODE)
                undo.append(_chmodder(env_path, plan.env_mode))
        for change in plan.changes:
            if change.worktree is not None:
                target = root / change.path
                mode = _mode_of(target, 0o644)
                put(target, change.worktree.old, change.worktree.new, mode)
        staged = [(change.path, change.index) for change in plan.changes if change.index is not None]
        shas = gitio.write_blobs(root, [version.new for _, version in staged])
        entries = [(version.mode, sha, path) for (path, version), sha in zip(staged, shas)]
        gitio.set_index_entries(root, entries)
        if plan.unstage:
            gitio.remove_from_index(root, plan.unstage)
        gitio.refresh_index(root)
    except BaseException as exc:
        problems = _roll_back(writer, undo, index_path, index_backup)
        if isinstance(exc, (GuardError, OSError)):
            reason = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                reason = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
            extra = f"; could not restore: {problems}" if problems else "; nothing was changed"
            raise GuardError(f"fix failed: {reason}{extra}") from None
        raise


def _restorer(writer: Writer, path: Path, data: bytes, mode: int) -> Callable[[], None]:
    return lambda: writer.write(path, data, mode)


def _chmodder(path: Path, mode: int) -> Callable[[], None]:
    return lambda: os.chmod(path, mode)


def _roll_back(writer: Writer, undo: list[Callable[[], None]], index_path: Path, backup: bytes | None) -> str:
    problems: list[str] = []
    for action in reversed(undo):
        try:
            action()
        except (OSError, GuardError) as exc:
            problems.append(str(getattr(exc, "strerror", None) or exc))
    if backup is None:
        try:
            index_path.unlink(missing_ok=True)
        except OSError as exc:
            problems.append(f"index: {exc.strerror or exc}")
    else:
        try:
            if not index_path.is_file() or index_path.read_bytes() != backup:
                writer.write(index_path, backup, _mode_of(index_path, 0o644))
        except (OSError, GuardError) as exc:
            problems.append(f"index: {getattr(exc, 'strerror', None) or exc}")
    return ", ".join(problems)


# --- showing ------------------------------------------------------------------


def masked(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, mask(secret))
    return text


def _diff(path: str, old: bytes | None, new: bytes, label: str = "") -> list[str]:
    before = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = new.decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(
        difflib.unified_diff(
            before, after, f"a/{path}{label}" if old is not None else "/dev/null", f"b/{path}{label}"
        )
    )
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]


def render_diff(plan: Plan) -> str:
    """The unified diff of every planned edit, keys masked."""
    out: list[str] = []
    for change in plan.changes:
        wt, ix = change.worktree, change.index
        if wt is not None:
            out += _diff(change.path, wt.old, wt.new)
        if ix is not None and (wt is None or ix.old != wt.old):
            out += _diff(change.path, ix.old, ix.new, " (staged)")
    if plan.env_added:
        added = "".join(f"+{var}={mask(secret)}\n" for var, secret in plan.env_added)
        header = "--- /dev/null\n" if plan.env_old is None else f"--- a/{ENV_FILE}\n"
        out.append(f"{header}+++ b/{ENV_FILE} (not tracked)\n@@ appended @@\n{added}")
    text = masked("".join(out), plan.secrets)
    return _KEYLIKE.sub(lambda m: mask(m.group()), text)
