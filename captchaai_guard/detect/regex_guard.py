"""Refuse regexes that can backtrack catastrophically.

Custom rules come from a configuration file, so their regexes are checked
before use. The pattern is parsed with Python's own regex parser and
rejected when it holds one of the shapes that make backtracking explode:

* a repeat inside a repeat, where either can take many lengths:
  ``(a+)+``, ``(\\w*,)*``, ``(.*a){10}``;
* a repeated alternation whose branches can start with the same
  character: ``(a|a)*``, ``(a|ab)+``, ``(a|)*``;
* two unbounded repeats that can take the same characters with nothing in
  between that stops the first one: ``.*.*x``, ``\\w+\\d+``, ``(.*)=(.*)x``.

Possessive repeats and atomic groups (Python 3.11+) never backtrack and are
accepted. The check is deliberately conservative; a rejected pattern can
almost always be written with a bounded repeat (``{1,64}``) or a character
class that excludes the next character (``[^"]*"``).
"""

from __future__ import annotations

import importlib
import string
import sys
from dataclasses import dataclass
from typing import Any

_parser: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
_MAXREPEAT: int = _parser.MAXREPEAT
_BIG = 64  # a repeat that may take more than this many items counts as unbounded


class UnsafeRegex(ValueError):
    """The pattern can backtrack catastrophically."""


@dataclass(frozen=True)
class CharSet:
    """A set of characters; ``negated`` means every character except ``chars``."""

    chars: frozenset[str]
    negated: bool = False

    def overlaps(self, other: CharSet) -> bool:
        if self.negated and other.negated:
            return True
        if self.negated:
            return bool(other.chars - self.chars)
        if other.negated:
            return bool(self.chars - other.chars)
        return bool(self.chars & other.chars)

    def union(self, other: CharSet) -> CharSet:
        if not self.negated and not other.negated:
            return CharSet(self.chars | other.chars)
        if self.negated and other.negated:
            return CharSet(self.chars & other.chars, True)
        neg, pos = (self, other) if self.negated else (other, self)
        return CharSet(neg.chars - pos.chars, True)


ANY = CharSet(frozenset(), True)
EMPTY = CharSet(frozenset())
_CATEGORIES = {
    "CATEGORY_DIGIT": CharSet(frozenset(string.digits)),
    "CATEGORY_NOT_DIGIT": CharSet(frozenset(string.digits), True),
    "CATEGORY_SPACE": CharSet(frozenset(string.whitespace)),
    "CATEGORY_NOT_SPACE": CharSet(frozenset(string.whitespace), True),
    "CATEGORY_WORD": CharSet(frozenset(string.ascii_letters + string.digits + "_")),
    "CATEGORY_NOT_WORD": CharSet(frozenset(string.ascii_letters + string.digits + "_"), True),
}


def _literal(code: int) -> CharSet:
    ch = chr(code)
    return CharSet(frozenset({ch, ch.lower(), ch.upper()}))


def _class(items: Any) -> CharSet:
    """The characters an ``IN`` node (``[...]``) takes."""
    chars: set[str] = set()
    negated = False
    extra = EMPTY
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            chars |= _literal(av).chars
        elif name == "RANGE":
            low, high = av
            if high - low > 512:
                return ANY
            for code in range(low, high + 1):
                chars |= _literal(code).chars
        elif name == "CATEGORY":
            extra = extra.union(_CATEGORIES.get(str(av), ANY))
        else:
            return ANY
    positive = CharSet(frozenset(chars)).union(extra)
    if not negated:
        return positive
    if positive.negated:
        return ANY  # the complement of a complement: not worth being exact
    return CharSet(positive.chars, True)


def _repeat(op: Any, av: Any) -> tuple[int, int, Any] | None:
    """``(min, max, body)`` for a backtracking repeat node, else None."""
    if str(op) in ("MAX_REPEAT", "MIN_REPEAT"):
        low, high, body = av
        return low, high, body
    return None


def _unbounded(high: int) -> bool:
    return high == _MAXREPEAT or high > _BIG


def _first(items: Any) -> tuple[CharSet, bool]:
    """What a sequence can start with, and whether it can match nothing."""
    result = EMPTY
    for op, av in items:
        chars, nullable = _first_node(op, av)
        result = result.union(chars)
        if not nullable:
            return result, False
    return result, True


def _first_node(op: Any, av: Any) -> tuple[CharSet, bool]:
    name = str(op)
    if name == "LITERAL":
        return _literal(av), False
    if name == "IN":
        return _class(av), False
    if name == "NOT_LITERAL":
        return CharSet(_literal(av).chars, True), False
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return EMPTY, True
    if name == "SUBPATTERN":
        return _first(av[-1])
    if name == "ATOMIC_GROUP":
        return _first(av)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, body = av
        chars, nullable = _first(body)
        return chars, nullable or low == 0
    if name == "BRANCH":
        result, nullable = EMPTY, False
        for alternative in av[1]:
            chars, empty = _first(alternative)
            result = result.union(chars)
            nullable = nullable or empty
        return result, nullable
    return ANY, True  # ANY, NOT_LITERAL, group references, conditionals


def _contains_variable_repeat(items: Any) -> tuple[bool, bool]:
    """(holds a repeat of several lengths, one of them unbounded)."""
    variable = unbounded = False
    for op, av in items:
        name = str(op)
        rep = _repeat(op, av)
        if rep is not None:
            low, high, body = rep
            if low != high:
                variable = True
                unbounded = unbounded or _unbounded(high)
            inner = _contains_variable_repeat(body)
            variable, unbounded = variable or inner[0], unbounded or inner[1]
        elif name == "SUBPATTERN":
            inner = _contains_variable_repeat(av[-1])
            variable, unbounded = variable or inner[0], unbounded or inner[1]
        elif name == "BRANCH":
            for alternative in av[1]:
                inner = _contains_variable_repeat(alternative)
                variable, unbounded = variable or inner[0], unbounded or inner[1]
    return variable, unbounded


def _flatten(items: Any) -> list[tuple[Any, Any]]:
    """A sequence with plain (non-repeated) groups opened up."""
    flat: list[tuple[Any, Any]] = []
    for op, av in items:
        if str(op) == "SUBPATTERN":
            flat.extend(_flatten(av[-1]))
        else:
            flat.append((op, av))
    return flat


def _check_adjacent(items: Any) -> None:
    flat = _flatten(items)
    for i, (op, av) in enumerate(flat):
        rep = _repeat(op, av)
        if rep is None or not _unbounded(rep[1]):
            continue
        taken, _ = _first(rep[2])
        for later_op, later_av in flat[i + 1 :]:
            later = _repeat(later_op, later_av)
            chars, nullable = _first_node(later_op, later_av)
            if later is not None and _unbounded(later[1]) and chars.overlaps(taken):
                raise UnsafeRegex("two unbounded repeats can take the same characters (like .*.*)")
            if not nullable and not chars.overlaps(taken):
                break


def _check(items: Any, repeated: bool) -> None:
    _check_adjacent(items)
    for op, av in items:
        name = str(op)
        rep = _repeat(op, av)
        if rep is not None:
            _low, high, body = rep
            if high > 1:
                variable, unbounded = _contains_variable_repeat(body)
                if variable and (unbounded or _unbounded(high)):
                    raise UnsafeRegex("a repeat inside a repeat (like (a+)+)")
            _check(body, repeated or _unbounded(high))
        elif name == "POSSESSIVE_REPEAT":
            _check(av[2], False)
        elif name == "ATOMIC_GROUP":
            _check(av, False)
        elif name in ("SUBPATTERN",):
            _check(av[-1], repeated)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _check(av[1], repeated)
        elif name == "BRANCH":
            alternatives = av[1]
            if repeated:
                starts = [_first(alternative) for alternative in alternatives]
                for i, (chars, nullable) in enumerate(starts):
                    if nullable or any(chars.overlaps(other) for other, _ in starts[i + 1 :]):
                        raise UnsafeRegex("a repeated alternation whose branches overlap (like (a|a)*)")
            for alternative in alternatives:
                _check(alternative, repeated)
        elif name == "GROUPREF_EXISTS":
            for branch in av[1:]:
                if branch is not None:
                    _check(branch, repeated)


def check(pattern: str) -> None:
    """Raise :class:`UnsafeRegex` when ``pattern`` can backtrack catastrophically."""
    _check(_parser.parse(pattern), False)
