"""A team's plugin as teams write them, for ``bench/big_weights.py``: a recommender-shaped
builder (an embedding table, pooled, a dense layer) with Keras's defaults everywhere, registered
through ``register_models`` and named in config (``plugins.modules=[recommender_plugin]``)."""

from __future__ import annotations

from typing import Any

from sigforge import hookimpl


def recommender(model: Any, inputs: Any, *, vocab_size: int, embedding_dim: int, **params: Any) -> Any:
    import keras

    text = keras.Input((100,), dtype="int32", name="text")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab_size, embedding_dim)(text))
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(
        {"text": text}, {"scores": keras.layers.Dense(2, activation="softmax", name="scores")(x)}
    )


@hookimpl
def register_models(register):
    register("recommender", recommender)
