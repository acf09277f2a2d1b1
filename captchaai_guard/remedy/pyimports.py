"""Adding ``import os`` (and python-dotenv's ``load_dotenv()``) to a Python module.

Pure text in, text out. The lines go where isort and ruff (``I001``) put
them in a module whose imports are sorted already: ``import os`` into the
standard-library section (after the module docstring and ``__future__``
imports, or in a section of its own, one blank line around it);
``from dotenv import load_dotenv`` into the third-party section (or one of
its own, before first-party and relative imports); ``load_dotenv()`` right
after the top import block, so it runs before any module-level code reads
the environment. A module without imports gets a new block, one blank line
after the docstring, one blank line (two before a ``def`` or ``class``)
before the code.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Container

_FUTURE, _STDLIB, _THIRD, _FIRST = "future", "stdlib", "third-party", "first-party"
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Unplaceable(Exception):
    """The line cannot be placed where it would run before its first use."""


def _category(node: ast.Import | ast.ImportFrom, first_party: Container[str]) -> str:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return _FIRST
        module = node.module or ""
    else:
        module = node.names[0].name
    top = module.split(".")[0]
    if top == "__future__":
        return _FUTURE
    if top in sys.stdlib_module_names:
        return _STDLIB
    return _FIRST if top in first_party else _THIRD


def _key(node: ast.Import | ast.ImportFrom) -> str:
    name = node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
    return name.lower()


def _docstring(tree: ast.Module) -> ast.Expr | None:
    first = tree.body[0] if tree.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _block(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The top import block: the imports that open the module, after its docstring."""
    body = tree.body[1:] if _docstring(tree) is not None else tree.body
    block: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        block.append(node)
    return block


def _start(node: ast.stmt) -> int:
    """0-based index of the first line of ``node``, its decorators included."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1


class _Text:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.nl = "\r\n" if "\r\n" in text else "\n"

    def blank(self, index: int) -> bool:
        return 0 <= index < len(self.lines) and not self.lines[index].strip()

    def comment(self, index: int) -> bool:
        return 0 <= index < len(self.lines) and self.lines[index].lstrip().startswith("#")

    def insert(self, index: int, new: list[str]) -> str:
        if index > 0 and not self.lines[index - 1].endswith(("\n", "\r")):
            self.lines[index - 1] += self.nl
        self.lines[index:index] = [line + self.nl if line else self.nl for line in new]
        return "".join(self.lines)

    def after(self, end: int, line: str) -> str:
        """``line`` as a paragraph of its own after the line index ``end - 1``."""
        new = ["", line]
        if end < len(self.lines) and not self.blank(end):
            new.append("")
        return self.insert(end, new)


_Imports = list[ast.Import | ast.ImportFrom]


def _paragraph_start(text: _Text, block: _Imports, node: ast.Import | ast.ImportFrom) -> bool:
    i = block.index(node)
    if i == 0:
        return True
    previous = block[i - 1].end_lineno or block[i - 1].lineno
    return any(text.blank(k) for k in range(previous, node.lineno - 1))


def _before(text: _Text, block: _Imports, node: ast.Import | ast.ImportFrom) -> int:
    """Where a line goes to come right before ``node`` in its paragraph."""
    at = node.lineno - 1
    if _paragraph_start(text, block, node):
        return at
    while text.comment(at - 1):
        at -= 1
    return at


def _new_block(text: str, tree: ast.Module, new: list[str]) -> str:
    """``new`` as the module's first import block."""
    t = _Text(text)
    doc = _docstring(tree)
    rest_nodes = tree.body[1:] if doc is not None else tree.body
    following = rest_nodes[0] if rest_nodes else None
    if doc is not None:
        at = doc.end_lineno or doc.lineno
        if following is not None and _start(following) < at:
            raise Unplaceable("code shares a line with the module docstring")
        head, rest = t.lines[:at], t.lines[at:]
        while rest and not rest[0].strip():
            rest.pop(0)
        lead = [""]
    elif following is not None:
        at = _start(following)
        top = at
        while t.comment(top - 1):
            top -= 1
        if top > 0:  # comments that belong to the statement, not the file's header
            at = top
        head, rest, lead = t.lines[:at], t.lines[at:], []
    else:
        head, rest, lead = t.lines, [], []
    if head and not head[-1].endswith(("\n", "\r")):
        head[-1] += t.nl
    trail = ["", ""] if isinstance(following, _DEFS) else [""]
    added = [*lead, *new, *(trail if rest else [])]
    return "".join([*head, *(line + t.nl if line else t.nl for line in added), *rest])


def add_import_os(text: str, tree: ast.Module, first_party: Container[str] = ()) -> str:
    block = _block(tree)
    if not block:
        return _new_block(text, tree, ["import os"])
    t = _Text(text)
    std = [n for n in block if _category(n, first_party) == _STDLIB]
    if std:
        for node in std:
            if isinstance(node, ast.ImportFrom) or _key(node) > "os":
                return t.insert(_before(t, block, node), ["import os"])
        return t.insert(std[-1].end_lineno or std[-1].lineno, ["import os"])
    futures = [n for n in block if _category(n, first_party) == _FUTURE]
    if futures:
        return t.after(futures[-1].end_lineno or futures[-1].lineno, "import os")
    return t.insert(_before(t, block, block[0]), ["import os", ""])


def add_dotenv_import(text: str, tree: ast.Module, first_party: Container[str] = ()) -> str:
    line = "from dotenv import load_dotenv"
    block = _block(tree)
    if not block:
        return _new_block(text, tree, [line])
    t = _Text(text)
    third = [n for n in block if _category(n, first_party) == _THIRD]
    if third:
        first = block.index(third[0])
        members = [third[0]]
        for node in block[first + 1 :]:
            if _paragraph_start(t, block, node) or _category(node, first_party) != _THIRD:
                break
            members.append(node)
        for node in members:
            if isinstance(node, ast.ImportFrom) and _key(node) > "dotenv":
                return t.insert(_before(t, block, node), [line])
        return t.insert(members[-1].end_lineno or members[-1].lineno, [line])
    earlier = [n for n in block if _category(n, first_party) in (_FUTURE, _STDLIB)]
    if earlier:
        return t.after(earlier[-1].end_lineno or earlier[-1].lineno, line)
    return t.insert(_before(t, block, block[0]), [line, ""])


def add_load_call(text: str, tree: ast.Module) -> str:
    """``load_dotenv()`` right after the top import block."""
    block = _block(tree)
    if not block:
        return _new_block(text, tree, ["load_dotenv()"])
    end = block[-1].end_lineno or block[-1].lineno
    rest = tree.body[tree.body.index(block[-1]) + 1 :]
    if rest and _start(rest[0]) < end:
        raise Unplaceable("code shares a line with the last import")
    return _Text(text).after(end, "load_dotenv()")


def imports_os(tree: ast.Module) -> bool:
    """Whether the module imports ``os`` at its top level (also under ``if``/``try``)."""
    return any(
        isinstance(node, ast.Import)
        and any(a.asname is None and (a.name == "os" or a.name.startswith("os.")) for a in node.names)
        for node in _top_level(tree)
    )


def imports_load_dotenv(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "dotenv"
        and not node.level
        and any(a.name == "load_dotenv" and a.asname in (None, "load_dotenv") for a in node.names)
        for node in _top_level(tree)
    )


def calls_load_dotenv(tree: ast.Module) -> bool:
    """Whether the module calls ``load_dotenv(...)`` (or ``dotenv.load_dotenv(...)``) anywhere."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                name = func.attr
            else:
                name = func.id if isinstance(func, ast.Name) else ""
            if name == "load_dotenv":
                return True
    return False


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, (ast.If, ast.Try)):
            pending.extend(node.body)
            pending.extend(node.orelse)
            if isinstance(node, ast.Try):
                for handler in node.handlers:
                    pending.extend(handler.body)
                pending.extend(node.finalbody)
    return found


def _runs_now(node: ast.AST) -> list[ast.AST]:
    """The parts of a statement that run when the module is imported."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
    if isinstance(node, ast.Lambda):
        return [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
    return list(ast.iter_child_nodes(node))


def _reads_environ(node: ast.AST) -> bool:
    pending = [node]
    while pending:
        current = pending.pop()
        if (
            isinstance(current, ast.Attribute)
            and current.attr == "environ"
            and isinstance(current.value, ast.Name)
            and current.value.id == "os"
        ):
            return True
        pending.extend(_runs_now(current))
    return False


def ready_before_use(tree: ast.Module, *, os_import: bool, load_call: bool) -> bool:
    """Whether ``import os`` (when ``os_import``) and ``load_dotenv()`` (when
    ``load_call``) run before the first module-level read of ``os.environ``."""
    os_at = load_at = None
    for index, node in enumerate(tree.body):
        if os_at is None and isinstance(node, ast.Import) and imports_os(ast.Module([node], [])):
            os_at = index
        if (
            load_at is None
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and calls_load_dotenv(ast.Module([node], []))
        ):
            load_at = index
        if _reads_environ(node):
            return (not os_import or os_at is not None) and (not load_call or load_at is not None)
    return True
