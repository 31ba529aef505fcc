"""sigforge: the serving contract of a TensorFlow SavedModel, made a configuration.

The package root stays import-light on purpose: plugins import ``hookimpl`` from here, and config
validation must answer without TensorFlow, so nothing heavy may be imported at this level.
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "sigforge"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for plugin hook implementations: ``@hookimpl def register_naming_policies(register): ...``."""

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
