"""Project configuration: ``.captchaai-guard.toml`` or ``[tool.captchaai-guard]``.

Found at the repository root (``.captchaai-guard.toml`` first, then the
``[tool.captchaai-guard]`` table of ``pyproject.toml``) or named with
``--config PATH``. Nothing is read when no such file exists. Every problem
is a :class:`~captchaai_guard.errors.ConfigError` naming the file and key.

Keys::

    exclude = ["vendor/**", "*.min.js"]   # paths never scanned
    allow = ["^0123abcd"]                 # a match on the key or its line suppresses
    disable = ["captchaai-field"]         # rule ids turned off
    verify_url = "https://ocr.captchaai.com"

    [[rules]]                             # custom rules
    id = "myco-token"
    description = "MyCo API token"
    regex = "myco_token\\s*=\\s*(?P<secret>[A-Za-z0-9]{40})"
    keywords = ["myco_token"]
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence

from captchaai_guard.config.locate import CONFIG_FILE, PYPROJECT, TABLE, may_define_table
from captchaai_guard.detect.rules import RULES, Rule
from captchaai_guard.errors import ConfigError

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from captchaai_guard.detect.engine import Engine

# Which paths a scan reads (the configuration's exclude globs, a hook's file list).
PathFilter = Callable[[str], bool]

_KEYS = ("exclude", "allow", "disable", "rules", "verify_url")
_RULE_KEYS = ("id", "description", "regex", "keywords")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Config:
    """A loaded configuration; the empty one when there is no file.

    A plain class, not a dataclass: ``dataclasses`` (and the ``inspect``
    module it pulls in) would cost every scan more than loading the file."""

    __slots__ = ("_excluded", "allow", "disable", "exclude", "rules", "source", "verify_url")

    def __init__(
        self,
        source: Path | None = None,
        exclude: tuple[str, ...] = (),
        allow: tuple[re.Pattern[str], ...] = (),
        disable: tuple[str, ...] = (),
        rules: tuple[Rule, ...] = (),
        verify_url: str | None = None,
        _excluded: Callable[[str], bool] | None = None,
    ) -> None:
        self.source = source
        self.exclude = exclude
        self.allow = allow
        self.disable = disable
        self.rules = rules
        self.verify_url = verify_url
        self._excluded = _excluded

    def _key(self) -> tuple[object, ...]:
        allow = tuple(pattern.pattern for pattern in self.allow)
        return (self.source, self.exclude, allow, self.disable, self.rules, self.verify_url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ("source", "exclude", "allow", "disable", "rules", "verify_url")
        return "Config(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in fields) + ")"

    def include(self) -> Callable[[str], bool] | None:
        """A path filter for the scan drivers, or None when nothing is excluded."""
        if self._excluded is None:
            return None
        excluded = self._excluded
        return lambda path: not excluded(path)

    def all_rules(self) -> tuple[Rule, ...]:
        """Built-in then custom rules, without the disabled ones."""
        disabled = set(self.disable)
        return tuple(rule for rule in (*RULES, *self.rules) if rule.id not in disabled)

    def engine(self) -> Engine:
        from captchaai_guard.detect.engine import Engine

        return Engine(self.all_rules(), allow=self.allow)


# -- exclude globs ----------------------------------------------------------


def glob_to_regex(pattern: str) -> str:
    """Translate a path glob to a regex.

    ``*`` and ``?`` stay inside one path segment, ``**`` crosses segments
    (``**/`` also matches no folder at all), ``[...]`` is a class. A pattern
    without ``/`` matches a file or folder name at any depth; one with ``/``
    is anchored at the repository root. A match on a folder covers
    everything under it.
    """
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            close = body.find("]", i + 2 if body.startswith("[!", i) or body.startswith("[^", i) else i + 1)
            if close == -1:
                out.append(re.escape(ch))
                i += 1
                continue
            inner = body[i + 1 : close]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(ch))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return "^" + prefix + "".join(out) + "(?:/.*)?$"


def _path_matcher(patterns: Sequence[str]) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    combined = re.compile("|".join(f"(?:{glob_to_regex(p)})" for p in patterns), re.DOTALL)
    return lambda path: combined.match(path) is not None


# -- loading ----------------------------------------------------------------


def find(root: str | Path) -> tuple[Path, bool] | None:
    """The configuration file at ``root``: (path, is pyproject.toml), or None.
    (``os.path`` until one is found: a scan without one never imports pathlib.)"""
    dedicated = os.path.join(root, CONFIG_FILE)
    if os.path.isfile(dedicated):
        from pathlib import Path

        return Path(dedicated), False
    pyproject = os.path.join(root, PYPROJECT)
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from None
        if may_define_table(data):  # cheap: most pyproject files never mention us
            from pathlib import Path

            return Path(pyproject), True
    return None


def load(root: str | Path | None, explicit: str | Path | None = None) -> Config:
    """The configuration for a repository at ``root`` (or ``explicit``)."""
    if explicit is not None:
        from pathlib import Path

        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        return parse_file(path, pyproject=path.name == PYPROJECT)
    if root is None:
        return Config()
    found = find(root)
    if found is None:
        return Config()
    return parse_file(*found)


def parse_file(path: Path, pyproject: bool = False) -> Config:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        import tomli as tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    prefix = ""
    if pyproject:
        table = doc.get("tool", {}).get(TABLE) if isinstance(doc.get("tool"), dict) else None
        if table is None:
            return Config(source=path)
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.{TABLE}: must be a table")
        doc = table
        prefix = f"tool.{TABLE}."
    return parse(doc, path, prefix)


def parse(doc: dict[str, Any], path: Path, prefix: str = "") -> Config:
    """Validate a configuration table; ``prefix`` names keys in errors."""

    def error(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {prefix}{key}: {problem}")

    for key in doc:
        if key not in _KEYS:
            raise error(key, f"unknown key (known keys: {', '.join(_KEYS)})")
    exclude = _strings(doc, "exclude", error)
    for i, pattern in enumerate(exclude):
        try:
            re.compile(glob_to_regex(pattern))
        except re.error:
            raise error(f"exclude[{i}]", f"invalid glob {pattern!r}") from None
    allow = [
        _checked_regex(raw, _at(error, f"allow[{i}]")) for i, raw in enumerate(_strings(doc, "allow", error))
    ]
    rules = _rules(doc.get("rules", []), error)
    disable = _strings(doc, "disable", error)
    known = {rule.id for rule in (*RULES, *rules)}
    for i, rule_id in enumerate(disable):
        if rule_id not in known:
            raise error(f"disable[{i}]", f"unknown rule id {rule_id!r} (see: captchaai-guard rules)")
    verify_url = doc.get("verify_url")
    if verify_url is not None and (
        not isinstance(verify_url, str) or not re.match(r"^https?://[^\s/?#]+", verify_url)
    ):
        raise error("verify_url", "must be an http:// or https:// URL")
    return Config(
        source=path,
        exclude=exclude,
        allow=tuple(allow),
        disable=disable,
        rules=rules,
        verify_url=verify_url,
        _excluded=_path_matcher(exclude),
    )


_Error = Callable[[str, str], ConfigError]


def _strings(table: dict[str, Any], key: str, error: _Error) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise error(key, "must be a list of strings")
    return tuple(value)


def _rules(value: object, error: _Error) -> tuple[Rule, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise error("rules", "must be an array of tables ([[rules]])")
    taken = {rule.id for rule in RULES}
    rules: list[Rule] = []
    for i, table in enumerate(value):
        rule = _rule(table, f"rules[{i}]", error)
        if rule.id in taken:
            raise error(f"rules[{i}].id", f"duplicate rule id {rule.id!r}")
        taken.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _rule(table: dict[str, Any], name: str, error: _Error) -> Rule:
    def scoped(key: str, problem: str) -> ConfigError:
        return error(f"{name}.{key}", problem)

    for key in table:
        if key not in _RULE_KEYS:
            raise scoped(key, f"unknown key (known keys: {', '.join(_RULE_KEYS)})")
    for key in ("id", "regex"):
        if key not in table:
            raise scoped(key, "missing")
    for key in ("id", "regex", "description"):
        if key in table and not isinstance(table[key], str):
            raise scoped(key, "must be a string")
    rule_id: str = table["id"]
    if not _RULE_ID.match(rule_id):
        raise scoped("id", f"invalid rule id {rule_id!r} (letters, digits, '-', '_', '.')")
    keywords = _strings(table, "keywords", scoped)
    if any(not word for word in keywords):
        raise scoped("keywords", "keywords must not be empty strings")
    return Rule(
        id=rule_id,
        description=table.get("description", rule_id),
        regex=_checked_regex(table["regex"], _at(scoped, "regex"), f"rule {rule_id!r}: ").pattern,
        keywords=tuple(word.lower() for word in keywords),
        secret="any",
        source="config",
    )


def _at(error: _Error, key: str) -> Callable[[str], ConfigError]:
    return lambda problem: error(key, problem)


def _checked_regex(raw: str, error: Callable[[str], ConfigError], who: str = "") -> re.Pattern[str]:
    """``raw`` compiled by RE2 (:mod:`captchaai_guard.detect.custom_regex`), or
    the error: what RE2 does not support is named, after ``who`` (the rule)."""
    from captchaai_guard.detect import custom_regex

    try:
        compiled = custom_regex.compile(raw)
    except custom_regex.InvalidRegex as exc:
        raise error(str(exc)) from None
    except custom_regex.UnsupportedRegex as exc:
        raise error(f"{who}{exc}") from None
    if compiled.match(""):
        raise error("regex matches the empty string (it would match every line)")
    return compiled
