"""Small named predicates that drop values that are not real keys.

Each returns True when the candidate should be *dropped*. They run after a
rule matched, on the secret (and, for some, the line) only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

_PLACEHOLDER_WORDS = (
    "your",
    "example",
    "placeholder",
    "dummy",
    "sample",
    "changeme",
    "redacted",
    "insert",
    "xxxx",
)
_HEX = frozenset("0123456789abcdefABCDEF")


def is_placeholder_word(secret: str) -> bool:
    """``YourApiKeyHere...``, ``xxxx...``, ``example...``."""
    lowered = secret.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def is_low_variety(secret: str) -> bool:
    """All zeros, ``aaaa...``, ``abababab...``: too few distinct characters."""
    return len(set(secret.lower())) <= 4


def is_repeating(secret: str) -> bool:
    """A short pattern repeated: ``0123456789abcdef`` twice, ``deadbeef`` x4."""
    lowered = secret.lower()
    for period in range(1, 17):
        if len(lowered) % period == 0 and lowered == lowered[:period] * (len(lowered) // period):
            return True
    return False


def is_sequential(secret: str) -> bool:
    """``0123456789abcdef...`` or ``abcdefghijklmnop...``: counts up or down."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(secret.lower())]
    return sum(1 for step in steps if step in (1, -1)) >= len(steps) - 4


_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")


def is_identifier_like(secret: str) -> bool:
    """A 32-letter word such as ``readTheKeyFromTheVaultPleaseThx``.

    Only for values that are not hex: a random 32-character key of letters
    and digits almost always holds both.
    """
    if all(ch in _HEX for ch in secret):
        return False
    return not (_DIGIT.search(secret) and _LETTER.search(secret))


FILTERS: tuple[Callable[[str], bool], ...] = (
    is_placeholder_word,
    is_low_variety,
    is_repeating,
    is_sequential,
    is_identifier_like,
)


def drop(secret: str) -> bool:
    """True when any filter says ``secret`` is not a real key."""
    return any(check(secret) for check in FILTERS)
