"""``captchaai-guard fix``: move staged keys into ``.env`` and read them from the environment."""

from __future__ import annotations

import click

from captchaai_guard import gitio
from captchaai_guard.cli import baseline_options, config_option, load_settings
from captchaai_guard.findings import mask
from captchaai_guard.fix import ENV_FILE, GITIGNORE, Plan, apply_plan, plan_fix, render_diff
from captchaai_guard.scan import scan_files, scan_staged
from captchaai_guard.scan_run import expand

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
    the code reads it back from CAPTCHAAI_API_KEY (or its rotation name).
    .gitignore learns .env, a staged .env is unstaged, rewritten files are
    staged again. Files that cannot be rewritten safely (JSON, notebooks,
    YAML...) are left alone with the steps to do by hand, and so are values
    found by custom rules of the configuration. The configuration and the
    baseline apply as for `scan`: excluded files and baselined keys are
    never touched.

    Exit codes: 0 fixed and the staged changes are clean, 1 something needs
    manual steps, 2 error.
    """
    root = gitio.repo_root()
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
        click.echo(f"{will}fix {change.path} ({' and '.join(where)}): reads {names} from the environment")
    for var, secret in plan.env_added:
        click.echo(f"{will}add {var}={mask(secret)} to {ENV_FILE}")
    for var in plan.env_present:
        click.echo(f"{ENV_FILE} already holds {var} with the same key")
    if plan.gitignore is not None:
        click.echo(f"{will}add {ENV_FILE} to {GITIGNORE} and stage it")
    for path in plan.unstage:
        click.echo(f"{will}unstage {path} (no longer tracked; the file stays on disk)")
    if plan.manual:
        click.echo("Needs manual steps (these files were left unchanged):")
        for step in plan.manual:
            click.echo(f"  {step.path}:{step.line}: {step.reason}")
            click.echo(f"    {step.steps}")
