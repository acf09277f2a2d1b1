"""Errors that end a run with exit code 2 and one clear line on stderr, and
the exit codes every command and hook shares."""

from __future__ import annotations

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # no key, keys found, error


def redact(message: str) -> str:
    """``message`` with every run of 32 letters and digits shown as ``***``
    plus its last four characters: an error line never holds a key."""
    import re  # only on the error path: the hook's fast path imports this module

    return re.sub(r"[A-Za-z0-9]{32}", lambda m: "***" + m.group()[-4:], message)


class GuardError(Exception):
    """A problem the user can act on: bad input, no repository, git failing."""


class GitError(GuardError):
    """git could not be run, or it failed."""


class ConfigError(GuardError):
    """The configuration file or a rule in it is invalid."""


class OutputError(GuardError):
    """The report could not be written (standard output closed, disk full)."""
