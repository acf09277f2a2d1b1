"""Added files read from the work tree (:mod:`captchaai_guard.sources.added_files`) give
the findings git's own diff gives, in the same order: binary verdicts,
attributes, line endings, files edited after ``git add``, renames, the
forked child and its failure, SHA-256 repositories, the console script."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from captchaai_guard import scan
from captchaai_guard.detect.engine import Engine
from captchaai_guard.errors import GuardError
from captchaai_guard.findings import Finding
from captchaai_guard.sources import added_files, gitio
from tests.conftest import Repo, count_forks, fake_key

Include = Callable[[str], bool] | None


def _by_git(repo: Repo, include: Include = None) -> list[Finding]:
    """The findings of git's staged diff, parsed."""
    return list(scan._run_stream(Engine(), gitio.staged_diff(repo.path), repo.path, include))


def _read_here(repo: Repo, include: Include = None) -> list[Finding]:
    """The findings with the added files read from the work tree."""
    engine = Engine()
    blobs = gitio.BlobReader(repo.path)
    try:
        events = added_files.staged(str(repo.path), include, scan._parse_options(engine, blobs.read))
        assert events is not None
        return list(scan.scan_events(engine, events, blobs=blobs.read, include=include))
    finally:
        blobs.close()


def _asked_of_git(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record the paths the whole-file scan leaves to git."""
    asked: list[bytes] = []
    real = added_files._Whole._git_part

    def recording(self: added_files._Whole, paths: list[bytes]) -> object:
        asked.extend(paths)
        return real(self, paths)

    monkeypatch.setattr(added_files._Whole, "_git_part", recording)
    return asked


def _line(key: str) -> str:
    return f'CAPTCHAAI_API_KEY = "{key}"\n'


def test_every_kind_of_added_file_gives_gits_findings(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(added_files, "READ_SIZE", 4096)  # lines across reads, and a line longer than one
    repo.stage("old.py", "x = 1\n")
    repo.commit()
    filler = "".join(f"value_{i} = compute({i})\n" for i in range(700))
    repo.stage(".gitattributes", "*.nodiff -diff\n*.forced diff\n*.drv diff=custom\n")
    repo.stage(
        "plain.py", filler + _line(fake_key()) + filler + "y = '" + "z" * 9000 + "'; " + _line(fake_key())
    )
    repo.stage("crlf.env", f"A=1\r\nCAPTCHAAI_API_KEY={fake_key()}\r\nB=2\r\nCAPTCHAAI_API_KEY={fake_key()}")
    repo.stage("bom.py", "\ufeff" + _line(fake_key()))
    repo.stage("utf16.txt", ("\ufeff" + _line(fake_key())).encode("utf-16-le"))
    repo.stage("early_nul.txt", b"\0" + _line(fake_key()).encode())
    repo.stage(
        "late_nul.txt", _line(fake_key()).encode() + b"x" * 9000 + b"\0\n" + _line(fake_key()).encode()
    )
    repo.stage("empty.txt", "")
    repo.stage("weak.py", f'API_KEY = "{fake_key()}"\n')  # no word of CaptchaAI in the file
    repo.stage("weak_with_context.js", f'const solver = "captchaai";\nconst c = {{key: "{fake_key()}"}};\n')
    repo.stage("cell.ipynb", f'{{"source": ["import os\\n", "CAPTCHAAI_API_KEY = \\"{fake_key()}\\"\\n"]}}\n')
    repo.stage("a.nodiff", _line(fake_key()))
    repo.stage("b.forced", "\0\n" + _line(fake_key()))
    repo.stage("c.drv", _line(fake_key()))
    repo.stage("dir with space/ünï.py", _line(fake_key()))
    repo.stage("old.py", "x = 1\n" + _line(fake_key()))  # modified: git's part
    repo.stage("edited.py", _line(fake_key()))
    (repo.path / "edited.py").write_text("# the key was taken out, but not from the index\n")
    repo.stage("unstaged.py", "nothing = 0\n")
    (repo.path / "unstaged.py").write_text(_line(fake_key()))  # in the work tree only
    repo.stage("fifo.py", _line(fake_key()))
    (repo.path / "fifo.py").unlink()
    os.mkfifo(repo.path / "fifo.py")  # (never opened: no writer would come)
    os.symlink("plain.py", repo.path / "link.py")
    repo.git("add", "link.py")
    repo.stage("skip/hidden.py", _line(fake_key()))

    def include(path: str) -> bool:
        return not path.startswith("skip/")

    asked = _asked_of_git(monkeypatch)
    here = _read_here(repo, include)
    assert here == _by_git(repo, include)
    paths = [finding.path for finding in here]
    assert paths.count("plain.py") == 2 and paths.count("crlf.env") == 2 and paths.count("late_nul.txt") == 2
    # (early_nul.txt is binary: read for a CaptchaAI key name beside a key)
    shown = ["bom.py", "utf16.txt", "weak_with_context.js", "cell.ipynb", "a.nodiff", "b.forced"]
    shown.append("early_nul.txt")
    for path in shown:
        assert path in paths
    for path in ("c.drv", "dir with space/ünï.py", "old.py", "edited.py", "fifo.py"):
        assert path in paths
    for path in ("weak.py", "unstaged.py", "link.py", "skip/hidden.py"):
        assert path not in paths
    # git was asked only for what is not read here: a diff driver, a NUL
    # byte in a file the attributes call text, a modification, files edited
    # since they were staged or no longer regular files, a link.
    expected = [b"b.forced", b"c.drv", b"edited.py", b"fifo.py", b"link.py", b"old.py", b"unstaged.py"]
    assert sorted(asked) == expected


def test_git_settings_that_change_the_diff_are_followed(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.git("config", "core.bigFileThreshold", "1k")  # larger files are binary to git
    repo.git("config", "core.autocrlf", "true")  # CRLF in the work tree, LF in the index
    repo.stage("big.txt", "# filler\n" * 200 + _line(fake_key()))
    repo.stage("big_bom.txt", "\ufeff" + "# filler\n" * 200 + _line(fake_key()))
    repo.stage("small.txt", _line(fake_key()))
    repo.stage("windows.env", f"CAPTCHAAI_API_KEY={fake_key()}\r\n")
    asked = _asked_of_git(monkeypatch)
    here = _read_here(repo)
    assert here == _by_git(repo)
    assert sorted(finding.path for finding in here) == ["big.txt", "big_bom.txt", "small.txt", "windows.env"]
    assert asked == [b"windows.env"]  # its bytes are not the staged blob's


def test_edited_files_without_a_candidate_line_need_no_diff(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where few edited files hold a candidate line, the others are read
    (their staged bytes) instead of diffed: git diffs only the ones that
    may add a key, and the findings are git's."""
    repo.stage(".gitattributes", "*.wide -diff\n")
    filler = "".join(f"value_{i} = compute({i})\n" for i in range(300))
    for n in range(8):
        repo.stage(f"plain{n}.py", filler)
    wide = "\ufeff" + "\u4e2d" * 4100 + "\n"
    repo.stage("text.wide", wide.encode("utf-16-le"))
    repo.stage("keyed.py", filler)
    repo.stage("later.py", filler)
    repo.commit()
    for n in range(8):
        repo.stage(f"plain{n}.py", filler.replace("compute(1", "compute(2"))  # edits, no key
    repo.stage("text.wide", (wide + _line(fake_key())).encode("utf-16-le"))  # binary to git, key inside
    repo.stage("keyed.py", filler + _line(fake_key()))
    repo.stage("later.py", filler + "# edited\n")
    (repo.path / "later.py").write_text(filler + _line(fake_key()))  # not staged
    asked = _asked_of_git(monkeypatch)
    here = _read_here(repo)
    assert here == _by_git(repo)
    assert sorted(finding.path for finding in here) == ["keyed.py", "text.wide"]
    assert sorted(asked) == [b"keyed.py", b"later.py", b"text.wide"]


def test_edits_with_candidate_lines_everywhere_go_to_git_whole(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        repo.stage(f"m{n}.py", "x = 1\n")
    repo.commit()
    for n in range(4):
        repo.stage(f"m{n}.py", "x = 1\n" + _line(fake_key()))
    asked = _asked_of_git(monkeypatch)
    options = scan._parse_options(Engine(), None)
    # nothing to gain: git's diff runs on
    assert added_files.staged(str(repo.path), None, options, least=1) is None
    here = _read_here(repo)
    assert here == _by_git(repo)
    assert len(here) == 4
    assert sorted(asked) == [f"m{n}.py".encode() for n in range(4)]  # at once, unread


def test_a_diff_with_renames_is_left_to_git(repo: Repo) -> None:
    repo.stage("before.py", "".join(f"line {i}\n" for i in range(50)))
    repo.commit()
    repo.git("mv", "before.py", "after.py")
    repo.stage("new.py", _line(fake_key()))
    options = scan._parse_options(Engine(), None)
    assert added_files.staged(str(repo.path), None, options) is None


def test_the_child_reads_the_later_files(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(8):
        repo.stage(f"m{n}.py", "# filler line\n" * 300 + _line(fake_key()))
    monkeypatch.setattr(added_files, "WHOLE_MIN", 1)
    monkeypatch.setattr(added_files, "HEAD_START", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    forks = count_forks(monkeypatch)
    here = _read_here(repo)
    assert len(forks) == 1
    assert here == _by_git(repo)
    assert [finding.path for finding in here] == [f"m{n}.py" for n in range(8)]


def test_a_child_that_fails_fails_the_scan(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(4):
        repo.stage(f"m{n}.py", _line(fake_key()))
    parent = os.getpid()
    real_read = added_files._Whole._read

    def read(self: added_files._Whole, index: int) -> added_files.Read:
        if os.getpid() != parent:
            raise OSError("the disk went away")  # (os.read's own failure is caught: this is not)
        return real_read(self, index)

    monkeypatch.setattr(added_files, "WHOLE_MIN", 1)
    monkeypatch.setattr(added_files, "HEAD_START", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(added_files._Whole, "_read", read)
    with pytest.raises(GuardError, match="scanning the added files failed"):
        _read_here(repo)


def test_a_sha256_repository(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    made = subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this git cannot make SHA-256 repositories")
    repo = Repo(path)
    repo.stage("a.py", _line(fake_key()))
    repo.stage("b.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    here = _read_here(repo)
    assert here == _by_git(repo)
    assert len(here) == 2


def test_the_console_script_on_a_large_staged_diff(repo: Repo) -> None:
    """Megabytes of added files (read here when git is still writing as the
    scan decides), a modified file and a file edited after staging: every
    staged key, nothing else, through the installed command."""
    repo.stage("old.py", "x = 1\n")
    repo.commit()
    filler = "".join(f"    value_{i} = compute({i})  # plain code line\n" for i in range(4000))
    planted = {}
    for n in range(40):
        key = fake_key()
        planted[f"src/m{n:02d}.py"] = key
        repo.write(f"src/m{n:02d}.py", filler + _line(key) + filler)
    key = fake_key()
    planted["old.py"] = key
    repo.write("old.py", "x = 1\n" + _line(key))
    key = fake_key()
    planted["edited.py"] = key
    repo.write("edited.py", _line(key))
    repo.git("add", "-A")
    (repo.path / "edited.py").write_text("# edited after staging\n")
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    found = {finding["path"]: finding for finding in report["findings"]}
    assert sorted(found) == sorted(planted)
    for path, key in planted.items():
        assert found[path]["line"] == (4001 if path.startswith("src/") else 1 if path == "edited.py" else 2)
        assert found[path]["masked"] == "***" + key[-4:]
    assert not any(key in result.out for key in planted.values())


def test_halves_of_a_key_in_files_read_here_are_found_as_by_git(repo: Repo) -> None:
    """A file read from the work tree that names CaptchaAI is read for a key
    written as two quoted halves, as git's diff of it is; an edited one too
    where its changed lines name CaptchaAI."""
    key, other = fake_key(), fake_key()
    repo.stage("old.py", "# captchaai client\nx = 1\n")
    repo.commit()
    repo.stage("added.py", f'# ocr.captchaai.com\nAPI = "{key[:16]}" + "{key[16:]}"\n')
    repo.stage("old.py", f'# captchaai client\nx = 1\nAPI = "{other[:12]}" "{other[12:]}"  # captchaai\n')
    repo.stage("plain.py", "".join(f"value_{i} = compute({i})\n" for i in range(500)))
    here = _read_here(repo)
    assert here == _by_git(repo)
    assert {(f.path, f.line, f.secret) for f in here} == {("added.py", 2, key), ("old.py", 3, other)}


def test_captchaai_named_on_a_key_line_or_elsewhere_as_by_git(repo: Repo) -> None:
    """Whether a file read here names CaptchaAI is looked for on its
    candidate lines first, then in the whole file: the findings are git's
    either way (the halves of a key count only in a file that names it)."""
    halves = [fake_key() for _ in range(3)]

    def split(key: str) -> str:
        return f'API = "{key[:16]}" + "{key[16:]}"\n'

    repo.stage("on_line.py", f'client = CaptchaAI("{fake_key()}")\n' + split(halves[0]))
    repo.stage("after.py", f'x = "{fake_key()}"\n' + split(halves[1]) + "# ocr.captchaai.com\n")
    repo.stage("other.py", f'solver = NoCaptchaAi("{fake_key()}")\n' + split(halves[2]))
    here = _read_here(repo)
    assert here == _by_git(repo)
    found = {(f.path, f.secret) for f in here}
    assert ("on_line.py", halves[0]) in found
    assert ("after.py", halves[1]) in found
    assert ("other.py", halves[2]) not in found  # (noCaptchaAI is another service)
