"""The rewriter on its own: keys inside longer literals, and what it refuses."""

from __future__ import annotations

import pytest

from captchaai_guard.remedy.rewrite import CannotRewrite, kind_of, rewrite, variable_for
from tests.conftest import fake_key

URL = "https://ocr.captchaai.com/in.php?key="

SPLITS: list[tuple[str, str, str]] = [
    ("a.py", 'u = "' + URL + '{key}&json=1"\n', 'u = f"' + URL + "{{os.environ['V']}}&json=1\""),
    ("a.py", "u = rf'" + URL + "{key}'\n", "u = rf'" + URL + '{{os.environ["V"]}}\''),
    ("a.js", "u = '" + URL + "{key}&json=1';\n", "u = `" + URL + "${{process.env.V}}&json=1`;"),
    ("a.sh", "curl '" + URL + "{key}&json=1'\n", "curl '" + URL + "'\"${{V}}\"'&json=1'"),
    ("a.sh", "curl " + URL + "{key}\n", "curl " + URL + '"$V"'),
    ("a.php", '$u = "' + URL + '{key}&json=1";\n', '$u = ("' + URL + '" . getenv(\'V\') . "&json=1");'),
    ("a.go", 'package p\nvar u = "' + URL + '{key}"\n', 'var u = ("' + URL + '" + os.Getenv("V"))'),
    ("a.rb", 'u = "' + URL + '{key}"\n', 'u = "' + URL + "#{{ENV['V']}}\""),
    ("a.rb", "u = '" + URL + "{key}'\n", "u = ('" + URL + "' + ENV['V'])"),
    ("A.java", 'String u = "' + URL + '{key}";\n', 'String u = ("' + URL + '" + System.getenv("V"));'),
    ("A.cs", 'using System;\nvar u = @"' + URL + '{key}";\n', 'var u = (@"' + URL + '" + Environment.'),
    ("run.sh", 'cat <<EOF\n{{"key": "{key}"}}\nEOF\n', '{{"key": "${{V}}"}}'),
]


@pytest.mark.parametrize(("path", "source", "expected"), SPLITS)
def test_key_inside_a_longer_literal_is_split(path: str, source: str, expected: str) -> None:
    key = fake_key()
    result = rewrite(path, source.format(key=key), {key: "V"})
    assert expected.format() in result.text
    assert key not in result.text
    assert result.variables == {key: "V"}


REFUSED: list[tuple[str, str, str]] = [
    ("a.py", 'u = b"{key}"\n', "bytes"),
    ("a.py", 'u = """\n{key}\n"""\n', "multi-line"),
    ("a.py", 'u = "{{}}' + URL + '{key}"\n', "braces"),
    ("a.js", "u = tag`{key}`;\n", "tagged"),
    ("a.js", "u = `\n{key}`;\n", "multi-line"),
    ("a.js", "// {key}\n", "comment"),
    ("A.tsx", 'const el = <Solver apiKey="{key}" />;\n', "JSX"),
    ("a.go", 'const (\n\tk = "{key}"\n)\n', "constant"),
    ("A.kt", 'const val K = "{key}"\n', "constant"),
    ("A.java", 'String t = """\n{key}\n""";\n', "multi-line"),
    ("job.sh", "cat <<'EOF'\n{key}\nEOF\n", "heredoc"),
    ("a.json", '{{"key": "{key}"}}\n', "cannot be rewritten"),
    ("a.yml", "key: {key}\n", "cannot be rewritten"),
    ("a.ipynb", '{{"source": ["k = \\"{key}\\""]}}\n', "cannot be rewritten"),
    ("Dockerfile", "ENV CAPTCHAAI_API_KEY {key}\n", "cannot be rewritten"),
    ("x.env", "A={key}B\n", "NAME=value"),
]


@pytest.mark.parametrize(("path", "source", "reason"), REFUSED)
def test_unsafe_places_are_refused(path: str, source: str, reason: str) -> None:
    key = fake_key()
    with pytest.raises(CannotRewrite) as info:
        rewrite(path, source.format(key=key), {key: "V"})
    assert reason in info.value.reason
    assert key not in info.value.reason


def test_variable_names() -> None:
    assert variable_for('CAPTCHAAI_API_KEY_7 = "x"', 23) == "CAPTCHAAI_API_KEY_7"
    assert variable_for('captchaaiApiKey = "x"', 20) == "CAPTCHAAI_API_KEY"
    both = 'a = {"CAPTCHAAI_API_KEY": "x", "CAPTCHAAI_API_KEY_2": "y"}'
    assert variable_for(both, both.index("x") + 1) == "CAPTCHAAI_API_KEY"
    assert variable_for(both, both.index("y") + 1) == "CAPTCHAAI_API_KEY_2"
    assert variable_for("key = 'x'") == "CAPTCHAAI_API_KEY"


def test_kinds() -> None:
    assert kind_of("bin/deploy", "#!/usr/bin/env bash\n") == "shell"
    assert kind_of("Makefile", "all:\n") is None
    assert kind_of("notes.md") is None
    assert kind_of(".env.local") == "dotenv"
    assert kind_of("prod.env") == "dotenv"
    assert kind_of("app.vue") is None


def test_python_import_os_joins_the_standard_library_imports() -> None:
    key = fake_key()
    source = (
        '"""Doc."""\n\nimport json\nimport sys\nfrom pathlib import Path\n\nimport requests\n\n'
        f'KEY = "{key}"\n'
    )
    text = rewrite("a.py", source, {key: "V"}).text
    assert "import json\nimport os\nimport sys\nfrom pathlib import Path\n\nimport requests\n" in text


def test_python_dotenv_goes_to_the_third_party_imports_and_runs_first() -> None:
    key = fake_key()
    source = f'import sys\n\nimport requests\n\nfrom app import models\n\nKEY = "{key}"\n'
    text = rewrite("a.py", source, {key: "V"}, dotenv=True, first_party={"app"}).text
    assert text == (
        "import os\nimport sys\n\nimport requests\nfrom dotenv import load_dotenv\n\n"
        'from app import models\n\nload_dotenv()\n\nKEY = os.environ["V"]\n'
    )
    assert rewrite("a.py", text.replace('os.environ["V"]', f'"{key}"'), {key: "V"}, dotenv=True).text == text


@pytest.mark.parametrize(
    ("source", "dotenv"),
    [('"Doc."; KEY = "{key}"\n', False), ('import sys; KEY = "{key}"\n', True)],
)
def test_python_import_that_cannot_run_before_the_read_is_refused(source: str, dotenv: bool) -> None:
    key = fake_key()
    with pytest.raises(CannotRewrite) as info:
        rewrite("a.py", source.format(key=key), {key: "V"}, dotenv=dotenv)
    assert "cannot be placed" in info.value.reason
