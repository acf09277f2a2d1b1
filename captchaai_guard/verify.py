"""Opt-in live verification against CaptchaAI's balance endpoint.

Only ``scan --verify`` calls this. Each distinct key is sent once, to
``<base>/res.php?key=<key>&action=getbalance&json=1``, with a bounded
timeout, using the standard library only. The answer marks every finding
holding that key:

* ``live``    - a balance came back (``1.23`` or ``{"status":1,"request":"1.23"}``);
* ``invalid`` - ``ERROR_WRONG_USER_KEY`` or ``ERROR_KEY_DOES_NOT_EXIST``;
* ``unknown`` - anything else: a timeout, a network or HTTP error, another answer.

Nothing here ever prints, logs or raises the request URL (it holds the key).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from captchaai_guard.errors import GuardError
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
    query = urllib.parse.urlencode({"key": key, "action": "getbalance", "json": "1"})
    request = urllib.request.Request(
        f"{base}/res.php?{query}", headers={"User-Agent": "captchaai-guard", "Accept": "*/*"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(_MAX_ANSWER)
    except Exception:  # timeouts, refused connections, HTTP errors: all unknown
        return UNKNOWN
    return classify(body.decode("utf-8", "replace"))


def verify(findings: Sequence[Finding], base: str, timeout: float = DEFAULT_TIMEOUT) -> list[Finding]:
    """``findings`` with :attr:`Finding.status` set; each key is asked once."""
    keys = list(dict.fromkeys(f.secret for f in findings))
    if not keys:
        return list(findings)
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(keys))) as pool:
        statuses = dict(zip(keys, pool.map(lambda key: check_key(key, base, timeout), keys)))
    return [f.with_status(statuses[f.secret]) for f in findings]
