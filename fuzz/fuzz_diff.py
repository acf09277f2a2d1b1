#!/usr/bin/env python3
"""Bounded random-mutation fuzzer for the diff parser and the rule engine.

    python fuzz/fuzz_diff.py --seconds 20 [--seed N]

Mutates seed diffs (byte flips, insertions, deletions, splices of diff
syntax, truncation) and checks, for every input:

- parsing never raises, and reading in blocks of any size gives the same
  events as parsing the whole input at once;
- scanning the diff and the raw bytes as a file never raises;
- every reported secret is a 32-character run present in the input.

Exits 1 with the failing input (hex) on stderr when a check fails, 0 after
the time is up. Stdlib only, so CI needs nothing extra.
"""

from __future__ import annotations

import argparse
import io
import random
import secrets
import sys
import time
import traceback
from pathlib import Path
from typing import TypeGuard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from captchaai_guard.detect.candidates import Finder, candidate_lines
from captchaai_guard.detect.engine import Engine
from captchaai_guard.detect.rules import RULES
from captchaai_guard.scan import scan_content, scan_diff, to_text_bytes
from captchaai_guard.sources.diff import AddedLine, parse_bytes, parse_stream

TOKENS: tuple[bytes, ...] = (
    b"diff --git a/x b/x\n",
    b'diff --git "a/t\\tq" "b/t\\tq"\n',
    b"new file mode 100644\n",
    b"new file mode 120000\n",
    b"new mode 160000\n",
    b"deleted file mode 100644\n",
    b"index 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n",
    b"--- /dev/null\n",
    b"+++ b/x\n",
    b"rename to y\n",
    b"copy from z\n",
    b"Binary files a/x and b/x differ\n",
    b"GIT binary patch\n",
    b"@@ -0,0 +1,3 @@\n",
    b"@@ -10,2 +12 @@ ctx\n",
    b"@@@ -1 -1 +1 @@@\n",
    b"\\ No newline at end of file\n",
    b"\x1fcommit deadbeef\x1eA\x1ea@b\x1e2020-01-01T00:00:00Z\n",
    b"\r\n",
    b"\n",
    b"+",
    b"-",
    b" ",
    b"captchaai",
    b"CAPTCHAAI_API_KEY=",
    b'"key": "',
    b"\xff\xfe",
    b"\x00",
)


def seeds() -> list[bytes]:
    out = []
    for rule in RULES:
        for example in rule.examples:
            line = example.format(key=secrets.token_hex(16)).encode()
            out.append(
                b"diff --git a/app.py b/app.py\nindex 1111111..2222222 100644\n--- a/app.py\n+++ b/app.py\n"
                b"@@ -1,2 +1,3 @@\n # captchaai\n-old\n+" + line + b"\n context\n"
            )
    out.append(
        b"\x1fcommit abc\x1eN\x1ee@x\x1e2024\ndiff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n"
        b"+++ b/l\n@@ -0,0 +1 @@\n+CAPTCHAAI_API_KEY=" + secrets.token_hex(16).encode() + b"\n"
    )
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.randrange(6)
        pos = rng.randint(0, len(buf))
        if choice == 0 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif choice == 2 and buf:
            end = min(len(buf), pos + rng.randint(1, 32))
            del buf[pos:end]
        elif choice == 3 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 64)]
        elif choice == 4:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            del buf[pos:]
    return bytes(buf)


def _with_run(event: object) -> TypeGuard[AddedLine]:
    """An added line with a run of 32 (lines added for the halves of a key
    depend on where CaptchaAI was first named, so on the blocks: left out)."""
    return isinstance(event, AddedLine) and any(True for _ in candidate_lines(event.text))


def check(data: bytes, engine: Engine, rng: random.Random) -> None:
    whole = [(e.file.path, e.lineno, e.text) for e in parse_bytes(data, Finder()) if _with_run(e)]
    block = rng.randint(1, 512)
    streamed = [
        (e.file.path, e.lineno, e.text)
        for e in parse_stream(io.BytesIO(data), block_size=block, finder=Finder())
        if _with_run(e)
    ]
    if whole != streamed:
        raise AssertionError(f"block size {block} changed the parse")
    text = data.decode("utf-8", "replace") + (to_text_bytes(data) or b"").decode("utf-8", "replace")
    for finding in [*scan_diff(engine, io.BytesIO(data)), *scan_content(engine, "x.py", data)]:
        if len(finding.secret) != 32 or not _written(finding.secret, text):
            raise AssertionError("a reported secret is not in the input")


def _written(secret: str, text: str) -> bool:
    """``secret`` is in ``text`` whole, or as two halves (a split key)."""
    return secret in text or any(secret[:cut] in text and secret[cut:] in text for cut in range(8, 25))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    engine = Engine()
    corpus = seeds()
    deadline = time.monotonic() + args.seconds
    runs = 0
    while time.monotonic() < deadline:
        data = mutate(rng.choice(corpus), rng)
        try:
            check(data, engine, rng)
        except Exception:
            traceback.print_exc()
            print(f"fuzz_diff: failure (seed {seed}) on input {data.hex()}", file=sys.stderr)
            return 1
        if len(corpus) < 500 and rng.random() < 0.05:
            corpus.append(data)
        runs += 1
    print(f"fuzz_diff: {runs} inputs in {args.seconds:g}s, no failure (seed {seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
