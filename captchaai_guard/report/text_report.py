"""Human-readable report, coloured only when asked (a terminal, no NO_COLOR)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # a clean report needs neither (nor their imports)
    from collections.abc import Sequence

    from captchaai_guard.findings import Finding
    from captchaai_guard.report import Summary

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def render(findings: Sequence[Finding], summary: Summary) -> str:
    color = summary.color
    if not findings:
        return f"captchaai-guard: no CaptchaAI API keys found in {summary.source}.\n"
    noun = "key" if len(findings) == 1 else "keys"
    out = [
        _style(
            f"captchaai-guard: {len(findings)} CaptchaAI API {noun} found in {summary.source}",
            _BOLD + _RED,
            color,
        ),
        "",
    ]
    for f in findings:
        status = f" [{f.status}]" if f.status else ""
        out.append(
            f"{_style(f.location, _BOLD, color)}: {_style(f.rule_id, _YELLOW, color)} "
            f"{f.description} ({f.masked}){status}"
        )
        out.append(f"    {_style(f.masked_line, _DIM, color)}")
        if f.commit is not None:
            out.append(f"    commit {f.commit.sha[:12]} by {f.commit.author} on {f.commit.date}")
    from captchaai_guard.remedy.guide import advice

    out.append("")
    pairs = [(f.path, f.masked_line) for f in findings]
    out.append(advice(pairs, hook=summary.hook, framework=summary.framework))
    return "\n".join(out) + "\n"
