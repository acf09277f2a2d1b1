"""Regular expressions run in linear time: adversarial 1 MB lines finish
within a generous bound (a subprocess timeout), for the whole scan and for
each built-in rule alone. (Custom patterns run on RE2:
tests/test_custom_regex.py.)"""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from captchaai_guard.detect.rules import RULES, Rule
from tests.conftest import Repo, console_script

MB = 1 << 20
BOUND = 10.0  # seconds; a linear scan of 1 MB takes well under one


def _fill(unit: str, size: int = MB) -> str:
    return (unit * (size // len(unit) + 1))[:size]


ADVERSARIAL = {
    "hex-run": "captchaai client key=" + secrets.token_hex(MB // 2),
    "key=": "captchaai.com " + _fill("key="),
    "quotes": "captchaai key: " + _fill("\"'`"),
    "assignments": _fill("CAPTCHAAI_API_KEY="),
    "assignments-quoted": _fill('CAPTCHAAI_API_KEY = "'),
    "url-path": _fill("https://ocr.captchaai.com/"),
    "url-query": "captchaai.com" + _fill("?&key"),
    "name-run": _fill("captchaai"),
    "client-run": _fill("AntiCaptchaClient"),
    "word-run": "captchaai client " + _fill("a"),
    "spaces": "captchaai " + _fill("key" + " " * 61),
    "near-keys": _fill("CAPTCHAAI_API_KEY=" + secrets.token_hex(16)[:31] + " "),
    "mixed": "".join(
        _fill(u, MB // 8)
        for u in ("key=", '"', "CAPTCHAAI_API_KEY=", "0123abcd", "captchaai(", "Client(", "'key': '", "\\\"")
    ),
}


def _diff(line: str) -> bytes:
    head = "diff --git a/x.py b/x.py\nnew file mode 100644\n--- /dev/null\n+++ b/x.py\n@@ -0,0 +1,2 @@\n"
    return (head + "+# captchaai\n+" + line + "\n").encode()


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_megabyte_line_scans_in_bounded_time(repo: Repo, name: str) -> None:
    line = ADVERSARIAL[name]
    assert len(line) >= MB
    proc = subprocess.run(
        [console_script(), "scan", "--stdin"],
        input=_diff(line),
        capture_output=True,
        timeout=BOUND,
        check=False,
        cwd=repo.path,
    )
    assert proc.returncode in (0, 1), proc.stderr


def test_adversarial_file_staged_in_bounded_time(repo: Repo) -> None:
    repo.stage("adversarial.js", "\n".join(ADVERSARIAL.values()) + "\n")
    proc = subprocess.run(
        [console_script(), "scan"], capture_output=True, timeout=BOUND * 4, check=False, cwd=repo.path
    )
    assert proc.returncode in (0, 1), proc.stderr


def _rule_lines(rule: Rule) -> list[str]:
    """Long lines that almost match ``rule``: its examples' text before the
    key, repeated, each followed by a key one character short."""
    lines = []
    short = secrets.token_hex(16)[:31]
    size = MB // 4
    for example in rule.examples:
        prefix = example.split("{key}")[0].replace("{{", "{").replace("}}", "}")
        lines.append(_fill(prefix + short, size))
        lines.append(_fill(prefix, size))
        lines.append(prefix + _fill(short[:7], size))
    return lines


_RUN_RULE = """
import sys
from captchaai_guard.detect.engine import Engine
from captchaai_guard.detect.rules import by_id
engine = Engine([by_id()[sys.argv[1]]])
data = sys.stdin.read()
for line in data.split("\\n"):
    engine.match_line(".captchaai/x.json", "captchaai " + line)
"""


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_each_rule_is_linear_on_near_misses(rule: Rule) -> None:
    lines = _rule_lines(rule)
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_RULE, rule.id],
        input="\n".join(lines),
        text=True,
        capture_output=True,
        timeout=BOUND,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
