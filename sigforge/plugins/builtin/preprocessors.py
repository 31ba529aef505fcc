"""Built-in preprocessors, traced into the serving graph so clients send raw data.

``decode_image`` (JPEG/PNG/GIF/BMP bytes -> float32 of the model's height, width and channels),
``normalize`` (scale/offset or mean/std), ``tokenize`` (UTF-8 text -> int32 ids of the model's length,
from a vocabulary file that is stored in the SavedModel as an asset) and ``parse_example`` (one
feature from a serialized tf.Example).

Registered like any team's preprocessors. The classes live in ``serving_preprocessors`` (each a
``tf.Module``, so what it owns, a lookup table or its vocabulary asset, is saved with the model),
imported by the factories on first use: registering these costs nothing on the config-validation path.
"""

from __future__ import annotations

from typing import Any

from sigforge import hookimpl

NAMES = ("decode_image", "normalize", "tokenize", "parse_example")


def _factory(name: str) -> Any:
    def make(**params: Any) -> Any:
        from sigforge.plugins.builtin.serving_preprocessors import CLASSES

        return CLASSES[name](**params)

    make.__name__ = name
    make.__doc__ = f"Build the ``{name}`` preprocessor (TensorFlow is imported on first use)."
    return make


@hookimpl
def register_preprocessors(register):
    for name in NAMES:
        register(name, _factory(name))
