"""The added files of a large staged diff, read from the work tree.

For a file the index adds (``git diff --cached`` status ``A``) every line of
the staged content is an added line: the diff git prints is the file, line
by line. When the work tree holds the same bytes (hashed here as git names
a blob, and compared with the staged blob's name), reading the file spares
git inflating the blob and printing it, most of what a large staged diff
costs, and the lines need no diff parsing. The events are the ones the diff
parser would yield for that diff (the same candidate lines, line numbers,
binary verdicts and file order), so the scan cannot tell the two apart:

* git's binary verdict is followed: the ``diff`` attribute first (unset:
  binary, set: text), then ``core.bigFileThreshold``, then a NUL byte in
  the first 8,000 bytes; a file with a diff driver is left to git;
* git is asked (with the same flags, for those paths only) for everything
  else: changes that are not plain additions, symbolic links, files that
  cannot be read and files whose bytes are not the staged blob's (edited
  after ``git add``, or changed by a filter or line-ending rule on the way
  in); a diff with renames or copies is left to git whole;
* where ``os.fork`` exists and there are two CPUs, a child reads the second
  half of the bytes while this process reads the first.

An edited regular file (status ``M``) adds no finding when its staged bytes
hold no candidate line: its changed lines are among them, and git showing
it as binary would scan the same bytes (only a UTF-16 file reads
differently, and is left to git). Where few edited files hold one (judged
on the first :data:`SAMPLE` bytes of them), they are read like the added
files and git diffs only the others; where most do, git's diff is needed
anyway and they go to it at once.

Used only while git is still writing a diff past :data:`WHOLE_MIN`: below
that, the three small git calls this takes cost more than they save.
"""

from __future__ import annotations

import os
import stat

from captchaai_guard.sources import prestart
from captchaai_guard.sources.diff import HALVES_MAX, AddedLine, DiffFile, FileEnd, parse_stream, split_lines
from captchaai_guard.sources.gitargs import DIFF_FLAGS, git_argv, git_env

TYPE_CHECKING = False  # typing is not imported at run time on the scan path
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence
    from hashlib import _Hash as Hash

    from captchaai_guard.sources.diff import Event, LineFinder

WHOLE_MIN = 1 << 20
READ_SIZE = 1 << 20
SNIFF = 8000  # git's binary test looks for a NUL byte in this many first bytes
BIG_FILE_THRESHOLD = 512 << 20  # git's default core.bigFileThreshold
ARGS_BYTES = 1 << 17  # of paths on one git command line
# This process also runs the rules on its files' candidate lines, parses
# git's part and writes the report: the child's share of the bytes is larger
# by this much (by a quarter of them at most).
HEAD_START = 2 << 20
LISTING = (
    "diff",
    "--cached",
    "--raw",
    "-z",
    "--no-abbrev",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--diff-filter=d",
    "--no-relative",
)
# git's part: the staged diff's own flags, for some paths. Renames are not
# looked for: a diff with any is never split (see _changes), and without
# them a path's section is the same whatever other paths are asked for.
REST = ("diff", "--cached", *(flag for flag in DIFF_FLAGS if flag != "--find-renames"), "--no-renames")
THRESHOLD = ("config", "--type=int", f"--default={BIG_FILE_THRESHOLD}", "--get", "core.bigFileThreshold")
_REGULAR = (b"100644", b"100755")
# A link or a FIFO put in the file's place since it was listed is not followed or waited on.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

# What reading a file found: (its bytes are the staged blob's, a NUL byte in
# the first SNIFF bytes, its size, its candidate lines as (line number, text),
# it starts with a UTF-16 byte-order mark, it names CaptchaAI).
Read = tuple[bool, bool, int, list[tuple[int, bytes]], bool, bool]
_UNREAD: Read = (False, False, 0, [], False, False)
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
# Edited files are read to spare git their diff only where few of them hold
# a candidate line: judged on the first this many bytes of them.
SAMPLE = 1 << 20


class Change:
    """One path of the staged diff: ``whole`` when it is read here;
    ``edited`` for a regular file the index changes (see :meth:`_Whole.sparse`)."""

    __slots__ = ("blob", "edited", "name", "path", "size", "whole")

    def __init__(
        self, name: str, path: bytes, blob: str, whole: bool, size: int, edited: bool = False
    ) -> None:
        self.name = name  # as the diff parser names it
        self.path = path  # as git printed it, relative to the top of the work tree
        self.blob = blob  # the staged blob
        self.whole = whole
        self.size = size  # in the work tree, when whole or edited
        self.edited = edited


def staged(
    root: str, include: Callable[[str], bool] | None, options: dict[str, object], least: int = 0
) -> Iterator[Event] | None:
    """The events of the staged diff with its added files read here (see
    :meth:`_Whole.events`), when they hold ``least`` bytes or more; None when they
    do not, when the diff has renames or copies, or when git cannot list it."""
    listing = _spawn(root, LISTING)
    if listing is None:
        return None
    import hashlib  # (while git lists the paths)

    out = prestart.collect(*listing)
    changes = None if out is None else _changes(root, out, include)
    if changes is None or not any(change.whole or change.edited for change in changes):
        return None
    reader = _Whole(root, changes, options, hashlib.new)
    if any(change.edited for change in changes) and reader.sparse():
        for change in changes:
            change.whole = change.whole or change.edited
    if sum(change.size for change in changes if change.whole) < least:
        return None  # (edits with candidate lines everywhere need git's diff anyway)
    return reader.events()


def still_writing(reader: prestart.GrowingFile) -> bool:
    """True once git has written more than :data:`WHOLE_MIN` and is still at it."""
    from time import sleep

    assert reader.fd is not None
    while reader.proc.poll() is None:
        if os.fstat(reader.fd).st_size > WHOLE_MIN:
            return True
        sleep(0.0002)
    return False


def _changes(root: str, out: bytes, include: Callable[[str], bool] | None) -> list[Change] | None:
    """The paths of the staged diff listed in ``out`` (``git diff --raw -z``),
    in its order; None when it has renames or copies."""
    top = os.fsencode(root)
    fields = out.split(b"\0")
    changes = []
    at = 0
    while at + 1 < len(fields) and fields[at]:
        meta = fields[at].split(b" ")  # :old-mode new-mode old-blob new-blob status
        if len(meta) != 5 or meta[4][:1] in (b"R", b"C"):
            return None
        path = fields[at + 1]
        at += 2
        name = path.decode("utf-8", "surrogateescape")
        if include is not None and not include(name):
            continue  # the scan reports nothing there
        whole = edited = False
        size = 0
        added = meta[4] == b"A"
        if meta[1] in _REGULAR and (added or (meta[4] == b"M" and meta[0][1:] in _REGULAR)):
            try:
                info = os.lstat(os.path.join(top, path))
            except OSError:
                info = None
            if info is not None and stat.S_ISREG(info.st_mode):
                whole, edited, size = added, not added, info.st_size
        changes.append(Change(name, path, meta[3].decode("ascii"), whole, size, edited))
    return changes


def _spawn(root: str, args: Sequence[str]) -> tuple[int, int] | None:
    argv = git_argv(args)
    return prestart.spawn([argv[0], "-C", root, *argv[1:]], git_env(), None)


def _argument_lists(paths: Sequence[bytes], prefix: bytes = b"") -> list[list[str]]:
    """``paths`` (each after ``prefix``) in lists short enough for one command line."""
    lists: list[list[str]] = []
    size = ARGS_BYTES
    for path in paths:
        if size + len(path) > ARGS_BYTES:
            lists.append([])
            size = 0
        lists[-1].append(os.fsdecode(prefix + path))
        size += len(prefix) + len(path) + 1
    return lists


class _Whole:
    """Reads the added and edited files (see the module's docstring) and
    yields the diff's events, in git's order."""

    def __init__(
        self, root: str, changes: list[Change], options: dict[str, object], new_hash: Callable[..., Hash]
    ) -> None:
        self.root = root
        self.top = os.fsencode(root)
        self.changes = changes
        self.options = options
        self.new_hash = new_hash
        self.finder: LineFinder = options["finder"]  # type: ignore[assignment]
        self.found: dict[int, Read] = {}  # what reading each file found
        self.verdicts: dict[int, str] = {}  # how git would show each (see _verdict)
        self.rest: dict[str, list[Event]] = {}  # git's events, by path

    def events(self) -> Iterator[Event]:
        whole = [index for index, change in enumerate(self.changes) if change.whole]
        mine, theirs = self._share([index for index in whole if index not in self.found])
        later = set(theirs)
        paths = [self.changes[index].path for index in whole if not self.changes[index].edited]
        checks = [
            _spawn(self.root, ["check-attr", "-z", "diff", "--", *names]) for names in _argument_lists(paths)
        ]
        threshold = _spawn(self.root, THRESHOLD)
        child = prestart.Forked(lambda: [self._read(index) for index in theirs]) if theirs else None
        try:
            self.rest = self._git_part([change.path for change in self.changes if not change.whole])
            self.found.update((index, self._read(index)) for index in mine)
            attributes, limit = _attributes(checks), _threshold(threshold)
            for index in whole:
                if index not in later:
                    self.verdicts[index] = self._judge(index, attributes, limit)
            # This process's files come first: their events are checked
            # while the child reads on.
            done = yield from self._emit(0)
            if child is not None:
                self.found.update(zip(theirs, child.result("the added files")))  # type: ignore[call-overload]
        finally:
            if child is not None:
                child.abandon()
        for index in theirs:
            self.verdicts[index] = self._judge(index, attributes, limit)
        late = [
            self.changes[index].path for index in whole if index >= done and self.verdicts[index] == "git"
        ]
        self.rest.update(self._git_part(late))
        yield from self._emit(done, until_unknown=False)

    def _emit(self, start: int, until_unknown: bool = True) -> Generator[Event, None, int]:
        """Yield the events of the files from ``changes[start]`` on, in
        order; with ``until_unknown``, stop before the first one whose events
        are not known yet (read by the child, or left to git late); return
        where it stopped."""
        for index in range(start, len(self.changes)):
            change = self.changes[index]
            verdict = self.verdicts.get(index, "git" if not change.whole else "")
            if until_unknown and (not verdict or (verdict == "git" and change.whole)):
                return index
            if verdict == "git":
                yield from self.rest.get(change.name, ())
                continue
            if verdict == "nothing":
                continue
            file = DiffFile(change.name, change.name)
            file.new_blob = change.blob
            file.mentions = self.found[index][5] if index in self.found else False
            file.shown = change.size
            if verdict == "binary":
                file.binary = True
            else:
                for lineno, text in self.found[index][3]:
                    yield AddedLine(file, lineno, text)
            yield FileEnd(file)
        return len(self.changes)

    def sparse(self) -> bool:
        """Read the first :data:`SAMPLE` bytes of edited files: True when
        fewer than half of them hold a candidate line (or need git for
        another reason), so that reading the others is worth it."""
        needed = sampled = seen = 0
        for index, change in enumerate(self.changes):
            if not change.edited:
                continue
            if seen >= SAMPLE:
                break
            self.found[index] = found = self._read(index)
            needed += not _unchanged_by_keys(found)
            sampled += 1
            seen += change.size
        return 2 * needed < sampled

    def _judge(self, index: int, attributes: dict[bytes, bytes], limit: int | None) -> str:
        """The verdict on a file read here (``nothing``: an edited file that
        adds no candidate line)."""
        change, found = self.changes[index], self.found[index]
        if change.edited:
            return "nothing" if _unchanged_by_keys(found) else "git"
        return _verdict(found, attributes.get(change.path), limit)

    def _share(self, whole: list[int]) -> tuple[list[int], list[int]]:
        """The files this process reads, and the child's (the later ones)."""
        total = sum(self.changes[i].size for i in whole)
        if not prestart.can_fork() or total < 2 * WHOLE_MIN:
            return whole, []
        goal, done = (total - min(HEAD_START, total // 4)) // 2, 0
        for at, index in enumerate(whole):
            if done >= goal:
                return whole[:at], whole[at:]
            done += self.changes[index].size
        return whole, []

    def _git_part(self, paths: Sequence[bytes]) -> dict[str, list[Event]]:
        """git's staged diff of ``paths``, parsed, by path."""
        from captchaai_guard.sources.gitio import GitStream

        by_path: dict[str, list[Event]] = {}
        for names in _argument_lists(paths, b":(literal)"):
            stream = GitStream([*REST, "--", *names], cwd=self.root, to_file=True)
            completed = False
            try:
                for event in parse_stream(stream.stdout, **self.options):  # type: ignore[arg-type]
                    by_path.setdefault(event.file.path, []).append(event)
                completed = True
            finally:
                if completed:
                    stream.finish()
                else:
                    stream.kill()
        return by_path

    def _read(self, index: int) -> Read:
        """Read the file of ``changes[index]``: see :data:`Read`."""
        change = self.changes[index]
        algorithm = {40: "sha1", 64: "sha256"}.get(len(change.blob))
        if algorithm is None:
            return _UNREAD
        try:
            fd = os.open(os.path.join(self.top, change.path), _OPEN_FLAGS)
        except OSError:
            return _UNREAD
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return _UNREAD
            size = info.st_size
            digest = self.new_hash(algorithm, b"blob %d\0" % size)
            lines = _Lines(self.finder)
            seen, head, rest = 0, b"", b""
            while data := os.read(fd, READ_SIZE):
                seen += len(data)
                digest.update(data)
                if len(head) < SNIFF:
                    head += data[: SNIFF - len(head)]
                if b"\0" in head:
                    rest = b""
                    continue  # (hashed all the same)
                start = 0
                if rest:  # the line the previous read cut, completed on its own
                    start = data.find(b"\n") + 1
                    if start == 0:
                        rest += data
                        continue
                    piece = rest + data[:start]
                    lines.feed(piece, 0, len(piece))
                cut = data.rfind(b"\n") + 1
                if cut > start:
                    lines.feed(data, start, cut)
                rest = data[max(cut, start) :]
            if rest:
                lines.feed(rest, 0, len(rest))
            same = seen == size and digest.hexdigest() == change.blob
            return same, b"\0" in head, size, lines.found, head.startswith(_UTF16), lines.mentions
        except OSError:
            return _UNREAD
        finally:
            os.close(fd)


def names_captchaai(buf: bytes, start: int, end: int) -> bool:
    """``buf[start:end]`` names CaptchaAI (``captchaai``, ``CaptchaAI``,
    ``CAPTCHA_AI``, ``captcha-ai``): a few searches in C, no copy."""
    for word in (b"aptcha", b"APTCHA"):
        pos = buf.find(word, start, end)
        while pos != -1:
            tail = buf[pos + 6 : pos + 9].lower()
            named = tail[:2] == b"ai" or tail in (b"_ai", b"-ai")
            if named and not buf[max(pos - 4, 0) : pos - 1].lower().endswith((b"no", b"no_", b"no-")):
                return True  # (noCaptchaAI is another service)
            pos = buf.find(word, pos + 6, end)
    return False


class _Lines:
    """The candidate lines of one file, fed in whole-line pieces, with their
    line numbers; lines are counted only up to the last candidate."""

    __slots__ = ("finder", "found", "lineno", "mentions", "seen", "tail")

    def __init__(self, finder: LineFinder) -> None:
        self.finder = finder
        self.found: list[tuple[int, bytes]] = []
        self.mentions = False  # CaptchaAI named (as the diff parser's DiffFile.mentions)
        self.seen = 0  # bytes fed
        self.lineno = 1  # of the line at the start of ``tail``
        self.tail: tuple[bytes, int, int] | None = None  # lines not counted yet

    def feed(self, buf: bytes, start: int, end: int) -> None:
        cursor = start
        lines = list(self.finder(buf, start, end))
        if not self.mentions:
            # A line holding a key names CaptchaAI more often than not: the
            # candidate lines are searched first, the whole piece only when
            # none of them does.
            named = bool(lines) and any(names_captchaai(buf, s, e) for s, e in lines)
            self.mentions = named or names_captchaai(buf, start, end)
        self.seen += end - start
        if self.mentions and self.seen <= HALVES_MAX:  # (as the diff parser: the lines holding halves too)
            lines = sorted({*lines, *split_lines(buf, start, end)})
        for line_start, line_end in lines:
            if self.tail is not None:
                self._count_tail()
            self.lineno += buf.count(b"\n", cursor, line_start)
            cursor = line_start
            self.found.append((self.lineno, buf[line_start:line_end].rstrip(b"\r")))
        if self.tail is not None:  # (at most one piece is kept)
            self._count_tail()
        self.tail = (buf, cursor, end)

    def _count_tail(self) -> None:
        assert self.tail is not None
        buf, start, end = self.tail
        self.lineno += buf.count(b"\n", start, end)
        self.tail = None


def _attributes(started: list[tuple[int, int] | None]) -> dict[bytes, bytes]:
    """The ``diff`` attribute of each path ``git check-attr`` was asked
    about (a path it could not answer for is missing: git decides it)."""
    values: dict[bytes, bytes] = {}
    for one in started:
        out = None if one is None else prestart.collect(*one)
        if out is None:
            continue
        fields = out.split(b"\0")  # path, attribute, value, ...
        for at in range(0, len(fields) - 2, 3):
            values[fields[at]] = fields[at + 2]
    return values


def _threshold(started: tuple[int, int] | None) -> int | None:
    """``core.bigFileThreshold`` (None: unknown, git decides every file)."""
    out = None if started is None else prestart.collect(*started)
    try:
        return None if out is None else int(out)
    except ValueError:
        return None


def _unchanged_by_keys(found: Read) -> bool:
    """True when an edited file read here cannot add a finding: its staged
    bytes hold no candidate line, and however git shows it (its changed
    lines, or as binary: the whole new content, where only a UTF-16 file
    reads differently) none would be one; nor two quoted halves of one (it
    does not name CaptchaAI)."""
    same, nul, _, lines, wide, mentions = found
    return same and not nul and not wide and not lines and not mentions


def _verdict(found: Read, attribute: bytes | None, limit: int | None) -> str:
    """How git shows a file read here: ``text`` (its lines are added lines),
    ``binary``, or ``git`` (git is asked)."""
    same, nul, size, _, _, _ = found
    if not same or attribute is None or limit is None:
        return "git"
    if attribute == b"unset":
        return "binary"
    if attribute == b"set":
        return "git" if nul else "text"  # (its lines were not looked at)
    if attribute != b"unspecified":
        return "git"  # a diff driver: its configuration may call it binary
    return "binary" if nul or size > limit else "text"
