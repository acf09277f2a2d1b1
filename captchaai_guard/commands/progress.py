"""A one-line progress bar for terminals (stdlib only, no heavy imports).

The CLI shows it on stderr while ``scan --commits`` walks a long range, and
only when stderr is a terminal; the engine and the drivers know nothing about
it beyond an optional ``progress(done)`` callback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO

WIDTH = 28
INTERVAL = 0.1  # seconds between redraws


def bar(done: int, total: int, label: str, width: int = WIDTH) -> str:
    """``label [#######.......]  12/40  30%`` (``done`` is capped at ``total``)."""
    if total <= 0:
        return f"{label} {done}"
    done = min(done, total)
    filled = width * done // total
    percent = 100 * done // total
    return f"{label} [{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total} {percent:3d}%"


def _columns(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class Progress:
    """Redraws one line with ``\\r`` at most every ``interval`` seconds;
    :meth:`close` wipes it so the report that follows starts clean."""

    def __init__(
        self,
        total: int,
        stream: IO[str],
        label: str = "captchaai-guard: scanning commits",
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        columns: int | None = None,
    ) -> None:
        self.total = total
        self.stream = stream
        self.label = label
        self.interval = interval
        self.clock = clock
        self.columns = columns if columns is not None else _columns(stream)
        self.done = 0
        self.shown = 0  # length of the line on screen
        self.last = float("-inf")

    def update(self, done: int) -> None:
        self.done = done
        now = self.clock()
        if now - self.last < self.interval and done < self.total:
            return
        self.last = now
        self._draw(bar(done, self.total, self.label))

    def _draw(self, line: str) -> None:
        line = line[: max(1, self.columns - 1)]  # a wrapped line could not be redrawn
        pad = " " * max(0, self.shown - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self.shown = len(line)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0
