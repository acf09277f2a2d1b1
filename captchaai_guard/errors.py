"""Errors that end a run with exit code 2 and one clear line on stderr, and
the exit codes every command and hook shares."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time on the hook's fast path
    from typing import NoReturn

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # no key, keys found, error


def redact(message: str) -> str:
    """``message`` with every run of 32 letters and digits shown as ``***``
    plus its last four characters: an error line never holds a key."""
    import re  # only on the error path: the hook's fast path imports this module

    return re.sub(r"[A-Za-z0-9]{32}", lambda m: "***" + m.group()[-4:], message)


def leave(code: int) -> NoReturn:
    """End a console script with ``code`` once its output is flushed, without
    the interpreter's teardown: freeing a scan's modules and objects one by
    one takes milliseconds, the kernel frees the process at once. Nothing
    runs after it (no ``atexit`` handler), so it is called last."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a report that may not have arrived whole
            code = code or EXIT_ERROR
    os._exit(code)


class GuardError(Exception):
    """A problem the user can act on: bad input, no repository, git failing."""


class GitError(GuardError):
    """git could not be run, or it failed."""


class ConfigError(GuardError):
    """The configuration file or a rule in it is invalid."""


class OutputError(GuardError):
    """The report could not be written (standard output closed, disk full)."""
