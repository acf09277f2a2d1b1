"""Opt-in live verification against CaptchaAI's balance endpoint.

Only ``scan --verify`` calls this. Each distinct key is sent once, to
``<base>/res.php?key=<key>&action=getbalance&json=1``, with a bounded
timeout, using the standard library only. The answer marks every finding
holding that key:

* ``live``    - a balance came back (``1.23`` or ``{"status":1,"request":"1.23"}``);
* ``invalid`` - ``ERROR_WRONG_USER_KEY`` or ``ERROR_KEY_DOES_NOT_EXIST``;
* ``unknown`` - anything else: a timeout, a network or HTTP error, another answer.

When a key is left ``unknown`` because CaptchaAI could not be reached (the
host name did not resolve, the connection was refused or timed out, TLS
failed) or answered with an HTTP error, one warning line on stderr says so
and why. Nothing here ever prints, logs or raises the request URL (it holds
the key): only the host and port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from captchaai_guard.errors import GuardError, redact
from captchaai_guard.findings import Finding

DEFAULT_URL = "https://ocr.captchaai.com"
DEFAULT_TIMEOUT = 5.0
ENV_URL = "CAPTCHAAI_GUARD_VERIFY_URL"
LIVE, INVALID, UNKNOWN = "live", "invalid", "unknown"
_INVALID_ANSWERS = frozenset({"ERROR_WRONG_USER_KEY", "ERROR_KEY_DOES_NOT_EXIST"})
_DECIMAL = re.compile(r"^-?\d+(?:\.\d+)?$")
_MAX_ANSWER = 4096
_WORKERS = 8


def base_url(option: str | None, config: str | None) -> str:
    """``--verify-url``, then the environment, then the config, then the default."""
    url = option or os.environ.get(ENV_URL) or config or DEFAULT_URL
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise GuardError(f"verify URL must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def classify(body: str) -> str:
    """live / invalid / unknown for one answer of the balance endpoint."""
    text = body.strip()
    answer: object = text
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return UNKNOWN
        if not isinstance(doc, dict):
            return UNKNOWN
        answer = doc.get("request")
        if doc.get("status") == 1:
            return LIVE if isinstance(answer, (str, int, float)) and _DECIMAL.match(str(answer)) else UNKNOWN
    if isinstance(answer, str):
        if _DECIMAL.match(answer):
            return LIVE
        if answer in _INVALID_ANSWERS:
            return INVALID
    return UNKNOWN


def check_key(key: str, base: str, timeout: float) -> str:
    """Ask the endpoint about one key; never raises, never reveals the URL."""
    return probe(key, base, timeout)[0]


def probe(key: str, base: str, timeout: float) -> tuple[str, str | None]:
    """The status of one key, and why it is unknown when the endpoint could
    not be asked (None: it answered); never raises, never reveals the URL."""
    query = urllib.parse.urlencode({"key": key, "action": "getbalance", "json": "1"})
    request = urllib.request.Request(
        f"{base}/res.php?{query}", headers={"User-Agent": "captchaai-guard", "Accept": "*/*"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(_MAX_ANSWER)
    except Exception as exc:  # timeouts, refused connections, HTTP errors: all unknown
        return UNKNOWN, unreachable(exc, base, timeout)
    return classify(body.decode("utf-8", "replace")), None


def unreachable(exc: BaseException, base: str, timeout: float) -> str:
    """Why asking ``base`` failed with ``exc`` ("could not be reached (...)",
    "at HOST:PORT answered HTTP 503"), naming its host and port only (the
    URL holds the key)."""
    import urllib.error

    parsed = urllib.parse.urlsplit(base)
    host = parsed.hostname or "?"
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        port = 0
    where = f"{host}:{port}"
    if isinstance(exc, urllib.error.HTTPError):
        return f"at {where} answered HTTP {exc.code}"
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return f"could not be reached ({_network_problem(reason, host, where, timeout)})"


def _network_problem(reason: object, host: str, where: str, timeout: float) -> str:
    if isinstance(reason, socket.gaierror):
        return f"DNS: the host name {host} could not be resolved: {reason.strerror or reason}"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection to {where} refused"
    if isinstance(reason, ConnectionResetError):
        return f"connection to {where} reset"
    import ssl

    if isinstance(reason, ssl.SSLError):
        detail = getattr(reason, "verify_message", None) or reason.reason or "handshake failed"
        return f"TLS with {where} failed: {detail}"
    if isinstance(reason, OSError):
        return f"{where}: {reason.strerror or type(reason).__name__}"
    text = reason if isinstance(reason, str) else type(reason).__name__
    return f"{where}: {redact(text)}"


def _warn(message: str) -> None:
    sys.stderr.write(f"captchaai-guard: warning: {redact(message)}\n")
    sys.stderr.flush()


def verify(
    findings: Sequence[Finding],
    base: str,
    timeout: float = DEFAULT_TIMEOUT,
    warn: Callable[[str], None] = _warn,
) -> list[Finding]:
    """``findings`` with :attr:`Finding.status` set; each key is asked once.
    When some could not be asked, ``warn`` gets one line saying why."""
    keys = list(dict.fromkeys(f.secret for f in findings))
    if not keys:
        return list(findings)
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(keys))) as pool:
        answers = dict(zip(keys, pool.map(lambda key: probe(key, base, timeout), keys)))
    problems = [problem for _, problem in answers.values() if problem is not None]
    if problems:
        count = len(problems)
        noun = "key" if count == 1 else "keys"
        reasons = "; ".join(dict.fromkeys(problems))
        warn(f"CaptchaAI {reasons}: {count} {noun} left unknown")
    return [f.with_status(answers[f.secret][0]) for f in findings]
