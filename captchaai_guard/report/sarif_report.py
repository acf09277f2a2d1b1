"""SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers.

One run, every built-in rule described in ``tool.driver.rules``, one result
per finding. Keys are always masked: messages and snippets carry
``***`` and the last four characters only. ``partialFingerprints`` name the
key, its rule and its path (not its line), so an alert survives lines moving
and GitHub does not open it twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from captchaai_guard import PROJECT_URL, __version__
from captchaai_guard.detect.rules import RULES, Rule
from captchaai_guard.findings import Finding
from captchaai_guard.remedy.guide import ALLOW_HINT, MOVE_HINT, ROTATE_HINT
from captchaai_guard.report import Summary

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "captchaaiGuardSecret/v1"
SECURITY_SEVERITY = "8.0"  # GitHub: 7.0-8.9 is "high"
_WINDOWS_ABS = re.compile(r"^[A-Za-z]:[\\/]")


def rule_name(rule_id: str) -> str:
    """``captchaai-url-key`` -> ``CaptchaaiUrlKey`` (SARIF names are identifiers)."""
    return "".join(part.capitalize() for part in rule_id.split("-"))


def rule_help(rule: Rule) -> str:
    return " ".join((rule.remediation, MOVE_HINT, ROTATE_HINT, ALLOW_HINT)).strip()


def rule_descriptor(rule: Rule) -> dict[str, object]:
    context = (
        " The file must also mention CaptchaAI (its host, a client or the key's variable name)."
        if rule.context == "file"
        else ""
    )
    return {
        "id": rule.id,
        "name": rule_name(rule.id),
        "shortDescription": {"text": rule.description},
        "fullDescription": {
            "text": f"{rule.description}: a 32-character CaptchaAI API key written into a tracked file "
            f"can be used by anyone who reads the repository to spend its balance.{context}"
        },
        "help": {"text": rule_help(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "secret", "captchaai"],
            "precision": "medium" if rule.context == "file" else "high",
            "problem.severity": "error",
            "security-severity": SECURITY_SEVERITY,
        },
    }


def _help_markdown(rule: Rule) -> str:
    return "\n".join(
        [
            f"**{rule.description}**",
            "",
            rule.remediation,
            "",
            "1. Set `CAPTCHAAI_API_KEY` in the environment or a git-ignored `.env` file.",
            '2. Read it where the key was, e.g. `os.environ["CAPTCHAAI_API_KEY"]` in Python.',
            "3. If the key was ever pushed, rotate it in the CaptchaAI dashboard: removing it in a later "
            "commit does not remove it from git history.",
            "",
            "A documented fake key can be kept with the comment `captchaai-guard: allow` on its line.",
        ]
    )


def artifact_location(path: str) -> dict[str, object]:
    """A relative URI under ``%SRCROOT%``, or a file URI for an absolute path."""
    if path.startswith("/") or _WINDOWS_ABS.match(path):
        pure = PurePosixPath(path) if path.startswith("/") else PureWindowsPath(path)
        return {"uri": pure.as_uri()}
    raw = path.encode("utf-8", "surrogateescape")
    return {"uri": quote(raw, safe="/"), "uriBaseId": SRCROOT}


def result_message(f: Finding) -> str:
    text = f"{f.description}: {f.masked}."
    if f.remediation:
        text += f" {f.remediation}"
    if f.commit is not None:
        text += f" Added in commit {f.commit.sha[:12]} by {f.commit.author} on {f.commit.date}."
    return text


def result(f: Finding, index: dict[str, int]) -> dict[str, object]:
    line = f.masked_line  # every key-like run on the line masked, long lines cut
    region: dict[str, object] = {
        "startLine": f.line,
        "startColumn": f.column,
        "endColumn": f.column + len(f.secret),
        "snippet": {"text": f.masked},
    }
    entry: dict[str, object] = {
        "ruleId": f.rule_id,
        "level": "error",
        "message": {"text": result_message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(f.path),
                    "region": region,
                    "contextRegion": {"startLine": f.line, "snippet": {"text": line}},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
    }
    if f.rule_id in index:
        entry["ruleIndex"] = index[f.rule_id]
    properties: dict[str, object] = {}
    if f.commit is not None:
        properties.update(commit=f.commit.sha, author=f.commit.author, date=f.commit.date)
    if f.status is not None:
        properties["status"] = f.status
    if properties:
        entry["properties"] = properties
    return entry


def document(findings: Sequence[Finding], summary: Summary) -> dict[str, object]:
    rules = [rule_descriptor(rule) for rule in RULES]
    index = {rule.id: i for i, rule in enumerate(RULES)}
    return {
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "captchaai-guard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URL,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "The root of the scanned git work tree."}}
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": True}],
                "results": [result(f, index) for f in findings],
                "properties": {"source": summary.source},
            }
        ],
    }


def render(findings: Sequence[Finding], summary: Summary) -> str:
    return json.dumps(document(findings, summary), indent=2) + "\n"
