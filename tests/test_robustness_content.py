"""File content that is awkward to read: line endings, encodings, size,
NUL bytes, LFS pointers and upper-case keys. Each case is checked staged,
in a commit range and as whole files."""

from __future__ import annotations

import codecs
import secrets

import pytest

from tests.conftest import Repo, fake_key
from tests.robust import masked, where


def _everywhere(repo: Repo, expected: set[tuple[str, int]]) -> None:
    """The same findings staged, once committed, and as whole files."""
    assert where(repo.run("scan", "--format", "json")) == expected
    repo.commit("content")
    assert where(repo.run("scan", "--commits", "HEAD", "--format", "json")) == expected
    assert where(repo.run("scan", "--files", "--format", "json")) == expected


def test_crlf_and_mixed_line_endings(repo: Repo) -> None:
    repo.stage("crlf.env", f"# a\r\n# b\r\nCAPTCHAAI_API_KEY={fake_key()}\r\n# c\r\n".encode())
    repo.stage("mixed.env", f"# a\n# b\r\n\r\n# d\nCAPTCHAAI_API_KEY={fake_key()}\r\n".encode())
    repo.stage("cr_inside.env", f"# a\rCAPTCHAAI_API_KEY={fake_key()}\n".encode())  # old Mac ending
    _everywhere(repo, {("crlf.env", 3), ("mixed.env", 5), ("cr_inside.env", 1)})


def test_latin1_and_invalid_utf8(repo: Repo) -> None:
    key = fake_key()
    repo.stage("latin1.py", f"# Café crème\nCAPTCHAAI_API_KEY = '{key}'  # clé\n".encode("latin-1"))
    broken = b"\xc3\x28\xa0\xa1\n\xf0\x28\x8c\xbcCAPTCHAAI_API_KEY="
    repo.stage("broken.env", broken + fake_key().encode() + b"\n")
    repo.stage("lone_surrogate.env", b"\xed\xa0\x80 \nCAPTCHAAI_API_KEY=" + fake_key().encode() + b"\xff\n")
    _everywhere(repo, {("latin1.py", 2), ("broken.env", 2), ("lone_surrogate.env", 2)})


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
        ("utf-8", codecs.BOM_UTF8),
    ],
)
def test_unicode_with_a_bom(repo: Repo, encoding: str, bom: bytes) -> None:
    repo.stage("base.ps1", bom + "# base\r\n".encode(encoding))
    repo.commit("base")
    text = f'# setup\r\n# more\r\n$env:CAPTCHAAI_API_KEY = "{fake_key()}"\r\n'
    repo.stage("setup.ps1", bom + text.encode(encoding))
    repo.stage("base.ps1", bom + ("# base\r\n" + text).encode(encoding))
    _everywhere(repo, {("setup.ps1", 3), ("base.ps1", 4)})


def test_utf16_edit_reports_only_the_new_key(repo: Repo) -> None:
    old = fake_key()
    bom = codecs.BOM_UTF16_LE
    repo.stage("a.ps1", bom + f'$env:CAPTCHAAI_API_KEY = "{old}"\r\n'.encode("utf-16-le"))
    repo.commit("old key")
    new = fake_key()
    body = f'$env:CAPTCHAAI_API_KEY = "{old}"\r\n$env:CAPTCHAAI_API_KEY_2 = "{new}"\r\n'
    repo.stage("a.ps1", bom + body.encode("utf-16-le"))
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("a.ps1", 2)}
    assert masked(new) in result.out


def test_fifty_megabyte_file(repo: Repo) -> None:
    line = b"lorem ipsum dolor sit amet " * 3 + b"0123456789abcdef0123 captcha\n"
    filler = line * (50 * 1024 * 1024 // len(line))
    lines = filler.count(b"\n")
    repo.stage("big.txt", filler + b"CAPTCHAAI_API_KEY=" + fake_key().encode() + b"\n" + filler[:1000])
    _everywhere(repo, {("big.txt", lines + 1)})


def test_five_megabyte_single_line(repo: Repo) -> None:
    key = fake_key()
    half = secrets.token_hex(5 * 1024 * 1024 // 4)
    body = f"# min.js\nvar a='{half}';var CAPTCHAAI_API_KEY='{key}';var b='{half}'".encode()
    repo.stage("min.js", body)
    _everywhere(repo, {("min.js", 2)})


def test_nul_bytes_mean_binary(repo: Repo) -> None:
    """A NUL byte makes a file binary: only its printable runs beside a
    CaptchaAI key name are read (reported at line 1), weak context is not."""
    key_line = f"CAPTCHAAI_API_KEY={fake_key()}\n".encode()
    repo.stage("early.bin", b"\x00\x01" + key_line)
    repo.stage("nul_line.bin", b"header\n" + b"x\x00y\n" + key_line)
    repo.stage("weak.bin", b"\x00\x01" + f"api_key={fake_key()}  # ocr.captchaai.com\n".encode())
    _everywhere(repo, {("early.bin", 1), ("nul_line.bin", 1)})


def test_git_lfs_pointers_are_not_keys(repo: Repo) -> None:
    for n in range(20):
        pointer = (
            "version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{secrets.token_hex(32)}\n"
            f"size {secrets.randbelow(10**9)}\n"
        )
        repo.stage(f"captchaai/model_{n}.bin", pointer)
        repo.stage(f".captchaai/key_{n}.json", pointer)
    repo.stage(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
    repo.stage("captchaai_client.py", "# uses captchaai.com\n")
    _everywhere(repo, set())


def test_upper_case_keys(repo: Repo) -> None:
    samples = {
        "a.py": 'CAPTCHAAI_API_KEY = "{}"\n',
        "b.json": '{{"key": "{}"}}\n',
        "c.env": "CAPTCHAAI_API_KEY={}\n",
        "d.sh": "curl 'https://ocr.captchaai.com/res.php?action=get&key={}'\n",
        "e.py": "params = {{'key': '{}'}}\n",
    }
    keys = {}
    for name, template in samples.items():
        keys[name] = fake_key().upper()
        repo.stage(name, template.format(keys[name]))
    result = repo.run("scan", "--format", "json")
    assert where(result) == {(name, 1) for name in samples}
    for key in keys.values():
        assert key not in result.out and key.lower() not in result.out
    _everywhere(repo, {(name, 1) for name in samples})
