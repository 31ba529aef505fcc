"""Deprecated: ``python -m sigforge.log`` is ``sigforge log`` since 0.2 (removed in 0.3)."""

import sys

from sigforge._moved import warn_moved
from sigforge.cli.log_command import main

if __name__ == "__main__":
    warn_moved("python -m sigforge.log", "sigforge log")
    sys.exit(main())
