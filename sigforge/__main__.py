"""``python -m sigforge`` and the ``sigforge`` command.

``sigforge [OVERRIDES]`` exports (the Hydra app, ``sigforge.cli.app``); ``sigforge inspect|diff|log``
runs that reader; ``sigforge --version`` prints the versions. Run as a file (the completion line
Hydra prints names this file), Python puts ``sigforge/`` itself on ``sys.path``, where the stage
packages would shadow any top-level module of the same name: the package's parent goes there instead.
"""

import os
import sys

if not __package__:  # run as a file, not as ``-m sigforge`` or the console script
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    sys.path.insert(0, os.path.dirname(_here))

from sigforge.cli.dispatch import main

if __name__ == "__main__":
    main()
