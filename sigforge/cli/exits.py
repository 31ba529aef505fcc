"""How every sigforge command ends: one ``sigforge: ...`` line on stderr and an exit status.

One home for print-then-exit, so that each entry point reports a refusal the same way, and a
reader piped into ``head`` ends quietly instead of with a BrokenPipeError traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import NoReturn


def fail(message: str, code: int, prefix: str = "sigforge") -> NoReturn:
    """Print ``<prefix>: message`` on stderr and exit with ``code``."""
    print(f"{prefix}: {message}", file=sys.stderr)
    sys.exit(code)


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
