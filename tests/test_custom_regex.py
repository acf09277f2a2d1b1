"""Custom regexes (rules and ``allow`` patterns of a configuration) run on
RE2: a pattern that makes a backtracking engine explode is accepted and
runs in linear time; what RE2 cannot run is one clear error at load."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from captchaai_guard.detect import custom_regex
from captchaai_guard.detect.candidates import candidate_lines
from captchaai_guard.detect.engine import MAX_CUSTOM_LINE
from tests.conftest import Repo, console_script, fake_key


def _findings(repo: Repo) -> list[dict[str, object]]:
    result = repo.run("scan", "--format", "json")
    assert result.code in (0, 1), result.err
    found: list[dict[str, object]] = json.loads(result.out)["findings"]
    return found


def test_a_nested_repeat_runs_on_an_adversarial_line_and_reports_correctly(repo: Repo) -> None:
    """``(a+)+$`` was refused; on this line Python's ``re`` would backtrack
    for ever (2**4000 ways to split the run before failing at ``!``)."""
    repo.write(".captchaai-guard.toml", '[[rules]]\nid = "nested"\nregex = "(a+)+$"\n')
    adversarial = "a" * 4000 + "!"
    assert len(adversarial) <= MAX_CUSTOM_LINE  # custom rules do look at it
    repo.stage("adversarial.txt", adversarial + "\n")
    repo.stage("match.txt", "a" * 24 + "\n")
    found = _findings(repo)
    assert [(f["path"], f["rule_id"], f["masked"]) for f in found] == [("match.txt", "nested", "***aaaa")]


def test_allow_patterns_run_on_re2(repo: Repo) -> None:
    """An ``allow`` pattern is searched in every line holding a key: a nested
    repeat there finishes too, and still suppresses what it matches."""
    repo.write(".captchaai-guard.toml", 'allow = ["(x+x+)+y"]\n')
    key, allowed = fake_key(), fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"  # {"x" * 4000}\n')
    repo.stage("test_app.py", f'CAPTCHAAI_API_KEY = "{allowed}"  # xxy\n')
    found = _findings(repo)
    assert [(f["path"], f["masked"]) for f in found] == [("app.py", "***" + key[-4:])]


def test_custom_rules_find_keys_with_a_secret_group_and_ignore_case(repo: Repo) -> None:
    repo.write(
        ".captchaai-guard.toml",
        "[[rules]]\nid = \"acme\"\nregex = '(?i)acme_token\\s*=\\s*\"(?P<secret>[a-z0-9]{24})\"'\n"
        'keywords = ["acme_token"]\n',
    )
    token = fake_key()[:24]
    repo.stage("conf.py", f'ünïcode = 1; ACME_TOKEN = "{token}"\n')
    found = _findings(repo)
    assert [(f["rule_id"], f["line"], f["column"], f["masked"]) for f in found] == [
        ("acme", 1, 28, "***" + token[-4:])  # in characters (in UTF-8 bytes: 30)
    ]


UNSUPPORTED = [
    ("key_(?=live)[a-z]{8}", "lookahead (?=...)"),
    ("(?<!test_)key_[a-z]{8}", "negative lookbehind (?<!...)"),
    ("(?P<q>x)key_[a-z]{8}(?P=q)", "backreferences (?P=name)"),
    ("(k)ey_[a-z]{8}\\\\1", "backreferences (\\1)"),
    ("key_(?>[a-z]{8})", "atomic groups (?>...)"),
]
if sys.version_info >= (3, 11):  # (Python 3.10's re refuses possessive repeats: invalid regex)
    UNSUPPORTED.append(("key_[a-z]++", "possessive repeats (++)"))


@pytest.mark.parametrize(("regex", "feature"), UNSUPPORTED)
def test_what_re2_cannot_run_is_one_clear_error(repo: Repo, regex: str, feature: str) -> None:
    repo.write(".captchaai-guard.toml", f'[[rules]]\nid = "acme"\nregex = "{regex}"\n')
    repo.stage("a.txt", "key_abcdefgh\n")
    result = repo.run("scan")
    assert result.code == 2, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("captchaai-guard: error: "), lines[0]
    assert f".captchaai-guard.toml: rules[0].regex: rule 'acme': {feature} not supported" in lines[0]
    assert "RE2" in lines[0] and "Traceback" not in result.err


def test_what_re2_cannot_run_stops_the_hook_and_pyproject_rules_too(repo: Repo) -> None:
    repo.write("pyproject.toml", '[tool.captchaai-guard]\nallow = ["^(?!x)"]\n')
    repo.stage("a.txt", "hello\n")
    proc = subprocess.run(
        [console_script("captchaai-guard-hook"), "pre-commit"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "pyproject.toml: tool.captchaai-guard.allow[0]: negative lookahead (?!...)" in proc.stderr


def test_an_invalid_regex_is_still_named_invalid() -> None:
    with pytest.raises(custom_regex.InvalidRegex, match="invalid regex: missing \\)"):
        custom_regex.compile("(abc")


USUAL = [
    r"key\s*=\s*[\"']?(?P<secret>\w{20,40})",
    r"[^\"]*\"[^\"]*\"",
    r"sk_live_[0-9a-zA-Z]{24}",
    r"(?i)myco[_-]?token\s*[:=]\s*(?P<secret>[A-Za-z0-9]{40})",
    r"(?:key|token)+=\w+",
    r"token.*?(?P<secret>[a-z0-9]{32})",
    r"(?:[a-z]{2}-){3}[0-9]+",
    r"\bacme_[a-z0-9]{16}\b",
    r"^export (?P<secret>[A-Z_]+)=",
]
SAMPLES = [
    'key = "' + "k" * 30 + '" and KEY="x"',
    'MYCO-TOKEN: ' + "A1" * 20 + ' token=abc key=def',
    "token " + "0123456789abcdef" * 2 + " sk_live_" + "Z" * 24,
    "ab-cd-ef-123 acme_0123456789abcdef xacme_0123456789abcdef",
    "export SECRET_NAME=1",
    "émoji ✓ key=" + "w" * 25 + " ✓",  # (RE2's \\w is ASCII: a key is)
]


@pytest.mark.parametrize("pattern", USUAL)
def test_usual_patterns_match_on_re2_as_on_python_re(pattern: str) -> None:
    """What the engine reads of a match (the ``secret`` group's text and
    span, the match's start) is the same on RE2 as on ``re`` for the usual
    shapes of a custom rule, in characters on non-ASCII lines too."""
    ours, python = custom_regex.compile(pattern), re.compile(pattern)
    assert ours.groupindex == python.groupindex
    group = python.groupindex.get("secret", 0)
    for sample in SAMPLES:
        got = [(m.group(group), m.span(group), m.start()) for m in ours.finditer(sample)]
        want = [(m.group(group), m.span(group), m.start()) for m in python.finditer(sample)]
        assert got == want, sample


def test_a_scan_without_custom_regexes_does_not_load_re2(repo: Repo) -> None:
    def modules() -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "captchaai_guard", "scan"],
            cwd=repo.path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}

    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.write(".captchaai-guard.toml", 'exclude = ["vendor/**"]\n')
    assert "re2" not in modules()
    repo.write(".captchaai-guard.toml", '[[rules]]\nid = "acme"\nregex = "acme_[a-z]{8}"\n')
    assert "re2" in modules()


def test_keywords_widen_the_prefilter() -> None:
    buf = b"short\nmyco_token=abc\n" + b"k" * 40 + b"\nMYCO_TOKEN=x\nnothing\n"
    plain = [buf[s:e] for s, e in candidate_lines(buf)]
    assert plain == [b"k" * 40]
    widened = [buf[s:e] for s, e in candidate_lines(buf, keywords=(b"myco_token",))]
    assert widened == [b"myco_token=abc", b"k" * 40, b"MYCO_TOKEN=x"]
    every = [buf[s:e] for s, e in candidate_lines(buf, every_line=True)]
    assert every == buf.rstrip(b"\n").split(b"\n")
