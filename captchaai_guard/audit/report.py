"""The audit checklist as a text table or JSON (no click)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from captchaai_guard.audit.checklist import FAIL, PASS, REQUIRED, SKIP, WARN, Item

_COLORS = {PASS: "\x1b[32m", FAIL: "\x1b[31m", WARN: "\x1b[33m", SKIP: "\x1b[2m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def render_json(items: Sequence[Item]) -> str:
    """A JSON list of items: id, title, level, status, evidence, fix."""
    return json.dumps([item.to_dict() for item in items], indent=2) + "\n"


def render_text(items: Sequence[Item], source: str, color: bool = False) -> str:
    def style(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    out = [f"captchaai-guard audit: {source}", ""]
    out.append(style(f"{'STATUS':<7} {'LEVEL':<12} ITEM", _BOLD))
    for item in items:
        status = style(
            f"{item.status.upper() if item.status == FAIL else item.status:<7}", _COLORS[item.status]
        )
        out.append(f"{status} {item.level:<12} {item.title}")
        for evidence in item.evidence:
            out.append(style(f"{'':<8}- {evidence}", _DIM))
        if item.fix and item.status != PASS:
            out.append(f"{'':<8}fix: {item.fix}")
    out.append("")
    failed = [i for i in items if i.status == FAIL and i.level == REQUIRED]
    attention = [i for i in items if i.status in (FAIL, WARN) and i.level != REQUIRED]
    if failed:
        noun = "item fails" if len(failed) == 1 else "items fail"
        out.append(style(f"{len(failed)} required {noun}.", _BOLD + _COLORS[FAIL]))
    else:
        out.append(style("All required items pass.", _BOLD + _COLORS[PASS]))
    if attention:
        out.append(f"{len(attention)} recommended or optional item(s) need attention.")
    return "\n".join(out) + "\n"
