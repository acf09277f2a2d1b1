"""Every command, as ``captchaai-guard --help`` lists it: help text for the
command and each option, and errors as one line with exit 2."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import click
import pytest

from captchaai_guard.commands.cli import cli
from tests.conftest import Result, console_script

# Commands that do their job outside a repository: what makes each fail there.
OUTSIDE_ERROR_ARGS = {"rules": ["--config", "missing.toml"]}
_SUMMARY = re.compile(r"^  (?P<name>[a-z][a-z0-9-]*)\s{2,}(?P<summary>\S.*)$")


def run(*args: str, cwd: Path) -> Result:
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(cwd.parent), COLUMNS="80")
    proc = subprocess.run(
        [console_script(), *args], cwd=cwd, capture_output=True, input=b"", env=env, check=False
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def listed_commands() -> dict[str, str]:
    """Command name -> summary, from the installed command's ``--help``."""
    env = dict(os.environ, COLUMNS="80")  # click shortens summaries to the terminal width
    proc = subprocess.run([console_script(), "--help"], capture_output=True, text=True, check=True, env=env)
    lines = proc.stdout.splitlines()
    start = lines.index("Commands:") + 1
    found: dict[str, str] = {}
    for line in lines[start:]:
        if not line.strip():
            break
        m = _SUMMARY.match(line)
        assert m is not None, f"command without a one-line summary: {line!r}"
        found[m.group("name")] = m.group("summary")
    return found


COMMANDS = sorted(listed_commands())


def test_help_lists_every_command_with_a_whole_summary() -> None:
    summaries = listed_commands()
    assert {"audit", "baseline", "fix", "rules", "scan"} <= set(summaries)
    assert set(summaries) == set(cli.list_commands(click.Context(cli)))
    for name, summary in summaries.items():
        assert not summary.endswith("..."), f"{name}: summary cut short: {summary!r}"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_and_options_have_help(name: str, tmp_path: Path) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert (command.help or "").strip(), f"{name}: no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{name} {param.opts[0]}: no help text"
    result = run(name, "--help", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Usage: captchaai-guard {name} ")


@pytest.mark.parametrize("name", COMMANDS)
def test_outside_a_repository_is_one_error_line(name: str, tmp_path: Path) -> None:
    result = run(name, *OUTSIDE_ERROR_ARGS.get(name, []), cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("captchaai-guard: error: "), lines[0]
    assert "Traceback" not in result.out + result.err


@pytest.mark.parametrize("name", COMMANDS)
def test_bad_option_is_a_usage_error(name: str, tmp_path: Path) -> None:
    result = run(name, "--no-such-option", cwd=tmp_path)
    assert result.code == 2, (result.out, result.err)
    lines = [line for line in result.err.splitlines() if line]
    assert lines[0].startswith(f"Usage: captchaai-guard {name} "), result.err
    assert lines[-1].startswith("Error: No such option") and "--no-such-option" in lines[-1], result.err
    assert "Traceback" not in result.out + result.err
    assert result.out == ""
