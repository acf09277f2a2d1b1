"""The package's layout: stages import only from the stages before them."""

from __future__ import annotations

import ast
from pathlib import Path

import captchaai_guard

PACKAGE = Path(captchaai_guard.__file__).parent
# The flow, first to last: a module may import from its own stage and the
# stages before it, never from a later one. ``captchaai_guard`` itself
# (version, project address) is for everyone.
ORDER = [
    "errors",
    "sources",
    "findings",
    "detect",
    "config",
    "scan",
    "remedy",
    "report",
    "audit",
    "keys",
    "commands",
    "hook",
    "__main__",
]
def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "captchaai_guard":
                found += [f"captchaai_guard.{alias.name}" for alias in node.names]
            elif node.module.startswith("captchaai_guard."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("captchaai_guard.")]
    return found


def test_every_module_belongs_to_a_stage() -> None:
    stages = {_stage(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {None}
    assert stages <= set(ORDER), stages - set(ORDER)


def test_no_import_runs_against_the_flow() -> None:
    against = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        stage = _stage(module)
        if stage is None:
            continue
        for target in _imports(path):
            other = _stage(target)
            if other is None or other not in ORDER:  # captchaai_guard.__version__, PROJECT_URL
                continue
            if ORDER.index(other) > ORDER.index(stage):
                against.append(f"{module} imports {target}")
    assert against == []


def test_every_package_says_what_enters_and_what_leaves() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        first = doc.split("\n", 1)[0]
        assert " in, " in first and " out" in first, (init.parent.name, first)
