"""``scan --explain``: every candidate, its decision and the evidence, keys masked."""

from __future__ import annotations

from collections.abc import Sequence

_GREEN, _RED, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[0m"


def render_explanation(records: Sequence[dict[str, object]], color: bool = False) -> str:
    """One block per candidate: ``path:line:column  ***abcd  reported (rule)``
    or ``not reported``, then its evidence for (+) and against (-)."""

    def style(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    if not records:
        return "captchaai-guard: no candidate key (no run of 32 letters and digits on an added line)\n"
    out = [f"captchaai-guard: {len(records)} candidate{'s' if len(records) != 1 else ''}"]
    for record in sorted(records, key=lambda r: (str(r["path"]), int(str(r["line"])), int(str(r["column"])))):
        where = f"{record['path']}:{record['line']}:{record['column']}"
        if record["reported"]:
            decision = style(f"reported ({record['rule_id']})", _RED)
        else:
            decision = style("not reported", _GREEN)
        out.append(f"  {where}  {record['masked']}  {decision}")
        for reason in record["for"]:  # type: ignore[attr-defined]
            out.append(style(f"      + {reason}", _DIM))
        for reason in record["against"]:  # type: ignore[attr-defined]
            out.append(style(f"      - {reason}", _DIM))
    return "\n".join(out) + "\n"
