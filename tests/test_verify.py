"""``scan --verify`` against a local server imitating CaptchaAI's balance endpoint."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from captchaai_guard.detect.verify import classify
from tests.conftest import Repo, Result, fake_key


@dataclass
class Endpoint:
    """Answers per key: a body to send, or ``"SLOW"`` to hang past the timeout."""

    url: str
    answers: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parsed.query)
            state.requests.append({"path": [parsed.path], **query})
            answer = state.answers.get(query.get("key", [""])[0], "ERROR_WRONG_USER_KEY")
            if answer == "SLOW":
                time.sleep(3)
                answer = "1.00"
            body = answer.encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _scan(repo: Repo, *args: str) -> Result:
    return repo.run("scan", *args, env=_env())


def test_statuses_in_json_and_text(repo: Repo, endpoint: Endpoint) -> None:
    live, json_live, wrong, missing, slow = (fake_key() for _ in range(5))
    endpoint.answers.update(
        {
            live: "12.345",
            json_live: json.dumps({"status": 1, "request": "0.5"}),
            wrong: "ERROR_WRONG_USER_KEY",
            missing: json.dumps({"status": 0, "request": "ERROR_KEY_DOES_NOT_EXIST"}),
            slow: "SLOW",
        }
    )
    names = ["live", "json_live", "wrong", "missing", "slow"]
    keys = [live, json_live, wrong, missing, slow]
    repo.stage("keys.env", "".join(f"CAPTCHAAI_API_KEY_{i + 2}={k}\n" for i, k in enumerate(keys)))
    start = time.monotonic()
    result = _scan(
        repo, "--verify", "--verify-url", endpoint.url, "--verify-timeout", "1.5", "--format", "json"
    )
    assert time.monotonic() - start < 20
    assert result.code == 1, result.err
    status = {f["masked"]: f["status"] for f in json.loads(result.out)["findings"]}
    expected = dict(zip(names, ["live", "live", "invalid", "invalid", "unknown"]))
    assert {name: status["***" + key[-4:]] for name, key in zip(names, keys)} == expected
    for key in keys:
        assert key not in result.out + result.err
    assert endpoint.requests
    for request in endpoint.requests:
        assert request["path"] == ["/res.php"]
        assert request["action"] == ["getbalance"] and request["json"] == ["1"]
    assert sorted(r["key"][0] for r in endpoint.requests) == sorted(keys)

    endpoint.answers[slow] = "7"
    text = _scan(repo, "--verify", "--verify-url", endpoint.url)
    assert "[live]" in text.out and "[invalid]" in text.out and "[unknown]" not in text.out


def test_each_key_is_asked_once(repo: Repo, endpoint: Endpoint) -> None:
    key = fake_key()
    endpoint.answers[key] = "1.5"
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.stage("b.env", f"CAPTCHAAI_API_KEY={key}\n")
    result = _scan(repo, "--verify", "--verify-url", endpoint.url, "--format", "json")
    assert [f["status"] for f in json.loads(result.out)["findings"]] == ["live", "live"]
    assert len(endpoint.requests) == 1


def test_nothing_is_sent_without_verify(repo: Repo, endpoint: Endpoint) -> None:
    repo.write(".captchaai-guard.toml", f'verify_url = "{endpoint.url}"\n')
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = _scan(repo, "--format", "json", "--verify-url", endpoint.url)
    assert result.code == 1
    assert json.loads(result.out)["findings"][0]["status"] is None
    assert endpoint.requests == []


def test_url_from_config_and_environment(repo: Repo, endpoint: Endpoint) -> None:
    key = fake_key()
    endpoint.answers[key] = "3"
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.write(".captchaai-guard.toml", f'verify_url = "{endpoint.url}/"\n')
    result = _scan(repo, "--verify", "--format", "json")
    assert json.loads(result.out)["findings"][0]["status"] == "live"
    repo.write(".captchaai-guard.toml", 'verify_url = "http://127.0.0.1:9"\n')
    env = _env()
    env["CAPTCHAAI_GUARD_VERIFY_URL"] = endpoint.url
    result = repo.run("scan", "--verify", "--format", "json", env=env)
    assert json.loads(result.out)["findings"][0]["status"] == "live"
    assert len(endpoint.requests) == 2


def test_unreachable_endpoint_is_unknown_and_never_shows_the_url(repo: Repo) -> None:
    key = fake_key()
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")
    result = _scan(repo, "--verify", "--verify-url", "http://127.0.0.1:9", "--verify-timeout", "1")
    assert result.code == 1
    assert "[unknown]" in result.out
    assert key not in result.out + result.err and "res.php" not in result.out + result.err


def _closed_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _unreachable(repo: Repo, url: str, *reasons: str) -> None:
    """Both keys left unknown, and one warning line saying why."""
    key = fake_key()
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.stage("b.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    for fmt in ("text", "json"):
        result = _scan(repo, "--verify", "--verify-url", url, "--verify-timeout", "1", "--format", fmt)
        assert result.code == 1, result.err  # a dead or unknown key in a commit is still a leak
        if fmt == "json":
            assert {f["status"] for f in json.loads(result.out)["findings"]} == {"unknown"}
        else:
            assert result.out.count("[unknown]") == 2, result.out
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1, result.err
        assert lines[0].startswith("captchaai-guard: warning: CaptchaAI could not be reached (")
        assert lines[0].endswith("): 2 keys left unknown"), lines[0]
        for reason in reasons:
            assert reason in lines[0], lines[0]
        assert key not in result.out + result.err and "res.php" not in result.err


def test_refused_connection_is_said(repo: Repo) -> None:
    port = _closed_port()
    _unreachable(repo, f"http://127.0.0.1:{port}", f"connection to 127.0.0.1:{port} refused")


def test_unresolvable_host_is_said(repo: Repo) -> None:
    _unreachable(repo, "https://captchaai-guard-test.invalid", "DNS", "captchaai-guard-test.invalid")


def test_no_answer_in_time_is_said(repo: Repo) -> None:
    """A local server that accepts the connection and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        start = time.monotonic()
        _unreachable(repo, f"http://127.0.0.1:{port}", f"no answer from 127.0.0.1:{port} within 1 s")
        assert time.monotonic() - start < 30


def test_an_http_error_is_said(repo: Repo) -> None:
    key = fake_key()
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(503)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _scan(repo, "--verify", "--verify-url", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 1 and "[unknown]" in result.out
    where = f"127.0.0.1:{server.server_address[1]}"
    assert f"CaptchaAI at {where} answered HTTP 503: 1 key left unknown" in result.err
    assert key not in result.out + result.err


def test_bad_verify_url_is_an_error(repo: Repo) -> None:
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = _scan(repo, "--verify", "--verify-url", "file:///etc/passwd")
    assert result.code == 2 and "verify URL must be an http" in result.err


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("0", "live"),
        ("12.5\n", "live"),
        ('{"status":1,"request":"1.23"}', "live"),
        ('{"status":1,"request":1.23}', "live"),
        ("ERROR_WRONG_USER_KEY", "invalid"),
        ("ERROR_KEY_DOES_NOT_EXIST", "invalid"),
        ('{"status":0,"request":"ERROR_WRONG_USER_KEY"}', "invalid"),
        ('{"status":0,"request":"ERROR_ZERO_BALANCE"}', "unknown"),
        ('{"status":1,"request":"OK"}', "unknown"),
        ("<html>maintenance</html>", "unknown"),
        ("{broken", "unknown"),
        ("", "unknown"),
    ],
)
def test_classify(body: str, status: str) -> None:
    assert classify(body) == status
