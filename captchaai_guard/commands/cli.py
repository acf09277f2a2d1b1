"""The ``captchaai-guard`` command line (click).

The CLI depends on the engine and drivers, never the reverse. Every command
exits 0 when clean, 1 on findings, 2 on any error, with one line on stderr.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from captchaai_guard import __version__
from captchaai_guard.errors import (
    EXIT_CLEAN,
    EXIT_ERROR,
    GitError,
    GuardError,
    OutputError,
    describe,
    redact,
)

if TYPE_CHECKING:
    from captchaai_guard.config.project import Config
    from captchaai_guard.config.settings import Settings

F = TypeVar("F", bound=Callable[..., object])


def fail(message: str) -> None:
    """Print one error line (never a key) to stderr."""
    click.echo(f"captchaai-guard: error: {redact(message)}", err=True)


# Sub-commands that live in their own modules, imported only when used:
# name -> "module:attribute" (a click.Command).
LAZY_COMMANDS: dict[str, str] = {
    "audit": "captchaai_guard.commands.audit:audit",
    "baseline": "captchaai_guard.commands.baseline:baseline",
    "fix": "captchaai_guard.commands.fix:fix",
    "install": "captchaai_guard.commands.install:install",
    "rules": "captchaai_guard.commands.rules:rules",
    "uninstall": "captchaai_guard.commands.install:uninstall",
}


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when it runs."""

    def invoke(self, ctx: click.Context) -> object:
        # click turns a broken pipe into a silent exit 1; a pipe to or from
        # git closing early means the run is incomplete: a clear exit 2.
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise GuardError("a pipe closed before the run completed") from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="captchaai-guard")
def cli() -> None:
    """Stop CaptchaAI API keys from leaking through git.

    Exit codes: 0 clean, 1 keys found, 2 error.
    """


def _source_options(func: F) -> F:
    options = [
        click.option(
            "--commits",
            "commits",
            metavar="RANGE",
            help="Scan every commit of a revision range (base..head, --all, any git log range).",
        ),
        click.option(
            "--files",
            "files_mode",
            is_flag=True,
            help="Scan the whole content of PATHS (default: every tracked file).",
        ),
        click.option(
            "--stdin", "stdin_mode", is_flag=True, help="Scan a unified diff read from standard input."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def config_option(func: F) -> F:
    """``--config PATH`` for every command that scans or lists rules."""
    option = click.option(
        "--config",
        "config_path",
        metavar="PATH",
        help="Configuration file (default: .captchaai-guard.toml or pyproject.toml at the repository root).",
    )
    return option(func)


def format_option(*choices: str) -> Callable[[F], F]:
    """``--format`` with ``choices`` (the first is the default)."""

    def decorate(func: F) -> F:
        option = click.option(
            "--format",
            "fmt",
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help="Report format.",
        )
        return option(func)

    return decorate


def baseline_options(func: F) -> F:
    """``--baseline PATH`` and ``--no-baseline`` for every command that reports findings."""
    options = [
        click.option(
            "--baseline", "baseline_path", metavar="PATH", help="Baseline file of accepted findings."
        ),
        click.option(
            "--no-baseline",
            is_flag=True,
            help="Ignore the baseline (.captchaai-guard-baseline.json): every finding counts.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def load_config(root: Path | None, config_path: str | None) -> Config:
    from captchaai_guard.config import project as config

    return config.load(root, config_path)


def load_settings(
    root: Path | None,
    config_path: str | None,
    baseline_path: str | None = None,
    no_baseline: bool = False,
) -> Settings:
    """The configuration and baseline from ``--config``, ``--baseline`` and
    ``--no-baseline``, loaded the same way for every command (see
    :mod:`captchaai_guard.config.settings`). Any problem is a :class:`GuardError`."""
    from captchaai_guard.config import settings

    check_baseline_options(baseline_path, no_baseline)
    return settings.load(root, config_path, baseline_path, use_baseline=not no_baseline)


def check_baseline_options(baseline_path: str | None, no_baseline: bool) -> None:
    """``--baseline`` and ``--no-baseline`` exclude each other."""
    if baseline_path is not None and no_baseline:
        raise click.UsageError("choose one of --baseline, --no-baseline")


def report_specs(values: Sequence[str]) -> tuple[tuple[str, str | None], ...]:
    """``--report`` values as ``(format, file or None)``; a bad one is a usage error."""
    from captchaai_guard.report import parse_report

    try:
        return tuple(parse_report(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--report'") from None


def optional_root() -> Path | None:
    """The repository root, or None outside a repository (``--stdin`` works anywhere)."""
    from captchaai_guard.sources import gitio

    try:
        return gitio.repo_root()
    except GitError:
        return None


@cli.command()
@_source_options
@config_option
@baseline_options
@click.option("--verify", is_flag=True, help="Ask CaptchaAI whether each key found is live (sends the keys).")
@click.option("--verify-url", metavar="URL", help="Base URL of the balance endpoint for --verify.")
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=0.1, max=60),
    default=5.0,
    show_default=True,
    help="Seconds to wait for each --verify answer.",
)
@format_option("text", "json", "sarif", "github")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option(
    "--report",
    "reports",
    metavar="FORMAT[:FILE]",
    multiple=True,
    callback=lambda ctx, param, values: report_specs(values),
    help="Also write the same findings as FORMAT to FILE (stdout without FILE); repeatable.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="List every candidate key (masked) with the evidence for and against it and the decision "
    "(on stderr; in the report with --format json).",
)
@click.argument("paths", nargs=-1, type=click.Path())
def scan(
    commits: str | None,
    files_mode: bool,
    stdin_mode: bool,
    config_path: str | None,
    baseline_path: str | None,
    no_baseline: bool,
    verify: bool,
    verify_url: str | None,
    verify_timeout: float,
    fmt: str,
    output: str | None,
    reports: tuple[tuple[str, str | None], ...],
    explain: bool,
    paths: tuple[str, ...],
) -> None:
    """Scan for CaptchaAI API keys (default: the staged changes).

    \b
    captchaai-guard scan                      staged changes (git diff --cached)
    captchaai-guard scan --commits main..HEAD every commit of a range
    captchaai-guard scan --files [PATHS...]   whole files (default: tracked files)
    git diff main... | captchaai-guard scan --stdin

    One scan writes several reports of the same findings with --report, e.g.
    --format github --report sarif:results.sarif --report json:results.json.
    """
    from captchaai_guard.commands.scan import ScanRequest, run_scan
    from captchaai_guard.sources import gitio

    chosen = [
        name
        for name, on in (("--commits", commits is not None), ("--files", files_mode), ("--stdin", stdin_mode))
        if on
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of {', '.join(chosen)}")
    if paths and not files_mode:
        raise click.UsageError("PATHS are only accepted with --files")

    check_baseline_options(baseline_path, no_baseline)
    root = optional_root() if stdin_mode else gitio.repo_root()
    request = ScanRequest(
        mode="stdin"
        if stdin_mode
        else "commits"
        if commits is not None
        else "files"
        if files_mode
        else "staged",
        commits=commits,
        paths=paths,
        config_path=config_path,
        baseline_path=baseline_path,
        use_baseline=not no_baseline,
        verify=verify,
        verify_url=verify_url,
        verify_timeout=verify_timeout,
        fmt=fmt,
        output=output,
        reports=reports,
        explain=explain,
    )
    raise SystemExit(run_scan(request, root))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising (an
    :class:`~captchaai_guard.errors.Interrupted` excepted: the console
    script's :func:`~captchaai_guard.errors.guard` reports it, once the
    processes started are stopped)."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="captchaai-guard", standalone_mode=False
        )
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_CLEAN if code is None else EXIT_ERROR)
    except click.exceptions.Abort:
        fail("aborted")
        return EXIT_ERROR
    except click.ClickException as exc:
        # click's own usage display, with anything key-like masked (a key
        # typed as an option value is echoed back by click).
        shown = io.StringIO()
        exc.show(file=shown)
        click.echo(redact(shown.getvalue()), err=True, nl=False)
        return EXIT_ERROR
    except OutputError as exc:
        _silence_stdout()
        fail(str(exc))
        return EXIT_ERROR
    except GuardError as exc:
        fail(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        _silence_stdout()
        click.echo("captchaai-guard: error: output closed before the report was written", err=True)
        return EXIT_ERROR
    except (KeyboardInterrupt, Exception) as exc:  # fail closed, one line, no traceback
        fail(describe(exc))
        return EXIT_ERROR
    return EXIT_CLEAN


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so exit does not raise."""
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
