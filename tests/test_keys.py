"""captchaai_guard.keys: reading, wrapping, masking and rotating keys."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from captchaai_guard import keys
from captchaai_guard.keys import (
    ApiKeyError,
    KeyMaskingFilter,
    KeyRotator,
    SecureApiKey,
    get_api_key,
    install_log_masking,
    json_default,
    load_config,
)
from tests.conftest import fake_key


def test_import_pulls_in_neither_click_nor_gitpython() -> None:
    code = (
        "import sys, captchaai_guard.keys as k; k.get_api_key; "
        "print(sorted(n for n in ('click', 'git') if n in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


# get_api_key ---------------------------------------------------------------


@pytest.fixture
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder so no .env is found above it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch, no_dotenv: Path) -> None:
    key = fake_key()
    monkeypatch.setenv("CAPTCHAAI_API_KEY", f"  {key}\n")
    assert get_api_key() == key


def test_other_variable_name(monkeypatch: pytest.MonkeyPatch, no_dotenv: Path) -> None:
    key = fake_key()
    monkeypatch.setenv("CAPTCHAAI_API_KEY_DEV", key)
    assert get_api_key("CAPTCHAAI_API_KEY_DEV") == key


def test_missing_key_says_how_to_set_it(no_dotenv: Path) -> None:
    with pytest.raises(RuntimeError) as info:
        get_api_key()
    message = str(info.value)
    assert "CAPTCHAAI_API_KEY is not set" in message
    assert 'export CAPTCHAAI_API_KEY="<your key>"' in message
    assert '$env:CAPTCHAAI_API_KEY = "<your key>"' in message
    assert "set CAPTCHAAI_API_KEY=<your key>" in message
    assert ".env" in message


def test_empty_value_counts_as_missing(monkeypatch: pytest.MonkeyPatch, no_dotenv: Path) -> None:
    monkeypatch.setenv("CAPTCHAAI_API_KEY", "   ")
    with pytest.raises(ApiKeyError, match="is not set"):
        get_api_key()


@pytest.mark.parametrize(
    "make",
    [
        lambda k: k[:31],  # too short
        lambda k: k + "0",  # too long
        lambda k: k[:30] + "zz",  # not hex
        lambda k: "sk-" + k,
    ],
)
def test_bad_shape_is_refused_without_echoing(
    monkeypatch: pytest.MonkeyPatch, no_dotenv: Path, make: object
) -> None:
    assert callable(make)
    value = make(fake_key())
    monkeypatch.setenv("CAPTCHAAI_API_KEY", value)
    with pytest.raises(ApiKeyError) as info:
        get_api_key()
    message = str(info.value)
    assert "expected 32 hexadecimal characters" in message
    assert value not in message and value[-4:] not in message and value[:8] not in message


def test_validation_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, no_dotenv: Path) -> None:
    monkeypatch.setenv("CAPTCHAAI_API_KEY", "short")
    assert get_api_key(validate=False) == "short"


def test_dotenv_file_is_read_without_touching_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("dotenv")
    key = fake_key()
    (tmp_path / ".env").write_text(f"CAPTCHAAI_API_KEY={key}\n", encoding="utf-8")
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # found by searching upwards
    assert get_api_key() == key
    assert "CAPTCHAAI_API_KEY" not in os.environ


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dotenv")
    in_env, in_file = fake_key(), fake_key()
    (tmp_path / ".env").write_text(f"CAPTCHAAI_API_KEY={in_file}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPTCHAAI_API_KEY", in_env)
    assert get_api_key() == in_env


def test_explicit_dotenv_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dotenv")
    key = fake_key()
    target = tmp_path / "conf" / "captcha.env"
    target.parent.mkdir()
    target.write_text(f"CAPTCHAAI_API_KEY={key}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert get_api_key(dotenv_path=target) == key


def test_works_without_python_dotenv(tmp_path: Path) -> None:
    """With python-dotenv missing the .env is ignored and the message still helps."""
    (tmp_path / ".env").write_text(f"CAPTCHAAI_API_KEY={fake_key()}\n", encoding="utf-8")
    code = (
        "import sys; sys.modules['dotenv'] = None\n"
        "from captchaai_guard.keys import get_api_key\n"
        "try:\n    get_api_key()\nexcept RuntimeError as e:\n    print('missing:', 'is not set' in str(e))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CAPTCHAAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip() == "missing: True", proc.stderr


# load_config -----------------------------------------------------------------


def _write_config(home: Path, name: str, data: object, mode: int = 0o600) -> Path:
    folder = home / ".captchaai"
    folder.mkdir(exist_ok=True)
    target = folder / name
    target.write_text(json.dumps(data), encoding="utf-8")
    target.chmod(mode)
    return target


def test_relative_path_is_under_home_captchaai() -> None:
    home = Path.home()  # a tmp folder (conftest sets HOME)
    key = fake_key()
    _write_config(home, "config.json", {"api_key": key, "timeout": 30})
    config = load_config()
    assert config["timeout"] == 30
    assert isinstance(config["api_key"], SecureApiKey)
    assert config["api_key"].value == key
    assert key not in repr(config)
    _write_config(home, "other.json", {"apiKey": key})
    assert load_config("other.json")["apiKey"].value == key


def test_absolute_path_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "conf.json"
    target.write_text('{"retries": 2}', encoding="utf-8")
    target.chmod(0o600)
    assert load_config(target) == {"retries": 2}


def test_missing_config_says_how_to_create_it() -> None:
    with pytest.raises(ApiKeyError) as info:
        load_config()
    message = str(info.value)
    assert str(Path.home() / ".captchaai" / "config.json") in message
    assert "mkdir -p" in message and "chmod 600" in message


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_readable_by_others_is_refused(mode: int) -> None:
    key = fake_key()
    _write_config(Path.home(), "config.json", {"api_key": key}, mode)
    with pytest.raises(ApiKeyError) as info:
        load_config()
    assert "chmod 600" in str(info.value) and f"{mode:04o}" in str(info.value)
    assert key not in str(info.value)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_allow_insecure_only_warns() -> None:
    key = fake_key()
    _write_config(Path.home(), "config.json", {"api_key": key}, 0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        config = load_config(allow_insecure=True)
    assert config["api_key"].value == key


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_bad_content_never_echoes(content: str) -> None:
    key = fake_key()
    folder = Path.home() / ".captchaai"
    folder.mkdir()
    target = folder / "config.json"
    target.write_text(content.replace("not json", key), encoding="utf-8")
    target.chmod(0o600)
    with pytest.raises(ApiKeyError) as info:
        load_config()
    assert key not in str(info.value)


# SecureApiKey ---------------------------------------------------------------


def test_secure_key_masks_every_formatting_path() -> None:
    key = fake_key()
    secure = SecureApiKey(key)
    masked = "***" + key[-4:]
    assert str(secure) == masked
    assert repr(secure) == f"SecureApiKey('{masked}')"
    assert f"{secure}" == masked
    assert f"{secure!r}" == repr(secure)
    assert f"{secure:>12}" == masked.rjust(12)
    assert "%s" % secure == masked  # noqa: UP031
    assert "%r" % secure == repr(secure)  # noqa: UP031
    assert "{}".format(secure) == masked  # noqa: UP032
    assert format(secure) == masked
    assert str([secure]) == f"[{secure!r}]"
    assert secure.value == key
    assert key not in str({"k": secure})


def test_secure_key_is_not_serialised_in_full() -> None:
    key = fake_key()
    secure = SecureApiKey(key)
    with pytest.raises(TypeError):
        json.dumps({"key": secure})
    assert json.dumps({"key": secure}, default=json_default) == json.dumps({"key": "***" + key[-4:]})
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(secure)
    assert copy.deepcopy({"k": secure})["k"] is secure


def test_secure_key_equality_and_immutability() -> None:
    key = fake_key()
    assert SecureApiKey(key) == SecureApiKey(key)
    assert SecureApiKey(SecureApiKey(key)) == SecureApiKey(key)
    assert SecureApiKey(key) != SecureApiKey(fake_key())
    assert SecureApiKey(key) != key
    assert len({SecureApiKey(key), SecureApiKey(key)}) == 1
    with pytest.raises(AttributeError):
        SecureApiKey(key)._value = "x"
    with pytest.raises(TypeError):
        SecureApiKey(123)  # type: ignore[arg-type]


def test_short_values_show_only_stars() -> None:
    assert str(SecureApiKey("abc123")) == "***"


# logging ----------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    logger = logging.getLogger(f"test-keys-{id(object())}")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_secure_key_in_logging_is_masked(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    key = fake_key()
    logger.info("using %s", SecureApiKey(key))
    logger.info(f"using {SecureApiKey(key)}")
    assert key not in stream.getvalue()
    assert stream.getvalue().count("***" + key[-4:]) == 2


def test_filter_masks_message_args_and_exceptions(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    install_log_masking(logger)
    install_log_masking(logger)  # idempotent
    assert sum(isinstance(f, KeyMaskingFilter) for f in logger.filters) == 1
    raw, other, upper = fake_key(), fake_key(), fake_key().upper()
    logger.info("key=%s", raw)
    logger.info("pair %(a)s %(b)s", {"a": other, "b": upper})
    logger.warning(f"inline {raw}")
    logger.info("dict %s", {"clientKey": raw})
    try:
        raise ValueError(f"bad key {other}")
    except ValueError:
        logger.exception("failed with %s", raw)
    logger.info("%s %s", raw)  # broken format: still masked
    text = stream.getvalue()
    for secret in (raw, other, upper):
        assert secret not in text
    assert "***" + raw[-4:] in text and "***" + upper[-4:] in text
    assert "ValueError: bad key ***" + other[-4:] in text
    assert "key=***" in text


def test_filter_masks_values_of_live_secure_keys(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    install_log_masking(logger)
    odd = "Zq" + fake_key()[:20]  # not hex: only known through SecureApiKey
    secure = SecureApiKey(odd)
    logger.error("leaked %s", secure.value)
    assert odd not in stream.getvalue()
    assert "***" + odd[-4:] in stream.getvalue()


def test_root_install_covers_child_loggers(tmp_path: Path) -> None:
    key = fake_key()
    code = (
        "import logging, sys\n"
        "from captchaai_guard.keys import install_log_masking\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(message)s')\n"
        "install_log_masking()\n"
        f"logging.getLogger('app.client').warning('key %s', {key!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == f"app.client key ***{key[-4:]}"


def test_mask_text_leaves_other_text_alone() -> None:
    assert keys.mask_text("sha " + "a" * 40) == "sha " + "a" * 40
    key = fake_key()
    assert keys.mask_text(f"k={key}.") == f"k=***{key[-4:]}."


# KeyRotator -------------------------------------------------------------------


def test_rotator_order_and_gaps() -> None:
    k1, k3, k9 = fake_key(), fake_key(), fake_key()
    env = {"CAPTCHAAI_API_KEY": k1, "CAPTCHAAI_API_KEY_3": k3, "CAPTCHAAI_API_KEY_9": k9, "OTHER": "x"}
    rotator = KeyRotator(env)
    assert len(rotator) == 3
    assert rotator.get_key() == k1
    assert rotator.rotate() == k3
    assert rotator.get_key() == k3
    assert rotator.rotate() == k9
    assert rotator.rotate() == k1
    for key in (k1, k3, k9):
        assert key not in repr(rotator)
    assert f"***{k1[-4:]}" in repr(rotator)


def test_rotator_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key()
    monkeypatch.setenv("CAPTCHAAI_API_KEY_2", key)
    assert KeyRotator().get_key() == key


def test_rotator_without_keys_raises() -> None:
    with pytest.raises(RuntimeError, match="no CaptchaAI API key configured"):
        KeyRotator({})
    with pytest.raises(RuntimeError):
        KeyRotator({"CAPTCHAAI_API_KEY": ""})


def test_rotator_bad_key_names_the_variable_only() -> None:
    bad = fake_key()[:20]
    with pytest.raises(ApiKeyError) as info:
        KeyRotator({"CAPTCHAAI_API_KEY": fake_key(), "CAPTCHAAI_API_KEY_4": bad})
    assert "CAPTCHAAI_API_KEY_4" in str(info.value) and bad not in str(info.value)


def test_rotator_skips_duplicates() -> None:
    key = fake_key()
    assert len(KeyRotator({"CAPTCHAAI_API_KEY": key, "CAPTCHAAI_API_KEY_2": key})) == 1


class ApiError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__("request failed")
        self.code = code


@pytest.mark.parametrize(
    "error",
    [
        "ERROR_ZERO_BALANCE",
        "ZERO_BALANCE",
        "error_wrong_user_key",
        "ERROR_KEY_DOES_NOT_EXIST",
        RuntimeError("CaptchaAI said ERROR_ZERO_BALANCE"),
        ApiError("ERROR_WRONG_USER_KEY"),
        {"status": 0, "request": "ERROR_KEY_DOES_NOT_EXIST"},
    ],
)
def test_on_error_rotates_on_key_errors(error: object) -> None:
    k1, k2 = fake_key(), fake_key()
    rotator = KeyRotator({"CAPTCHAAI_API_KEY": k1, "CAPTCHAAI_API_KEY_2": k2})
    assert rotator.on_error(error) is True
    assert rotator.get_key() == k2


@pytest.mark.parametrize(
    "error",
    [
        "ERROR_CAPTCHA_UNSOLVABLE",
        "ERROR_NO_SLOT_AVAILABLE",
        "CAPCHA_NOT_READY",
        ConnectionError("timeout"),
        "ERROR_ZERO_BALANCEX",
        "NOT_ZERO_BALANCE_X",
    ],
)
def test_on_error_ignores_other_errors(error: object) -> None:
    k1, k2 = fake_key(), fake_key()
    rotator = KeyRotator({"CAPTCHAAI_API_KEY": k1, "CAPTCHAAI_API_KEY_2": k2})
    assert rotator.on_error(error) is False
    assert rotator.get_key() == k1


def test_on_error_with_the_failed_key_rotates_once() -> None:
    k1, k2, k3 = fake_key(), fake_key(), fake_key()
    rotator = KeyRotator({"CAPTCHAAI_API_KEY": k1, "CAPTCHAAI_API_KEY_2": k2, "CAPTCHAAI_API_KEY_3": k3})
    assert rotator.on_error("ERROR_ZERO_BALANCE", key=k1) is True
    assert rotator.on_error("ERROR_ZERO_BALANCE", key=k1) is False  # already moved on
    assert rotator.get_key() == k2


def test_rotator_is_thread_safe() -> None:
    env = {"CAPTCHAAI_API_KEY": fake_key(), **{f"CAPTCHAAI_API_KEY_{n}": fake_key() for n in range(2, 8)}}
    rotator = KeyRotator(env)
    first = rotator.get_key()
    threads_count, per_thread = 8, 700  # 5600 rotations: a multiple of 7 keys
    barrier = threading.Barrier(threads_count)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            rotator.rotate()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a lost update would show
    try:
        threads = [threading.Thread(target=work) for _ in range(threads_count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert rotator.get_key() == first

    # Many threads reporting the same failed key move on exactly one step.
    failed = rotator.get_key()
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []

    def report() -> None:
        barrier.wait()
        results.append(rotator.on_error("ERROR_ZERO_BALANCE", key=failed))

    threads = [threading.Thread(target=report) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert rotator.get_key() == env["CAPTCHAAI_API_KEY_2"]
