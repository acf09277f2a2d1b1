"""Recall and precision on a labelled corpus of real-world shapes.

``tests/corpus/<syntax>/**/<name>.<ext>.tmpl`` are templates. Markers are
filled at run time with fresh random values, so no key is ever stored in the
repository:

* keys (the labels: every one must be reported): ``{key}`` lower-case hex,
  ``{KEY}`` upper-case hex, ``{MixedKey}`` mixed-case hex, ``{alnum}`` 32
  letters and digits and ``{lowalnum}`` 32 lower-case letters and digits
  (the shape of many keys seen in public code; both only where the context
  is strong);
* split and repeated keys: ``{half1}`` makes a fresh key and writes its
  first 16 characters (the label is that line, masked with the last four
  characters of the whole key); ``{half2}`` writes the last 16 characters of
  the key of the nearest ``{half1}`` before it in the same file (no label of
  its own); ``{same}`` writes again the nearest planted key before it in the
  same file and is a label at its own line (once a value is reported
  anywhere, every other occurrence is reported);
* noise (hard negatives: never to be reported): ``{md5}``, ``{hex32}`` (any
  other 32-hex value), ``{HEX32}`` (its upper-case form), ``{uuidhex}``,
  ``{uuid}``, ``{UUID}`` (upper-case, as Visual Studio writes them),
  ``{sha1}``, ``{sha256}``, ``{mailchimp}`` (``<hex>-us6``), ``{other32}``
  (another service's 32 letters and digits), ``{b64}`` (base64 of random
  bytes).

All templates are staged in one repository and scanned once with the
installed command (``scan --format json``). A finding is a true positive
when its path, line and masked key (``***`` + last four characters) name a
planted key; every other finding is a false positive. Misses and false
positives are printed with the template line (markers, never values) and the
line before it, so the shape that was missed can be read off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import Repo

CORPUS = Path(__file__).parent / "corpus"
SUFFIX = ".tmpl"
CRLF = (".cmd", ".bat", ".ps1")  # Windows scripts are checked in with CRLF line ends
MIN_RECALL = 0.99
MIN_PRECISION = 0.99
MIN_KEYS = 450
MIN_NEGATIVES = 450
MIN_FILE_TYPES = 60
MIN_SYNTAXES_WITH_KEYS = 40
_ALNUM = string.ascii_letters + string.digits
_LOWALNUM = string.ascii_lowercase + string.digits


def _mixed_case(value: str) -> str:
    return "".join(ch.upper() if secrets.randbits(1) else ch for ch in value)


def _chars(alphabet: str, n: int = 32) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _alnum() -> str:
    return _chars(_ALNUM)


def _lowalnum() -> str:
    # at least one letter beyond f: a value of digits and a-f only is hex
    while True:
        value = _chars(_LOWALNUM)
        if re.search(r"[g-z]", value):
            return value


def _digest(name: str) -> Callable[[], str]:
    return lambda: hashlib.new(name, os.urandom(16)).hexdigest()


KEYS: dict[str, Callable[[], str]] = {
    "key": lambda: secrets.token_hex(16),
    "KEY": lambda: secrets.token_hex(16).upper(),
    "MixedKey": lambda: _mixed_case(secrets.token_hex(16)),
    "alnum": _alnum,
    "lowalnum": _lowalnum,
}
NOISE: dict[str, Callable[[], str]] = {
    "md5": _digest("md5"),
    "hex32": lambda: secrets.token_hex(16),
    "HEX32": lambda: secrets.token_hex(16).upper(),
    "uuidhex": lambda: uuid.uuid4().hex,
    "uuid": lambda: str(uuid.uuid4()),
    "UUID": lambda: str(uuid.uuid4()).upper(),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "mailchimp": lambda: secrets.token_hex(16) + "-us6",
    "other32": _alnum,
    "b64": lambda: base64.b64encode(os.urandom(48)).decode(),
}
SPLIT = ("half1", "half2", "same")
MARKER = re.compile(r"(?<![$#])\{(" + "|".join(map(re.escape, [*KEYS, *NOISE, *SPLIT])) + r")\}")


def file_type(path: str) -> str:
    """A file's type: its extension, or its whole name when it has none
    (``Dockerfile``, ``.env``, ``MD5SUMS``)."""
    name = PurePosixPath(path).name
    return PurePosixPath(name).suffix or name


@dataclass(repr=False)  # a failed assertion must not print the planted values
class Corpus:
    files: dict[str, str] = field(default_factory=dict)  # repo path -> content
    templates: dict[str, str] = field(default_factory=dict)  # repo path -> template text
    syntax: dict[str, str] = field(default_factory=dict)  # repo path -> syntax
    keys: set[tuple[str, int, str]] = field(default_factory=set)  # path, line, masked
    suffixes: set[str] = field(default_factory=set)
    planted: list[str] = field(default_factory=list)  # the key values themselves
    negatives: int = 0  # noise markers filled

    def fresh(self, make: Callable[[], str]) -> str:
        """A value whose last four characters no other value has: the masked
        form in the report then names exactly one planted value."""
        while True:
            value = make()
            if not value[-4:].isalnum():  # "<hex>-us6": no key ends this way
                return value
            if value[-4:] not in self.suffixes:
                self.suffixes.add(value[-4:])
                return value

    def add(self, syntax: str, path: str, template: str) -> None:
        lines = []
        last_key: str | None = None  # for {same}
        half: str | None = None  # for {half2}
        for number, line in enumerate(template.split("\n"), start=1):

            def fill(m: re.Match[str], number: int = number) -> str:
                nonlocal last_key, half
                name = m.group(1)
                if name in NOISE:
                    self.negatives += 1
                    return self.fresh(NOISE[name])
                if name == "half2":
                    if half is None:
                        raise ValueError(f"{path}:{number}: {{half2}} without a {{half1}} before it")
                    return half[16:]
                if name == "same":
                    if last_key is None:
                        raise ValueError(f"{path}:{number}: {{same}} without a key before it")
                    value = last_key
                else:
                    value = self.fresh(KEYS["key"] if name == "half1" else KEYS[name])
                    self.planted.append(value)
                    last_key = value
                    if name == "half1":
                        half = value
                self.keys.add((path, number, "***" + value[-4:]))
                return value[:16] if name == "half1" else value

            lines.append(MARKER.sub(fill, line))
        self.files[path] = ("\r\n" if path.endswith(CRLF) else "\n").join(lines)
        self.templates[path] = template
        self.syntax[path] = syntax

    def shape(self, path: str, line: int) -> str:
        """The template line (markers, no values) and the line before it."""
        rows = self.templates[path].split("\n")
        here = rows[line - 1].strip() if line <= len(rows) else ""
        before = next((r.strip() for r in reversed(rows[: line - 1]) if r.strip()), "")
        text = f"`{here[:110]}`"
        if before:
            text += f"  (after `{before[:70]}`)"
        return text


def build_corpus() -> Corpus:
    corpus = Corpus()
    for template in sorted(CORPUS.rglob("*" + SUFFIX)):
        relative = template.relative_to(CORPUS).as_posix()[: -len(SUFFIX)]
        syntax = relative.split("/", 1)[0]
        corpus.add(syntax, relative, template.read_text(encoding="utf-8"))
    return corpus


@dataclass
class Score:
    keys: int = 0
    found: int = 0
    false: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.keys if self.keys else 1.0

    @property
    def precision(self) -> float:
        reported = self.found + self.false
        return self.found / reported if reported else 1.0


def score(corpus: Corpus, findings: list[dict[str, object]]) -> tuple[dict[str, Score], Score, list[str]]:
    per: dict[str, Score] = {syntax: Score() for syntax in corpus.syntax.values()}
    for path, _, _ in corpus.keys:
        per[corpus.syntax[path]].keys += 1
    hits: set[tuple[str, int, str]] = set()
    falses: list[str] = []
    for f in findings:
        path, line, masked = str(f["path"]), int(str(f["line"])), str(f["masked"])
        label = (path, line, masked)
        target = per[corpus.syntax[path]]
        if label in corpus.keys and label not in hits:
            hits.add(label)
            target.found += 1
        else:
            target.false += 1
            falses.append(f"false positive {path}:{line} {masked} {f['rule_id']}: {corpus.shape(path, line)}")
    misses = [
        f"missed {path}:{line} {masked}: {corpus.shape(path, line)}"
        for path, line, masked in sorted(corpus.keys - hits)
    ]
    total = Score(
        keys=sum(s.keys for s in per.values()),
        found=sum(s.found for s in per.values()),
        false=sum(s.false for s in per.values()),
    )
    return per, total, misses + falses


def table(per: dict[str, Score], total: Score) -> str:
    rows = [f"{'syntax':<22} {'keys':>5} {'found':>5} {'false':>5} {'recall':>7} {'precision':>9}"]
    for name, s in [*sorted(per.items()), ("TOTAL", total)]:
        rows.append(
            f"{name:<22} {s.keys:>5} {s.found:>5} {s.false:>5} {s.recall:>7.3f} {s.precision:>9.3f}"
        )
    return "\n".join(rows)


def test_split_and_same_markers() -> None:
    corpus = Corpus()
    corpus.add(
        "python",
        "a.py",
        'head = "{half1}"\ntail = "{half2}"\nboth = "{same}"\nother = "{key}"\nagain = "{same}"',
    )
    corpus.add("python", "b.py", 'x = "{md5}"')
    head, tail, both, other, again = (
        line.split('"')[1] for line in corpus.files["a.py"].split("\n")
    )
    whole = head + tail
    assert len(head) == len(tail) == 16 and re.fullmatch(r"[0-9a-f]{32}", whole)
    assert both == whole and again == other != whole
    assert corpus.planted == [whole, other]
    assert corpus.keys == {
        ("a.py", 1, "***" + whole[-4:]),
        ("a.py", 3, "***" + whole[-4:]),
        ("a.py", 4, "***" + other[-4:]),
        ("a.py", 5, "***" + other[-4:]),
    }
    assert corpus.negatives == 1
    # the markers do not reach across files
    with pytest.raises(ValueError, match="half2"):
        corpus.add("python", "c.py", 'tail = "{half2}"')
    with pytest.raises(ValueError, match="same"):
        corpus.add("python", "d.py", 'again = "{same}"')


def test_corpus_covers_many_syntaxes() -> None:
    corpus = build_corpus()
    with_keys = len({corpus.syntax[path] for path, _, _ in corpus.keys})
    syntaxes = len(set(corpus.syntax.values()))
    types = sorted({file_type(path) for path in corpus.files})
    keys, negatives = len(corpus.keys), corpus.negatives
    print(
        f"\n{keys} keys, {negatives} hard negatives, {len(corpus.files)} files, "
        f"{len(types)} file types, {syntaxes} syntaxes ({with_keys} with keys)"
    )
    assert syntaxes >= MIN_SYNTAXES_WITH_KEYS
    assert with_keys >= MIN_SYNTAXES_WITH_KEYS
    assert keys >= MIN_KEYS
    assert negatives >= MIN_NEGATIVES
    assert len(types) >= MIN_FILE_TYPES, types


def test_corpus_recall_and_precision(repo: Repo) -> None:
    corpus = build_corpus()
    for path, content in corpus.files.items():
        repo.write(path, content)
    repo.git("add", "-A")
    result = repo.run("scan", "--format", "json")
    assert result.code in (0, 1), result.err
    report = json.loads(result.out)
    per, total, misses = score(corpus, report["findings"])
    summary = table(per, total) + "\n" + "\n".join(misses)
    print("\n" + summary)
    reported = {str(f["masked"])[3:] for f in report["findings"]}
    leaked = [key for key in corpus.planted if key[-4:] in reported and key in result.out]
    assert not leaked, f"reported keys printed in full: {[k[-4:] for k in leaked]}"
    assert all(key not in summary for key in corpus.planted), "the summary printed a key in full"
    assert total.recall >= MIN_RECALL, summary
    assert total.precision >= MIN_PRECISION, summary
