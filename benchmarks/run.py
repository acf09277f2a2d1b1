"""Benchmark captchaai-guard against git itself (and, with --peers, other scanners).

Builds deterministic repositories in benchmarks/work/ (generated text, and
real code: a virtualenv's site-packages as a history, staged, and as a pull
request's range of 100 commits), runs every command
side by side in the same session (interleaved, after a warm-up run), and
reports medians and ratios as a markdown table; the raw figures go to
benchmarks/results/<timestamp>.json. Every run of the scanner must find
every planted key, or the benchmark fails.

    python benchmarks/run.py            # full run
    python benchmarks/run.py --quick    # under a minute: small sizes, few repeats
    python benchmarks/run.py --peers    # also git-secrets, detect-secrets, secretlint
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import (  # noqa: E402
    Corpus,
    Planted,
    git,
    git_env,
    history_corpus,
    small_corpus,
    staged_corpus,
    tree_history_corpus,
    tree_staged_corpus,
)

MB = 1 << 20
GIT_DIFF = ["git", "diff", "--cached", "--no-color", "--no-ext-diff", "--unified=0"]
GIT_LOG = ["git", "log", "-p", "--all", "--unified=0"]
TARGETS = {"small": 2.0, "staged": 1.5, "history": 1.5, "rss_mb": 100.0}
EDITED = 0.2  # the share of lines edited in the "edited files" workload
PR_COMMITS = 100  # the pull-request-sized range: the last commits of a history
SITE_KEYS = 8  # commits of the site-packages history that each add a fake key line
# git-secrets patterns: the three patterns of the CaptchaAI guide, as ERE.
GIT_SECRETS_PATTERNS = (
    "CAPTCHAAI_API_KEY[[:space:]]*=[[:space:]]*[\"'][a-f0-9]{32}",
    "key[\"']:[[:space:]]*[\"'][a-f0-9]{32}",
    '"key":[[:space:]]*"[a-f0-9]{32}"',
)


@dataclass
class Run:
    seconds: float
    code: int
    maxrss_kb: int
    cpu: float = 0.0  # user + system seconds of the process and its children
    stdout: bytes = b""


@dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path
    check: Callable[[Run], str | None] | None = None  # returns an error message
    capture: bool = False
    timeout: float | None = None
    max_runs: int | None = None  # peers: a few runs, no warm-up
    targeted: bool = True  # the workload's target applies (issue's list)
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None

    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def median_cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "argv": self.argv,
            "cwd": str(self.cwd),
            "seconds": [r.seconds for r in self.runs],
            "median_s": self.median() if self.runs else None,
            "cpu_s": [r.cpu for r in self.runs],
            "median_cpu_s": self.median_cpu() if self.runs else None,
            "maxrss_kb": max((r.maxrss_kb for r in self.runs), default=None),
            "exit_codes": sorted({r.code for r in self.runs}),
            "skipped": self.skipped,
        }


def execute(cmd: Command, env: dict[str, str]) -> Run:
    """Run once; time it and read the peak RSS of the process tree (wait4)."""
    stdout = subprocess.PIPE if cmd.capture else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd.argv, cwd=cmd.cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.DEVNULL
    )
    out = b""
    if cmd.capture:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
    timer = None
    if cmd.timeout is not None:
        timer = threading.Timer(cmd.timeout, proc.kill)
        timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if timer is not None:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(elapsed, proc.returncode, int(usage.ru_maxrss), cpu, out)


def peak_rss_alone(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[int, int]:
    """Peak RSS (kB) of the process itself (VmHWM from /proc, git children not
    included) and of the whole tree (wait4)."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    hwm = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.005)
    # poll() reaped it; wait4 is no longer possible, so rerun for the tree.
    tree = execute(Command("rss", list(argv), cwd), env).maxrss_kb
    return hwm, tree


def measure(group: Sequence[Command], repeats: int, env: dict[str, str], log: Callable[[str], None]) -> None:
    """One warm-up run each, then ``repeats`` interleaved rounds."""
    active = [c for c in group if c.skipped is None]
    for round_no in range(repeats + 1):
        for cmd in active:
            if cmd.skipped is not None:
                continue
            if cmd.max_runs is not None and (not round_no or len(cmd.runs) >= cmd.max_runs):
                continue
            run = execute(cmd, env)
            if cmd.timeout is not None and run.seconds >= cmd.timeout:
                cmd.skipped = f"timeout > {cmd.timeout:.0f} s"
                log(f"  {cmd.label}: {cmd.skipped}")
                continue
            problem = cmd.check(run) if cmd.check else None
            if problem:
                raise SystemExit(f"benchmark failed: {cmd.label}: {problem}")
            if round_no or cmd.max_runs is not None:
                cmd.runs.append(run)
    for cmd in active:
        if cmd.runs:
            log(f"  {cmd.label}: median {fmt_s(cmd.median())} over {len(cmd.runs)} runs")


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def expect_keys(planted: Sequence[Planted], absent: Sequence[Planted] = ()) -> Callable[[Run], str | None]:
    """Check a JSON report: exit 1 and every planted key at its place (and
    none of the ``absent`` ones: keys planted outside a scanned range)."""
    want = {(p.path, p.line, p.masked) for p in planted}
    unwanted = {(p.path, p.line, p.masked) for p in absent}

    def check(run: Run) -> str | None:
        expected_code = 1 if want else 0
        if run.code != expected_code:
            return f"exit code {run.code}, expected {expected_code}"
        if not want:
            return None
        doc = json.loads(run.stdout)
        got = {(f["path"], f["line"], f["masked"]) for f in doc["findings"]}
        missing = want - got
        if missing:
            return f"{len(missing)} of {len(want)} planted keys not found, e.g. {sorted(missing)[:3]}"
        extra = unwanted & got
        if extra:
            return f"{len(extra)} keys planted outside the range reported, e.g. {sorted(extra)[:3]}"
        return None

    return check


def expect_code(*codes: int) -> Callable[[Run], str | None]:
    def check(run: Run) -> str | None:
        return None if run.code in codes else f"exit code {run.code}, expected {codes}"

    return check


# --- locating the commands -------------------------------------------------------------------


@dataclass
class Tools:
    python: str
    bindir: Path

    def script(self, name: str) -> str | None:
        path = self.bindir / name
        return str(path) if path.is_file() else None

    def has_module(self, module: str) -> bool:
        code = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        return subprocess.run([self.python, "-c", code], check=False).returncode == 0

    def scan(self) -> list[str]:
        script = self.script("captchaai-guard")
        return [script, "scan"] if script else [self.python, "-m", "captchaai_guard", "scan"]

    def hook(self) -> tuple[str, list[str]]:
        """The hook console script once it exists, else the scan command."""
        script = self.script("captchaai-guard-hook")
        if script:
            return "captchaai-guard-hook pre-commit", [script, "pre-commit"]
        if self.has_module("captchaai_guard.commands.hook"):
            return "python -m captchaai_guard.commands.hook pre-commit", [
                self.python, "-m", "captchaai_guard.commands.hook", "pre-commit"]
        return "captchaai-guard scan", self.scan()

    def installed_hook(self, repo: Path, env: dict[str, str]) -> list[str] | None:
        """``captchaai-guard install`` into ``repo``; the hook file git runs."""
        script = self.script("captchaai-guard")
        if script is None:
            return None
        proc = subprocess.run([script, "install", "--force"], cwd=repo, env=env, capture_output=True,
                              check=False)
        hook = repo / ".git" / "hooks" / "pre-commit"
        if proc.returncode != 0 or not hook.is_file():
            return None
        return [str(hook)]

    def precommit_entry(self, files: Sequence[str]) -> tuple[str, list[str]] | None:
        """What the pre-commit framework runs: entry + args (+ file names)."""
        hooks = PROJECT / ".pre-commit-hooks.yaml"
        if not hooks.is_file():
            return None
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            return None
        items = yaml.safe_load(hooks.read_text()) or []
        if not items:
            return None
        hook = items[0]
        entry = shlex.split(str(hook["entry"]))
        exe = self.script(entry[0]) or shutil.which(entry[0])
        if exe is None:
            return None
        argv = [exe, *entry[1:], *[str(a) for a in hook.get("args", [])]]
        if hook.get("pass_filenames", True):
            argv += list(files)
        return f"pre-commit entry ({hook['entry']})", argv


def peer_tools(work: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    git_secrets = shutil.which("git-secrets")
    if git_secrets:
        found["git-secrets"] = git_secrets
    for name in ("detect-secrets", "detect-secrets-hook"):
        path = work / "peers-venv" / "bin" / name
        if path.is_file():
            found[name] = str(path)
    secretlint = work / "node_modules" / ".bin" / "secretlint"
    if secretlint.is_file():
        found["secretlint"] = str(secretlint)
    return found


def setup_peers(repo: Path, peers: dict[str, str]) -> None:
    if "git-secrets" in peers:
        subprocess.run(["git", "config", "--unset-all", "secrets.patterns"], cwd=repo, check=False)
        for pattern in GIT_SECRETS_PATTERNS:
            subprocess.run(["git", "config", "--add", "secrets.patterns", pattern], cwd=repo, check=True)
    if "secretlint" in peers:
        rc = repo / ".git" / "secretlintrc.json"
        rc.write_text(json.dumps({"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]}))


def staged_files(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout
    return [p.decode() for p in out.split(b"\0") if p]


def peer_commands(
    kind: str, repo: Path, peers: dict[str, str], work: Path, timeout: float, runs: int = 3
) -> list[Command]:
    cmds: list[Command] = []
    if kind in ("small", "staged"):
        files = staged_files(repo)
        if "git-secrets" in peers:
            cmds.append(Command("git-secrets --pre_commit_hook", [peers["git-secrets"], "--pre_commit_hook"],
                                repo, timeout=timeout))
        if "detect-secrets-hook" in peers:
            cmds.append(Command("detect-secrets-hook", [peers["detect-secrets-hook"], *files], repo,
                                timeout=timeout))
        if "secretlint" in peers:
            rc = str(repo / ".git" / "secretlintrc.json")
            cmds.append(Command("secretlint", [peers["secretlint"], "--secretlintrc", rc, *files], repo,
                                timeout=timeout))
    elif kind == "history" and "git-secrets" in peers:
        cmds.append(Command("git-secrets --scan-history", [peers["git-secrets"], "--scan-history"], repo,
                            timeout=timeout))
    for cmd in cmds:
        cmd.max_runs = runs
    return cmds


def pr_base(repo: Path, commits: int) -> tuple[str, int] | None:
    """A pull request's base: the nearest first-parent ancestor of HEAD with
    at least ``commits`` commits on top (merges bring more than one), and
    how many there are; None when the history is shorter."""
    chain = git(repo, "rev-list", "--first-parent", "HEAD").decode().split()

    def on_top(index: int) -> int:
        return int(git(repo, "rev-list", "--count", f"{chain[index]}..HEAD").decode())

    low, high = 1, len(chain) - 1
    if high < 1 or on_top(high) < commits:
        return None
    while low < high:  # on_top grows with the index
        middle = (low + high) // 2
        if on_top(middle) >= commits:
            high = middle
        else:
            low = middle + 1
    return chain[low], on_top(low)


# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    baseline: Command
    subjects: list[Command]
    target: float | None
    extra: dict[str, object] = field(default_factory=dict)


def ratio(cmd: Command, base: Command) -> float | None:
    if not cmd.runs or not base.runs:
        return None
    return cmd.median() / base.median()


def markdown(rows: Sequence[Row], rss: dict[str, object] | None, notes: Sequence[str] = ()) -> str:
    out = [
        "| workload | command | median | ratio | target | CPU | CPU ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        base = row.baseline
        out.append(f"| {row.workload} | `{base.label}` (baseline) | {fmt_s(base.median())} "
                   f"| 1.00 | | {fmt_s(base.median_cpu())} | 1.00 |")
        for cmd in row.subjects:
            r = ratio(cmd, base)
            if r is None:
                out.append(f"| {row.workload} | {cmd.label} | {cmd.skipped or 'n/a'} | | | | |")
                continue
            target = ""
            if row.target is not None and cmd.targeted and cmd.label.startswith("captchaai-guard"):
                target = f"≤ {row.target:.1f} {'✓' if r <= row.target else '✗'}"
            cpu_ratio = cmd.median_cpu() / base.median_cpu() if base.median_cpu() else float("nan")
            out.append(f"| {row.workload} | {cmd.label} | {fmt_s(cmd.median())} | {r:.2f} | {target} "
                       f"| {fmt_s(cmd.median_cpu())} | {cpu_ratio:.2f} |")
    if rss is not None:
        ok = "✓" if float(str(rss["scanner_mb"])) <= TARGETS["rss_mb"] else "✗"
        out.append("")
        out.append(
            f"Peak RSS scanning {rss['workload']}: {rss['scanner_mb']:.1f} MB for the scanner process "
            f"(target ≤ {TARGETS['rss_mb']:.0f} MB {ok}); {rss['tree_mb']:.1f} MB including its git "
            f"children; `git diff --cached` alone: {rss['git_mb']:.1f} MB."
        )
    for note in notes:
        out += ["", note]
    return "\n".join(out)


def site_note(corpus: Corpus, root: Path, whole: bool) -> str:
    """What the site-packages corpus is and holds (it varies between machines)."""
    st = corpus.stats
    sample = "all its text files" if whole else "a sample of its text files"
    return (
        f"Site-packages corpus: `{root}`, {sample}: {st['source_files']:,} files, "
        f"{st['source_bytes'] / MB:.1f} MB, {st['lines']:,} lines ({st['binary_files']:,} binary files of "
        f"{st['binary_bytes'] / MB:.1f} MB, `__pycache__` and links left out), in {corpus.commits} commits. "
        f"They hold {st['hex32_runs']:,} runs of exactly 32 hex digits standing whole "
        f"(on {st['hex32_lines']:,} lines), {st['long_hex_runs']:,} longer hex runs, "
        f"{st['key_token_lines']:,} lines holding \"key\" or \"token\" (any case) and "
        f"{st['hex32_key_token_lines']:,} lines holding both; the {len(corpus.planted)} planted key lines "
        "come on top."
    )


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        load = "n/a"
    gitv = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": gitv,
        "load_average_1min": load,
    }


def fresh_venv(work: Path, log: Callable[[str], None]) -> str:
    """A virtual environment with this checkout installed as users install it."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    quiet = ["-q", "--disable-pip-version-check"]
    if not python.is_file():
        log(f"creating {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", *quiet, str(PROJECT)], check=True)
    else:
        log(f"reinstalling this checkout into {venv} ...")
        subprocess.run(
            [str(python), "-m", "pip", "install", *quiet, "--no-deps", "--force-reinstall", str(PROJECT)],
            check=True,
        )
    return str(python)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Benchmark captchaai-guard side by side with git (and peer scanners).",
    )
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (1 MB, 5 MB, 300 commits, 8 MB of site-packages) and few repeats: "
                             "under a minute")
    parser.add_argument("--peers", action="store_true",
                        help="also run git-secrets, detect-secrets and secretlint where installed")
    parser.add_argument("--repeats", type=int, help="timed runs per command (default: per workload)")
    parser.add_argument("--sizes", help="staged sizes in MB, comma separated (default: 1,20,100)")
    parser.add_argument("--commits", type=int, help="commits in the history corpus (default: 2000)")
    parser.add_argument("--seed", type=int, default=6, help="corpus seed (default: 6)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter whose captchaai-guard is measured (default: this one)")
    parser.add_argument("--venv", action="store_true",
                        help="measure a regular (non-editable) install of this checkout in "
                             "benchmarks/work/venv, refreshed on every run")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="where repositories are built")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where JSON results go")
    parser.add_argument("--peer-timeout", type=float, default=120.0,
                        help="give up on a peer run after this many seconds "
                             "(default: 120; at most 10 with --quick)")
    parser.add_argument("--no-own-history", action="store_true",
                        help="skip the history (and the last 100 commits) of this project's own repository")
    parser.add_argument("--site-packages", type=Path,
                        help="folder of real files for the site-packages workloads (default: the "
                             "site-packages (purelib) of the interpreter running this script)")
    parser.add_argument("--site-commits", type=int,
                        help="commits the site-packages history is split into (default: 200; 150 with "
                             "--quick; more than 100 for the pull-request range)")
    parser.add_argument("--site-mb", type=float,
                        help="take a sample of about this many MB of the site-packages "
                             "(default: all of it; 8 with --quick)")
    args = parser.parse_args(argv)
    if args.site_packages is not None and not args.site_packages.is_dir():
        parser.error(f"--site-packages: {args.site_packages} is not a folder")
    if args.site_commits is not None and args.site_commits < 1:
        parser.error("--site-commits must be at least 1")
    if args.site_mb is not None and args.site_mb <= 0:
        parser.error("--site-mb must be more than 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    quick = args.quick
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1, 5] if quick else [1, 20, 100])
    commits = args.commits or (300 if quick else 2000)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    python = fresh_venv(work, log) if args.venv else str(Path(args.python).absolute())
    tools = Tools(python, Path(python).parent)
    env = git_env()
    env.pop("NO_COLOR", None)
    peers = peer_tools(work) if args.peers else {}
    if args.peers:
        log(f"peers: {', '.join(sorted(peers)) or 'none installed'}")

    def reps(full: int, fast: int) -> int:
        return args.repeats or (fast if quick else full)

    # --quick keeps its minute with peers too: one run each, short limit.
    peer_timeout = min(args.peer_timeout, 10.0) if quick else args.peer_timeout
    peer_runs = 1 if quick else 3
    scan = tools.scan()
    start_load = machine()["load_average_1min"]
    rows: list[Row] = []
    t0 = time.perf_counter()

    # (a) small commit
    log("building small commit ...")
    small = small_corpus(work, args.seed)
    setup_peers(small.path, peers)
    subjects = []
    installed = tools.installed_hook(small.path, env)
    if installed is not None:
        subjects.append(Command("captchaai-guard installed hook (.git/hooks/pre-commit)", installed,
                                small.path, expect_code(0)))
    hook_label, hook_argv = tools.hook()
    # The console script is measured for reference: the target is the installed
    # hook's and the pre-commit entry's; pip's launcher script imports `re`.
    subjects.append(Command(f"captchaai-guard hook: `{hook_label}`", hook_argv, small.path, expect_code(0),
                            targeted=False))
    entry = tools.precommit_entry(staged_files(small.path))
    if entry is not None:
        subjects.append(Command(f"captchaai-guard {entry[0]}", entry[1], small.path, expect_code(0)))
    if hook_argv != scan:
        subjects.append(Command("captchaai-guard scan", scan, small.path, expect_code(0), targeted=False))
    subjects += peer_commands("small", small.path, peers, work, peer_timeout, peer_runs)
    base = Command("python -c pass", [python, "-c", "pass"], small.path)
    log("small commit (2 KB):")
    measure([base, *subjects], reps(21, 9), env, log)
    rows.append(Row("small commit (2 KB)", base, subjects, TARGETS["small"]))

    # (b) staged diffs
    rss: dict[str, object] | None = None
    # New files at every size; at the middle size also edits to committed
    # files (a fifth of their lines: thousands of small hunks).
    edited = sorted(sizes)[len(sizes) // 2]
    staged = [(size, 0.0) for size in sizes] + [(edited, EDITED)]
    for size, modified in sorted(staged):
        what = f"staged {size} MB" + (", edited files" if modified else "")
        log(f"building {what} ...")
        name = f"staged{size}mb" + ("-edited" if modified else "")
        corpus = staged_corpus(work, name, size * MB, args.seed, modified=modified)
        setup_peers(corpus.path, peers)
        base = Command("git diff --cached --unified=0", GIT_DIFF, corpus.path)
        subjects = [Command("captchaai-guard scan", [*scan, "--format", "json"], corpus.path,
                            expect_keys(corpus.planted), capture=True)]
        subjects += peer_commands("staged", corpus.path, peers, work, peer_timeout, peer_runs)
        log(f"{what} ({corpus.files} files, {len(corpus.planted)} keys):")
        measure([base, *subjects], reps(7 if size < 50 else 5, 3), env, log)
        row = Row(what, base, subjects, TARGETS["staged"] if size >= 20 else None,
                  {"files": corpus.files, "bytes": corpus.size, "planted": len(corpus.planted)})
        rows.append(row)
        if size == max(sizes) and not modified:
            hwm, tree = peak_rss_alone([*scan, "--format", "json"], corpus.path, env)
            git_rss = base.as_dict()["maxrss_kb"]
            rss = {"workload": f"{size} MB staged", "scanner_mb": hwm / 1024, "tree_mb": tree / 1024,
                   "git_mb": int(str(git_rss)) / 1024}

    # (c) history
    log(f"building history of {commits} commits ...")
    hist = history_corpus(work, args.seed, commits)
    setup_peers(hist.path, peers)
    histories: list[tuple[str, Corpus | None, Path]] = [(f"history: {commits} commits", hist, hist.path)]
    if not args.no_own_history:
        histories.append(("history: this project", None, PROJECT))
    for label, corpus_or_none, path in histories:
        base = Command("git log -p --all --unified=0", GIT_LOG, path)
        check = expect_keys(corpus_or_none.planted) if corpus_or_none else expect_code(0, 1)
        subjects = [Command("captchaai-guard scan --commits --all",
                            [*scan, "--commits", "--all", "--format", "json"], path, check, capture=True)]
        if corpus_or_none is not None:
            subjects += peer_commands("history", path, peers, work, peer_timeout, peer_runs)
        log(f"{label}:")
        measure([base, *subjects], reps(5, 3), env, log)
        extra: dict[str, object] = {}
        if corpus_or_none is not None:
            extra = {"commits": corpus_or_none.commits, "planted": len(corpus_or_none.planted)}
        rows.append(Row(label, base, subjects, TARGETS["history"], extra))

    # (d) real code: a virtualenv's site-packages as a history, staged at once,
    # and the last commits of that history as a pull request's range
    site_root: Path = (args.site_packages or Path(sysconfig.get_paths()["purelib"])).absolute()
    site_commits = args.site_commits or (150 if quick else 200)
    site_mb = args.site_mb if args.site_mb is not None else (8.0 if quick else None)
    site_max = int(site_mb * MB) if site_mb is not None else None
    site_name = f"site{site_commits}-{'all' if site_mb is None else f'{site_mb:g}mb'}"
    log(f"building site-packages history and staged corpus of {site_root} ...")
    try:
        site = tree_history_corpus(work, site_root, args.seed, commits=site_commits, keys=SITE_KEYS,
                                   max_bytes=site_max, name=f"{site_name}-history")
        site_staged = tree_staged_corpus(work, site_root, args.seed, commits=site_commits, keys=SITE_KEYS,
                                         max_bytes=site_max, name=f"{site_name}-staged")
    except RuntimeError as exc:  # no text files there, or git failed
        raise SystemExit(f"benchmark failed: site-packages workloads: {exc}") from None
    notes = [site_note(site, site_root, site_mb is None)]
    site_extra: dict[str, object] = {"root": str(site_root), "files": site.files, "bytes": site.size,
                                     "planted": len(site.planted), "stats": site.stats}

    label = f"history: site-packages ({site.commits} commits)"
    setup_peers(site.path, peers)
    base = Command("git log -p --all --unified=0", GIT_LOG, site.path)
    subjects = [Command("captchaai-guard scan --commits --all",
                        [*scan, "--commits", "--all", "--format", "json"], site.path,
                        expect_keys(site.planted), capture=True)]
    subjects += peer_commands("history", site.path, peers, work, peer_timeout, peer_runs)
    log(f"{label}:")
    measure([base, *subjects], reps(5, 3), env, log)
    rows.append(Row(label, base, subjects, None, {**site_extra, "commits": site.commits}))

    label = f"staged site-packages ({site_staged.size / MB:.0f} MB, {site_staged.files:,} files)"
    setup_peers(site_staged.path, peers)
    base = Command("git diff --cached --unified=0", GIT_DIFF, site_staged.path)
    subjects = [Command("captchaai-guard scan", [*scan, "--format", "json"], site_staged.path,
                        expect_keys(site_staged.planted), capture=True)]
    subjects += peer_commands("staged", site_staged.path, peers, work, peer_timeout, peer_runs)
    log(f"{label}:")
    measure([base, *subjects], reps(7, 3), env, log)
    rows.append(Row(label, base, subjects, None, site_extra))

    # A pull request as the GitHub Action scans it: --commits BASE..HEAD.
    ranges: list[tuple[str, Path, Sequence[Planted] | None, Sequence[Planted]]] = []
    if site.commits > PR_COMMITS:
        first = site.commits - PR_COMMITS
        inside = [p for p in site.planted if p.commit is not None and p.commit >= first]
        outside = [p for p in site.planted if p not in inside]
        ranges.append((f"PR range: site-packages, last {PR_COMMITS} of {site.commits} commits",
                       site.path, inside, outside))
    else:
        log(f"PR range skipped: the site-packages history has {site.commits} commits, "
            f"not more than {PR_COMMITS}")
    if not args.no_own_history:
        ranges.append(("PR range: this project", PROJECT, None, ()))
    for label, path, keys_in, keys_out in ranges:
        found = pr_base(path, PR_COMMITS)
        if found is None:
            log(f"{label}: skipped (no base with {PR_COMMITS} commits on top)")
            continue
        base_id, count = found
        if keys_in is None:
            label += f", {count} commits"
        span = f"{base_id}..{git(path, 'rev-parse', 'HEAD').decode().strip()}"
        base = Command("git log -p BASE..HEAD --unified=0", ["git", "log", "-p", "--unified=0", span], path)
        check = expect_keys(keys_in, keys_out) if keys_in is not None else expect_code(0, 1)
        subjects = [Command("captchaai-guard scan --commits BASE..HEAD",
                            [*scan, "--commits", span, "--format", "json"], path, check, capture=True)]
        log(f"{label} ({span}, {count} commits):")
        measure([base, *subjects], reps(5, 3), env, log)
        extra = {"range": span, "commits": count}
        if keys_in is not None:
            extra["planted"] = len(keys_in)
        rows.append(Row(label, base, subjects, None, extra))

    planted_total = sum(int(str(r.extra.get("planted", 0))) for r in rows)
    table = markdown(rows, rss, notes)
    info = machine()
    header = (f"Machine: {info['cpu']}, {info['cpus']} CPUs, Python {info['python']}, {info['git']}, "
              f"load average {start_load} at the start, {info['load_average_1min']} at the end; "
              f"medians over interleaved runs; every planted key ({planted_total} in all) "
              "found in every run.")
    print(header + "\n\n" + table)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    doc = {
        "machine": info,
        "args": {k: str(v) for k, v in vars(args).items()},
        "rows": [
            {
                "workload": r.workload,
                "target": r.target,
                "baseline": r.baseline.as_dict(),
                "subjects": [{**c.as_dict(), "ratio": ratio(c, r.baseline)} for c in r.subjects],
                **r.extra,
            }
            for r in rows
        ],
        "rss": rss,
        "all_planted_keys_found": True,
        "elapsed_s": time.perf_counter() - t0,
        "markdown": table,
    }
    target = args.results / f"{stamp}{'-quick' if quick else ''}.json"
    target.write_text(json.dumps(doc, indent=2))
    log(f"results: {target} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
