"""How a command ends when its reader goes away: a reader piped into ``head`` ends the command
quietly instead of with a BrokenPipeError traceback. (Refusals end through ``errors.exit_for``.)
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """A reader of stdout that stops early (``| head -1``) ends the command, without a traceback.

    Python's own advice (``signal`` docs, "Note on SIGPIPE"): point stdout at devnull so that the
    interpreter's final flush does not raise again, and exit like a process killed by SIGPIPE.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
