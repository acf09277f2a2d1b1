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
    "fake",
    "demo",
    "test",
    "apikey",
    "goeshere",
    "todo",
    "deadbeef",  # hexspeak fixtures: 1 random key in about 10^8 holds one of these
    "cafebabe",
)
_PLACEHOLDER = re.compile("|".join(_PLACEHOLDER_WORDS))  # one search instead of one per word
_HEX_ONLY = re.compile(r"[0-9a-fA-F]*")


def is_placeholder_word(secret: str) -> bool:
    """``YourApiKeyHere...``, ``xxxx...``, ``example...``."""
    return _PLACEHOLDER.search(secret.lower()) is not None


def is_low_variety(secret: str) -> bool:
    """All zeros, ``aaaa...``, ``abababab...``: too few distinct characters."""
    return len(set(secret.lower())) <= 4


def is_repeating(secret: str) -> bool:
    """A short pattern repeated: ``0123456789abcdef`` twice, ``deadbeef`` x4,
    ``a1b2c3d4e5`` over and over (the period need not divide the length)."""
    lowered = secret.lower()
    return any(lowered[period:] == lowered[:-period] for period in range(1, len(lowered) // 2 + 1))


def is_sequential(secret: str) -> bool:
    """``0123456789abcdef...`` or ``abcdefghijklmnop...``: counts up or down."""
    codes = secret.lower().encode("utf-8", "surrogatepass")
    misses = 0  # steps that do not count; more than four settle it (a random key: within a few)
    for a, b in itertools.pairwise(codes):
        if b - a not in (1, -1):
            misses += 1
            if misses > 4:
                return False
    return True


_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")


def is_identifier_like(secret: str) -> bool:
    """A 32-letter word such as ``readTheKeyFromTheVaultPleaseThx`` or
    ``PUTYOURCAPTCHAAIKEYINTHEENVFILE``.

    Only for values that are not hex and hold no digit. Random letters are
    about half upper and half lower case; words are mostly one case (about
    1 in 100,000 random keys of letters only would be dropped).
    """
    if _HEX_ONLY.fullmatch(secret) or _DIGIT.search(secret):
        return False
    if not _LETTER.search(secret):
        return True
    upper = sum(1 for ch in secret if ch.isupper())
    return min(upper, len(secret) - upper) <= len(secret) // 4


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
