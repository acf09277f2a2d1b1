"""Refuse custom rule patterns that can backtrack catastrophically.

Python's ``re`` backtracks; a pattern such as ``(a+)+b`` or ``(a|a)*b`` takes
exponential time on a line that almost matches. A configuration loader calls
:func:`check_pattern` on every custom regex before compiling it, and a
pattern that fails the check is a :class:`~captchaai_guard.errors.ConfigError`.

The check is structural, on the parsed pattern. It refuses:

- a quantifier that repeats (``*``, ``+``, ``{2,}``...) something that itself
  holds a variable-length quantifier: ``(a+)+``, ``(\\w*\\s?)*``;
- a repeated alternation whose branches can start with the same character:
  ``(a|ab)*``, ``(\\w|_)+``;
- back-references, which no engine can bound.

Built-in rules are held to the same check by the test suite.
"""

from __future__ import annotations

import importlib
from typing import Any

from captchaai_guard.errors import ConfigError

try:  # Python 3.11+
    _parser: Any = importlib.import_module("re._parser")
    _constants: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python 3.10
    _parser = importlib.import_module("sre_parse")
    _constants = importlib.import_module("sre_constants")

_MAXREPEAT = _constants.MAXREPEAT
_REPEATS = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, getattr(_constants, "POSSESSIVE_REPEAT", None)}


def check_pattern(regex: str) -> None:
    """Raise ConfigError when ``regex`` is invalid or may backtrack badly."""
    try:
        parsed = _parser.parse(regex)
    except Exception as exc:  # re.error and friends
        raise ConfigError(f"invalid regular expression {regex!r}: {exc}") from None
    problem = _walk(list(parsed), repeated=False)
    if problem:
        raise ConfigError(f"regular expression {regex!r} may take exponential time: {problem}")


def _walk(items: list[Any], repeated: bool) -> str | None:
    """``repeated``: inside a quantifier that repeats more than once."""
    for op, arg in items:
        if op in (_constants.GROUPREF, getattr(_constants, "GROUPREF_EXISTS", None)):
            return "back-references are not allowed"
        if op in _REPEATS:
            low, high, body = arg
            if repeated and low != high:
                return "a quantifier inside a repeated group"
            found = _walk(list(body), repeated or high > 1)
        elif op == _constants.SUBPATTERN:
            found = _walk(list(arg[-1]), repeated)
        elif op == _constants.BRANCH:
            if repeated and _overlapping(arg[1]):
                return "a repeated alternation whose branches overlap"
            found = None
            for branch in arg[1]:
                found = found or _walk(list(branch), repeated)
        elif op in (_constants.ASSERT, _constants.ASSERT_NOT):
            found = _walk(list(arg[1]), False)
        else:
            found = None
        if found:
            return found
    return None


class _Chars:
    """A set of characters, or (``negated``) every character but a set."""

    def __init__(self, chars: set[int], negated: bool = False) -> None:
        self.chars, self.negated = chars, negated

    def overlaps(self, other: _Chars) -> bool:
        if self.negated and other.negated:
            return True
        if self.negated:
            return not other.chars <= self.chars
        if other.negated:
            return not self.chars <= other.chars
        return bool(self.chars & other.chars)


def _first(items: list[Any]) -> _Chars | None:
    """Characters a sequence can start with (None when unsure)."""
    if not items:
        return None
    op, arg = items[0]
    if op == _constants.AT:  # \b, ^ ...: zero width
        return _first(items[1:])
    if op == _constants.LITERAL:
        return _Chars(_cased(arg))
    if op == _constants.IN:
        chars: set[int] = set()
        negated = False
        for kind, value in arg:
            if kind == _constants.NEGATE:
                negated = True
            elif kind == _constants.LITERAL:
                chars |= _cased(value)
            elif kind == _constants.RANGE and value[1] - value[0] < 256:
                for code in range(value[0], value[1] + 1):
                    chars |= _cased(code)
            else:
                return None
        return _Chars(chars, negated)
    if op == _constants.SUBPATTERN:
        return _first(list(arg[-1]))
    return None


def _cased(code: int) -> set[int]:
    char = chr(code)
    return {code} | {ord(c) for c in (char.lower(), char.upper()) if len(c) == 1}


def _overlapping(branches: list[Any]) -> bool:
    seen: list[_Chars] = []
    for branch in branches:
        first = _first(list(branch))
        if first is None or any(first.overlaps(other) for other in seen):
            return True
        seen.append(first)
    return False
