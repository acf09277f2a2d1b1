"""GitHub Actions workflow commands: one ``::error`` annotation per finding.

``::error file=<path>,line=<n>,col=<c>,endColumn=<e>,title=<rule id>::<message>``
annotates the pull request at the key. Data is escaped as the runner
expects (``%``, CR, LF), property values also escape ``:`` and ``,``, so no
path, author or message can end a command early or start a new one. The key
is masked; the last line is a plain summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from captchaai_guard.findings import Finding
from captchaai_guard.remedy.guide import ROTATE_HINT
from captchaai_guard.report import Summary


def escape_data(text: str) -> str:
    """Escape a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property's value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """One workflow command line, e.g. ``command("error", "msg", file="a.py", line=2)``."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation_message(f: Finding) -> str:
    text = f"{f.description} ({f.masked})."
    if f.commit is not None:
        text += f" Added in commit {f.commit.sha[:12]} by {f.commit.author}."
    fix = f.remediation or "Read the key from the CAPTCHAAI_API_KEY environment variable."
    return f"{text} Fix: {fix} {ROTATE_HINT}"


def annotation(f: Finding) -> str:
    return command(
        "error",
        annotation_message(f),
        file=f.path,
        line=f.line,
        col=f.column,
        endColumn=f.column + len(f.secret),
        title=f.rule_id,
    )


def render(findings: Sequence[Finding], summary: Summary) -> str:
    lines = [annotation(f) for f in findings]
    source = " ".join(summary.source.split())  # a plain line: no line break may start a command
    if findings:
        noun = "key" if len(findings) == 1 else "keys"
        files = len({f.path for f in findings})
        lines.append(
            f"captchaai-guard: {len(findings)} CaptchaAI API {noun} found in {source} "
            f"({files} file{'' if files == 1 else 's'}); move {'it' if len(findings) == 1 else 'them'} "
            "into the CAPTCHAAI_API_KEY "
            "environment variable and rotate any key that was pushed."
        )
    else:
        lines.append(f"captchaai-guard: no CaptchaAI API keys found in {source}.")
    return "\n".join(lines) + "\n"
