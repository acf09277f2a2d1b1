"""Git configuration that changes what ``git diff`` prints must not change what
the scan sees: every setting is tried in the repository's own config and in a
global config (``HOME`` is a temporary folder, see conftest)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import Repo, fake_key
from tests.robust import commit_base, masked, where

SCOPES = ("--local", "--global")

# name -> value; each changes the diff git would print by default.
DIFF_SETTINGS: list[tuple[str, str]] = [
    ("color.ui", "always"),
    ("color.diff", "always"),
    ("diff.noprefix", "true"),
    ("diff.mnemonicPrefix", "true"),
    ("diff.external", "true"),  # a driver that prints nothing
    ("diff.context", "10"),
    ("diff.interHunkContext", "50"),
    ("diff.renames", "copies"),
    ("diff.algorithm", "histogram"),
    ("diff.wsErrorHighlight", "all"),
    ("diff.colorMoved", "zebra"),
    ("diff.submodule", "diff"),
    ("diff.ignoreSubmodules", "all"),
    ("diff.suppressBlankEmpty", "true"),
    ("diff.srcPrefix", "SRC/"),
    ("diff.dstPrefix", "DST/"),
    ("core.quotePath", "false"),
    ("core.pager", "false"),
    ("pager.diff", "false"),
    ("log.showRoot", "false"),
    ("log.showSignature", "true"),
    ("log.decorate", "full"),
    ("log.abbrevCommit", "true"),
    ("format.pretty", "oneline"),
    ("i18n.logOutputEncoding", "ISO-8859-1"),
]


def _set(repo: Repo, scope: str, name: str, value: str) -> None:
    repo.git("config", scope, name, value)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(("name", "value"), DIFF_SETTINGS, ids=[f"{n}={v}" for n, v in DIFF_SETTINGS])
def test_diff_setting_does_not_hide_a_staged_key(repo: Repo, scope: str, name: str, value: str) -> None:
    content = commit_base(repo)
    _set(repo, scope, name, value)
    key = fake_key()
    lines = content.splitlines(keepends=True)
    lines.insert(6, f'CAPTCHAAI_API_KEY = "{key}"\n')
    repo.stage("app/settings.py", "".join(lines))
    repo.stage("ünï cödé/.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = repo.run("scan", "--format", "json")
    assert result.code == 1, result.err
    assert where(result) == {("app/settings.py", 7), ("ünï cödé/.env", 1)}
    assert key not in result.out


LOG_SETTINGS = [
    (n, v)
    for n, v in DIFF_SETTINGS
    if n.split(".")[0] in ("color", "log", "format", "i18n") or "Prefix" in n or n == "diff.external"
]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(("name", "value"), LOG_SETTINGS, ids=[f"{n}={v}" for n, v in LOG_SETTINGS])
def test_diff_setting_does_not_hide_a_committed_key(repo: Repo, scope: str, name: str, value: str) -> None:
    key = fake_key()
    repo.stage("first.env", f"CAPTCHAAI_API_KEY={key}\n")  # the root commit
    root = repo.commit("root")
    commit_base(repo)
    repo.stage("app/settings.py", f"line 1\nexport CAPTCHAAI_API_KEY={fake_key()}\n")
    second = repo.commit("second")
    _set(repo, scope, name, value)
    result = repo.run("scan", "--commits", "HEAD", "--format", "json")
    assert result.code == 1, result.err
    found = {(f["path"], f["line"], f["commit"]) for f in json.loads(result.out)["findings"]}
    assert found == {("first.env", 1, root), ("app/settings.py", 2, second)}


@pytest.mark.parametrize("scope", SCOPES)
def test_textconv_driver_does_not_hide_a_key(repo: Repo, scope: str) -> None:
    repo.stage(".gitattributes", "*.env diff=hide\n*.cfg diff=upper\n")
    repo.commit("attributes")
    _set(repo, scope, "diff.hide.textconv", "true")  # converts every file to nothing
    _set(repo, scope, "diff.upper.textconv", "tr a-f0-9 x")  # rewrites the key
    key, other = fake_key(), fake_key()
    repo.stage("prod.env", f"# captchaai\nCAPTCHAAI_API_KEY={key}\n")
    repo.stage("app.cfg", f"[captchaai]\ncaptchaai_api_key = {other}\n")
    result = repo.run("scan", "--format", "json")
    assert result.code == 1
    assert where(result) == {("prod.env", 2), ("app.cfg", 2)}


@pytest.mark.parametrize("attributes", ["*.env -diff\n", "*.env binary\n", "*.env diff=nothing\n"])
def test_attributes_that_make_text_binary_do_not_hide_a_key(repo: Repo, attributes: str) -> None:
    repo.stage(".gitattributes", attributes)
    repo.commit("attributes")
    repo.git("config", "diff.nothing.binary", "true")
    key = fake_key()
    repo.stage("prod.env", f"# env\nCAPTCHAAI_API_KEY={key}\n")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("prod.env", 2)}


@pytest.mark.parametrize("scope", SCOPES)
def test_relative_diff_from_a_subdirectory_reports_repo_paths(repo: Repo, scope: str) -> None:
    commit_base(repo)
    _set(repo, scope, "diff.relative", "true")
    repo.stage("sub/dir/inner.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    repo.stage("outer.env", f"CAPTCHAAI_API_KEY={fake_key()}\n")
    for cwd in (repo.path / "sub" / "dir", repo.path / "sub", repo.path):
        result = repo.run("scan", "--format", "json", cwd=cwd)
        assert result.code == 1
        assert where(result) == {("sub/dir/inner.env", 1), ("outer.env", 1)}, cwd


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("autocrlf", ["true", "input"])
def test_autocrlf(repo: Repo, scope: str, autocrlf: str) -> None:
    _set(repo, scope, "core.autocrlf", autocrlf)
    _set(repo, scope, "core.safecrlf", "false")
    key = fake_key()
    repo.stage("win.ps1", f'# setup\r\n\r\n$env:CAPTCHAAI_API_KEY = "{key}"\r\n'.encode())
    result = repo.run("scan", "--format", "json")
    assert where(result) == {("win.ps1", 3)}
    assert masked(key) in result.out


@pytest.mark.parametrize("scope", SCOPES)
def test_quote_path_false_with_unusual_names(repo: Repo, scope: str) -> None:
    _set(repo, scope, "core.quotePath", "false")
    names = ["ключ.env", "日本語/キー.env", "tab\there.env", 'quote"d.env']
    for name in names:
        repo.stage(name, f"CAPTCHAAI_API_KEY={fake_key()}\n")
    result = repo.run("scan", "--format", "json")
    assert where(result) == {(name, 1) for name in names}


def test_environment_that_changes_diff_output(repo: Repo) -> None:
    commit_base(repo)
    repo.stage("app/settings.py", f"line 1\nCAPTCHAAI_API_KEY = '{fake_key()}'\n")
    env = dict(os.environ)
    env.update(
        GIT_EXTERNAL_DIFF="true",
        GIT_DIFF_OPTS="--unified=20",
        GIT_PAGER="false",
        PAGER="false",
        GIT_CONFIG_COUNT="2",
        GIT_CONFIG_KEY_0="color.ui",
        GIT_CONFIG_VALUE_0="always",
        GIT_CONFIG_KEY_1="diff.noprefix",
        GIT_CONFIG_VALUE_1="true",
        GIT_CONFIG_PARAMETERS="'diff.mnemonicPrefix'='true' 'diff.relative'='true'",
        LANG="de_DE.UTF-8",
    )
    result = repo.run("scan", "--format", "json", env=env)
    assert where(result) == {("app/settings.py", 2)}


@pytest.mark.parametrize(
    "config",
    [
        [],
        ["color.ui=always"],
        ["color.diff=always", "diff.wsErrorHighlight=all"],
        ["diff.noprefix=true"],
        ["diff.mnemonicPrefix=true"],
        ["diff.mnemonicPrefix=true", "color.ui=always", "core.quotePath=true"],
        ["diff.noprefix=true", "core.quotePath=false"],
        ["diff.context=0"],
    ],
    ids=lambda c: ",".join(c) or "default",
)
def test_stdin_diff_printed_with_any_config(repo: Repo, config: list[str]) -> None:
    """A diff piped from the user's own ``git diff`` keeps their settings."""
    commit_base(repo)
    names = ["app/settings.py", "b/inside b.env", "ünï/q\"t.env"]
    repo.stage("app/settings.py", f"line 1\nline 2\nCAPTCHAAI_API_KEY = '{fake_key()}'\n")
    for name in names[1:]:
        repo.stage(name, f"# x\nCAPTCHAAI_API_KEY={fake_key()}\n")
    args = [arg for pin in config for arg in ("-c", pin)]
    diff = subprocess.run(
        ["git", *args, "diff", "--cached"], cwd=repo.path, capture_output=True, check=True
    ).stdout
    if any("color" in pin for pin in config):
        assert b"\x1b[" in diff
    result = repo.run("scan", "--stdin", "--format", "json", input=diff)
    assert where(result) == {("app/settings.py", 3), (names[1], 2), (names[2], 2)}
