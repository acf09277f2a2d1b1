"""Baselines: findings accepted once, never reported again.

A baseline file records findings by fingerprint (a sha256 over rule id,
path and key; see :func:`captchaai_guard.findings.fingerprint`), never the
key itself, so a baselined key whose line moves stays baselined and the
file is safe to commit. Format::

    {"version": 1, "generated_at": "2026-01-01T00:00:00Z",
     "findings": [{"fingerprint": "<sha256>", "rule_id": "...", "path": "..."}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from captchaai_guard.errors import GuardError
from captchaai_guard.findings import Finding

BASELINE_FILE = ".captchaai-guard-baseline.json"
VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BaselineError(GuardError):
    """The baseline file is missing, unreadable or corrupt."""


@dataclass(frozen=True)
class Baseline:
    source: Path | None
    fingerprints: frozenset[str]

    def filter(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings that are not in the baseline."""
        return [f for f in findings if f.fingerprint not in self.fingerprints]


def render(findings: Sequence[Finding], now: datetime | None = None) -> str:
    """The baseline document for ``findings`` (sorted, one entry per fingerprint)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    entries: dict[str, dict[str, str]] = {}
    for f in findings:
        entries.setdefault(
            f.fingerprint, {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.path}
        )
    doc = {
        "version": VERSION,
        "generated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": sorted(entries.values(), key=lambda e: (e["path"], e["rule_id"], e["fingerprint"])),
    }
    return json.dumps(doc, indent=2) + "\n"


def load(path: Path) -> Baseline:
    """Read and validate a baseline file; any problem is a :class:`BaselineError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(
            f"{path}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: corrupt baseline (invalid JSON at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise BaselineError(f"{path}: corrupt baseline (not a JSON object)")
    if doc.get("version") != VERSION:
        raise BaselineError(
            f"{path}: unsupported baseline version {doc.get('version')!r} (expected {VERSION})"
        )
    entries = doc.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: corrupt baseline (findings must be a list)")
    fingerprints: set[str] = set()
    for i, entry in enumerate(entries):
        value = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not _SHA256.match(value):
            raise BaselineError(f"{path}: corrupt baseline (findings[{i}].fingerprint is not a sha256)")
        fingerprints.add(value)
    return Baseline(source=path, fingerprints=frozenset(fingerprints))


def find(root: Path | None) -> Baseline | None:
    """The baseline at the repository root, or None when there is none."""
    if root is None:
        return None
    path = root / BASELINE_FILE
    return load(path) if path.is_file() else None
