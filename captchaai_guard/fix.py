"""Turning findings into a clean commit: plan every edit, then apply them all.

:func:`plan_fix` reads, never writes: for each file with findings it rewrites
the staged (index) version and the work-tree version that hold a key (see
:mod:`captchaai_guard.rewrite`), collects the keys for ``.env`` at the
repository root, whether ``.gitignore`` must learn ``.env``, and which
``.env`` files must leave the index. A file that cannot be rewritten safely,
or whose variable already holds a different key in ``.env``, is left alone
and gets manual steps. So does a value found by a custom rule of the
configuration: its shape and meaning are the user's, so no rewrite can be
known to be safe; the steps name the variable it could move to.

:func:`apply_plan` writes ``.env`` first (so a key is never lost), then the
rewritten files, then ``.gitignore``, then the index. Every file is written
to a temporary file in its own directory and renamed into place with its
mode kept. If any step fails, everything already written is put back from
the originals held in memory, the index included.

A ``.env`` file leaves the index when it is staged (new or changed) or when
it is the root ``.env`` that receives keys; other tracked ``.env`` files
(committed defaults, unchanged) are left alone.

A partly staged file (work tree differs from the index) is handled by
rewriting both versions: the index gets the rewritten staged version
(``git hash-object -w`` + ``git update-index --cacheinfo``), the work tree
its own rewritten version, so unstaged changes stay unstaged.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from captchaai_guard import gitio
from captchaai_guard.errors import GuardError
from captchaai_guard.findings import Finding, mask
from captchaai_guard.remediation import language_of
from captchaai_guard.rewrite import CannotRewrite, kind_of, rewrite, variable_for
from captchaai_guard.rules import RULES

ENV_FILE = ".env"
GITIGNORE = ".gitignore"
_ENV_LINE = re.compile(
    r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<q>[\"']?)(?P<value>.*?)(?P=q)\s*(?:#.*)?$"
)
_KEYLIKE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])")
_NEW_FILE_MODE = "100644"
_BUILT_IN = frozenset(rule.id for rule in RULES)


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
    gitignore: FileChange | None = None
    unstage: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[FileChange]:
        """The rewritten files, then ``.gitignore`` when it changes."""
        return [*self.files, *([self.gitignore] if self.gitignore else [])]

    @property
    def env_new(self) -> bytes | None:
        if not self.env_added:
            return None
        old = self.env_old or b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        return old + b"".join(f"{var}={secret}\n".encode() for var, secret in self.env_added)


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
    names: dict[str, str] = {}
    for finding in findings:
        plan.secrets.add(finding.secret)
        if finding.rule_id not in _BUILT_IN:
            _manual_custom(plan, finding)
            continue
        by_path.setdefault(finding.path, []).append(finding)
        names.setdefault(finding.secret, variable_for(finding.line_text, finding.column))
    if not by_path:
        return plan
    env = _read_env(root, plan)
    planned: dict[str, str] = {}  # variable -> secret, for this run
    index = _IndexView(root)
    try:
        for path in sorted(by_path):
            _plan_file(plan, index, path, by_path[path], names, env, planned)
        staged = gitio.staged_paths(root)
        for tracked in sorted(index.by_path):
            if PurePosixPath(tracked).name != ENV_FILE:
                continue
            if tracked in staged or (tracked == ENV_FILE and plan.env_added):
                plan.unstage.append(tracked)
        if plan.files or plan.env_added or plan.unstage or env:
            plan.gitignore = _plan_gitignore(root, index)
    finally:
        index.close()
    return plan


def _read_env(root: Path, plan: Plan) -> dict[str, str]:
    path = root / ENV_FILE
    if path.is_symlink():
        path = path.resolve()
    plan.env_path = path
    if not path.exists():
        return {}
    if not path.is_file():
        raise GuardError(f"{ENV_FILE} at the repository root is not a regular file; cannot store keys in it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GuardError(f"cannot read {ENV_FILE}: {exc.strerror or exc}") from None
    plan.env_old = data
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        m = _ENV_LINE.match(line)
        if m is not None:
            values.setdefault(m.group("name"), m.group("value"))
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
    path: str,
    findings: list[Finding],
    names: dict[str, str],
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
    try:
        change = _rewrite_versions(plan.root, index, path, names)
    except CannotRewrite as exc:
        _manual(plan, path, exc.line, exc.reason, variable)
        return
    if change is None:
        reason = "the key is not stored as UTF-8 text in this file"
        _manual(plan, path, first.line, reason, variable)
        return
    for secret, var in change.variables.items():
        held = env.get(var, planned.get(var))
        if held is not None and held != secret:
            where = f"{ENV_FILE} already holds" if var in env else "another file uses"
            reason = f"{where} a different key for {var} ({mask(held)}); {path} was left unchanged"
            steps = (
                f"decide which key is current: keep one {var} in {ENV_FILE} (rotate the other in the "
                f"CaptchaAI dashboard), or give this key its own name ({var}_2 ... _9); then run fix again"
            )
            plan.manual.append(ManualStep(path, first.line, reason, steps))
            return
    for secret, var in change.variables.items():
        if var in env:
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


def _rewrite_one(path: str, data: bytes, secrets: dict[str, str], change: FileChange) -> bytes:
    text, bom = _decode(data)
    present = {secret: var for secret, var in secrets.items() if secret in text}
    result = rewrite(path, text, present)
    change.variables.update(result.variables)
    return bom + result.text.encode("utf-8")


def _rewrite_versions(root: Path, index: _IndexView, path: str, secrets: dict[str, str]) -> FileChange | None:
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
            change.index = Version(staged, _rewrite_one(path, staged, secrets, change), mode)
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
                new = _rewrite_one(path, current, secrets, change)
            change.worktree = Version(current, new)
    if change.index is None and change.worktree is None:
        return None
    return change


def _plan_gitignore(root: Path, index: _IndexView) -> FileChange | None:
    if ENV_FILE in gitio.ignored_paths(root, [ENV_FILE]):
        return None
    change = FileChange(GITIGNORE)
    target = root / GITIGNORE
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise GuardError(f"{GITIGNORE} is not a regular file; add {ENV_FILE} to it by hand")
    current = target.read_bytes() if target.exists() else None
    change.worktree = Version(current, _append_line(current, ENV_FILE))
    entries = [e for e in index.entries(GITIGNORE) if e[2] == 0]
    if entries:
        mode, sha = entries[0][0], entries[0][1]
        staged = index.blobs.read(sha)
        new = change.worktree.new if staged == current else _append_line(staged, ENV_FILE)
        change.index = Version(staged, new, mode)
    else:
        change.index = Version(None, change.worktree.new)
    return change


def _append_line(data: bytes | None, line: str) -> bytes:
    data = data or b""
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(b"\n"):
        data += newline
    return data + line.encode() + newline


# --- applying -----------------------------------------------------------------


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".captchaai-guard-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_of(path: Path, default: int) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return default


def apply_plan(plan: Plan) -> None:
    """Write everything the plan holds, or nothing at all."""
    root = plan.root
    undo: list[Callable[[], None]] = []
    index_path = gitio.git_path(root, "index")
    index_backup = index_path.read_bytes() if index_path.is_file() else None

    def put(path: Path, old: bytes | None, new: bytes, default_mode: int) -> None:
        mode = _mode_of(path, default_mode)
        try:
            atomic_write(path, new, mode)
        except OSError as exc:
            name = path.relative_to(root) if path.is_relative_to(root) else path
            raise GuardError(f"cannot write {name}: {exc.strerror or exc}") from None
        if old is None:
            undo.append(path.unlink)
        else:
            undo.append(_restorer(path, old, mode))

    try:
        env_new = plan.env_new
        if env_new is not None and plan.env_path is not None:
            put(plan.env_path, plan.env_old, env_new, 0o600)
        for change in plan.changes:
            if change.worktree is not None:
                put(root / change.path, change.worktree.old, change.worktree.new, 0o644)
        staged = [(change.path, change.index) for change in plan.changes if change.index is not None]
        shas = gitio.write_blobs(root, [version.new for _, version in staged])
        entries = [(version.mode, sha, path) for (path, version), sha in zip(staged, shas)]
        gitio.set_index_entries(root, entries)
        if plan.unstage:
            gitio.remove_from_index(root, plan.unstage)
        gitio.refresh_index(root)
    except BaseException as exc:
        problems = _roll_back(undo, index_path, index_backup)
        if isinstance(exc, (GuardError, OSError)):
            reason = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                reason = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
            extra = f"; could not restore: {problems}" if problems else "; nothing was changed"
            raise GuardError(f"fix failed: {reason}{extra}") from None
        raise


def _restorer(path: Path, data: bytes, mode: int) -> Callable[[], None]:
    return lambda: atomic_write(path, data, mode)


def _roll_back(undo: list[Callable[[], None]], index_path: Path, backup: bytes | None) -> str:
    problems: list[str] = []
    for action in reversed(undo):
        try:
            action()
        except OSError as exc:
            problems.append(str(exc.strerror or exc))
    if backup is None:
        try:
            index_path.unlink(missing_ok=True)
        except OSError as exc:
            problems.append(f"index: {exc.strerror or exc}")
    else:
        try:
            if not index_path.is_file() or index_path.read_bytes() != backup:
                atomic_write(index_path, backup, _mode_of(index_path, 0o644))
        except OSError as exc:
            problems.append(f"index: {exc.strerror or exc}")
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
