"""The load-time check for custom regexes: dangerous shapes out, usual ones in."""

from __future__ import annotations

import sys

import pytest

from captchaai_guard.detect.candidates import candidate_lines
from captchaai_guard.detect.regex_guard import UnsafeRegex, check

DANGEROUS = [
    r"(a+)+b",
    r"(a*)*b",
    r"(a|a)*b",
    r"(a|ab)+c",
    r"(a|)*b",
    r"(a?)*b",
    r"(\w*,)*x",
    r"(.*a){10}",
    r"(?:x+x+)+y",
    r"^(\d+)*$",
    r".*.*x",
    r"(.*)(.*)x",
    r"\w+\d+!",
    r"key=.*\s*.*;",
]
SAFE = [
    r"key\s*=\s*[\"']?(?P<secret>\w{20,40})",
    r"[^\"]*\"[^\"]*\"",
    r"sk_live_[0-9a-zA-Z]{24}",
    r"(?i)myco[_-]?token\s*[:=]\s*(?P<secret>[A-Za-z0-9]{40})",
    r"(?:key|token)+=\w+",
    r"token.*?(?P<secret>[a-z0-9]{32})",
    r"(?:\s|,)*x",
    r"(?:[a-z]{2}-){3}[0-9]+",
    r"acme_[a-z0-9]{16}",
]
if sys.version_info >= (3, 11):  # possessive repeats and atomic groups never backtrack
    SAFE += [r"(a++)+b", r"(?>a+)+b"]


@pytest.mark.parametrize("pattern", DANGEROUS)
def test_dangerous_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(UnsafeRegex):
        check(pattern)


@pytest.mark.parametrize("pattern", SAFE)
def test_usual_patterns_are_accepted(pattern: str) -> None:
    check(pattern)


def test_keywords_widen_the_prefilter() -> None:
    buf = b"short\nmyco_token=abc\n" + b"k" * 40 + b"\nMYCO_TOKEN=x\nnothing\n"
    plain = [buf[s:e] for s, e in candidate_lines(buf)]
    assert plain == [b"k" * 40]
    widened = [buf[s:e] for s, e in candidate_lines(buf, keywords=(b"myco_token",))]
    assert widened == [b"myco_token=abc", b"k" * 40, b"MYCO_TOKEN=x"]
    every = [buf[s:e] for s, e in candidate_lines(buf, every_line=True)]
    assert every == buf.rstrip(b"\n").split(b"\n")
