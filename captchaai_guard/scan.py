"""Scan drivers: sources in, findings out.

Each driver reads one kind of source (the staged diff, a commit range, a
unified diff on stdin, whole files), runs the diff parser and the engine,
and yields :class:`~captchaai_guard.findings.Finding` objects. Usable as a
library::

    from captchaai_guard.scan import scan_staged
    findings = list(scan_staged(Path(".")))
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Collection, Iterable, Iterator

from captchaai_guard import early, gitio, split
from captchaai_guard.candidates import candidate_lines
from captchaai_guard.diff import AddedLine, DiffFile, FileEnd
from captchaai_guard.engine import Engine, Match, mentions_captchaai
from captchaai_guard.errors import GuardError
from captchaai_guard.gitargs import COMMIT_MARK

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:  # a clean scan never needs these at run time
    from pathlib import Path
    from typing import IO

    from captchaai_guard.findings import Commit, Finding

PathFilter = Callable[[str], bool]
Progress = Callable[[int], None]
BlobSource = Callable[[str], bytes]
_SNIFF = 8000


def decode_line(raw: bytes) -> str:
    """Bytes of one line to text; undecodable bytes never hide a key."""
    return raw.decode("utf-8", "replace")


def to_text_bytes(data: bytes) -> bytes | None:
    """Normalise file content to UTF-8 bytes, or None when it is binary.

    UTF-16 and UTF-32 with a byte-order mark are text; NUL bytes in the first
    8000 bytes (git's own test) mean binary.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, "replace").encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\0" in data[:_SNIFF]:
        return None
    return data


def _line_for(match: Match, matches: list[Match], text: str) -> str:
    """The line as one finding keeps it: every *other* key on it is already
    masked, so no report shows a second key of the same line in full."""
    from captchaai_guard.findings import mask

    for other in matches:
        if other.secret != match.secret:
            text = text.replace(other.secret, mask(other.secret))
    return text


def _finding(match: Match, path: str, lineno: int, text: str, commit: Commit | None) -> Finding:
    from captchaai_guard.findings import Finding

    rule = match.rule
    return Finding(
        rule_id=rule.id,
        description=rule.description,
        path=path,
        line=lineno,
        column=match.column,
        secret=match.secret,
        line_text=text,
        commit=commit,
        remediation=rule.remediation,
    )


def scan_content(
    engine: Engine,
    path: str,
    data: bytes,
    *,
    commit: Commit | None = None,
    skip_lines: Collection[bytes] = (),
) -> Iterator[Finding]:
    """Scan the whole content of one file (all of it counts as added).

    Lines whose bytes are in ``skip_lines`` are not reported (used to judge
    only the new lines of a file git calls binary).
    """
    text = to_text_bytes(data)
    if text is None:
        return
    file_context: bool | None = None
    lineno, cursor = 1, 0
    for start, end in candidate_lines(
        text, keywords=engine.keywords, every_line=engine.every_line, required=engine.required
    ):
        lineno += text.count(b"\n", cursor, start)
        cursor = start
        raw = text[start:end].rstrip(b"\r")
        if raw in skip_lines:
            continue
        line = decode_line(raw)
        matches = engine.match_line(path, line)
        for match in matches:
            if match.needs_file_context:
                if file_context is None:
                    file_context = mentions_captchaai(decode_line(text))
                if not file_context:
                    continue
            yield _finding(match, path, lineno, _line_for(match, matches, line), commit)


def _lines(data: bytes) -> set[bytes]:
    text = to_text_bytes(data)
    return set() if text is None else {line.rstrip(b"\r") for line in text.split(b"\n")}


def scan_diff(
    engine: Engine,
    stream: IO[bytes],
    *,
    blobs: BlobSource | None = None,
    include: PathFilter | None = None,
    strip_color: bool = False,
) -> Iterator[Finding]:
    """Scan the added lines of a unified diff read from ``stream``.

    ``blobs`` reads a blob by sha: it settles file-level context and lets
    files git calls binary be checked for text it could not show (UTF-16,
    ``-diff`` attributes). ``include`` limits the scan to some paths.
    ``strip_color`` accepts a diff printed with colour (``--stdin``).
    """
    events = split.parse(stream, **_parse_options(engine, blobs, strip_color))
    return scan_events(engine, events, blobs=blobs, include=include)


def _parse_options(engine: Engine, blobs: BlobSource | None, strip_color: bool = False) -> dict[str, object]:
    """What the diff parser needs to know of ``engine`` (see :func:`diff.parse_stream`)."""
    return {
        "keywords": engine.keywords,
        "every_line": engine.every_line,
        "required": engine.required,
        "strip_color": strip_color,
        "find_mentions": blobs is None,  # else _has_context reads the file when a finding needs it
    }


def scan_events(
    engine: Engine,
    events: Iterable[AddedLine | FileEnd],
    *,
    blobs: BlobSource | None = None,
    include: PathFilter | None = None,
) -> Iterator[Finding]:
    """Findings in the events of a diff (see :mod:`captchaai_guard.diff`)."""
    pending: list[Finding] = []
    for event in events:
        if isinstance(event, AddedLine):
            file = event.file
            if file.link or (include is not None and not include(file.path)):
                continue
            line = decode_line(event.text)
            matches = engine.match_line(file.path, line)
            for match in matches:
                text = _line_for(match, matches, line)
                finding = _finding(match, file.path, event.lineno, text, file.commit)
                if match.needs_file_context and not file.mentions:
                    pending.append(finding)
                else:
                    yield finding
        elif isinstance(event, FileEnd):
            file = event.file
            if file.link or (include is not None and not include(file.path)):
                pending = []
                continue
            if pending:
                if _has_context(file, blobs):
                    yield from pending
                pending = []
            # (a merge's binary file: its parents' commits were checked)
            if file.binary and blobs is not None and file.new_blob and not file.deleted and not file.combined:
                old = _lines(blobs(file.old_blob)) if file.old_blob else set()
                yield from scan_content(
                    engine, file.path, blobs(file.new_blob), commit=file.commit, skip_lines=old
                )


def _has_context(file: DiffFile, blobs: BlobSource | None) -> bool:
    if file.mentions:
        return True
    if blobs is None or not file.new_blob:
        return False
    return mentions_captchaai(decode_line(blobs(file.new_blob)))


def _run_stream(
    engine: Engine,
    stream: gitio.GitStream | gitio.ChainedStream,
    root: str | Path,
    include: PathFilter | None,
    whole: bool = False,
) -> Iterator[Finding]:
    """Findings in git's diff ``stream``; with ``whole`` (the staged diff),
    its added and edited files may be read from the work tree instead (see
    :mod:`captchaai_guard.whole`)."""
    blobs = gitio.BlobReader(root)
    completed = taken = False
    for task in engine.warm_up():
        early.when_idle(task)
    try:
        options = _parse_options(engine, blobs.read)
        events = None
        if whole and isinstance(stream, gitio.GitStream):
            from captchaai_guard import whole as added_files

            events = added_files.events(str(root), stream, include, options)
            taken = events is not None  # (git's diff was stopped)
        if events is None:
            events = split.parse(stream.stdout, **options)
        yield from scan_events(engine, events, blobs=blobs.read, include=include)
        completed = True
    finally:
        if completed and not taken:
            stream.finish()
        elif not taken:
            stream.kill()
        blobs.close()
        early.forget_idle()  # (a library may scan again and again)


def scan_staged(
    root: str | Path, engine: Engine | None = None, include: PathFilter | None = None
) -> Iterator[Finding]:
    """Findings in the added lines of what will be committed (the index)."""
    return _run_stream(engine or Engine(), gitio.staged_diff(root), root, include, whole=True)


class CommitCounter:
    """Wraps the ``git log`` stream and reports how many commits were read.

    Counting the commit marker with ``bytes.count`` keeps it off the per-line
    path; a marker split between two reads is counted once.
    """

    MARK = b"\n" + COMMIT_MARK.encode()

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self.raw = raw
        self.progress = progress
        self.seen = 0
        self.tail = b"\n"  # the stream starts at a line start

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            window = self.tail + data
            found = window.count(self.MARK) - self.tail.count(self.MARK)
            self.tail = window[-len(self.MARK) :]
            if found:
                self.seen += found
                self.progress(self.seen)
        return data

    def close(self) -> None:
        self.raw.close()


def scan_commits(
    root: str | Path,
    revisions: Iterable[str],
    engine: Engine | None = None,
    progress: Progress | None = None,
    include: PathFilter | None = None,
) -> Iterator[Finding]:
    """Findings in the added lines of every commit of ``revisions``, one
    commit at a time. ``progress(n)`` is called as commits are read."""
    stream = gitio.log_diff(root, list(revisions))
    if progress is not None:
        stream.stdout = gitio.as_stream(CommitCounter(stream.stdout, progress))
    return _run_stream(engine or Engine(), stream, root, include)


def scan_files(
    paths: Iterable[Path],
    root: Path,
    engine: Engine | None = None,
    include: PathFilter | None = None,
) -> Iterator[Finding]:
    """Findings in the whole content of files (paths reported relative to ``root``)."""
    engine = engine or Engine()
    for path in paths:
        try:
            name = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = path.as_posix()
        if include is not None and not include(name):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GuardError(f"cannot read {path}: {exc.strerror or exc}") from None
        yield from scan_content(engine, name, data)
