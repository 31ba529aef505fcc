"""Keras without the optional packages it imports only because they are installed.

``import keras`` imports scikit-learn (its sklearn wrappers), matplotlib (image galleries) and
pandas (DataFrame inputs to ``fit``) whenever they are installed, and MLflow installs all three:
about 1.5 s of CPU in every export, for code an export never runs. The ``sigforge`` command, whose
process ends with its export, installs ``KerasExtrasBlocked``: an import of those packages made
by a Keras module fails as if they were absent (Keras then leaves those features out); the same
import made by anything else (TensorFlow, a team's plugin, MLflow in the logging helper) works.
Library callers' processes are left as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

KERAS_EXTRAS = frozenset({"sklearn", "matplotlib", "pandas"})


class KerasExtrasBlocked(MetaPathFinder):
    """Refuses ``KERAS_EXTRAS`` to importers inside the ``keras`` package; finds nothing otherwise."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in KERAS_EXTRAS and _importer().startswith("keras."):
            raise ModuleNotFoundError(f"{fullname} is not imported for Keras in an export", name=fullname)
        return None


def _importer() -> str:
    """The module whose code runs the import statement: the first frame outside importlib."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(("importlib", "_frozen_importlib")):
            return str(name)
        frame = frame.f_back
    return ""


def block_keras_extras() -> None:
    """Install the finder once, unless Keras is imported already (then nothing is gained)."""
    if "keras" not in sys.modules and not any(isinstance(f, KerasExtrasBlocked) for f in sys.meta_path):
        sys.meta_path.insert(0, KerasExtrasBlocked())
