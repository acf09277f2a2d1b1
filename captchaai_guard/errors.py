"""Errors that end a run with exit code 2 and one clear line on stderr."""

from __future__ import annotations


class GuardError(Exception):
    """A problem the user can act on: bad input, no repository, git failing."""


class GitError(GuardError):
    """git could not be run, or it failed."""


class ConfigError(GuardError):
    """The configuration file or a rule in it is invalid."""


class OutputError(GuardError):
    """The report could not be written (standard output closed, disk full)."""
