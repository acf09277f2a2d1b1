"""The rule engine: a line of text in, key matches out.

No click, no GitPython, no I/O: sources hand it lines, it hands back
:class:`Match` objects; :mod:`captchaai_guard.scan` turns them into
findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from captchaai_guard import filters
from captchaai_guard.candidates import keyword_set
from captchaai_guard.rules import RULES, Rule

ALLOW_MARKER = "captchaai-guard: allow"
_HEX = re.compile(r"[0-9a-fA-F]{32}")
_ALNUM = re.compile(r"[0-9A-Za-z]{32}")
_EVIDENCE = re.compile(r"captcha[_-]?ai", re.IGNORECASE)


def mentions_captchaai(text: str) -> bool:
    """File-level evidence that code or config talks to CaptchaAI."""
    return _EVIDENCE.search(text) is not None


class CompiledRule:
    """A rule with its regexes, compiled on first use: most lines never get
    past a rule's keywords, and a commit hook should not pay for compiling
    patterns it does not run."""

    __slots__ = ("_path", "_pattern", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._pattern: re.Pattern[str] | None = None
        self._path: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.rule.regex, re.IGNORECASE)
        return self._pattern

    @property
    def path(self) -> re.Pattern[str] | None:
        if self.rule.path is None:
            return None
        if self._path is None:
            self._path = re.compile(self.rule.path)
        return self._path


class Match:
    """A key found in a line by a rule."""

    __slots__ = ("column", "needs_file_context", "rule", "secret")

    def __init__(self, rule: Rule, secret: str, column: int, needs_file_context: bool) -> None:
        self.rule = rule
        self.secret = secret
        self.column = column  # 1-based, in characters
        self.needs_file_context = needs_file_context

    def __repr__(self) -> str:
        return f"Match(rule={self.rule.id!r}, column={self.column})"


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(rule)


class Engine:
    """Holds compiled rules and allowlists; matches one line at a time."""

    def __init__(
        self,
        rules: Iterable[Rule] = RULES,
        *,
        allow: Sequence[re.Pattern[str]] = (),
        disable: Iterable[str] = (),
    ) -> None:
        disabled = set(disable)
        self.rules: tuple[CompiledRule, ...] = tuple(
            compile_rule(rule) for rule in rules if rule.id not in disabled
        )
        self.allow = tuple(allow)
        # Prefilter for raw lines: a line none of these words is in cannot match.
        self.keywords: tuple[bytes, ...] = keyword_set(
            word for compiled in self.rules for word in compiled.rule.keywords
        )

    def match_line(self, path: str, text: str) -> list[Match]:
        """All keys in ``text`` (one line of ``path``), first rule wins per key."""
        if ALLOW_MARKER in text:
            return []
        variants = [text]
        if '\\"' in text:  # JSON-escaped source, e.g. notebook cells
            variants.append(text.replace('\\"', '"'))
        lowered = text.lower()
        found: list[Match] = []
        seen: set[str] = set()
        for compiled in self.rules:
            rule = compiled.rule
            if not any(word in lowered for word in rule.keywords):
                continue
            if compiled.path is not None and not compiled.path.search(path):
                continue
            for variant in variants:
                for m in compiled.pattern.finditer(variant):
                    secret = m.group("secret")
                    if secret in seen or not self._accept(rule, secret, text):
                        continue
                    seen.add(secret)
                    found.append(
                        Match(
                            rule=rule,
                            secret=secret,
                            column=text.find(secret) + 1,
                            needs_file_context=rule.context == "file",
                        )
                    )
        return found

    def _accept(self, rule: Rule, secret: str, line: str) -> bool:
        shape = _HEX if rule.secret == "hex" else _ALNUM
        if not shape.fullmatch(secret) or filters.drop(secret):
            return False
        return not any(p.search(secret) or p.search(line) for p in self.allow)
