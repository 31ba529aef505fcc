"""sigforge: the serving contract of a TensorFlow SavedModel, made a configuration.

The package root stays import-light on purpose: plugins import ``hookimpl`` from here, and config
validation must answer without TensorFlow, so nothing heavy may be imported at this level.
"""

from typing import Any

__version__ = "0.2.0"

PROJECT_NAME = "sigforge"


def __getattr__(name: str) -> Any:
    """``hookimpl``, the marker for plugin hook implementations (``@hookimpl def
    register_naming_policies(register): ...``), made on first use: readers of contracts
    (``sigforge inspect``, ``sigforge diff``) never import pluggy."""
    if name == "hookimpl":
        import pluggy

        marker = globals()["hookimpl"] = pluggy.HookimplMarker(PROJECT_NAME)
        return marker
    raise AttributeError(f"module 'sigforge' has no attribute {name!r}")


TENSORFLOW_ENV_DEFAULTS = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
"""Environment ``python -m sigforge`` gives TensorFlow before importing it (a value the user set wins).

An export runs no heavy math, but oneDNN's pooled CPU allocator keeps every transient buffer of
the build resident for the rest of the process, where verification's reload cannot reuse it: a
model with 256 MiB of weights peaks at 3.2x their size with oneDNN, 2.2-2.4x without
(``bench/big_weights.py``). The saved graph is the same either way; oneDNN is a runtime choice of
whoever serves it.

``TF_CPP_MIN_LOG_LEVEL=2`` keeps TensorFlow's C++ INFO and WARNING lines (the serving loader's
"Reading SavedModel from ...", oneDNN notices) off the console: a run prints its own stages and one
``sigforge:`` line on failure, which names what TensorFlow reported.
"""

__all__ = ["PROJECT_NAME", "TENSORFLOW_ENV_DEFAULTS", "__version__", "hookimpl"]
