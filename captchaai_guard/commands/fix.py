"""``captchaai-guard fix``: move staged keys into ``.env`` and read them from the environment."""

from __future__ import annotations

import click

from captchaai_guard.commands.cli import baseline_options, config_option, load_settings
from captchaai_guard.commands.scan import expand
from captchaai_guard.findings import mask
from captchaai_guard.remedy.fix import (
    ENV_FILE,
    ENV_MODE,
    GITIGNORE,
    Plan,
    apply_plan,
    clean_leftovers,
    plan_fix,
    render_diff,
)
from captchaai_guard.remedy.guide import EXAMPLE_ADVICE, SHELL_LOAD, language_of, load_hint
from captchaai_guard.scan import scan_files, scan_staged
from captchaai_guard.sources import repository

EXIT_CLEAN, EXIT_MANUAL = 0, 1


@click.command("fix", short_help="Move the keys into .env and read them from the environment.")
@click.option("--dry-run", is_flag=True, help="Show the changes (keys masked) and change nothing.")
@config_option
@baseline_options
@click.argument("paths", nargs=-1, type=click.Path())
def fix(
    dry_run: bool,
    config_path: str | None,
    baseline_path: str | None,
    no_baseline: bool,
    paths: tuple[str, ...],
) -> None:
    """Replace the keys of the staged changes (or of PATHS) with environment lookups.

    \b
    Each key moves to .env at the repository root (mode 0600, git-ignored);
    the code reads it back from CAPTCHAAI_API_KEY (or its rotation name; a
    second, different key gets CAPTCHAAI_API_KEY_2 ... _9). Python code of
    a project that uses python-dotenv gets load_dotenv(); for the rest, fix
    prints how to load .env. .gitignore learns .env and .env.*, a staged
    .env is unstaged, rewritten files are staged again. Files that cannot
    be rewritten safely (JSON, notebooks, YAML...) are left alone with the
    steps to do by hand, and so are values found by custom rules of the
    configuration. The configuration and the baseline apply as for `scan`:
    excluded files and baselined keys are never touched.

    Exit codes: 0 fixed and the staged changes are clean, 1 something needs
    manual steps, 2 error.
    """
    root = repository.work_tree()
    if not dry_run:
        removed = clean_leftovers(root)
        if removed:
            noun = "file" if removed == 1 else "files"
            click.echo(f"captchaai-guard fix: removed {removed} temporary {noun} an interrupted fix left")
    setup = load_settings(root, config_path, baseline_path, no_baseline)
    engine, include = setup.engine, setup.include
    if paths:
        found = list(scan_files(expand(paths, root), root, engine, include))
    else:
        found = list(scan_staged(root, engine, include))
    findings, baselined = setup.accepted(found)
    plan = plan_fix(root, findings)
    if baselined:
        noun = "key" if baselined == 1 else "keys"
        click.echo(
            f"captchaai-guard fix: {baselined} baselined {noun} left alone (--no-baseline to fix them)"
        )
    if not findings:
        click.echo("captchaai-guard fix: no CaptchaAI API keys to fix.")
        raise SystemExit(EXIT_CLEAN)
    noun = "key" if len(findings) == 1 else "keys"
    files = len({f.path for f in findings})
    click.echo(f"captchaai-guard fix: {len(findings)} {noun} in {files} file{'s' if files != 1 else ''}")
    if dry_run:
        click.echo(render_diff(plan), nl=False)
    else:
        apply_plan(plan)
    _report(plan, dry_run)
    if dry_run:
        click.echo("dry run: nothing was changed.")
        raise SystemExit(EXIT_MANUAL if plan.manual else EXIT_CLEAN)
    left, _ = setup.accepted(list(scan_staged(root, engine, include)))
    if left:
        click.echo(f"After fix: {len(left)} CaptchaAI API key(s) still staged:")
        for f in left:
            click.echo(f"  {f.location}: {f.masked_line}")
    else:
        click.echo("After fix: no CaptchaAI API keys in the staged changes.")
    raise SystemExit(EXIT_MANUAL if plan.manual or left else EXIT_CLEAN)


def _report(plan: Plan, dry_run: bool) -> None:
    will = "would " if dry_run else ""
    for change in plan.files:
        names = ", ".join(sorted(set(change.variables.values())))
        where = [w for w, v in (("work tree", change.worktree), ("staged", change.index)) if v is not None]
        line = f"{will}fix {change.path} ({' and '.join(where)}): reads {names} from the environment"
        if change.dotenv_added:
            line += f"; load_dotenv() {'would be ' if dry_run else ''}added (python-dotenv loads {ENV_FILE})"
        click.echo(line)
    for var, secret in plan.env_added:
        wanted = plan.renamed.get(secret)
        note = f" ({wanted} holds a different key)" if wanted else ""
        click.echo(f"{will}add {var}={mask(secret)} to {ENV_FILE}{note}")
    for var in plan.env_present:
        click.echo(f"{ENV_FILE} already holds {var} with the same key")
    if plan.env_tighten and plan.env_mode is not None:
        old = plan.env_mode
        click.echo(f"{will}restrict {ENV_FILE} to mode {ENV_MODE:04o} (was {old:04o}): it holds a key")
    if plan.gitignore is not None:
        lines = plan.gitignore_lines
        shown = ", ".join(lines[:-1]) + " and " + lines[-1] if len(lines) > 1 else lines[0]
        click.echo(f"{will}add {shown} to {GITIGNORE} and stage it")
    for path in plan.unstage:
        click.echo(f"{will}unstage {path} (no longer tracked; the file stays on disk)")
    if plan.env_added and not (plan.root / ".env.example").exists():
        click.echo(EXAMPLE_ADVICE)
    _load_hints(plan.load_needed)
    if plan.manual:
        click.echo("Needs manual steps (these files were left unchanged):")
        for step in plan.manual:
            click.echo(f"  {step.path}:{step.line}: {step.reason}")
            click.echo(f"    {step.steps}")


def _files(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _load_hints(paths: list[str]) -> None:
    """How to load .env for the programs that do not load it by themselves."""
    if not paths:
        return
    by_language: dict[str, list[str]] = {}
    for path in paths:
        by_language.setdefault(language_of(path).name, []).append(path)
    click.echo(f"{ENV_FILE} is not loaded by itself; load it before the code runs:")
    others: list[str] = []
    for name, group in by_language.items():
        hint = load_hint(group[0])
        if hint is None:
            others += group
        else:
            click.echo(f"  {name} ({_files(group)}): {hint}")
    lead = f"  {_files(others)}" if others else "  or any program"
    click.echo(f"{lead}: in the shell, at the repository root: {SHELL_LOAD}")
