"""Where a finding came from when scanning history.

Its own module: every commit read from ``git log`` makes one, and a scan
that finds nothing never imports :mod:`captchaai_guard.findings` (nor the
``dataclasses`` module that one needs).
"""

from __future__ import annotations

from typing import NamedTuple


class Commit(NamedTuple):
    """A commit's id, author and date, as ``git log`` gave them."""

    sha: str
    author: str
    email: str
    date: str
