"""The end of a large staged diff parsed by a forked child gives the same
events, in the same order, as one process; a child that fails fails the scan."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from captchaai_guard.detect.candidates import Finder
from captchaai_guard.detect.engine import Engine
from captchaai_guard.errors import GuardError
from captchaai_guard.sources import split_parse
from captchaai_guard.sources.diff import BLOCK_SIZE, AddedLine, Event, FileEnd, parse_stream
from captchaai_guard.sources.prestart import Child, GrowingFile
from tests.conftest import Repo, count_forks, fake_key


def _staged_diff(repo: Repo, files: int = 12) -> Path:
    """A staged diff of many files with a key in each, as git writes it."""
    filler = "".join(f"    value_{i} = compute({i})  # plain code line\n" for i in range(1000))
    for n in range(files):
        repo.stage(f"src/m{n:02d}.py", f'{filler}CAPTCHAAI_API_KEY = "{fake_key()}"\n{filler}')
    out = repo.path.parent / "staged.diff"
    with out.open("wb") as handle:
        subprocess.run(
            ["git", "diff", "--cached", "--no-color", "--unified=0", "--full-index"],
            cwd=repo.path,
            stdout=handle,
            check=True,
        )
    return out


def _finished(path: Path) -> GrowingFile:
    """The file as git leaves it: complete, its writer gone."""
    done = subprocess.Popen(["true"])
    done.wait()
    return GrowingFile(os.open(path, os.O_RDONLY), Child(done.pid, 0))


def _shape(events: list[Event]) -> list[tuple[object, ...]]:
    shaped: list[tuple[object, ...]] = []
    for event in events:
        file = event.file
        fields = (file.path, file.new_blob, file.mentions, file.binary)
        if isinstance(event, AddedLine):
            shaped.append(("line", *fields, event.lineno, event.text))
        else:
            assert isinstance(event, FileEnd)
            shaped.append(("end", *fields))
    return shaped


def test_a_split_parse_gives_the_same_events_in_the_same_order(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _staged_diff(repo)
    options: dict[str, object] = {"finder": Finder(required=Engine().required), "find_mentions": False}
    with path.open("rb") as handle:
        whole = _shape(list(parse_stream(handle, **options)))  # type: ignore[arg-type]
    monkeypatch.setattr(split_parse, "MIN_REST", 0)
    forks = count_forks(monkeypatch)
    stream = _finished(path)
    try:
        parted = _shape(list(split_parse.parse(stream, block_size=1 << 16, **options)))
    finally:
        stream.close()
    assert len(forks) == 1  # the second half came from a child
    assert parted == whole
    assert sum(1 for item in whole if item[0] == "line") == 12
    assert [item[1] for item in whole if item[0] == "end"] == [f"src/m{n:02d}.py" for n in range(12)]


def test_a_child_that_fails_fails_the_scan(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _staged_diff(repo, files=6)

    parent = os.getpid()
    real_records = split_parse._records

    def broken_records(events: object) -> object:
        if os.getpid() != parent:
            raise OSError("the disk went away")
        return real_records(events)  # type: ignore[arg-type]

    monkeypatch.setattr(split_parse, "MIN_REST", 0)
    monkeypatch.setattr(split_parse, "_records", broken_records)
    stream = _finished(path)
    try:
        with pytest.raises(GuardError, match="end of the diff failed"):
            list(split_parse.parse(stream, finder=Finder(required=Engine().required), find_mentions=False))
    finally:
        stream.close()


def test_the_cut_is_the_file_boundary_nearest_the_target(tmp_path: Path) -> None:
    """The child's part starts at a ``diff --git`` line: the one nearest the
    point aimed at, before or after it; none in the rest, no cut."""
    section = b"diff --git a/f b/f\n@@ -0,0 +1 @@\n+" + b"x" * 200 + b"\n"
    data = section * 10  # boundaries at multiples of len(section)
    path = tmp_path / "d.diff"
    path.write_bytes(data)
    size = len(section)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert split_parse._boundary(fd, 3 * size + 10, 0, len(data)) == 3 * size  # just before
        assert split_parse._boundary(fd, 4 * size - 10, 0, len(data)) == 4 * size  # just after
        assert split_parse._boundary(fd, 9 * size + 5, 0, len(data)) == 9 * size
        assert split_parse._boundary(fd, 9 * size + 5, 9 * size, len(data)) is None  # only its own start
    finally:
        os.close(fd)
    far = tmp_path / "far.diff"
    far.write_bytes(b"+" + b"y" * (3 * BLOCK_SIZE) + b"\n" + section)
    fd = os.open(far, os.O_RDONLY)
    try:  # beyond the window around the target: the first one after it
        assert split_parse._boundary(fd, 10, 0, os.path.getsize(far)) == 3 * BLOCK_SIZE + 2
    finally:
        os.close(fd)
