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

from captchaai_guard.detect.decide import FileText
from captchaai_guard.detect.engine import Engine, mentions_captchaai
from captchaai_guard.detect.judge import Judge
from captchaai_guard.errors import GuardError
from captchaai_guard.sources import gitio, prestart, split_parse
from captchaai_guard.sources.diff import AddedLine, DiffFile, DiffLines, FileEnd, parse_stream
from captchaai_guard.sources.gitargs import COMMIT_MARK

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:  # a clean scan never needs these at run time
    from pathlib import Path
    from typing import IO

    from captchaai_guard.config.project import PathFilter
    from captchaai_guard.detect.judge import ReadText
    from captchaai_guard.findings import Commit, Finding
    from captchaai_guard.sources.diff import Event

Explain = list[dict[str, object]]  # one record per candidate (see judge.Judge)
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


def scan_content(
    engine: Engine,
    path: str,
    data: bytes,
    *,
    commit: Commit | None = None,
    skip_lines: Collection[bytes] = (),
    judge: Judge | None = None,
) -> Iterator[Finding]:
    """Scan the whole content of one file (all of it counts as added).

    Lines whose bytes are in ``skip_lines`` are not reported (used to judge
    only the new lines of a file git calls binary). A binary file is read
    for keys beside a CaptchaAI key name in its printable runs. ``judge``
    carries what the scan knows across files (see :mod:`captchaai_guard.detect.judge`).
    """
    own = judge is None
    if judge is None:
        judge = Judge(engine)
    text = to_text_bytes(data)
    if text is None:
        yield from judge.file_end(path, commit, None, binary=data)
    else:
        lineno, cursor = 1, 0
        for start, end in engine.finder()(text):
            lineno += text.count(b"\n", cursor, start)
            cursor = start
            raw = text[start:end].rstrip(b"\r")
            if raw in skip_lines:
                continue
            yield from judge.line(path, lineno, decode_line(raw), commit)
        old = {decode_line(line) for line in skip_lines} if skip_lines else None
        yield from judge.file_end(
            path,
            commit,
            lambda: FileText.of(path, decode_line(text)),
            mentions=mentions_captchaai(decode_line(text)) if old is None else False,
            old_lines=(lambda: old) if old is not None else None,
            whole=True,
        )
    if own:
        yield from judge.finish()


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
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Scan the added lines of a unified diff read from ``stream``.

    ``blobs`` reads a blob by sha: it gives the lines around a candidate
    and settles file-level context, and lets files git calls binary be
    checked for text it could not show (UTF-16, ``-diff`` attributes).
    Without it (a diff on standard input) the diff is read whole first:
    its own lines (added and context) are what the scan knows of a file.
    ``include`` limits the scan to some paths. ``strip_color`` accepts a
    diff printed with colour (``--stdin``).
    """
    sections = None
    if blobs is None:
        import io

        data = stream.read()
        sections = DiffLines(data)
        stream = io.BytesIO(data)
    events = parse_stream(stream, **_parse_options(engine, blobs, strip_color))  # type: ignore[arg-type]
    return scan_events(engine, events, blobs=blobs, include=include, sections=sections, explain=explain)


def _parse_options(engine: Engine, blobs: BlobSource | None, strip_color: bool = False) -> dict[str, object]:
    """What the diff parser needs to know of ``engine`` (see :func:`diff.parse_stream`)."""
    return {
        "finder": engine.finder(),
        "strip_color": strip_color,
        "find_mentions": True,
    }


def scan_events(
    engine: Engine,
    events: Iterable[AddedLine | FileEnd],
    *,
    blobs: BlobSource | None = None,
    include: PathFilter | None = None,
    sections: DiffLines | None = None,
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Findings in the events of a diff (see :mod:`captchaai_guard.sources.diff`).
    ``sections`` (a diff read whole) stands in for ``blobs`` as what is
    known of a file's lines. ``explain`` collects a record per candidate
    (see :class:`~captchaai_guard.detect.judge.Judge`)."""
    judge = Judge(engine, explain)
    for event in events:
        if isinstance(event, AddedLine):
            file = event.file
            if file.link or (include is not None and not include(file.path)):
                continue
            yield from judge.line(file.path, event.lineno, decode_line(event.text), file.commit)
        elif isinstance(event, FileEnd):
            file = event.file
            if file.link or (include is not None and not include(file.path)):
                judge.forget(file.path, file.commit)
                continue
            # (a merge's binary file: its parents' commits were checked)
            if file.binary and blobs is not None and file.new_blob and not file.deleted and not file.combined:
                old = _lines(blobs(file.old_blob)) if file.old_blob else set()
                yield from scan_content(
                    engine, file.path, blobs(file.new_blob), commit=file.commit, skip_lines=old, judge=judge
                )
                continue
            yield from judge.file_end(
                file.path,
                file.commit,
                _reader(file, blobs, sections),
                mentions=file.mentions,
                old_lines=_old_lines(file, blobs),
            )
    yield from judge.finish()


def _reader(file: DiffFile, blobs: BlobSource | None, sections: DiffLines | None) -> ReadText | None:
    """How to read what the scan knows of ``file``'s new content."""
    if blobs is not None:
        if not file.new_blob or file.deleted:
            return None
        sha = file.new_blob
        return lambda: FileText.of(file.path, decode_line(to_text_bytes(blobs(sha)) or b""), file.mentions)
    if sections is not None:
        return lambda: FileText.shown(file.path, sections.lines(file.path), file.mentions)
    return None


def _old_lines(file: DiffFile, blobs: BlobSource | None) -> Callable[[], set[str]] | None:
    """The lines ``file`` had before (None: all its lines are new)."""
    if blobs is None or not file.old_blob:
        return None
    sha = file.old_blob
    return lambda: {decode_line(line) for line in _lines(blobs(sha))}


def _run_stream(
    engine: Engine,
    stream: gitio.GitStream | gitio.ChainedStream,
    root: str | Path,
    include: PathFilter | None,
    whole: bool = False,
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Findings in git's diff ``stream``; with ``whole`` (the staged diff),
    its added and edited files may be read from the work tree instead (see
    :mod:`captchaai_guard.sources.added_files`)."""
    blobs = gitio.BlobReader(root)
    completed = taken = False
    for task in engine.warm_up():
        prestart.when_idle(task)
    try:
        options = _parse_options(engine, blobs.read)
        events, taken = _route(stream, str(root), include, options, whole)
        yield from scan_events(engine, events, blobs=blobs.read, include=include, explain=explain)
        completed = True
    finally:
        if completed and not taken:
            stream.finish()
        elif not taken:
            stream.kill()
        blobs.close()
        prestart.forget_idle()  # (a library may scan again and again)


def _route(
    stream: gitio.GitStream | gitio.ChainedStream,
    root: str,
    include: PathFilter | None,
    options: dict[str, object],
    staged: bool,
) -> tuple[Iterator[Event], bool]:
    """The events of git's diff ``stream``, and whether git's diff was
    stopped because they are read another way.

    Which path a scan takes is decided here and nowhere else. A staged diff
    that git is still writing past a megabyte
    (:data:`~captchaai_guard.sources.added_files.WHOLE_MIN`) is read from the
    work tree: its added files, and its edited files when few of them hold
    a candidate line, are hashed against the staged blobs and their lines
    taken from there, and git diffs only the paths that need it
    (:mod:`~captchaai_guard.sources.added_files`); that spares git inflating
    and printing every blob, most of what a large staged diff costs. Every
    other diff (a small staged diff, renames or copies, a commit log, a diff
    on standard input) is parsed as git writes it
    (:mod:`~captchaai_guard.sources.diff`), and when git writes it into a
    file (not a pipe) and a second CPU can take a forked child, the part
    still unparsed when git exits is cut in two
    (:mod:`~captchaai_guard.sources.split_parse`). Before any of this, the
    commit hook settles a commit that adds no candidate line without
    loading this module (:func:`captchaai_guard.commands.hook.clean_quickly`).
    """
    reader = stream.reader if isinstance(stream, gitio.GitStream) else None
    if isinstance(reader, prestart.GrowingFile) and reader.fd is not None:
        if staged:
            from captchaai_guard.sources import added_files

            if added_files.still_writing(reader):
                events = added_files.staged(root, include, options, added_files.WHOLE_MIN)
                if events is not None:
                    stream.kill()  # its diff is read another way
                    return events, True
        if prestart.can_fork():
            return split_parse.parse(reader, **options), False
    return parse_stream(stream.stdout, **options), False  # type: ignore[arg-type]


def scan_staged(
    root: str | Path,
    engine: Engine | None = None,
    include: PathFilter | None = None,
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Findings in the added lines of what will be committed (the index)."""
    return _run_stream(engine or Engine(), gitio.staged_diff(root), root, include, True, explain)


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
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Findings in the added lines of every commit of ``revisions``, one
    commit at a time. ``progress(n)`` is called as commits are read."""
    stream = gitio.log_diff(root, list(revisions))
    if progress is not None:
        stream.stdout = gitio.as_stream(CommitCounter(stream.stdout, progress))
    return _run_stream(engine or Engine(), stream, root, include, explain=explain)


def scan_files(
    paths: Iterable[Path],
    root: Path,
    engine: Engine | None = None,
    include: PathFilter | None = None,
    explain: Explain | None = None,
) -> Iterator[Finding]:
    """Findings in the whole content of files (paths reported relative to ``root``)."""
    engine = engine or Engine()
    judge = Judge(engine, explain)
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
        yield from scan_content(engine, name, data, judge=judge)
    yield from judge.finish()
