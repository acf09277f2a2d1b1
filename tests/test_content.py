"""What counts as text: binary files are skipped, UTF-16 with a BOM and lines
with undecodable bytes are scanned."""

from __future__ import annotations

from tests.conftest import Repo, fake_key


def test_binary_file_is_read_for_strong_names_only(repo: Repo) -> None:
    key = fake_key()
    repo.stage("blob.bin", b"\x00\x01\x02" + f"API_KEY={key}  # captchaai\n".encode() + b"\x00" * 64)
    assert repo.run("scan").code == 0
    repo.stage("blob.bin", b"\x00\x01\x02" + f"CAPTCHAAI_API_KEY={key}\n".encode() + b"\x00" * 64)
    result = repo.run("scan")
    assert result.code == 1 and "blob.bin:1:1: captchaai-binary" in result.out
    assert key not in result.out


def test_utf16_with_bom_is_scanned(repo: Repo) -> None:
    key = fake_key()
    for name, encoding, bom in (("le.ps1", "utf-16-le", b"\xff\xfe"), ("be.ps1", "utf-16-be", b"\xfe\xff")):
        repo.stage(name, bom + f'# setup\r\n$env:CAPTCHAAI_API_KEY = "{key}"\r\n'.encode(encoding))
    result = repo.run("scan")
    assert result.code == 1
    assert "le.ps1:2:" in result.out and "be.ps1:2:" in result.out
    assert key not in result.out


def test_undecodable_bytes_do_not_hide_a_key(repo: Repo) -> None:
    key = fake_key()
    repo.stage(
        "legacy.sh", b"# caf\xe9 \xff\xfe\nexport CAPTCHAAI_API_KEY=" + key.encode() + b" # \xe9\xff\n"
    )
    result = repo.run("scan")
    assert result.code == 1
    assert "legacy.sh:2:" in result.out


def test_colour_only_on_request(repo: Repo) -> None:
    key = fake_key()
    repo.stage("a.env", f"CAPTCHAAI_API_KEY={key}\n")
    result = repo.run("scan")  # a pipe, NO_COLOR set by the fixture
    assert "\x1b[" not in result.out
