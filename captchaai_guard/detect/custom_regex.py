"""Custom regexes, the rules and ``allow`` patterns of a configuration, run on RE2.

RE2 (PyPI ``google-re2``) matches in time linear in the text whatever the
pattern: ``(a+)+$``, which makes Python's ``re`` backtrack for ever on a
line of 4,000 ``a`` and a ``!``, costs it microseconds. So no pattern has
to be refused for its shape. What RE2 cannot do is refused when the
configuration is loaded, with the missing feature named: lookaround,
backreferences, possessive repeats, atomic groups, conditionals (the
features that need backtracking).

Built-in rules stay on ``re``: they are ours, and ``re`` is cheaper to call
per line. ``re2`` is imported only for a configuration that has custom
regexes, never on the hook's fast path.
"""

from __future__ import annotations

import re

_PERL_OPERATORS = {  # the start of a group RE2 does not know: what it is
    "(?=": "lookahead (?=...)",
    "(?!": "negative lookahead (?!...)",
    "(?<=": "lookbehind (?<=...)",
    "(?<!": "negative lookbehind (?<!...)",
    "(?>": "atomic groups (?>...)",
    "(?(": "conditionals (?(...)...)",
}
BACKTRACKING = (
    "not supported: custom regexes run on RE2, in linear time, without what needs backtracking"
    " (lookaround, backreferences, possessive repeats, atomic groups, conditionals)"
)
OTHER = "not supported by RE2, which custom regexes run on"


class RegexError(ValueError):
    """A pattern that cannot be used; the message says why, in one line."""


class InvalidRegex(RegexError):
    """Not a regex at all (Python's ``re`` refuses it too)."""


class UnsupportedRegex(RegexError):
    """A regex that RE2 cannot run (the feature is named)."""


def compile(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled by RE2 (case-sensitive unless it starts with
    ``(?i)``), or :class:`InvalidRegex` or :class:`UnsupportedRegex`.

    The object is RE2's: it has what the engine uses of a
    :class:`re.Pattern` (``search``, ``match``, ``finditer``,
    ``groupindex``; matches with ``group``, ``span``, ``start``), group
    numbers rather than names for ``span`` and ``start``."""
    try:
        import re2  # only a configuration with custom regexes loads RE2
    except ImportError:
        raise UnsupportedRegex("custom regexes need google-re2 (pip install google-re2)") from None

    options = re2.Options()
    options.log_errors = False  # (RE2 would print its own line on stderr)
    try:
        compiled: re.Pattern[str] = re2.compile(pattern, options)
    except re2.error as exc:
        problem = _text(exc)
    else:
        return compiled
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error as exc:  # not a regex at all: Python's message has the position
        raise InvalidRegex(f"invalid regex: {exc}") from None
    raise UnsupportedRegex(_explain(pattern, problem))


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else ""
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def _explain(pattern: str, problem: str) -> str:
    """What RE2's ``problem`` with ``pattern`` (a regex to Python) means, in words."""
    named = _feature(pattern, problem)
    if named is None:
        return f"{OTHER}: {problem}"
    feature, backtracking = named
    return f"{feature} {BACKTRACKING if backtracking else OTHER}"


def _feature(pattern: str, problem: str) -> tuple[str, bool] | None:
    """The feature RE2's ``problem`` names, and whether it needs backtracking."""
    kind, _, where = problem.partition(": ")
    if kind == "invalid perl operator":
        for start, name in _PERL_OPERATORS.items():
            if where.startswith(start):
                return name, True
        if where.startswith("(?P") and "(?P=" in pattern:
            return "backreferences (?P=name)", True
        if where.startswith("(?") and where[2:3].isalpha():
            return f"the inline flag {where[2:3]!r} (RE2 has i, m, s and U)", False
    if kind == "invalid escape sequence":
        if where[1:2].isdigit() or where.startswith("\\g"):
            return f"backreferences ({where})", True
        if where == "\\Z":
            return "\\Z (RE2 writes the end of the text \\z)", False
    if kind == "bad repetition operator" and where.endswith("+"):
        return f"possessive repeats ({where})", True
    if kind == "invalid repetition size":
        return f"repeat counts above 1000 ({where})", False
    return None
