"""Detection from evidence: candidates decided by their name, the lines
around them, the file and the scan; every source decides the same way."""

from __future__ import annotations

import json
import pickle
import py_compile
import secrets
import sqlite3
import string
import subprocess
import zipfile
from pathlib import Path

import pytest

from captchaai_guard.detect import decide
from tests.conftest import Repo, console_script, fake_key

CALLS = "# solved by https://ocr.captchaai.com/in.php\n"


def _findings(repo: Repo, *args: str, input: bytes | None = None) -> list[dict[str, object]]:
    result = repo.run("scan", *args, "--format", "json", input=input)
    assert result.code in (0, 1), result.err
    found: list[dict[str, object]] = json.loads(result.out)["findings"]
    return found


def _located(found: list[dict[str, object]]) -> set[tuple[str, int, str]]:
    return {(str(f["path"]), int(str(f["line"])), str(f["masked"])) for f in found}


def test_words_split_names_as_people_write_them() -> None:
    assert decide.words("captchaaiPredefinedApiKey") == ["captchaai", "predefined", "api", "key"]
    assert decide.words("X-API-KEY") == ["x", "api", "key"]
    assert decide.words("CaptchaAIKey") == ["captcha", "ai", "key"]
    assert decide.words("captchaai.api-key-reserve") == ["captchaai", "api", "key", "reserve"]
    assert decide.is_key_name("CAPTCHAI_KEY") and decide.is_key_name("APIKEY_CAPCHAAI")
    assert not decide.is_key_name("captchaImage") and not decide.is_key_name("monkey")


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("keys.py", "CAPTCHAAI_KEYS = [\n    '{k}',\n    '{k2}',\n]\n", 2),
        ("accounts.py", CALLS + 'KEYS_BY_ACCOUNT = {{\n    "main": "{k}",\n}}\n', 3),
        ("pairs.py", "PAIRS = [\n    ('captchaai', '{k}'),\n]\n", 2),
        ("conf.toml", '[captchaai]\nkeys = [\n  "{k}",\n]\n', 3),
        ("values.yaml", "env:\n  - name: CAPTCHAAI_API_KEY\n    value: {k}\n", 3),
        ("next.py", CALLS + "params = dict(\n    key=\n        '{k}',\n)\n", 4),
        ("reserve.py", CALLS + 'RESERVE_KEY = "{k}"\n', 2),
        ("Program.cs", CALLS.replace("#", "//") + 'static readonly string ReserveKey = "{k}";\n', 2),
        ("main.rs", CALLS.replace("#", "//") + 'static RESERVE: &str = "{k}";\n', 2),
        ("misspelled.env", "CAPTCHAI_KEY={k}\n", 1),
        ("app.js", "const key = process.env.CAPTCHAAI_API_KEY || '{k}';\n", 1),
        ("getenv.py", CALLS + 'api_key = os.getenv("SOLVER", "{k}")\n', 2),
        ("rows.csv", "account,captchaai_key,balance\nmain,{k},3.50\n", 2),
        ("update.sql", "UPDATE settings SET value = '{k}' WHERE name = 'captchaai_key';\n", 1),
        ("strings.xml", '<resources>\n  <string name="captchaai_key">{k}</string>\n</resources>\n', 2),
        ("old.py", CALLS + "# key was {k} until March\n", 2),
        ("README.md", "# CaptchaAI notes\n\n> Use `{k}` with in.php\n", 3),
        ("encoded.txt", "https://ocr.captchaai.com/in.php%3Fkey%3D{k}%26method%3Dpost\n", 1),
        ("escaped.json", '{{"url": "https://ocr.captchaai.com/in.php?a=1\\u0026key={k}"}}\n', 1),
        ("bytes.py", CALLS + 'KEY = b"{k}"\n', 2),
        ("bundle.min.js", 'var n="{k}",t="https://ocr.captchaai.com/in.php";\n', 1),
        ("defaults.yml", "captchaai:\n  api-key: ${{CAPTCHAAI_API_KEY:{k}}}\n", 2),
        ("rows.sql", "INSERT INTO accounts (id, captchaai_key) VALUES\n  (1, '{k}'),\n  (2, '{k2}');\n", 3),
        ("lower.py", CALLS + 'RESERVE = "{low}"\n', 2),
        ("plist.xml", "<!-- captchaai -->\n<key>SolverApiKey</key>\n<string>{k}</string>\n", 3),
        # a reCAPTCHA type named V2Captcha is no 2captcha
        ("task.py", CALLS + 'task = {{"api_key": "{k}", "captcha_type": "V2Captcha"}}\n', 2),
        # a bare word above an indented line is no block's name (here: no "db" service)
        ("solve.sh", CALLS + 'db\n  --data "key={k}&method=userrecaptcha" \\\n', 3),
        # Google's keys are not 32 hex: the demo page to solve names it, not the key
        (
            "solver_test.go",
            CALLS.replace("#", "//")
            + '{{Key: "{k}", PageURL: "https://www.google.com/recaptcha/api2/demo"}},\n',
            2,
        ),
    ],
)
def test_shapes_found_beyond_the_line_rules(repo: Repo, name: str, content: str, line: int) -> None:
    key, other = fake_key(), fake_key()
    low = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(30)) + "a7"
    repo.stage(name, content.format(k=key, k2=other, low=low))
    wanted = low if "{low}" in content else other if name == "rows.sql" else key
    assert (name, line, "***" + wanted[-4:]) in _located(_findings(repo))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("solve.py", CALLS + 'payload = {{"sitekey": "{v}"}}\n'),
        ("solve2.py", CALLS + "data-sitekey='{v}'\n"),
        ("geetest.py", CALLS + 'params = {{"gt": "{v}", "challenge": "{v2}"}}\n'),
        ("cache.py", CALLS + 'cache_key = "{v}"\n'),
        ("sentry.py", CALLS + 'SENTRY = {{"public_key": "{v}"}}\n'),
        ("weather.py", CALLS + 'OPENWEATHER_API_KEY = "{v}"\n'),
        ("ids.py", CALLS + 'request_id = "{v}"\ntrace_id = "{v2}"\n'),
        ("SHA256SUMS.md5", "{v}  dist/app.tar.gz\n"),
        ("yarn.lock", '# captchaai\n"captchaai@^1.0.0":\n  integrity "{v}"\n'),
        ("Assets/Key.prefab.meta", "fileFormatVersion: 2\nguid: {v}\n"),
        ("plain.py", 'TOKEN = "{v}"\n'),  # no CaptchaAI anywhere
        ("docs.py", CALLS + 'EXAMPLE = "1abc234de56fab7c89012d34e56fa7b8"\n'),
        ("hashes.py", CALLS + "CHECKSUMS = [\n    '{v}',\n]\n"),
        ("vendors.yaml", "captchaai:\n  url: https://ocr.captchaai.com\ntwocaptcha:\n  api_key: {v}\n"),
        ("tmdb.js", "// captchaai\nconst tmdb = {{ api_key: '{v}' }};\n"),
        ("assets.json", '{{"captchaai.js": "captchaai-{v}.js", "mailgun": "key-{v2}"}}\n'),
        ("nocaptcha.py", 'NOCAPTCHAAI_API_KEY = "{v}"\n'),
        (
            "seed.sql",
            "-- captchaai\nINSERT INTO tasks (id, provider, image_md5) VALUES (1, 'captchaai', '{v}');\n",
        ),
        ("status.yml", "# captchaai\nurl: https://status.example.com/api?token={v}\n"),
        ("notes.md", "# CaptchaAI\n\nThe GeeTest `challenge` of the page (for example `{v}`) changes.\n"),
        # a name led by a digit is read whole: 2captcha's key, not a "captcha" key
        ("solvers.py", CALLS + 'SOLVERS = {{"2captcha": {{"key": "{v}"}}}}\n'),
    ],
)
def test_hard_negatives_stay_quiet(repo: Repo, name: str, content: str) -> None:
    repo.stage(name, content.format(v=fake_key(), v2=fake_key()))
    assert _findings(repo) == []


@pytest.mark.parametrize("word", ["deadbeef", "cafebabe"])
def test_hexspeak_fixture_keys_stay_quiet(repo: Repo, word: str) -> None:
    # A test's obviously made-up key: a hexspeak word and random hex after it.
    value = word + secrets.token_hex(12)
    repo.stage("test_client.py", CALLS + f'API_KEY = "{value}"\n')
    assert _findings(repo) == []


def test_every_source_decides_the_same_way(repo: Repo) -> None:
    key, sitekey = fake_key(), fake_key()
    repo.stage("init.txt", "start\n")
    repo.commit("init")
    repo.stage("keys.py", f"import os\n\nCAPTCHAAI_KEYS = [\n    '{key}',\n]\nSITE = '{sitekey}'\n")
    staged = _located(_findings(repo))
    diff = repo.git("diff", "--cached").encode()
    repo.commit("keys")
    expected = {("keys.py", 4, "***" + key[-4:])}
    assert staged == expected
    assert _located(_findings(repo, "--commits", "HEAD")) == expected
    assert _located(_findings(repo, "--files")) == expected
    assert _located(_findings(repo, "--stdin", input=diff)) == expected


def test_the_same_value_is_reported_everywhere_in_the_scan(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("tests/test_app.py", f'def test_out(out):\n    assert "{key}" not in out\n')
    found = _findings(repo)
    assert ("tests/test_app.py", 2, "***" + key[-4:]) in _located(found)
    assert {f["rule_id"] for f in found} == {"captchaai-guide-assignment", "captchaai-same-value"}


def test_split_keys_are_joined(repo: Repo) -> None:
    key, other = fake_key(), fake_key()
    implicit = f'API = (\n    "{key[:16]}"\n    "{key[16:]}"\n)\n'
    joined = f'JOINED = "".join(["{other[:16]}", "{other[16:]}"])\n'
    repo.stage("split.py", CALLS + implicit + joined)
    assert _located(_findings(repo)) == {
        ("split.py", 3, "***" + key[-4:]),
        ("split.py", 6, "***" + other[-4:]),
    }


def test_split_key_in_a_small_commit_blocks_the_hook(repo: Repo) -> None:
    """The hook's fast path lets no diff through that names CaptchaAI: the
    halves of a key hold no run of 32."""
    key = fake_key()
    repo.stage("split.py", CALLS + f'API = "{key[:16]}" + "{key[16:]}"\n')
    hook = [console_script("captchaai-guard-hook"), "pre-commit"]
    proc = subprocess.run(hook, cwd=repo.path, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "split.py:2" in proc.stdout + proc.stderr
    assert key not in proc.stdout + proc.stderr


def _pyc(tmp: Path, key: str) -> bytes:
    source = tmp / "settings.py"
    source.write_text(f'CAPTCHAAI_API_KEY = "{key}"\nTIMEOUT = 30\n', encoding="utf-8")
    target = tmp / "settings.pyc"
    py_compile.compile(str(source), cfile=str(target), doraise=True)
    return target.read_bytes()


def _sqlite(tmp: Path, key: str) -> bytes:
    target = tmp / "app.db"
    with sqlite3.connect(target) as db:
        db.execute("CREATE TABLE settings (name TEXT, value TEXT)")
        db.execute("INSERT INTO settings VALUES (?, ?)", ("captchaai_api_key", key))
    db.close()
    return target.read_bytes()


def test_keys_in_binary_files_are_found(repo: Repo, tmp_path: Path) -> None:
    keys = [fake_key() for _ in range(3)]
    repo.stage("settings.pyc", _pyc(tmp_path, keys[0]))
    repo.stage("state.pkl", pickle.dumps({"CAPTCHAAI_API_KEY": keys[1], "retries": 3}))
    repo.stage("app.db", _sqlite(tmp_path, keys[2]))
    found = _findings(repo)
    assert {(f["path"], f["masked"], f["rule_id"]) for f in found} == {
        ("settings.pyc", "***" + keys[0][-4:], "captchaai-binary"),
        ("state.pkl", "***" + keys[1][-4:], "captchaai-binary"),
        ("app.db", "***" + keys[2][-4:], "captchaai-binary"),
    }
    result = repo.run("scan")
    assert result.code == 1 and not any(key in result.out + result.err for key in keys)
    repo.commit("binaries")
    assert len(_findings(repo, "--commits", "HEAD")) == 3
    assert len(_findings(repo, "--files")) == 3


def test_images_archives_and_plain_binaries_stay_quiet(repo: Repo, tmp_path: Path) -> None:
    key = fake_key()
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(".env", f"CAPTCHAAI_API_KEY={key}\n")
    repo.stage("bundle.zip", archive.read_bytes())
    repo.stage("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00tEXt" + f"CAPTCHAAI_API_KEY {key}".encode())
    repo.stage("blob.bin", b"\x00\x01" + f" {fake_key()} checksum ".encode() + b"\x00")
    assert _findings(repo) == []


def test_explain_lists_every_candidate_with_its_evidence(repo: Repo) -> None:
    key, sitekey, plain = fake_key(), fake_key(), fake_key()
    repo.stage("solve.py", CALLS + f'KEYS = [\n    "{key}",\n]\nsitekey = "{sitekey}"\n')
    repo.stage("other.py", f'x = "{plain}"\n')
    result = repo.run("scan", "--explain")
    assert result.code == 1
    assert not any(value in result.out + result.err for value in (key, sitekey, plain))
    assert f"solve.py:3:6  ***{key[-4:]}  reported (captchaai-evidence)" in result.err
    assert f"solve.py:5:12  ***{sitekey[-4:]}  not reported" in result.err
    assert "its name 'sitekey' says 'sitekey'" in result.err
    assert "the file does not talk to CaptchaAI" in result.err
    report = json.loads(repo.run("scan", "--explain", "--format", "json").out)
    decisions = {(r["path"], r["masked"]): r["reported"] for r in report["explain"]}
    assert decisions == {
        ("solve.py", "***" + key[-4:]): True,
        ("solve.py", "***" + sitekey[-4:]): False,
        ("other.py", "***" + plain[-4:]): False,
    }


def test_the_prefilter_settles_what_the_engine_would() -> None:
    """Lines whose every run is a checksum list entry or named by a counter
    word are settled in C; any other line reaches the engine."""
    from captchaai_guard.detect.candidates import candidate_lines

    key = fake_key().encode()
    settled = [
        b'etag: "' + key + b'"',
        key + b"  dist/app.tar.gz",
        b"md5 = '" + key + b"'",
        b"sha256: " + key,
    ]
    kept = [
        b'key = "' + key + b'"',
        b'md5_x = "' + key + b'"',
        b'x = "' + key + b'"  # etag',
        b"etag%3D" + key,
    ]
    for line in settled:
        assert list(candidate_lines(b"+" + line + b"\n", required=())) == [], line
        at = line.find(key)
        verdict = decide.judge_line(key.decode(), line.decode(), at, at + 32, "a.py")
        assert verdict is not None and not verdict.report, line  # (the engine says no as well)
    for line in kept:
        assert list(candidate_lines(b"+" + line + b"\n", required=())) != [], line
