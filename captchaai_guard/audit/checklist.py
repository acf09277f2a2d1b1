"""The security checklist, checked against a repository.

Each check takes an :class:`AuditContext` and returns an :class:`Item`: its
level (Required, Recommended, Optional), a status (pass, fail, warn, skip),
evidence naming files and lines (never a key: at most its masked form or a
short fingerprint) and how to fix it. No click here; see :mod:`captchaai_guard.commands.audit`.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from captchaai_guard.audit import code as audit_code
from captchaai_guard.config.project import PathFilter
from captchaai_guard.detect.engine import Engine
from captchaai_guard.findings import Finding, secret_hash
from captchaai_guard.remedy.guide import EXAMPLE_ADVICE, GITIGNORE_LINES, IGNORED_ENV_FILES
from captchaai_guard.scan import scan_commits, scan_files, to_text_bytes
from captchaai_guard.sources import gitio

if TYPE_CHECKING:
    from captchaai_guard.config.baseline import Baseline

REQUIRED, RECOMMENDED, OPTIONAL = "Required", "Recommended", "Optional"
PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
MAX_EVIDENCE = 20
MAX_PASS_EVIDENCE = 5
_MAX_TEXT = 2_000_000
ENV_FILES = IGNORED_ENV_FILES
HOOK_SIGNATURE = "captchaai-guard"

_TEMPLATE = re.compile(r"example|sample|template|dist|defaults?$", re.IGNORECASE)
_ENV_FILE = re.compile(
    r"(?:^|/)(?:\.env(?:\.(?P<a>[\w.-]+))?|(?P<b>[\w-]+)\.env"
    r"|(?:config|settings|secrets)[._-](?P<c>[\w-]+)\.(?:json|ya?ml|toml|ini))$"
)
_ENV_ALIASES = {
    "dev": "development",
    "develop": "development",
    "local": "development",
    "development.local": "development",
    "prod": "production",
    "live": "production",
    "production.local": "production",
    "stage": "staging",
    "testing": "test",
    "test.local": "test",
}
_SEPARATE_VARS = re.compile(
    r"CAPTCHAAI_API_KEY_(?:DEV|DEVELOPMENT|PROD|PRODUCTION|STAGING|STAGE|TEST|LIVE|SANDBOX|LOCAL)\b",
    re.IGNORECASE,
)
_ROTATION_VARS = re.compile(r"CAPTCHAAI_API_KEY_[2-9]\b|\bKeyRotator\b")
_ROTATION_DOC = re.compile(r"\brotat(?:e|es|ed|ing|ion)\b", re.IGNORECASE)
_DOC_NAMES = re.compile(r"(?:^|/)(?:SECURITY|README)(?:\.\w+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    detail: str
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or ""
        if self.path and self.line:
            where += f":{self.line}"
        return f"{where}: {self.detail}" if where else self.detail

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "detail": self.detail}


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    level: str
    status: str
    evidence: tuple[Evidence, ...] = ()
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "level": self.level,
            "status": self.status,
            "evidence": [e.to_dict() for e in self.evidence],
            "fix": self.fix,
        }


@dataclass
class AuditContext:
    """The repository being audited, with tracked files read once.

    ``engine``, ``include`` and ``baseline`` come from the repository's
    configuration, as for ``scan``: ``tracked`` holds only the files the
    configuration does not exclude (``excluded`` counts the others).
    """

    root: Path
    history: bool = False
    tracked: list[str] = field(default_factory=list)
    engine: Engine = field(default_factory=Engine)
    include: PathFilter | None = None
    baseline: Baseline | None = None
    excluded: int = 0
    _texts: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        root: Path,
        history: bool = False,
        *,
        engine: Engine | None = None,
        include: PathFilter | None = None,
        baseline: Baseline | None = None,
    ) -> AuditContext:
        tracked = gitio.tracked_files(root)
        kept = tracked if include is None else [path for path in tracked if include(path)]
        return cls(
            root=root,
            history=history,
            tracked=kept,
            engine=engine or Engine(),
            include=include,
            baseline=baseline,
            excluded=len(tracked) - len(kept),
        )

    def included(self, path: str) -> bool:
        return self.include is None or self.include(path)

    def file(self, path: str) -> Path | None:
        """A regular file of the work tree (no symlinks), or None."""
        target = self.root / path
        try:
            mode = target.lstat().st_mode
        except OSError:
            return None
        return target if stat.S_ISREG(mode) else None

    def text(self, path: str) -> str | None:
        """The text of a work-tree file; None when missing, binary or huge."""
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def _read(self, path: str) -> str | None:
        target = self.file(path)
        if target is None:
            return None
        try:
            if target.stat().st_size > _MAX_TEXT:
                return None
            data = to_text_bytes(target.read_bytes())
        except OSError:
            return None
        return None if data is None else data.decode("utf-8", "replace")

    def code_files(self) -> Iterator[tuple[str, str]]:
        for path in self.tracked:
            if audit_code.is_code(path):
                text = self.text(path)
                if text is not None:
                    yield path, text

    def env_files(self) -> list[str]:
        """Environment config files: tracked ones and those at the top (often ignored)."""
        names = set(self.tracked)
        with contextlib.suppress(OSError):
            names.update(
                entry.name for entry in os.scandir(self.root) if entry.is_file(follow_symlinks=False)
            )
        return sorted(
            n
            for n in names
            if _ENV_FILE.search(n) and not _TEMPLATE.search(PurePosixPath(n).name) and self.included(n)
        )


def _capped(evidence: Iterable[Evidence], limit: int = MAX_EVIDENCE) -> tuple[Evidence, ...]:
    items = list(evidence)
    if len(items) <= limit:
        return tuple(items)
    return (*items[:limit], Evidence(f"... and {len(items) - limit} more"))


def _finding_evidence(finding: Finding) -> Evidence:
    detail = f"{finding.description} ({finding.masked})"
    if finding.commit is not None:
        detail += f" in commit {finding.commit.sha[:12]} ({finding.commit.date})"
    return Evidence(detail, finding.path, finding.line)


def _baselined(ctx: AuditContext, count: int) -> list[Evidence]:
    if not count or ctx.baseline is None:
        return []
    source = ctx.baseline.source
    shown = ""
    if source is not None:
        try:
            shown = f" ({source.resolve().relative_to(ctx.root.resolve()).as_posix()})"
        except ValueError:
            shown = f" ({source})"
    noun = "finding" if count == 1 else "findings"
    return [Evidence(f"{count} {noun} accepted by the baseline{shown}")]


def check_key_not_in_source(ctx: AuditContext) -> Item:
    files = [p for p in (ctx.file(name) for name in ctx.tracked) if p is not None]
    findings = list(scan_files(files, ctx.root, ctx.engine, ctx.include))
    scope = f"{len(files)} tracked files"
    if ctx.excluded:
        scope += f" ({ctx.excluded} more excluded by the configuration)"
    if ctx.history:
        findings += scan_commits(ctx.root, ["--all"], ctx.engine, include=ctx.include)
        scope += " and every commit of every branch"
    kept = findings if ctx.baseline is None else ctx.baseline.filter(findings)
    accepted = _baselined(ctx, len(findings) - len(kept))
    title = "API key not in source code"
    if kept:
        fix = (
            "Move the key into CAPTCHAAI_API_KEY (see `captchaai-guard scan --files`), then rotate it in "
            "the CaptchaAI dashboard: a committed key stays in git history."
        )
        evidence = (*_capped(_finding_evidence(f) for f in kept), *accepted)
        return Item("key-not-in-source", title, REQUIRED, FAIL, evidence, fix)
    evidence = (Evidence(f"no key found in {scope}"), *accepted)
    return Item("key-not-in-source", title, REQUIRED, PASS, evidence)


def check_env_ignored(ctx: AuditContext) -> Item:
    title = ".env files in .gitignore"
    ignored = gitio.ignored_paths(ctx.root, ENV_FILES)
    evidence = [Evidence("not ignored by .gitignore", name) for name in ENV_FILES if name not in ignored]
    tracked = [
        p
        for p in ctx.tracked
        if re.search(r"(?:^|/)(?:\.env(?:\.[^/]*)?|[^/]*\.env(?:\.local)?)$", p)
        and not _TEMPLATE.search(PurePosixPath(p).name)
    ]
    evidence += [Evidence("tracked by git", p) for p in tracked]
    if not evidence:
        checked = ", ".join(ENV_FILES)
        return Item(
            "env-files-ignored", title, REQUIRED, PASS, (Evidence(f"{checked} ignored; none tracked"),)
        )
    fix_parts = []
    if len(evidence) > len(tracked):
        lines = ", ".join(f"`{line}`" for line in GITIGNORE_LINES)
        fix_parts.append(f"add {lines} to .gitignore (captchaai-guard fix does)")
    if tracked:
        fix_parts.append(f"stop tracking: git rm --cached {' '.join(tracked[:5])}")
    fix = "; ".join(fix_parts) + ". " + EXAMPLE_ADVICE
    return Item("env-files-ignored", title, REQUIRED, FAIL, _capped(evidence), fix)


def check_key_from_env(ctx: AuditContext) -> Item:
    title = "Key loaded from the environment"
    users: list[Evidence] = []
    readers: list[Evidence] = []
    others: list[Evidence] = []
    for path, text in ctx.code_files():
        use = audit_code.captchaai_use(text)
        reads = audit_code.env_reads(text)
        readers += [Evidence("reads CAPTCHAAI_API_KEY from the environment", path, n) for n in reads]
        if use is not None:
            users.append(Evidence("talks to CaptchaAI with a key", path, use))
            if not reads:
                others += [
                    Evidence("reads a key from the environment, but not CAPTCHAAI_API_KEY", path, n)
                    for n in audit_code.other_env_key_reads(text)
                ]
    fix = (
        'Read the key from the environment: api_key = os.environ["CAPTCHAAI_API_KEY"] '
        "(or captchaai_guard.keys.get_api_key(), which also reads a .env file)."
    )
    if not users:
        return Item("key-from-environment", title, REQUIRED, SKIP, (Evidence("no code talks to CaptchaAI"),))
    if readers:
        return Item("key-from-environment", title, REQUIRED, PASS, _capped(readers, MAX_PASS_EVIDENCE))
    if others:
        return Item("key-from-environment", title, REQUIRED, WARN, _capped(others), fix)
    detail = "talks to CaptchaAI but no code reads CAPTCHAAI_API_KEY from the environment"
    evidence = [Evidence(detail, e.path, e.line) for e in users]
    return Item("key-from-environment", title, REQUIRED, FAIL, _capped(evidence), fix)


def check_logging_masks(ctx: AuditContext) -> Item:
    title = "Logging masks the key"
    files = list(ctx.code_files())
    filter_used = [
        Evidence("installs the key-masking log filter", path)
        for path, text in files
        if audit_code.uses_masking_filter(text)
    ]
    raw: list[Evidence] = []
    covered: list[Evidence] = []
    for path, text in files:
        wrapped = audit_code.uses_secure_wrapper(text)
        for hit in audit_code.raw_key_logs(text):
            what = f"{hit.call} formats {hit.name}"
            if hit.logging and filter_used:
                covered.append(Evidence(f"{what}, masked by the log filter", path, hit.line))
            elif wrapped and not hit.name.endswith(".value"):
                covered.append(Evidence(f"{what}, a SecureApiKey in this file", path, hit.line))
            else:
                raw.append(Evidence(f"{what} unmasked", path, hit.line))
    if raw:
        fix = (
            "Never print or log the key itself: wrap it in captchaai_guard.keys.SecureApiKey "
            "(prints ***abcd) and call captchaai_guard.keys.install_log_masking() after configuring logging."
        )
        return Item("logging-masks-key", title, RECOMMENDED, FAIL, _capped(raw), fix)
    evidence = filter_used + covered or [Evidence("no print or logging call formats a raw key variable")]
    return Item("logging-masks-key", title, RECOMMENDED, PASS, _capped(evidence, MAX_PASS_EVIDENCE))


def _environment(path: str) -> str:
    m = _ENV_FILE.search(path)
    name = ((m.group("a") or m.group("b") or m.group("c")) if m else None) or "default"
    name = name.lower()
    return _ENV_ALIASES.get(name, name)


def check_separate_keys(ctx: AuditContext) -> Item:
    title = "Different keys for dev and prod"
    engine = ctx.engine
    where: dict[str, dict[str, list[tuple[str, int]]]] = {}  # key hash -> environment -> places
    environments: dict[str, list[str]] = {}
    for path in ctx.env_files():
        text = ctx.text(path)
        if text is None:
            continue
        env = _environment(path)
        for number, line in enumerate(text.splitlines(), 1):
            for match in engine.match_line(path, line):
                where.setdefault(secret_hash(match.secret), {}).setdefault(env, []).append((path, number))
                environments.setdefault(env, [])
                if path not in environments[env]:
                    environments[env].append(path)
    shared = []
    for digest, places in sorted(where.items()):
        envs = set(places)
        if "production" not in envs:
            envs.discard("default")  # .env is the base every environment starts from
        if len(envs) > 1:
            spots = [f"{p}:{n}" for env_places in places.values() for p, n in env_places]
            shared.append(Evidence(f"the same key (fingerprint {digest[:12]}) in {' and '.join(spots)}"))
    if shared:
        fix = (
            "Create a separate key for each environment in the CaptchaAI dashboard, so a leaked "
            "development key cannot spend the production balance."
        )
        return Item("separate-dev-prod-keys", title, RECOMMENDED, FAIL, _capped(shared), fix)
    separate = [
        Evidence("separate variable per environment", path, n)
        for path, text in ctx.code_files()
        if "CAPTCHAAI_API_KEY_" in text.upper() and _SEPARATE_VARS.search(text)
        for n, line in enumerate(text.splitlines(), 1)
        if _SEPARATE_VARS.search(line)
    ]
    if len(environments) > 1 or separate:
        evidence = [
            Evidence(f"{env}: {', '.join(paths)}") for env, paths in sorted(environments.items())
        ] + separate
        if len(environments) > 1:
            evidence.insert(0, Evidence(f"{len(environments)} environments, each with its own key"))
        return Item("separate-dev-prod-keys", title, RECOMMENDED, PASS, _capped(evidence, MAX_PASS_EVIDENCE))
    uses = any(audit_code.captchaai_use(text) is not None for _, text in ctx.code_files())
    if not environments and not uses:
        return Item(
            "separate-dev-prod-keys", title, RECOMMENDED, SKIP, (Evidence("no CaptchaAI key configuration"),)
        )
    found = ", ".join(p for paths in environments.values() for p in paths)
    detail = f"one environment's key only ({found})" if found else "no per-environment key configuration"
    fix = (
        "Use a separate key per environment: .env.development and .env.production (both ignored by git), "
        "or CAPTCHAAI_API_KEY set differently in each deployment."
    )
    return Item("separate-dev-prod-keys", title, RECOMMENDED, WARN, (Evidence(detail),), fix)


def _executable(path: Path) -> bool:
    return os.name == "nt" or os.access(path, os.X_OK)


def check_hook(ctx: AuditContext) -> Item:
    title = "Pre-commit hook installed"
    hook = gitio.git_path(ctx.root, "hooks") / "pre-commit"
    shown = os.path.relpath(hook, ctx.root)
    if shown.startswith(".."):
        shown = str(hook)
    try:
        content = hook.read_text(encoding="utf-8", errors="replace") if hook.is_file() else ""
    except OSError:
        content = ""
    config = ".pre-commit-config.yaml"
    config_text = ctx.text(config) or ""
    in_config = HOOK_SIGNATURE in config_text
    fix = "Install it: captchaai-guard install (or add the captchaai-guard hook to .pre-commit-config.yaml)"
    if content and (HOOK_SIGNATURE in content or (in_config and "pre-commit" in content)):
        source = (
            "captchaai-guard hook" if HOOK_SIGNATURE in content else f"pre-commit, configured in {config}"
        )
        if not _executable(hook):
            return Item(
                "pre-commit-hook",
                title,
                RECOMMENDED,
                WARN,
                (Evidence("not executable", shown),),
                f"chmod +x {shown}",
            )
        return Item("pre-commit-hook", title, RECOMMENDED, PASS, (Evidence(f"runs {source}", shown),))
    if in_config:
        evidence = (Evidence("configured, but the git hook is not installed", config),)
        return Item("pre-commit-hook", title, RECOMMENDED, WARN, evidence, "Run: pre-commit install")
    detail = "no captchaai-guard hook" + (" (another pre-commit hook is installed)" if content else "")
    return Item("pre-commit-hook", title, RECOMMENDED, FAIL, (Evidence(detail, shown),), fix + ".")


def check_rotation_plan(ctx: AuditContext) -> Item:
    title = "Key rotation plan documented"
    evidence: list[Evidence] = []
    for path in ctx.tracked:
        if _DOC_NAMES.search(path) and not audit_code.is_code(path):
            text = ctx.text(path) or ""
            for n, line in enumerate(text.splitlines(), 1):
                if _ROTATION_DOC.search(line) and "key" in line.lower():
                    evidence.append(Evidence("documents key rotation", path, n))
                    break
    for path, text in [*ctx.code_files(), *((p, ctx.text(p) or "") for p in ctx.env_files())]:
        if not ("CAPTCHAAI_API_KEY_" in text or "KeyRotator" in text) or not _ROTATION_VARS.search(text):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if _ROTATION_VARS.search(line):
                evidence.append(Evidence("rotation keys configured", path, n))
                break
    if evidence:
        return Item("rotation-plan", title, OPTIONAL, PASS, _capped(evidence, MAX_PASS_EVIDENCE))
    fix = (
        "Document how to rotate the key (SECURITY.md: who, when, where in the dashboard) or configure "
        "CAPTCHAAI_API_KEY_2 and use captchaai_guard.keys.KeyRotator."
    )
    return Item(
        "rotation-plan", title, OPTIONAL, FAIL, (Evidence("no rotation plan or rotation keys found"),), fix
    )


CHECKS: tuple[Callable[[AuditContext], Item], ...] = (
    check_key_not_in_source,
    check_env_ignored,
    check_key_from_env,
    check_logging_masks,
    check_separate_keys,
    check_hook,
    check_rotation_plan,
)


def run_audit(
    root: Path,
    history: bool = False,
    *,
    engine: Engine | None = None,
    include: PathFilter | None = None,
    baseline: Baseline | None = None,
) -> list[Item]:
    """Every checklist item for the repository at ``root``.

    ``engine`` (rules and allowlist), ``include`` (paths not excluded) and
    ``baseline`` (accepted findings) come from the configuration; without
    them the built-in rules look at every tracked file.
    """
    ctx = AuditContext.open(root, history=history, engine=engine, include=include, baseline=baseline)
    return [check(ctx) for check in CHECKS]


def required_failed(items: Iterable[Item]) -> bool:
    return any(item.level == REQUIRED and item.status == FAIL for item in items)
