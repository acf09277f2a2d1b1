"""JSON report: ``{"findings": [...], "summary": {...}}``; keys always masked."""

from __future__ import annotations

import json
from collections.abc import Sequence

from captchaai_guard import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from captchaai_guard.findings import Finding
    from captchaai_guard.report import Summary


def finding_dict(f: Finding) -> dict[str, object]:
    commit = None
    if f.commit is not None:
        commit = f.commit.sha
    return {
        "rule_id": f.rule_id,
        "description": f.description,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "masked": f.masked,
        "fingerprint": f.fingerprint,
        "commit": commit,
        "author": f.commit.author if f.commit else None,
        "email": f.commit.email if f.commit else None,
        "date": f.commit.date if f.commit else None,
        "message": f.message,
        "line_masked": f.masked_line,
        "status": f.status,
    }


def render(findings: Sequence[Finding], summary: Summary) -> str:
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
    extra = dict(summary.extra)
    explain = extra.pop("explain", None)  # (scan --explain: every candidate, beside the findings)
    doc: dict[str, object] = {
        "tool": "captchaai-guard",
        "version": __version__,
        "source": summary.source,
        "findings": [finding_dict(f) for f in findings],
        "summary": {
            "total": len(findings),
            "by_rule": by_rule,
            "files": len({f.path for f in findings}),
            "commits_scanned": summary.commits,
            **extra,
        },
    }
    if explain is not None:
        doc["explain"] = explain
    return json.dumps(doc, indent=2) + "\n"
