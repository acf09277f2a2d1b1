"""End-to-end: the installed console script against real repositories."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Repo, fake_key


def test_staged_key_blocks_with_masked_report(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'import os\nCAPTCHAAI_API_KEY = "{key}"\n')
    result = repo.run("scan")
    assert result.code == 1
    assert "app.py:2:22" in result.out
    assert "captchaai-guide-assignment" in result.out
    assert f"***{key[-4:]}" in result.out
    assert key not in result.out + result.err
    assert 'os.environ["CAPTCHAAI_API_KEY"]' in result.out
    assert "rotate" in result.out


def test_clean_change_passes(repo: Repo) -> None:
    repo.stage("app.py", 'import os\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n')
    result = repo.run("scan")
    assert result.code == 0, result.out
    assert "no CaptchaAI API keys" in result.out


def test_removed_key_is_not_blocked(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.commit()
    repo.stage("app.py", 'import os\nCAPTCHAAI_API_KEY = os.environ["CAPTCHAAI_API_KEY"]\n')
    assert repo.run("scan").code == 0


def test_index_not_work_tree_is_judged(repo: Repo) -> None:
    key = fake_key()
    repo.stage("app.py", "x = 1\n")
    repo.write("app.py", f'x = 1\nCAPTCHAAI_API_KEY = "{key}"\n')  # not staged
    assert repo.run("scan").code == 0
    repo.git("add", "app.py")
    repo.write("app.py", "x = 1\n")  # staged key, clean work tree
    assert repo.run("scan").code == 1


def test_json_format(repo: Repo) -> None:
    key = fake_key()
    repo.stage("config/settings.json", f'{{"key": "{key}"}}\n')
    result = repo.run("scan", "--format", "json")
    assert result.code == 1
    doc = json.loads(result.out)
    (finding,) = doc["findings"]
    assert finding["path"] == "config/settings.json"
    assert finding["line"] == 1
    assert finding["column"] == 10
    assert finding["masked"] == "***" + key[-4:]
    assert finding["commit"] is None
    assert len(finding["fingerprint"]) == 64
    assert {"rule_id", "message"} <= finding.keys()
    assert key not in result.out


def test_not_a_repository_is_exit_2_one_line(tmp_path: Path, repo: Repo) -> None:
    result = repo.run("scan", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert "not a git repository" in result.err
    assert "Traceback" not in result.err


def test_bad_option_is_exit_2(repo: Repo) -> None:
    result = repo.run("scan", "--no-such-option")
    assert result.code == 2
    assert "Traceback" not in result.err


def test_version_and_help(repo: Repo) -> None:
    version = repo.run("--version")
    assert version.code == 0 and "captchaai-guard" in version.out
    for args in (["--help"], ["scan", "--help"]):
        result = repo.run(*args)
        assert result.code == 0 and "Usage" in result.out


def test_allow_marker(repo: Repo) -> None:
    key = fake_key()
    repo.stage("docs.py", f'CAPTCHAAI_API_KEY = "{key}"  # captchaai-guard: allow\n')
    assert repo.run("scan").code == 0


def test_commits_range_finds_key_removed_later(repo: Repo) -> None:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("run.sh", f"export CAPTCHAAI_API_KEY={key}\n")
    added = repo.commit("add key")
    repo.stage("run.sh", "echo clean\n")
    repo.commit("remove key")
    result = repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json")
    assert result.code == 1
    (finding,) = json.loads(result.out)["findings"]
    assert finding["commit"] == added
    assert finding["author"] == "Test Author"


def test_stdin_diff(repo: Repo) -> None:
    key = fake_key()
    repo.stage("a.txt", "x\n")
    repo.commit()
    repo.stage("a.txt", f"x\nCAPTCHAAI_API_KEY={key}\n")
    diff = repo.git("diff", "--cached").encode()
    result = repo.run("scan", "--stdin", input=diff)
    assert result.code == 1 and "a.txt:2:" in result.out


def test_files_mode_scans_whole_content(repo: Repo) -> None:
    key = fake_key()
    repo.stage("deploy/run.sh", f"export CAPTCHAAI_API_KEY={key}\n")
    repo.commit()
    assert repo.run("scan").code == 0
    result = repo.run("scan", "--files")
    assert result.code == 1 and "deploy/run.sh:1:" in result.out
    assert repo.run("scan", "--files", "deploy").code == 1


def _full_command(repo: Repo, *args: str) -> tuple[int, bytes]:
    import subprocess
    import sys

    code = "import sys; from captchaai_guard.commands.cli import main; sys.exit(main(sys.argv[1:]))"
    full = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=repo.path, capture_output=True, check=False
    )
    return full.returncode, full.stdout


def test_a_staged_scan_reports_like_the_full_command(repo: Repo) -> None:
    """``captchaai-guard scan`` answers a plain staged scan without click
    (clean, with keys, with a diff over a megabyte); its report is the full
    command's, byte for byte, in every format."""
    digest = fake_key() + fake_key()
    repo.stage("sums.txt", f"sha256 = {digest}\n")
    formats = (["scan"], *(["scan", "--format", fmt] for fmt in ("text", "json", "sarif", "github")))
    for stage in ("clean", "keys", "large"):
        if stage == "keys":
            repo.stage("app.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\nurl = "x"\n')
            repo.stage("ocr.js", f'const c = {{"clientKey": "{fake_key()}"}}; // ocr.captchaai.com\n')
        elif stage == "large":
            repo.stage(
                "big.txt", "filler line of text\n" * 80_000 + f"export CAPTCHAAI_API_KEY={fake_key()}\n"
            )
        for args in formats:
            quick = repo.run(*args)
            assert (quick.code, quick.out.encode()) == _full_command(repo, *args), (stage, args)
            assert quick.code == (0 if stage == "clean" else 1)


def test_a_plain_staged_scan_skips_click(repo: Repo) -> None:
    """No click for a plain ``scan`` or ``scan --commits``, clean or not, from
    any folder, with or without a configuration (which is honoured); a clean
    staged diff is settled without the scan modules. Other options: click."""
    import subprocess
    import sys

    def modules(*args: str, cwd: Path | None = None) -> tuple[int, set[str]]:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "captchaai_guard", *args],
            cwd=cwd or repo.path,
            capture_output=True,
            text=True,
            check=False,
        )
        names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}
        return proc.returncode, names

    # a digest next to a keyword: no key can stand whole in it
    repo.stage("a.txt", f"hello\ncache_key = {fake_key()}{fake_key()}\n")
    code, names = modules("scan", "--format=json")
    assert code == 0 and "click" not in names and "captchaai_guard.scan" not in names
    repo.stage("sub/b.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    code, names = modules("scan", "--format=json")
    assert code == 1 and "click" not in names and "captchaai_guard.scan" in names
    code, names = modules("scan", cwd=repo.path / "sub")
    assert code == 1 and "click" not in names
    repo.commit()
    code, names = modules("scan", "--commits", "HEAD")
    assert code == 1 and "click" not in names
    code, names = modules("scan", "--files")
    assert code == 1 and "click" in names
    repo.stage("sub/c.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.write(".captchaai-guard.toml", 'exclude = ["sub/**"]\n')
    code, names = modules("scan")
    assert code == 0 and "click" not in names and "captchaai_guard.config.project" in names


def test_quick_request_accepts_only_plain_scans() -> None:
    from captchaai_guard import report
    from captchaai_guard.commands import console

    assert console.FORMATS == report.FORMATS
    assert console.quick_request(["scan"]) == ("text", None)
    assert console.quick_request(["scan", "--format", "sarif"]) == ("sarif", None)
    assert console.quick_request(["scan", "--format=json"]) == ("json", None)
    assert console.quick_request(["scan", "--commits", "a..b", "--format=json"]) == ("json", "a..b")
    assert console.quick_request(["scan", "--commits=HEAD~3..HEAD"]) == ("text", "HEAD~3..HEAD")
    assert console.quick_request(["scan", "--commits", "--all"]) == ("text", "--all")
    others: tuple[list[str], ...] = (
        ["scan", "--format", "xml"],
        ["scan", "--stdin"],
        ["scan", "--commits"],
        ["scan", "--commits", "--format", "json"],  # click: "json" is a path
        ["scan", "--commits="],
        ["scan", "--files"],
        ["scan", "--format", "json", "extra"],
        ["scan", "-o", "out.json"],
        ["audit"],
        [],
    )
    for args in others:
        assert console.quick_request(args) is None, args


def test_a_commit_range_scan_reports_like_the_full_command(repo: Repo) -> None:
    """``scan --commits`` without click answers like the command, merges
    (read from a second git) included."""
    repo.stage("base.txt", "base\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.stage("side.py", f'CAPTCHAAI_API_KEY = "{fake_key()}"\n')
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.stage("main.sh", f"export CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.commit("main")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    repo.stage("merge.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")  # added while merging
    repo.commit("merge")
    for fmt in ("text", "json", "sarif", "github"):
        args = ["scan", "--commits", f"{base}..HEAD", "--format", fmt]
        quick = repo.run(*args)
        assert (quick.code, quick.out.encode()) == _full_command(repo, *args), fmt
    found = json.loads(repo.run("scan", "--commits", f"{base}..HEAD", "--format", "json").out)["findings"]
    assert sorted(f["path"] for f in found) == ["main.sh", "merge.env", "side.py"]


def test_an_odd_spelling_of_captchaai_still_gives_file_context(repo: Repo) -> None:
    """A finding that needs CaptchaAI named in its file is settled, by the
    staged scan, by reading the file (any spelling, ``CAptchaAI`` included,
    in any line, changed or not); ``--stdin`` (no file to read) looks for
    every spelling in the diff."""
    key = fake_key()
    repo.stage("client.py", f'# CAptchaAI endpoint\nAPI_KEY = "{key}"\n')
    found = json.loads(repo.run("scan", "--format", "json").out)["findings"]
    assert [f["rule_id"] for f in found] == ["captchaai-field"]
    diff = repo.git("diff", "--cached").encode()
    piped = json.loads(repo.run("scan", "--stdin", "--format", "json", input=diff).out)["findings"]
    assert [f["rule_id"] for f in piped] == ["captchaai-field"]
    repo.stage("client.py", f'# another service\nAPI_KEY = "{key}"\n')
    assert repo.run("scan").code == 0
    repo.stage("solver.py", "# talks to https://ocr.captchaai.com\n")
    repo.commit("solver")
    repo.stage("solver.py", f'# talks to https://ocr.captchaai.com\nAPI_KEY = "{fake_key()}"\n')
    found = json.loads(repo.run("scan", "--format", "json").out)["findings"]
    assert [(f["path"], f["rule_id"], f["line"]) for f in found] == [("solver.py", "captchaai-field", 2)]
