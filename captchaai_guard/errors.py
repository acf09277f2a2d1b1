"""Errors that end a run with exit code 2 and one clear line on stderr, and
the exit codes every command and hook shares.

:func:`guard` runs a console script's ``main``: SIGINT and SIGTERM stop it
(:class:`Interrupted`), and whatever ends it other than a return (an
interruption, an unexpected exception) is one error line and exit 2, never
a traceback (``CAPTCHAAI_GUARD_DEBUG=1`` prints it as well)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time on the hook's fast path
    from collections.abc import Callable
    from typing import Any, NoReturn

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # no key, keys found, error
DEBUG_ENV = "CAPTCHAAI_GUARD_DEBUG"  # set (not 0): tracebacks of unexpected errors on stderr
PREFIX = "captchaai-guard: error: "
_SIGNAL_NAMES = {1: "SIGHUP", 2: "SIGINT", 15: "SIGTERM"}


def redact(message: str) -> str:
    """``message`` with every run of 32 letters and digits shown as ``***``
    plus its last four characters: an error line never holds a key."""
    import re  # only on the error path: the hook's fast path imports this module

    return re.sub(r"[A-Za-z0-9]{32}", lambda m: "***" + m.group()[-4:], message)


def leave(code: int) -> NoReturn:
    """End a console script with ``code`` once its output is flushed, without
    the interpreter's teardown: freeing a scan's modules and objects one by
    one takes milliseconds, the kernel frees the process at once. Nothing
    runs after it (no ``atexit`` handler), so it is called last."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a report that may not have arrived whole
            code = code or EXIT_ERROR
    os._exit(code)


def shorten(text: str, limit: int = 160) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks a cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (see :func:`catch_signals`). Not an
    :class:`Exception`: no handler meant for errors stops it on its way out,
    and the clean-ups on that way (``finally``) stop the children."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return "interrupted by " + _SIGNAL_NAMES.get(self.signum, f"signal {self.signum}")


_caught: list[int] = []  # the signal that raised Interrupted, once one has


def catch_signals() -> None:
    """From now on, SIGINT, SIGTERM and SIGHUP (a closed terminal) raise
    :class:`Interrupted` (once: later ones are ignored, so that the clean-up
    it starts runs to its end). A signal the process was started ignoring
    (``nohup``, a background job) stays ignored."""
    # The C module: ``signal`` imports enum, several milliseconds of a clean commit.
    sig = __import__("_signal")
    numbers = [getattr(sig, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(sig, name)]

    def stop(signum: int, frame: object) -> None:
        for number in numbers:
            if sig.getsignal(number) is stop:
                sig.signal(number, sig.SIG_IGN)
        _caught.append(signum)  # (kept: Python drops what a handler raises inside a weakref callback)
        raise Interrupted(signum)

    for number in numbers:
        if sig.getsignal(number) != sig.SIG_IGN:
            sig.signal(number, stop)
    # Raised inside a callback (a weakref's, during an import), Interrupted is
    # dropped and reported as "Exception ignored": not reported here, and the
    # run still ends as interrupted (see guard).
    import sys

    default = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, Interrupted):
            default(info)

    sys.unraisablehook = unraisable


def describe(exc: BaseException) -> str:
    """The error line (without :data:`PREFIX`) for ``exc``, which ended a run;
    with :data:`DEBUG_ENV` set, its traceback goes to stderr first."""
    if isinstance(exc, (GuardError, Interrupted)):
        return str(exc)
    import os

    if os.environ.get(DEBUG_ENV, "0") not in ("", "0"):
        _print_traceback(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, MemoryError):
        return "out of memory"
    hint = os_hint(exc)
    if hint is not None:
        return hint
    return f"internal error ({type(exc).__name__}): {shorten(str(exc))} (details: {DEBUG_ENV}=1)"


def _print_traceback(exc: BaseException) -> None:
    """``exc``'s traceback on stderr, keys masked: :mod:`traceback`'s, or
    where that cannot be imported (no file descriptor left, say) the frames
    alone."""

    try:
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:
        lines = ["Traceback (most recent call last):"]
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}')
            tb = tb.tb_next
        text = "\n".join([*lines, f"{type(exc).__name__}: {exc}", ""])
    _write_masked(text)


def os_hint(exc: BaseException) -> str | None:
    """What a system limit ``exc`` ran into means, in words (None: not one)."""
    if not isinstance(exc, OSError):
        return None
    import errno

    hints = {
        errno.EMFILE: "too many open files (raise the limit: ulimit -n)",
        errno.ENFILE: "the system has too many open files",
        errno.ENOSPC: "no space left on device",
        errno.ENOMEM: "out of memory",
        errno.EAGAIN: "out of processes or memory (ulimit -u)",
    }
    return hints.get(exc.errno or 0)


def say(message: str) -> int:
    """Write one error line (never a key) to stderr; return :data:`EXIT_ERROR`."""
    _write_masked(PREFIX + message + "\n")
    return EXIT_ERROR


def _write_masked(text: str) -> None:
    """Write ``text`` to stderr with keys masked, whatever is left: without
    :mod:`re` (no file descriptor to load it) a coarser masking, without
    ``sys.stderr`` the file descriptor itself; with no stderr at all the
    exit code still tells."""
    import sys

    try:
        shown = redact(text)
    except BaseException:
        shown = _scrub(text)
    try:
        sys.stderr.write(shown)
        sys.stderr.flush()
    except BaseException:
        try:  # noqa: SIM105 - contextlib is not loaded on the hook path
            os.write(2, shown.encode("utf-8", "replace"))
        except OSError:
            pass


def _scrub(message: str) -> str:
    """``message`` with every run of 16 or more letters and digits masked,
    without :mod:`re` (what :func:`redact` does when it cannot load)."""
    out: list[str] = []
    run: list[str] = []
    for ch in message + " ":
        if ch.isascii() and ch.isalnum():
            run.append(ch)
            continue
        out.append("***" + "".join(run[-4:]) if len(run) >= 16 else "".join(run))
        run = []
        out.append(ch)
    return "".join(out)[:-1]


def guard(main: Callable[[], int], stop_children: Callable[[], None]) -> int:
    """``main()`` under :func:`catch_signals`. When it raises anything (an
    interruption, an error it did not report) or returns :data:`EXIT_ERROR`,
    the processes it started and did not reap are stopped
    (``stop_children``) and the exception becomes one line: exit 2."""
    catch_signals()
    try:
        code = main()
    except SystemExit as exc:  # (a command may end this way)
        code = exc.code if isinstance(exc.code, int) else EXIT_CLEAN if exc.code is None else EXIT_ERROR
    except BaseException as exc:
        _stop(stop_children)
        return say(describe(exc))
    if _caught:  # its Interrupted was dropped on the way (see catch_signals): still an interruption
        _stop(stop_children)
        return say(describe(Interrupted(_caught[0])))
    if code == EXIT_ERROR:
        _stop(stop_children)
    return code


def _stop(stop_children: Callable[[], None]) -> None:
    try:  # noqa: SIM105 - contextlib is not loaded on the hook path
        stop_children()
    except BaseException:  # (best effort: the run fails either way)
        pass


class GuardError(Exception):
    """A problem the user can act on: bad input, no repository, git failing."""


class GitError(GuardError):
    """git could not be run, or it failed."""


class ConfigError(GuardError):
    """The configuration file or a rule in it is invalid."""


class OutputError(GuardError):
    """The report could not be written (standard output closed, disk full)."""
