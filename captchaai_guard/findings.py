"""The Finding record, masking and fingerprints.

A Finding keeps the secret in memory (for fingerprints and opt-in
verification) but never shows it: ``repr`` hides it, and every reporter
uses :attr:`Finding.masked` and :attr:`Finding.masked_line`.
"""

from __future__ import annotations

from captchaai_guard.sources.commit import Commit as Commit  # where findings came from (history)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

MASK_PREFIX = "***"
# Shown lines are cut to this many characters around the key.
MAX_SHOWN_LINE = 200
# Any other key-like run on the same line is masked too: a line may hold two
# keys, and each finding shows the whole line.
_KEYLIKE = r"[A-Za-z0-9]{32,}"


def mask(secret: str) -> str:
    """``***`` followed by the last four characters of ``secret``."""
    return MASK_PREFIX + secret[-4:]


def _mask_run(match: re.Match[str]) -> str:
    """A run of exactly 32 is masked whatever it holds (a key of letters
    only is still a key); a longer one when it holds a digit (a long
    identifier of letters stays readable)."""
    run = match.group()
    return mask(run) if len(run) == 32 or any(ch.isdigit() for ch in run) else run


def mask_runs(text: str) -> str:
    """``text`` with every key-like run masked (see :func:`_mask_run`)."""
    import re  # only when something is shown

    return re.sub(_KEYLIKE, _mask_run, text)


def _sha256_hex(data: bytes) -> str:
    from hashlib import sha256  # (about 2 ms to load: only when a finding is reported)

    return sha256(data).hexdigest()


def fingerprint(rule_id: str, path: str, secret: str) -> str:
    """A stable sha256 naming a secret at a path, without revealing it."""
    return _sha256_hex(f"{rule_id}\0{path}\0{secret}".encode("utf-8", "surrogateescape"))


def secret_hash(secret: str) -> str:
    """sha256 of the secret alone: the same key found twice hashes the same."""
    return _sha256_hex(secret.encode("utf-8", "surrogateescape"))


_FIELDS = (
    "rule_id",
    "description",
    "path",
    "line",
    "column",
    "secret",
    "line_text",
    "commit",
    "remediation",
    "status",
)


class Finding:
    """One key found: immutable, compared and hashed by its fields.

    A plain class, not a dataclass: importing ``dataclasses`` (and the
    ``inspect`` module it pulls in) cost a scan with findings more than
    compiling its rules. ``repr`` leaves out the secret and the line.
    """

    __slots__ = _FIELDS

    rule_id: str
    description: str
    path: str
    line: int
    column: int
    secret: str
    line_text: str
    commit: Commit | None
    remediation: str
    status: str | None  # live / invalid / unknown after --verify

    def __init__(
        self,
        rule_id: str,
        description: str,
        path: str,
        line: int,
        column: int,
        secret: str,
        line_text: str,
        commit: Commit | None = None,
        remediation: str = "",
        status: str | None = None,
    ) -> None:
        values = (rule_id, description, path, line, column, secret, line_text, commit, remediation, status)
        for name, value in zip(_FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Finding is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Finding is immutable: cannot delete {name!r}")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in _FIELDS if name not in ("secret", "line_text")
        )
        return f"Finding({shown})"

    def with_status(self, status: str | None) -> Finding:
        """A copy with :attr:`status` set."""
        return Finding(
            self.rule_id,
            self.description,
            self.path,
            self.line,
            self.column,
            self.secret,
            self.line_text,
            self.commit,
            self.remediation,
            status,
        )

    @property
    def masked(self) -> str:
        return mask(self.secret)

    @property
    def masked_line(self) -> str:
        """The offending line, stripped, with every copy of the key and every
        other key-like run masked, cut to ``MAX_SHOWN_LINE`` around the key."""
        line = mask_runs(self.line_text.replace(self.secret, self.masked)).strip()
        if len(line) <= MAX_SHOWN_LINE:
            return line
        at = max(line.find(self.masked), 0)
        start = max(0, min(at - MAX_SHOWN_LINE // 2, len(line) - MAX_SHOWN_LINE))
        end = start + MAX_SHOWN_LINE
        return ("..." if start else "") + line[start:end] + ("..." if end < len(line) else "")

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_id, self.path, self.secret)

    @property
    def secret_hash(self) -> str:
        return secret_hash(self.secret)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def message(self) -> str:
        return f"{self.description}: {self.masked}"
