"""Recall and precision on a labelled corpus of about 40 syntaxes.

``tests/corpus/<syntax>/**/*.tmpl`` are templates. Markers are filled at run
time with fresh random values, so no key is ever stored in the repository:

* keys (the labels: every one must be reported): ``{key}`` lower-case hex,
  ``{KEY}`` upper-case hex, ``{MixedKey}`` mixed-case hex, ``{alnum}`` 32
  letters and digits (only used where the context is strong);
* noise (never to be reported): ``{md5}``, ``{hex32}`` (any other 32-hex
  value), ``{uuidhex}``, ``{uuid}``, ``{sha1}``, ``{sha256}``,
  ``{mailchimp}`` (``<hex>-us6``), ``{other32}`` (another service's 32
  letters and digits), ``{b64}`` (base64 of random bytes).

All templates are staged in one repository and scanned once with the
installed command (``scan --format json``). A finding is a true positive
when its path, line and masked key (``***`` + last four characters) name a
planted key; every other finding is a false positive.
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
from pathlib import Path

from tests.conftest import Repo

CORPUS = Path(__file__).parent / "corpus"
SUFFIX = ".tmpl"
CRLF = (".cmd", ".bat", ".ps1")  # Windows scripts are checked in with CRLF line ends
MIN_RECALL = 0.98
MIN_PRECISION = 0.98
_ALNUM = string.ascii_letters + string.digits


def _mixed_case(value: str) -> str:
    return "".join(ch.upper() if secrets.randbits(1) else ch for ch in value)


def _alnum(n: int = 32) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def _digest(name: str) -> Callable[[], str]:
    return lambda: hashlib.new(name, os.urandom(16)).hexdigest()


KEYS: dict[str, Callable[[], str]] = {
    "key": lambda: secrets.token_hex(16),
    "KEY": lambda: secrets.token_hex(16).upper(),
    "MixedKey": lambda: _mixed_case(secrets.token_hex(16)),
    "alnum": _alnum,
}
NOISE: dict[str, Callable[[], str]] = {
    "md5": _digest("md5"),
    "hex32": lambda: secrets.token_hex(16),
    "uuidhex": lambda: uuid.uuid4().hex,
    "uuid": lambda: str(uuid.uuid4()),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "mailchimp": lambda: secrets.token_hex(16) + "-us6",
    "other32": _alnum,
    "b64": lambda: base64.b64encode(os.urandom(48)).decode(),
}
MARKER = re.compile(r"(?<![$#])\{(" + "|".join(map(re.escape, [*KEYS, *NOISE])) + r")\}")


@dataclass
class Corpus:
    files: dict[str, str] = field(default_factory=dict)  # repo path -> content
    syntax: dict[str, str] = field(default_factory=dict)  # repo path -> syntax
    keys: set[tuple[str, int, str]] = field(default_factory=set)  # path, line, masked
    suffixes: set[str] = field(default_factory=set)
    planted: list[str] = field(default_factory=list)  # the key values themselves

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
        for number, line in enumerate(template.split("\n"), start=1):

            def fill(m: re.Match[str], number: int = number) -> str:
                name = m.group(1)
                if name in KEYS:
                    value = self.fresh(KEYS[name])
                    self.keys.add((path, number, "***" + value[-4:]))
                    self.planted.append(value)
                    return value
                return self.fresh(NOISE[name])

            lines.append(MARKER.sub(fill, line))
        self.files[path] = ("\r\n" if path.endswith(CRLF) else "\n").join(lines)
        self.syntax[path] = syntax


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
    misses: list[str] = []
    for f in findings:
        path, line, masked = str(f["path"]), int(str(f["line"])), str(f["masked"])
        label = (path, line, masked)
        target = per[corpus.syntax[path]]
        if label in corpus.keys and label not in hits:
            hits.add(label)
            target.found += 1
        else:
            target.false += 1
            misses.append(f"false positive {path}:{line} {f['rule_id']}: {f['line_masked']}")
    for path, line, masked in sorted(corpus.keys - hits):
        text = corpus.files[path].splitlines()[line - 1].strip()
        misses.append(f"missed {path}:{line} {masked}: {text[:100]}")
    total = Score(
        keys=sum(s.keys for s in per.values()),
        found=sum(s.found for s in per.values()),
        false=sum(s.false for s in per.values()),
    )
    return per, total, misses


def table(per: dict[str, Score], total: Score) -> str:
    rows = [f"{'syntax':<22} {'keys':>5} {'found':>5} {'false':>5} {'recall':>7} {'precision':>9}"]
    for name, s in [*sorted(per.items()), ("TOTAL", total)]:
        rows.append(
            f"{name:<22} {s.keys:>5} {s.found:>5} {s.false:>5} {s.recall:>7.3f} {s.precision:>9.3f}"
        )
    return "\n".join(rows)


def test_corpus_covers_many_syntaxes() -> None:
    corpus = build_corpus()
    with_keys = {corpus.syntax[path] for path, _, _ in corpus.keys}
    assert len(set(corpus.syntax.values())) >= 40
    assert len(with_keys) >= 30
    assert len(corpus.keys) >= 150


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
    assert total.recall >= MIN_RECALL, summary
    assert total.precision >= MIN_PRECISION, summary
