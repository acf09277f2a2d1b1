"""The GitHub Action, the pull-request workflow and the README's CI snippets:
they parse, validate against the published schemas, have the steps that
matter, and the action's scan script works on a real repository."""

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

from tests.conftest import Repo, console_script, fake_key

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "captchaai-guard.yml"
README = ROOT / "README.md"


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


def readme_yaml_blocks() -> list[Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
    return [yaml.safe_load(textwrap.dedent(block)) for block in blocks]


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


def test_action_structure() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"base", "head", "format", "sarif-file", "python-version"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    install = action_step("Install captchaai-guard")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "$ACTION_PATH"' in install["run"]
    scan = action_step("Scan the commits")["run"]
    assert 'scan --commits "$range" --format sarif --output "$SARIF_FILE"' in scan
    assert 'scan --commits "$range" --format "$FORMAT"' in scan
    upload = action_step("Upload SARIF")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert "exit 1" in action_step("Fail on findings")["run"]
    for step in steps:  # inputs reach scripts through env, never pasted into them
        assert "${{" not in step.get("run", ""), step["name"]


def test_workflow_scans_the_pull_request() -> None:
    workflow = load(WORKFLOW)
    assert "pull_request" in triggers(workflow)
    assert workflow["permissions"]["security-events"] == "write"
    (job,) = workflow["jobs"].values()
    checkout, scan = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert scan["uses"] == "./"
    assert scan["with"]["base"] == "${{ github.event.pull_request.base.sha }}"
    assert scan["with"]["head"] == "${{ github.event.pull_request.head.sha }}"


def test_readme_snippets_parse_and_scan_the_range() -> None:
    blocks = readme_yaml_blocks()
    github = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    (workflow,) = github
    assert "pull_request" in triggers(workflow)
    steps = workflow["jobs"]["scan"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    explicit = next(b for b in blocks if isinstance(b, dict) and set(b) == {"steps"})
    runs = " ".join(step.get("run", "") for step in explicit["steps"])
    assert "--commits" in runs and "--format sarif" in runs and "--format github" in runs
    upload = [s for s in explicit["steps"] if "upload-sarif@" in s.get("uses", "")]
    assert upload and upload[0]["if"] == "always()"
    gitlab = next(b for b in blocks if isinstance(b, dict) and "captchaai-guard" in b)["captchaai-guard"]
    script = "\n".join(gitlab["script"])
    assert "git fetch" in script
    assert "$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA" in script
    assert gitlab["variables"]["GIT_DEPTH"] == "0"
    assert gitlab["artifacts"]["when"] == "always"
    text = README.read_text("utf-8")
    assert "captchaai-guard scan --stdin" in text and "--format sarif" in text and "--output" in text


def _run_scan_step(repo: Repo, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the action's scan script, as the runner would, against ``repo``."""
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    script = action_step("Scan the commits")["run"]
    full_env = {
        **{k: v for k, v in os.environ.items() if k not in ("BASE", "HEAD", "RANGE")},
        "GUARD_PYTHON": sys.executable,
        "GITHUB_OUTPUT": str(outputs),
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
    return proc, outputs.read_text()


def test_action_scan_script_reports_and_leaves_failing_to_the_last_step(repo: Repo, tmp_path: Path) -> None:
    key = fake_key()
    repo.stage("README.md", "hello\n")
    base = repo.commit("base")
    repo.stage("deploy.env", f"CAPTCHAAI_API_KEY={key}\n")
    head = repo.commit("key")
    proc, outputs = _run_scan_step(repo, tmp_path, BASE=base, HEAD=head)
    assert proc.returncode == 0, proc.stderr
    assert f"Scanning commits: {base}..{head}" in proc.stdout
    assert "::error file=deploy.env,line=1," in proc.stdout
    assert "findings=1" in outputs.splitlines() and "sarif=true" in outputs.splitlines()
    sarif = json.loads((repo.path / "guard.sarif").read_text("utf-8"))
    assert len(sarif["runs"][0]["results"]) == 1
    assert key not in proc.stdout + proc.stderr + (repo.path / "guard.sarif").read_text("utf-8")
    # A new branch (base all zeros) scans the head's whole history.
    proc, outputs = _run_scan_step(repo, tmp_path, BASE="0" * 40, HEAD=head)
    assert proc.returncode == 0 and "findings=1" in outputs and f"Scanning commits: {head}\n" in proc.stdout


def test_action_scan_script_fails_on_errors(repo: Repo, tmp_path: Path) -> None:
    repo.stage("README.md", "hello\n")
    head = repo.commit("base")
    proc, outputs = _run_scan_step(repo, tmp_path, BASE="0123abcd", HEAD=head)
    assert proc.returncode == 2
    assert "fetch-depth: 0" in proc.stderr
    assert "findings=" not in outputs
    clean, outputs = _run_scan_step(repo, tmp_path, RANGE="--all")
    assert clean.returncode == 0 and "findings=0" in outputs
