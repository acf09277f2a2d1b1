"""Handling a CaptchaAI API key safely in your own code.

Standard library only (python-dotenv is used when installed): importing this
module pulls in neither click nor GitPython.

- :func:`get_api_key` reads ``CAPTCHAAI_API_KEY`` from the environment (or a
  ``.env`` file) and checks its shape without ever echoing it.
- :func:`load_config` reads ``~/.captchaai/config.json`` and refuses a file
  that group or others can read.
- :class:`SecureApiKey` holds a key that prints as ``***`` plus its last four
  characters.
- :class:`KeyMaskingFilter` / :func:`install_log_masking` mask keys in logs.
- :class:`KeyRotator` switches to the next key on balance or key errors.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import stat
import threading
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "ENV_VAR",
    "ROTATION_ERRORS",
    "ApiKeyError",
    "KeyMaskingFilter",
    "KeyRotator",
    "SecureApiKey",
    "get_api_key",
    "install_log_masking",
    "json_default",
    "load_config",
    "mask_text",
]

ENV_VAR = "CAPTCHAAI_API_KEY"
CONFIG_DIR = ".captchaai"
# Errors after which another key may work; anything else (a bad image, an
# unsolvable captcha, a network error) is not the key's fault.
ROTATION_ERRORS = ("ZERO_BALANCE", "WRONG_USER_KEY", "KEY_DOES_NOT_EXIST")
_ROTATION_ERROR = re.compile(
    r"(?<![A-Za-z0-9_])(?:ERROR_)?(" + "|".join(ROTATION_ERRORS) + r")(?![A-Za-z0-9_])", re.IGNORECASE
)
_KEY_SHAPE = re.compile(r"[0-9a-fA-F]{32}")
_HEX_KEY = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_CONFIG_KEY_FIELDS = frozenset({"apikey", "key", "clientkey", "captchaaiapikey"})
_MASK = "***"


class ApiKeyError(RuntimeError):
    """The key or its configuration is missing, malformed or unsafe.

    A :class:`RuntimeError`; the message says how to fix it and never
    contains the key.
    """


def _how_to_set(name: str) -> str:
    return (
        f"Set it in the environment, not in your code:\n"
        f'  Linux/macOS:  export {name}="<your key>"\n'
        f'  PowerShell:   $env:{name} = "<your key>"\n'
        f"  Windows CMD:  set {name}=<your key>\n"
        f"or put {name}=<your key> in a .env file listed in .gitignore "
        f"(read when python-dotenv is installed: pip install 'captchaai-guard[dotenv]')."
    )


def _masked(value: str) -> str:
    # Short values would be revealed by their last four characters.
    return _MASK + value[-4:] if len(value) >= 16 else _MASK


def _check_shape(name: str, value: str) -> None:
    """Raise when ``value`` is not 32 hex characters; never echo it."""
    if _KEY_SHAPE.fullmatch(value):
        return
    bad = sum(1 for ch in value if ch not in "0123456789abcdefABCDEF")
    problems = []
    if len(value) != 32:
        problems.append(f"{len(value)} characters")
    if bad:
        problems.append(f"{bad} non-hexadecimal character{'s' if bad != 1 else ''}")
    raise ApiKeyError(
        f"{name} does not look like a CaptchaAI API key: expected 32 hexadecimal characters, "
        f"got {', '.join(problems)}. Copy the key again from the CaptchaAI dashboard."
    )


def _from_dotenv(name: str, dotenv_path: str | os.PathLike[str] | None) -> str | None:
    try:
        import dotenv
    except ImportError:
        return None
    path = os.fspath(dotenv_path) if dotenv_path is not None else dotenv.find_dotenv(usecwd=True)
    if not path or not os.path.isfile(path):
        return None
    value = dotenv.dotenv_values(path).get(name)
    return value if isinstance(value, str) else None


def get_api_key(
    name: str = ENV_VAR,
    *,
    dotenv_path: str | os.PathLike[str] | None = None,
    validate: bool = True,
) -> str:
    """The API key from the environment variable ``name``.

    When it is not set and python-dotenv is installed, the ``.env`` file
    found from the current directory upwards (or ``dotenv_path``) is read
    without changing ``os.environ``. Surrounding whitespace is dropped.

    Raises :class:`ApiKeyError` (a :class:`RuntimeError`) when the key is
    missing, saying how to set it, or when ``validate`` is true and it is not
    32 hexadecimal characters (the message never contains the value).
    """
    value = (os.environ.get(name) or "").strip()
    if not value:
        value = (_from_dotenv(name, dotenv_path) or "").strip()
    if not value:
        raise ApiKeyError(f"{name} is not set. {_how_to_set(name)}")
    if validate:
        _check_shape(name, value)
    return value


def config_path(path: str | os.PathLike[str] = "config.json") -> Path:
    """A relative ``path`` lives in ``~/.captchaai/``; an absolute one is kept."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else Path.home() / CONFIG_DIR / candidate


def _missing_config(target: Path) -> NoReturn:
    raise ApiKeyError(
        f"config file {target} not found. Create it, readable only by you:\n"
        f"  mkdir -p {target.parent} && chmod 700 {target.parent}\n"
        f'  printf \'{{"api_key": "%s"}}\\n\' "$CAPTCHAAI_API_KEY" > {target}\n'
        f"  chmod 600 {target}\n"
        f"or set {ENV_VAR} and use get_api_key() instead."
    )


def _check_permissions(target: Path, allow_insecure: bool) -> None:
    if os.name == "nt":  # POSIX mode bits mean nothing there
        return
    mode = stat.S_IMODE(target.stat().st_mode)
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return
    message = (
        f"{target} is readable by group or others (mode {mode:04o}); make it private: chmod 600 {target}"
    )
    if not allow_insecure:
        raise ApiKeyError(message + " (or pass allow_insecure=True to read it anyway)")
    warnings.warn(message, UserWarning, stacklevel=3)


def load_config(
    path: str | os.PathLike[str] = "config.json", *, allow_insecure: bool = False
) -> dict[str, Any]:
    """Read a JSON object from ``~/.captchaai/<path>`` (or an absolute path).

    A file that group or others can read is refused with
    :class:`ApiKeyError` unless ``allow_insecure`` is true, which only warns
    (:class:`UserWarning`). Top-level key fields (``api_key``, ``apiKey``,
    ``key``, ``clientKey``, ``CAPTCHAAI_API_KEY``) are returned wrapped in
    :class:`SecureApiKey`; use ``.value`` where the API needs the key.
    """
    target = config_path(path)
    if not target.is_file():
        _missing_config(target)
    _check_permissions(target, allow_insecure)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ApiKeyError(f"cannot read {target}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ApiKeyError(f"{target} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:  # the message holds a position, not the text
        raise ApiKeyError(f"{target} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ApiKeyError(f'{target} must hold a JSON object such as {{"api_key": "<your key>"}}')
    return {
        field: SecureApiKey(value)
        if isinstance(value, str) and re.sub(r"[_-]", "", field.lower()) in _CONFIG_KEY_FIELDS
        else value
        for field, value in data.items()
    }


class SecureApiKey:
    """An API key that shows only ``***`` and its last four characters.

    ``str()``, ``repr()``, f-strings, ``format()`` and ``%`` formatting all
    give the masked form; ``.value`` gives the key. It is not a ``str``, so
    ``json.dumps`` refuses it (``TypeError``) unless you pass
    ``default=json_default``, which writes the masked form. Pickling and
    ``copy`` of the key by value are refused as well; equality and hashing
    compare values. Values shorter than 16 characters show ``***`` only.
    """

    __slots__ = ("__weakref__", "_value")
    _value: str

    def __init__(self, key: str | SecureApiKey) -> None:
        if isinstance(key, SecureApiKey):
            key = key.value
        if not isinstance(key, str):
            raise TypeError(f"SecureApiKey needs a str, not {type(key).__name__}")
        object.__setattr__(self, "_value", key)
        _LIVE_KEYS.add(self)

    @property
    def value(self) -> str:
        """The key itself: pass it to the API, never to a log."""
        return self._value

    @property
    def masked(self) -> str:
        return _masked(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"SecureApiKey('{self.masked}')"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecureApiKey):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((SecureApiKey, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SecureApiKey is immutable")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("SecureApiKey is not picklable: store the key in the environment, not in a pickle")

    def __copy__(self) -> SecureApiKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SecureApiKey:
        return self


_LIVE_KEYS: weakref.WeakSet[SecureApiKey] = weakref.WeakSet()


def json_default(obj: object) -> str:
    """``json.dumps(data, default=json_default)`` writes keys masked."""
    if isinstance(obj, SecureApiKey):
        return obj.masked
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def mask_text(text: str) -> str:
    """``text`` with every 32-hex key and every live SecureApiKey value masked."""
    for key in list(_LIVE_KEYS):
        value = key.value
        if len(value) >= 8 and value in text:
            text = text.replace(value, key.masked)
    return _HEX_KEY.sub(lambda m: _MASK + m.group()[-4:], text)


class KeyMaskingFilter(logging.Filter):
    """A logging filter that masks CaptchaAI keys in records.

    It formats the message with its arguments (``msg % args``), masks every
    32-hex key and the value of every :class:`SecureApiKey` alive in the
    process, and stores the result as the record's message (``args`` become
    empty). Exception and stack text are masked too. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not print raw args
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> KeyMaskingFilter:
    """Mask keys in everything ``logger`` (default: the root logger) writes.

    The filter is added to the logger and to each of its handlers: a filter
    on a logger alone does not see records propagated from child loggers.
    Call it after configuring logging (``logging.basicConfig``); add
    ``KeyMaskingFilter()`` to handlers created later. Calling it twice adds
    nothing twice.
    """
    target = logger if logger is not None else logging.getLogger()
    existing = next((f for f in target.filters if isinstance(f, KeyMaskingFilter)), None)
    masking = existing or KeyMaskingFilter()
    if existing is None:
        target.addFilter(masking)
    for handler in target.handlers:
        if not any(isinstance(f, KeyMaskingFilter) for f in handler.filters):
            handler.addFilter(masking)
    return masking


def _error_code(error: object) -> str | None:
    texts = [str(error)]
    for attribute in ("code", "error_code", "errorCode", "request"):
        value = getattr(error, attribute, None)
        if isinstance(value, str):
            texts.append(value)
    if isinstance(error, Mapping):
        texts.extend(str(v) for v in error.values())
    for text in texts:
        match = _ROTATION_ERROR.search(text)
        if match:
            return match.group(1).upper()
    return None


class KeyRotator:
    """Several keys, used one at a time, switched when one stops working.

    Reads ``CAPTCHAAI_API_KEY`` then ``CAPTCHAAI_API_KEY_2`` … ``_9`` from
    ``env`` (gaps are fine; empty values and repeats are skipped). Keys are
    held as :class:`SecureApiKey`, so the rotator's ``repr`` is masked. All
    methods are safe to call from several threads.
    """

    def __init__(
        self, env: Mapping[str, str] | None = None, *, name: str = ENV_VAR, validate: bool = True
    ) -> None:
        source = os.environ if env is None else env
        names = [name] + [f"{name}_{n}" for n in range(2, 10)]
        keys: list[SecureApiKey] = []
        for var in names:
            value = (source.get(var) or "").strip()
            if not value:
                continue
            if validate:
                _check_shape(var, value)
            key = SecureApiKey(value)
            if key not in keys:
                keys.append(key)
        if not keys:
            raise ApiKeyError(f"no CaptchaAI API key configured: {name} is not set. {_how_to_set(name)}")
        self._keys = tuple(keys)
        self._index = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        with self._lock:
            index = self._index
        return f"KeyRotator(keys={[k.masked for k in self._keys]}, current={index})"

    @property
    def current(self) -> SecureApiKey:
        """The key in use, masked when printed."""
        with self._lock:
            return self._keys[self._index]

    def get_key(self) -> str:
        """The key to send with the next request."""
        return self.current.value

    def rotate(self) -> str:
        """Switch to the next key (after the last comes the first again)."""
        with self._lock:
            self._index = (self._index + 1) % len(self._keys)
            return self._keys[self._index].value

    def on_error(self, error: object, key: str | SecureApiKey | None = None) -> bool:
        """Rotate when ``error`` says the key itself failed; True if it did.

        ``error`` is an error code (``"ERROR_ZERO_BALANCE"`` or
        ``"ZERO_BALANCE"``), a response, or an exception whose text or
        ``code`` holds one. Only ``ZERO_BALANCE``, ``WRONG_USER_KEY`` and
        ``KEY_DOES_NOT_EXIST`` rotate. Pass ``key``, the key the failed
        request used, so that threads reporting the same failure rotate once.
        """
        if _error_code(error) is None:
            return False
        failed = key.value if isinstance(key, SecureApiKey) else key
        with self._lock:
            if failed is not None and self._keys[self._index].value != failed:
                return False  # another thread already moved on
            self._index = (self._index + 1) % len(self._keys)
            return len(self._keys) > 1
