"""How a command ends: when its reader goes away, when stdout was never there, and when a plugin
left threads running. (Refusals end through ``errors.exit_for``.)
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from sigforge.errors import tell


class _Stdout:
    """Whether stdout was lost, and how: "closed" (the command ran with stdout closed, ``>&-``)
    or "gone" (its reader left: ``| true``, ``| head -1``)."""

    lost: str | None = None


STDOUT = _Stdout()


def guard_standard_streams() -> None:
    """Point standard descriptors that are closed at /dev/null, first thing: otherwise the next file
    the process opens (an MLflow store, a lock file) gets descriptor 1 or 2, and whatever is printed
    lands in it. A closed stdout is remembered (``STDOUT.lost``) and said on stderr at the end."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 1:
                STDOUT.lost = "closed"
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the process's life


def _stdout_to_devnull() -> None:
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def write_out(text: str, end: str = "\n") -> None:
    """Print ``text`` on stdout for a script to read, flushed at once. A reader that has left, or a
    stdout that is closed, never fails the command: it is remembered and said on stderr at the end
    (``say_lost_stdout``), and nothing more is written to stdout."""
    if STDOUT.lost:
        return
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):  # BrokenPipeError, EBADF, a closed file object
        STDOUT.lost = "gone"
        _stdout_to_devnull()


def say_lost_stdout(prefix: str = "sigforge") -> None:
    """On stderr, once: what a script reading stdout did not get."""
    if STDOUT.lost:
        how = "was closed" if STDOUT.lost == "closed" else "lost its reader (a closed pipe)"
        tell(f"stdout {how}, so the signature summary and the result line were not printed", prefix)
        STDOUT.lost = "said"


@contextlib.contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """A reader of stdout that stops early (``| head -1``) ends the command, without a traceback.

    Python's own advice (``signal`` docs, "Note on SIGPIPE"): point stdout at devnull so that the
    interpreter's final flush does not raise again, and exit like a process killed by SIGPIPE.
    """
    try:
        yield
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        sys.exit(141)


def end_process(code: int | str | None) -> None:
    """Exit with ``code`` now that the command's work (the export, its MLflow run) is done. Where a
    plugin left non-daemon threads running, Python would wait for them forever: name each, flush
    what was printed, run the exit handlers, and exit without waiting for them."""
    from sigforge.plugins.guard import threads_left

    left = threads_left()
    if not left:
        return
    names = ", ".join(f"'{thread.name}' (plugin '{plugin}')" for thread, plugin in left)
    tell(
        f"plugin threads still running after the command finished: {names}; sigforge exits without "
        "waiting for them. A plugin should join its threads before its hook returns, or start them "
        "as daemon threads."
    )
    import atexit

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    if isinstance(code, str):
        tell(code)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    os._exit(status)
