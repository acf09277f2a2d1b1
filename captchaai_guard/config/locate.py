"""Where the configuration lives, and a cheap look at pyproject.toml.

Kept apart (and free of imports) so that the commit hook's fast path and
:mod:`captchaai_guard.config.project` name the same files and ask the same question:
could this pyproject.toml define a ``[tool.captchaai-guard]`` table? Only a
"yes" costs a TOML parse.
"""

from __future__ import annotations

CONFIG_FILE = ".captchaai-guard.toml"
PYPROJECT = "pyproject.toml"
TABLE = "captchaai-guard"


def _key_path(text: bytes) -> bytes:
    """A TOML key or table name without quotes and blanks: ``tool . "x"`` → ``tool.x``."""
    for blank in (b" ", b"\t", b"\r", b'"', b"'"):
        text = text.replace(blank, b"")
    return text


def may_define_table(data: bytes) -> bool:
    """False only when ``data`` (a pyproject.toml) surely defines no
    ``tool.captchaai-guard`` table; the TOML parse decides the rest.

    The table can only come from a header or dotted key starting with
    ``tool.captchaai-guard``, or from a key ``captchaai-guard`` in a
    ``[tool]`` table or a ``tool = {...}`` inline table. Lines are not tied
    to the table they sit in (a multi-line string may hold anything), so a
    file with a ``[tool]`` table and a ``captchaai-guard`` key anywhere
    (such as a script of that name) counts as a yes."""
    name = TABLE.encode()
    if name not in data:
        return False
    dotted = b"tool." + name
    tool_table = named_key = False
    for raw in data.split(b"\n"):
        line = raw.strip()
        if line.startswith(b"["):
            path = _key_path(line.split(b"#", 1)[0].strip(b"[] \t\r"))
            if path.startswith(dotted):
                return True
            tool_table = tool_table or path == b"tool"
            continue
        key, equals, value = line.partition(b"=")
        if not equals:
            continue
        path = _key_path(key)
        if path.startswith(dotted) or (path == b"tool" and name in value):
            return True
        named_key = named_key or path == name or path.startswith(name + b".")
    return tool_table and named_key
