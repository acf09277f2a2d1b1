"""Writing a report: to standard output or a file, every byte or a clear error.

No click here: ``captchaai-guard scan``'s quick path (:mod:`captchaai_guard.commands.console`)
writes its reports with the same :func:`emit` as the commands.
"""

from __future__ import annotations

import sys

from captchaai_guard.errors import OutputError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time on the quick path
    from typing import IO


def _encode(text: str, encoding: str) -> bytes:
    """Paths git gave as raw bytes come back as they were; nothing fails."""
    try:
        return text.encode(encoding, "surrogateescape")
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8", "replace")


def _write_all(stream: IO[bytes], data: bytes) -> None:
    """Write every byte or raise: a short write must not go unnoticed."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if not written:
            raise OSError("short write")
        view = view[written:]
    stream.flush()


def emit(text: str, output: str | None) -> None:
    """Write the report; raise OutputError when it cannot be written whole."""
    if output is None or output == "-":
        stream = sys.stdout
        if stream is None:
            raise OutputError("standard output is closed; the report was not written")
        try:
            stream.flush()
            binary = getattr(stream, "buffer", None)
            data = _encode(text, getattr(stream, "encoding", None) or "utf-8")
            if binary is None:
                stream.write(data.decode("utf-8", "replace"))
                stream.flush()
            else:
                _write_all(binary, data)
        except (OSError, ValueError):
            raise OutputError("output closed before the report was written") from None
        return
    from pathlib import Path  # only for a report file: pathlib is slow to import

    try:
        Path(output).write_bytes(_encode(text, "utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
