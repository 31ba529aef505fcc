"""Deprecated: ``python -m sigforge.diff`` is ``sigforge diff`` since 0.2 (removed in 0.3)."""

import sys

from sigforge._moved import warn_moved
from sigforge.cli.diff_command import main

if __name__ == "__main__":
    warn_moved("python -m sigforge.diff", "sigforge diff")
    sys.exit(main())
