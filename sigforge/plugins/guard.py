"""What a plugin may not do to the process that runs it: end it, or hold it open.

``sys.exit()`` and ``raise KeyboardInterrupt`` inside a plugin (at import or in any call) are
``BaseException``\\s, not ``Exception``\\s: uncaught, the first would end sigforge with status 0
having exported nothing, the second would be reported as a Ctrl-C. Both are the plugin's failure
and are reported naming it. A real signal is not: the exceptions a signal handler raises are told
apart (``errors.raise_for_signal`` remembers them; where no sigforge handler is installed, as
while plugins are imported, ``plugin_call`` installs one for SIGINT for the call's duration).

A plugin that starts a non-daemon thread and leaves it running would keep the process from ever
exiting after the export finished: each such thread is remembered with its plugin's name
(``threads_left``), and the CLI, once the export and MLflow are done, says which plugin left which
thread and exits without waiting for them (``cli.exits.end_process``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from sigforge.errors import raise_for_signal, raised_by_signal

_LEFT: dict[threading.Thread, str] = {}  # non-daemon threads started inside a plugin call -> plugin


def from_signal(err: BaseException) -> bool:
    """Whether ``err`` was raised by a signal handler (a real Ctrl-C, SIGTERM, the helper's SIGUSR1),
    not by plugin code."""
    return err is raised_by_signal() or bool(getattr(type(err), "signal_borne", False))


def plugin_failure(err: BaseException) -> bool:
    """Whether ``err``, raised inside a plugin call, is the plugin's failure: any exception, and
    ``SystemExit``, ``KeyboardInterrupt`` or another ``BaseException`` the plugin raised itself.
    ``GeneratorExit``, what a signal raised and ``MemoryError`` are not: running out of memory is
    the machine's limit, told by the stage it happened in (``errors.out_of_memory``) with what to do."""
    if isinstance(err, MemoryError):
        return False
    return isinstance(err, Exception) or not (isinstance(err, GeneratorExit) or from_signal(err))


def failure_reason(err: BaseException) -> str:
    """What the plugin did, in words: ``sys.exit`` and ``KeyboardInterrupt`` said as such."""
    from sigforge.errors import one_line

    if isinstance(err, SystemExit):
        return f"SystemExit: it called sys.exit({err.code!r})"
    if isinstance(err, KeyboardInterrupt):
        return "KeyboardInterrupt: raised by the plugin itself (no SIGINT arrived)"
    return f"{type(err).__name__}: {one_line(err)}".rstrip(".")


def _recording(signum: int, frame: Any) -> None:
    raise_for_signal(KeyboardInterrupt())


@contextlib.contextmanager
def plugin_call(plugin: str) -> Iterator[None]:
    """Around one call into plugin code: Ctrl-C is recorded as a signal's (so that the plugin's own
    ``KeyboardInterrupt`` can be told from it), and non-daemon threads it leaves are remembered."""
    before = set(threading.enumerate())
    previous = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, TypeError):
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                previous = signal.signal(signal.SIGINT, _recording)
    try:
        yield
    finally:
        if previous is not None:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGINT, previous)
        for thread in threading.enumerate():
            if thread not in before and not thread.daemon:
                _LEFT.setdefault(thread, plugin)


def threads_left() -> list[tuple[threading.Thread, str]]:
    """(thread, plugin) for each non-daemon thread a plugin started that is still running."""
    return [(t, p) for t, p in _LEFT.items() if t.is_alive() and t is not threading.current_thread()]
