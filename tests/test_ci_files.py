"""The GitHub Action, the pull-request workflow and the README's CI snippets:
they parse, validate against the published schemas, pin the actions they use
to current major versions, name the token's permissions, scan the range once,
and the action's scan script and the README's scan commands work on a real
repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from captchaai_guard import __version__
from tests.conftest import BIN, Repo, console_script, fake_key

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "captchaai-guard.yml"
README = ROOT / "README.md"

# Every action the files use, at its current major version (late 2026:
# checkout v7, setup-python v7, codeql-action v4 (v3 is deprecated in
# December 2026), upload-artifact v7). An action not listed here fails the
# test: choose its current major first.
MAJORS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "github/codeql-action/upload-sarif": "v4",
    "actions/upload-artifact": "v7",
}
RELEASE = f"v{__version__}"  # this project's own ref: a release tag, as the pre-commit rev
PERMISSIONS = {"contents": "read", "security-events": "write", "actions": "read"}
SCAN = re.compile(r"(?:captchaai-guard|-m captchaai_guard) scan\b")


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(doc, dict)
    return doc


def triggers(doc: dict[Any, Any]) -> Any:
    return doc["on"] if "on" in doc else doc[True]  # YAML 1.1 reads a bare `on` as true


def action_step(name: str) -> dict[str, Any]:
    for step in load(ACTION)["runs"]["steps"]:
        if step.get("name") == name:
            assert isinstance(step, dict)
            return step
    raise AssertionError(f"no step {name!r} in action.yml")


def readme_ci_section() -> str:
    text = README.read_text("utf-8")
    start = text.index("## CI on pull requests\n")
    return text[start : text.index("\n## ", start + 1)]


def yaml_blocks(text: str) -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return [yaml.safe_load(textwrap.dedent(block)) for block in blocks]


def readme_yaml_blocks() -> list[Any]:
    return yaml_blocks(readme_ci_section())


def readme_github_workflow() -> dict[str, Any]:
    (workflow,) = [b for b in readme_yaml_blocks() if isinstance(b, dict) and "jobs" in b]
    assert isinstance(workflow, dict)
    return workflow


def readme_explicit_steps() -> list[dict[str, Any]]:
    explicit = next(b for b in readme_yaml_blocks() if isinstance(b, dict) and set(b) == {"steps"})
    steps = explicit["steps"]
    assert isinstance(steps, list)
    return steps


def readme_gitlab_job() -> dict[str, Any]:
    job = next(b for b in readme_yaml_blocks() if isinstance(b, dict) and "captchaai-guard" in b)
    assert isinstance(job["captchaai-guard"], dict)
    return job["captchaai-guard"]


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    """Every step of the action, the workflow and the README's GitHub snippets."""
    found: list[tuple[str, dict[str, Any]]] = [("action.yml", s) for s in load(ACTION)["runs"]["steps"]]
    for job in load(WORKFLOW)["jobs"].values():
        found += [("workflow", s) for s in job["steps"]]
    for job in readme_github_workflow()["jobs"].values():
        found += [("README workflow", s) for s in job["steps"]]
    found += [("README steps", s) for s in readme_explicit_steps()]
    return found


@pytest.mark.parametrize(
    ("path", "schema"),
    [(ACTION, "vendor.github-actions"), (WORKFLOW, "vendor.github-workflows")],
)
def test_files_match_the_published_schemas(path: Path, schema: str) -> None:
    proc = subprocess.run(
        [console_script("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_to_its_current_major() -> None:
    used = set()
    for where, step in all_steps():
        uses = step.get("uses")
        if uses is None or uses == "./":
            continue
        name, at, ref = uses.partition("@")
        assert at, f"{where}: {uses} has no version"
        if name == "captchaai/captchaai-guard":
            assert ref == RELEASE, f"{where}: {uses} (a release tag: @{RELEASE})"
            continue
        assert name in MAJORS, f"{where}: {name} is not in MAJORS: pin it to its current major"
        assert ref == MAJORS[name], f"{where}: {uses}, current major {MAJORS[name]}"
        used.add(name)
    assert {"actions/checkout", "actions/setup-python", "github/codeql-action/upload-sarif"} <= used
    # The README's prose names the same majors as its snippets.
    section = readme_ci_section()
    for name, major in MAJORS.items():
        for ref in re.findall(rf"{re.escape(name)}@([\w.-]+)", section):
            assert ref == major, f"README names {name}@{ref}"


def test_readme_uses_a_release_ref_consistent_with_the_pre_commit_rev() -> None:
    section = readme_ci_section()
    assert "@main" not in section and "@master" not in section
    refs = set(re.findall(r"captchaai/captchaai-guard@([\w.<>-]+)", section))
    assert refs == {RELEASE, "<commit-sha>"}, refs  # the tag, and the note on pinning a commit
    assert "full commit sha" in section
    pre_commit = [b for b in yaml_blocks(README.read_text("utf-8")) if isinstance(b, dict) and "repos" in b]
    revs = {
        repo["rev"] for block in pre_commit for repo in block["repos"] if "captchaai-guard" in repo["repo"]
    }
    # No release tag exists yet: the pre-commit snippets pin a commit, as the note says.
    assert revs == {"<commit-sha>"}, revs
    assert "pre-commit autoupdate" in README.read_text("utf-8")


def test_permissions_are_named_in_the_workflow_and_the_readme() -> None:
    assert load(WORKFLOW)["permissions"] == PERMISSIONS
    assert readme_github_workflow()["permissions"] == PERMISSIONS
    section = " ".join(readme_ci_section().split())
    for name, level in PERMISSIONS.items():
        assert f"`{name}: {level}`" in section
    assert "`pull-requests: read` is not needed" in section
    # Nothing in the workflow's jobs widens the token again.
    for job in load(WORKFLOW)["jobs"].values():
        assert "permissions" not in job


def test_action_structure() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"base", "head", "format", "sarif-file", "python-version"} <= set(action["inputs"])
    install = action_step("Install captchaai-guard")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "$ACTION_PATH"' in install["run"]
    scan = action_step("Scan the commits")["run"]
    assert len(SCAN.findall(scan)) == 1, scan  # one scan, every report from it
    assert '--format "$FORMAT"' in scan and '--report "sarif:$SARIF_FILE"' in scan
    upload = action_step("Upload SARIF")
    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert "exit 1" in action_step("Fail on findings")["run"]
    for step in action["runs"]["steps"]:  # inputs reach scripts through env, never pasted into them
        assert "${{" not in step.get("run", ""), step["name"]


def test_workflow_scans_the_pull_request() -> None:
    workflow = load(WORKFLOW)
    assert "pull_request" in triggers(workflow)
    (job,) = workflow["jobs"].values()
    checkout, scan = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert checkout["with"]["persist-credentials"] is False
    assert scan["uses"] == "./"
    assert scan["with"]["base"] == "${{ github.event.pull_request.base.sha }}"
    assert scan["with"]["head"] == "${{ github.event.pull_request.head.sha }}"


def test_readme_snippets_parse_and_scan_the_range_once() -> None:
    workflow = readme_github_workflow()
    assert "pull_request" in triggers(workflow)
    assert workflow["jobs"]["scan"]["steps"][0]["with"]["fetch-depth"] == 0
    steps = readme_explicit_steps()
    runs = "\n".join(step.get("run", "") for step in steps)
    assert len(SCAN.findall(runs)) == 1, runs
    assert "--commits" in runs and "--format github" in runs and "--report sarif:" in runs
    (upload,) = [s for s in steps if "upload-sarif@" in s.get("uses", "")]
    assert upload["if"].startswith("always()")
    gitlab = readme_gitlab_job()
    script = "\n".join(gitlab["script"])
    assert len(SCAN.findall(script)) == 1, script
    assert "git fetch" in script
    assert "$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA" in script
    assert gitlab["variables"]["GIT_DEPTH"] == "0"
    assert gitlab["artifacts"]["when"] == "always"
    for path in gitlab["artifacts"]["paths"]:  # every artifact is a report the scan writes
        assert re.search(rf"--report \w+:{re.escape(path)}\b", script), path
    section = readme_ci_section()
    assert "captchaai-guard scan --stdin" in section and "--report" in section


def _readme_env(repo: Repo, tmp_path: Path) -> dict[str, str]:
    """The installed command on PATH, as after the snippets' pip install."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}


def _key_history(repo: Repo) -> tuple[str, str, str]:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("deploy.env", f"CAPTCHAAI_API_KEY={key}\n")
    head = repo.commit("key")
    return key, base, head


def test_readme_github_scan_step_runs(repo: Repo, tmp_path: Path) -> None:
    key, base, head = _key_history(repo)
    (scan,) = [s for s in readme_explicit_steps() if SCAN.search(s.get("run", ""))]
    env = {**_readme_env(repo, tmp_path), "RANGE": f"{base}..{head}"}
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", scan["run"]],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # keys fail the step, after both reports
    assert "::error file=deploy.env,line=1," in proc.stdout
    sarif = (repo.path / "captchaai-guard.sarif").read_text("utf-8")
    assert len(json.loads(sarif)["runs"][0]["results"]) == 1
    assert key not in proc.stdout + proc.stderr + sarif


def test_readme_gitlab_scan_runs(repo: Repo, tmp_path: Path) -> None:
    key, base, head = _key_history(repo)
    gitlab = readme_gitlab_job()
    (scan,) = [line for line in gitlab["script"] if SCAN.search(line)]
    env = {**_readme_env(repo, tmp_path), "RANGE": f"{base}..{head}"}
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", scan],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "deploy.env:1:19" in proc.stdout and "How to fix" in proc.stdout
    texts = [proc.stdout]
    for path in gitlab["artifacts"]["paths"]:
        text = (repo.path / path).read_text("utf-8")
        texts.append(text)
        doc = json.loads(text)
        results = doc["runs"][0]["results"] if "runs" in doc else doc["findings"]
        assert len(results) == 1, path
    assert all(key not in text for text in texts)


def _guard_wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for the action's venv Python that logs each call and runs
    the real interpreter; ``FORCE_SCAN_STATUS`` replaces a scan's exit code."""
    log = tmp_path / "guard-calls"
    wrapper = tmp_path / "guard-python"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        f'"{sys.executable}" "$@"\n'
        "status=$?\n"
        'if [ "${1:-}" = -m ] && [ -n "${FORCE_SCAN_STATUS:-}" ]; then exit "$FORCE_SCAN_STATUS"; fi\n'
        'exit "$status"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, log


def _run_scan_step(repo: Repo, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the action's scan script, as the runner would, against ``repo``."""
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    summary = tmp_path / "step_summary"
    summary.write_text("")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    wrapper, log = _guard_wrapper(tmp_path)
    log.write_text("")
    script = action_step("Scan the commits")["run"]
    full_env = {
        **{k: v for k, v in os.environ.items() if k not in ("BASE", "HEAD", "RANGE", "FORCE_SCAN_STATUS")},
        "GUARD_PYTHON": str(wrapper),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        "FORMAT": "github",
        "SARIF_FILE": "guard.sarif",
        "NO_COLOR": "1",
        **env,
    }
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=repo.path,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert list(runner_temp.iterdir()) == []  # the text report is removed
    return proc, outputs.read_text()


def _scans(tmp_path: Path) -> list[str]:
    calls = (tmp_path / "guard-calls").read_text().splitlines()
    return [call for call in calls if call.startswith("-m captchaai_guard scan ")]


def test_action_scan_script_scans_once_and_leaves_failing_to_the_last_step(
    repo: Repo, tmp_path: Path
) -> None:
    key, base, head = _key_history(repo)
    proc, outputs = _run_scan_step(repo, tmp_path, BASE=base, HEAD=head)
    assert proc.returncode == 0, proc.stderr
    (scan,) = _scans(tmp_path)  # one scan for every report
    assert f"--commits {base}..{head}" in scan
    assert f"Scanning commits: {base}..{head}" in proc.stdout
    assert "::error file=deploy.env,line=1,col=19," in proc.stdout
    assert "findings=1" in outputs.splitlines() and "sarif=true" in outputs.splitlines()
    sarif = (repo.path / "guard.sarif").read_text("utf-8")
    (result,) = json.loads(sarif)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (1, 19)
    summary = (tmp_path / "step_summary").read_text("utf-8")
    assert summary.startswith("```text\n") and summary.endswith("```\n")
    assert "deploy.env:1:19: " in summary and "1 CaptchaAI API key found" in summary
    assert key not in proc.stdout + proc.stderr + sarif + summary
    # A new branch (base all zeros) scans the head's whole history.
    proc, outputs = _run_scan_step(repo, tmp_path, BASE="0" * 40, HEAD=head)
    assert proc.returncode == 0 and "findings=1" in outputs and f"Scanning commits: {head}\n" in proc.stdout
    assert len(_scans(tmp_path)) == 1


def test_action_scan_script_fails_on_errors(repo: Repo, tmp_path: Path) -> None:
    repo.stage("README.md", "hello\n")
    head = repo.commit("base")
    proc, outputs = _run_scan_step(repo, tmp_path, BASE="0123abcd", HEAD=head)
    assert proc.returncode == 2
    assert "fetch-depth: 0" in proc.stderr and "::error title=captchaai-guard::the scan failed" in proc.stdout
    assert "findings=" not in outputs and len(_scans(tmp_path)) == 1
    clean, outputs = _run_scan_step(repo, tmp_path, RANGE="--all")
    assert clean.returncode == 0 and "findings=0" in outputs
    assert "no CaptchaAI API keys found" in (tmp_path / "step_summary").read_text()
    # An exit code the reports contradict fails closed.
    odd, outputs = _run_scan_step(repo, tmp_path, RANGE="--all", FORCE_SCAN_STATUS="1")
    assert odd.returncode == 2 and "disagree" in odd.stdout and "findings=" not in outputs
    # An unknown log format is the command's usage error: exit 2, nothing recorded.
    bad, outputs = _run_scan_step(repo, tmp_path, RANGE="--all", FORMAT="yaml")
    assert bad.returncode == 2 and "findings=" not in outputs
