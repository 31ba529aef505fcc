"""The built-in architectures' own Keras layers and initializer, registered as serializable.

Module level and registered under the package name ``sigforge``, so that a built-in model saved
whole (``model.save("m.keras")``) loads with ``keras.saving.load_model`` once this module is
imported, and can come back as ``model.source``. Imported when a model is built, never on the
config-validation path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="sigforge")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean over the first ``length`` steps of each sequence; steps past the length are ignored."""

    def call(self, sequence, length):
        steps = ops.shape(sequence)[1]
        mask = ops.arange(steps)[None, :] < ops.cast(ops.expand_dims(length, 1), "int32")
        mask = ops.expand_dims(ops.cast(mask, sequence.dtype), -1)
        total = ops.sum(sequence * mask, axis=1)
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def compute_output_shape(self, sequence_shape, length_shape):
        return (sequence_shape[0], sequence_shape[-1])


@keras.saving.register_keras_serializable(package="sigforge")
class VocabularyOneHot(keras.layers.Layer):
    """One-hot of a string feature over a fixed vocabulary (all zeros when out of vocabulary); a
    feature of several values per example ([batch, n], e.g. a VarLen one padded with '') gets the
    mean of its non-empty values' one-hots.

    A comparison against a constant needs no lookup-table resource, so the SavedModel holds
    nothing but the vocabulary itself.
    """

    def __init__(self, vocabulary: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary)

    def call(self, values):
        if values.shape.rank == 1:
            values = tf.reshape(values, [-1, 1])
            return tf.cast(tf.equal(values, tf.constant(self.vocabulary)), "float32")
        values = tf.reshape(values, [tf.shape(values)[0], -1])
        hot = tf.cast(tf.equal(values[..., None], tf.constant(self.vocabulary)), "float32")
        present = tf.reduce_sum(tf.cast(values != "", "float32"), axis=1, keepdims=True)
        return tf.reduce_sum(hot, axis=1) / tf.maximum(present, 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.vocabulary))

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary}


@keras.saving.register_keras_serializable(package="sigforge")
class HashedStrings(keras.layers.Layer):
    """A string feature without a vocabulary: each value hashed into one of ``num_buckets``
    embeddings, averaged over an example's non-empty values (a VarLen feature is padded with '')."""

    def __init__(self, num_buckets: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_buckets, self.dim = int(num_buckets), int(dim)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.num_buckets, self.dim), initializer=LeanRandomUniform(), name="embeddings"
        )

    def call(self, values):
        values = tf.reshape(values, [tf.shape(values)[0], -1])
        vectors = tf.gather(self.embeddings, tf.strings.to_hash_bucket_fast(values, self.num_buckets))
        present = tf.cast(values != "", vectors.dtype)[..., None]
        return tf.reduce_sum(vectors * present, axis=1) / tf.maximum(tf.reduce_sum(present, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "num_buckets": self.num_buckets, "dim": self.dim}


@tf.function(reduce_retracing=True)
def draw_uniform(shape, minval, maxval, seed):
    # In a graph, the scaling of the [0, 1) draw runs in place (its input has no other user);
    # the variable then adopts the result instead of copying it.
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval)


def _lean_draw(seed: Any, shape: tuple[int, ...], minval: float, maxval: float) -> Any:
    if not isinstance(seed, keras.random.SeedGenerator):
        seed = keras.random.SeedGenerator(seed)  # an int seed would repeat one tensor
    pair = keras.random.randint((2,), 0, 2**31 - 1, seed=seed, dtype="int32")
    return draw_uniform(
        tf.constant(shape), tf.constant(minval, tf.float32), tf.constant(maxval, tf.float32), pair
    )


def _drawn_by_keras(shape: tuple[int, ...], dtype: str, eager_bytes: int) -> bool:
    return dtype != "float32" or math.prod(shape) * 4 <= eager_bytes


@keras.saving.register_keras_serializable(package="sigforge")
class LeanGlorotUniform(keras.initializers.GlorotUniform):
    """Glorot uniform whose large kernels cost one copy of themselves to draw.

    Eagerly, TensorFlow draws ``uniform(-limit, limit)`` as ``u * 2 * limit - limit``: three
    full-size tensors alive at once, then a fourth when the variable copies the result, so a
    256 MiB kernel peaks at 768 MiB or more before it is a variable. Drawn inside a
    ``tf.function`` the peak is the kernel itself. Kernels up to ``eager_bytes`` are left to
    Keras as they are; the limit comes from the whole kernel's fans, as Keras's.
    """

    eager_bytes = 16 * 2**20

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        if len(shape) < 2 or _drawn_by_keras(shape, dtype, self.eager_bytes):
            return super().__call__(shape, dtype=dtype)
        receptive = math.prod(shape[:-2])  # keras's compute_fans, for kernels of rank >= 2
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = math.sqrt(3.0 * self.scale / max(1.0, (fan_in + fan_out) / 2.0))
        return _lean_draw(self.seed, shape, -limit, limit)


@keras.saving.register_keras_serializable(package="sigforge")
class LeanRandomUniform(keras.initializers.RandomUniform):
    """Keras's ``uniform`` (the Embedding default, within +-0.05) drawn as ``LeanGlorotUniform``
    draws: a 1 GiB embedding table costs 1 GiB to draw, not 3 (above ``eager_bytes``)."""

    eager_bytes = LeanGlorotUniform.eager_bytes

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        if _drawn_by_keras(shape, dtype, self.eager_bytes):
            return super().__call__(shape, dtype=dtype)
        return _lean_draw(self.seed, shape, float(self.minval), float(self.maxval))
