"""The rule engine: a line of text in, key matches out.

No click, no GitPython, no I/O: sources hand it lines, it hands back
:class:`Match` objects; :mod:`captchaai_guard.scan` turns them into
findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from captchaai_guard.detect import filters
from captchaai_guard.detect.candidates import Finder
from captchaai_guard.detect.rules import RULES, Rule

ALLOW_MARKER = "captchaai-guard: allow"
_HEX = re.compile(r"[0-9a-fA-F]{32}")
_ALNUM = re.compile(r"[0-9A-Za-z]{32}")
_EVIDENCE = re.compile(r"captcha[_-]?ai", re.IGNORECASE)
_ESCAPE = re.compile(r'\\([\\"/nrt])')
_UNESCAPE = {"\\": "\\", '"': '"', "/": "/", "n": " ", "r": " ", "t": " "}
# Escapes undone before a run is judged: percent-encoding of URL punctuation,
# JSON's \u0026-style escapes of it, HTML entities.
_ENCODED = re.compile(r"%(2[0-9A-Fa-f]|3[A-Fa-f])|\\u00(2[0-9A-Fa-f]|3[A-Fa-f])|&(amp|quot|apos|#39|#x27);")
_ENTITIES = {"amp": "&", "quot": '"', "apos": "'", "#39": "'", "#x27": "'"}
# Rules the scan decides (decide.py and judge.py), not a regex on a line.
DECIDED = ("evidence", "repeat", "binary")
_TAIL = re.compile(r"[A-Za-z0-9]|-us\d")
_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])")
# Custom rules (from the configuration) only look at lines up to this long.
# (Their regexes run on RE2, in linear time: the limit bounds the cost of a
# custom rule without keywords on minified bundles, not a backtracking blow-up.)
MAX_CUSTOM_LINE = 4096


def mentions_captchaai(text: str) -> bool:
    """File-level evidence that code or config talks to CaptchaAI."""
    return _EVIDENCE.search(text) is not None


# Plain classes with __slots__, not dataclasses: importing ``dataclasses``
# (and the ``inspect`` module it pulls in) costs a commit hook more than the
# rest of its start-up.


class CompiledRule:
    """A rule with its regexes. Built-in rules compile on first use: most
    lines never get past a rule's keywords, and a commit hook should not pay
    for patterns it does not run. Custom rules compile at once (a bad regex
    is reported before the scan starts)."""

    __slots__ = ("_path", "_pattern", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._pattern: re.Pattern[str] | None = None
        self._path: re.Pattern[str] | None = None
        if rule.source != "built-in":
            _ = self.pattern, self.path

    @property
    def pattern(self) -> re.Pattern[str]:
        """Built-in rules run on ``re``, ignore the case of ASCII letters,
        and their ``\\w``, ``\\s`` and ``\\b`` are ASCII (keys and their
        names are; the flag halves the time ``re`` takes to compile them).
        Custom rules run on RE2 (:mod:`captchaai_guard.detect.custom_regex`:
        linear time) and match as written (use ``(?i)``)."""
        if self._pattern is None:
            if self.rule.source == "built-in":
                self._pattern = re.compile(self.rule.regex, re.IGNORECASE | re.ASCII)
            else:
                from captchaai_guard.detect import custom_regex

                self._pattern = custom_regex.compile(self.rule.regex)
        return self._pattern

    @property
    def path(self) -> re.Pattern[str] | None:
        if not self.rule.path:
            return None
        if self._path is None:
            self._path = re.compile(self.rule.path)
        return self._path

    @property
    def group(self) -> int:
        """The number of the ``secret`` group, 0 (the whole match) without
        one (a number: RE2's ``span`` takes no group name)."""
        return self.pattern.groupindex.get("secret", 0)


class Match:
    """A key found in a line by a rule."""

    __slots__ = ("column", "end", "needs_file_context", "rule", "secret", "start", "variant")

    def __init__(
        self,
        rule: Rule,
        secret: str,
        column: int,
        needs_file_context: bool,
        variant: str = "",
        start: int = 0,
        end: int = 0,
    ) -> None:
        self.rule = rule
        self.secret = secret
        self.column = column  # 1-based, in characters
        self.needs_file_context = needs_file_context
        self.variant = variant  # the line (or its unescaped form) where ``variant[start:end]`` is the key
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Match(rule={self.rule.id!r}, column={self.column})"


class Open:
    """A run no rule settled: ``variant[start:end]`` is ``value`` (the line
    as written or with its escapes undone); decided by the evidence."""

    __slots__ = ("column", "end", "start", "value", "variant")

    def __init__(self, value: str, variant: str, start: int, end: int, column: int) -> None:
        self.value = value
        self.variant = variant
        self.start = start
        self.end = end
        self.column = column

    def __repr__(self) -> str:
        return f"Open(column={self.column})"


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
        rules = [rule for rule in rules if rule.id not in disabled]
        # The rules the scan decides from evidence, by their context.
        self.decided: dict[str, Rule] = {rule.context: rule for rule in rules if rule.context in DECIDED}
        compiled = [compile_rule(rule) for rule in rules if rule.context not in DECIDED]
        self.rules: tuple[CompiledRule, ...] = tuple(c for c in compiled if c.rule.source == "built-in")
        self.custom: tuple[CompiledRule, ...] = tuple(c for c in compiled if c.rule.source != "built-in")
        self.allow = tuple(allow)
        words = sorted({word for c in self.rules for word in c.rule.keywords})
        # One C-level search tells whether any built-in rule could apply to a line.
        self._gate = re.compile("|".join(map(re.escape, words))) if words else None
        self._words = tuple(words)
        # What the prefilter must also let through for the custom rules: lines
        # holding one of their keywords, or every line when one has none.
        self.keywords: tuple[bytes, ...] = tuple(
            sorted({word.lower().encode() for c in self.custom for word in c.rule.keywords})
        )
        self.every_line = any(not c.rule.keywords for c in self.custom)
        # Every run of 32 that stands whole is a candidate, whatever its line
        # says: the evidence around it decides (no word is required).
        self.required: tuple[bytes, ...] = ()

    def finder(self) -> Finder:
        """The prefilter for this engine's rules: which lines could hold a key."""
        return Finder(self.keywords, self.every_line, self.required)

    def warm_up(self) -> list[Callable[[], object]]:
        """One task per built-in rule that compiles its regex (all of them
        cost a scan with findings about 9 ms): a scan runs them while it
        waits for git, instead of at its first candidate line."""
        return [_compiling(compiled) for compiled in self.rules]

    def match_line(self, path: str, text: str) -> list[Match]:
        """All keys the line rules find in ``text`` (one line of ``path``),
        first rule wins per key."""
        return self.examine(path, text)[0]

    def examine(self, path: str, text: str) -> tuple[list[Match], list[Open]]:
        """The keys the line rules find in ``text`` (one line of ``path``),
        and the runs they left open (for :mod:`captchaai_guard.detect.decide`)."""
        if ALLOW_MARKER in text:
            return [], []
        lowered = text.lower()
        rules: tuple[CompiledRule, ...] = ()
        present: set[str] = set()
        variants = _variants(text)
        runs = _key_runs(variants)  # what a built-in rule may report, and the open candidates
        keys = {value for value, _, _, _ in runs}
        if keys and self._gate is not None and self._gate.search(lowered) is not None:
            rules = self.rules
            present = {word for word in self._words if word in lowered}
        if self.custom and len(text) <= MAX_CUSTOM_LINE:
            rules = rules + self.custom
        found: list[Match] = []
        seen: set[str] = set()
        for compiled in rules:
            rule = compiled.rule
            if rule.source == "built-in":
                # (once every key of the line is reported, no built-in rule can add one)
                if present.isdisjoint(rule.keywords) or keys <= seen:
                    continue
            elif rule.keywords and not any(word in lowered for word in rule.keywords):
                continue
            if compiled.path is not None and not compiled.path.search(path):
                continue
            for variant in variants:
                for m in compiled.pattern.finditer(variant):
                    secret = m.group(compiled.group)
                    if not secret or secret in seen:
                        continue
                    if rule.secret != "any":
                        start, end = m.span(compiled.group)
                        if not _stands_whole(variant, start, end):
                            continue
                        if rule.bare_name and _prefixed(variant, m.start()):
                            continue  # (``sitekey``: a longer name is for the evidence to judge)
                    if not self._accept(rule, secret, text, keys):
                        continue
                    seen.add(secret)
                    start, end = m.span(compiled.group)
                    found.append(
                        Match(
                            rule=rule,
                            secret=secret,
                            column=text.find(secret) + 1,
                            needs_file_context=rule.context == "file",
                            variant=variant,
                            start=start,
                            end=end,
                        )
                    )
        opened = [
            Open(value, variant, start, end, text.find(value) + 1)
            for value, variant, start, end in runs
            if value not in seen
            and self.decided
            and not any(p.search(value) or p.search(text) for p in self.allow)
        ]
        return found, opened

    def _accept(self, rule: Rule, secret: str, line: str, keys: set[str]) -> bool:
        if rule.secret != "any":
            shape = _HEX if rule.secret == "hex" else _ALNUM
            if secret not in keys or not shape.fullmatch(secret):  # (keys: no placeholder)
                return False
        return not any(p.search(secret) or p.search(line) for p in self.allow)


def _compiling(compiled: CompiledRule) -> Callable[[], object]:
    return lambda: compiled.pattern


def _variants(text: str) -> list[str]:
    """The line as written, plus its JSON-unescaped form when it holds escapes
    (notebook cells, JSON-encoded code): ``\\"`` becomes ``"``, ``\\/``
    becomes ``/`` and ``\\n``, ``\\r``, ``\\t`` become spaces, so that
    ``\\nCAPTCHAAI_API_KEY = \\"...\\"`` reads like code; and its decoded
    form when it holds encoded punctuation (``%3Fkey%3D``, ``\\u0026key=``,
    ``&amp;key=``)."""
    variants = [text]
    if "\\" in text:
        unescaped = _ESCAPE.sub(lambda m: _UNESCAPE[m.group(1)], text)
        if unescaped != text:
            variants.append(unescaped)
    if "%" in text or "&" in text or "\\u00" in text:
        decoded = _ENCODED.sub(_decode, variants[-1])
        if "%25" in text:  # (encoded twice: %253D)
            decoded = _ENCODED.sub(_decode, decoded)
        if decoded != variants[-1]:
            variants.append(decoded)
    return variants


def _decode(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2)
    return chr(int(code, 16)) if code else _ENTITIES[m.group(3)]


def _key_runs(variants: Sequence[str]) -> list[tuple[str, str, int, int]]:
    """The runs of 32 letters and digits that stand whole in one of the
    line's variants and are no placeholder (:func:`filters.drop`), each
    once, with the variant it stands whole in and its span there: a
    built-in rule reports one of these or nothing, so a line without any
    has its rule regexes neither compiled nor run."""
    found: dict[str, tuple[str, str, int, int]] = {}
    for variant in variants:
        for m in _RUN.finditer(variant):
            value = m.group()
            if value not in found and _stands_whole(variant, m.start(), m.end()) and not filters.drop(value):
                found[value] = (value, variant, m.start(), m.end())
    return list(found.values())


def _prefixed(text: str, start: int) -> bool:
    """The name matched at ``text[start:]`` is the end of a longer name
    (``sitekey``, ``cache_key``, ``X-API-KEY``)."""
    return start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-.")


def _stands_whole(text: str, start: int, end: int) -> bool:
    """The key is not a slice of a longer run of letters and digits (a sha1
    or sha256 digest) and not the front of a Mailchimp-style ``-us6`` key."""
    if start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
        return False
    return _TAIL.match(text, end) is None
