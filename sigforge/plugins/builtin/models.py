"""Built-in model architectures: one encoder per input modality, concatenated, then a dense head.

``image_cnn``, ``text_classifier``, ``multi_input``, ``sequence_classifier`` and ``dnn_classifier``
are the same assembly with different required modalities, so every architecture handles every
modality it is given the same way. Keras is imported when a model is built, never at import time:
this module is loaded on the config-validation path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache, partial
from typing import Any

from sigforge import hookimpl

# What each architecture needs: for every entry, an input of one of the entry's modalities.
ARCHITECTURES: dict[str, tuple[tuple[str, ...], ...]] = {
    "image_cnn": (("image",),),
    "text_classifier": (("text",),),
    "multi_input": (("image",), ("text",)),
    "sequence_classifier": (("sequence",),),
    "dnn_classifier": (("tabular", "tf_example", "dense"),),
}


@cache
def _layers() -> Any:
    """Custom layers, defined on first use so that importing this module does not import Keras."""
    import keras
    import tensorflow as tf
    from keras import ops

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

    class VocabularyOneHot(keras.layers.Layer):
        """One-hot of a string feature over a fixed vocabulary (all zeros when out of vocabulary).

        A comparison against a constant needs no lookup-table resource, so the SavedModel holds
        nothing but the vocabulary itself.
        """

        def __init__(self, vocabulary: Sequence[str], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.vocabulary = list(vocabulary)

        def call(self, values):
            import tensorflow as tf

            values = tf.reshape(values, [-1, 1])
            return tf.cast(tf.equal(values, tf.constant(self.vocabulary)), "float32")

        def compute_output_shape(self, input_shape):
            return (input_shape[0], len(self.vocabulary))

        def get_config(self):
            return {**super().get_config(), "vocabulary": self.vocabulary}

    @tf.function(reduce_retracing=True)
    def draw_uniform(shape, limit, seed):
        # In a graph, the scaling of the [0, 1) draw runs in place (its input has no other user);
        # the variable then adopts the result instead of copying it.
        return tf.random.stateless_uniform(shape, seed=seed, minval=-limit, maxval=limit)

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
            if len(shape) < 2 or dtype != "float32" or math.prod(shape) * 4 <= self.eager_bytes:
                return super().__call__(shape, dtype=dtype)
            receptive = math.prod(shape[:-2])  # keras's compute_fans, for kernels of rank >= 2
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
            limit = math.sqrt(3.0 * self.scale / max(1.0, (fan_in + fan_out) / 2.0))
            seed = self.seed
            if not isinstance(seed, keras.random.SeedGenerator):
                seed = keras.random.SeedGenerator(seed)  # an int seed would repeat one kernel
            pair = keras.random.randint((2,), 0, 2**31 - 1, seed=seed, dtype="int32")
            return draw_uniform(tf.constant(shape), tf.constant(limit, tf.float32), pair)

    return MaskedMeanPooling, VocabularyOneHot, LeanGlorotUniform


def build(
    model: Any,
    inputs: Sequence[Any],
    *,
    filters: int,
    vocab_size: int,
    embedding_dim: int,
    hidden_units: Sequence[int],
    seed: int,
    requires: Sequence[Sequence[str]] = (),
    **params: Any,
) -> Any:
    """Build the model: a dict of named inputs in, ``{"scores"}`` or ``{"outputs"}`` out. The
    hyperparameters are ``model.*`` settings, whose defaults live in ``sigforge/schema.py``."""
    import keras
    from keras import layers, ops

    have = {i.modality for i in inputs}
    missing = [" or ".join(options) for options in requires if not have.intersection(options)]
    if missing:
        raise ValueError(
            f"model.architecture = {model.architecture!r} needs an input of modality "
            f"{', '.join(missing)}, but the inputs are {', '.join(f'{i.name} ({i.modality})' for i in inputs)}"
        )
    MaskedMeanPooling, VocabularyOneHot, LeanGlorotUniform = _layers()
    keras.utils.set_random_seed(int(seed))
    tensors = {i.name: keras.Input(shape=tuple(i.shape[1:]), dtype=i.dtype, name=i.name) for i in inputs}
    features = []
    scalars: dict[str, list[Any]] = {}  # numeric [batch] inputs, stacked per dtype below
    for spec in inputs:
        x = tensors[spec.name]
        if (
            len(spec.shape) == 1
            and spec.vocabulary is None
            and spec.modality not in ("sequence_length", "text")
        ):
            scalars.setdefault(spec.dtype, []).append(x)
            continue
        if spec.modality == "sequence_length":
            continue  # consumed by the sequence that names it as its length_input
        if spec.modality == "image":
            x = layers.Conv2D(int(filters), 3, padding="same", activation="relu")(ops.cast(x, "float32"))
            x = layers.GlobalAveragePooling2D()(x)
        elif spec.modality == "text":
            vocab = int(vocab_size)
            x = layers.Embedding(vocab, int(embedding_dim))(ops.clip(x, 0, vocab - 1))
            x = layers.GlobalAveragePooling1D()(x)
        elif spec.modality == "sequence":
            if spec.length_input:
                x = MaskedMeanPooling()(ops.cast(x, "float32"), tensors[spec.length_input])
            else:
                x = layers.GlobalAveragePooling1D()(ops.cast(x, "float32"))
        elif spec.vocabulary is not None:
            x = VocabularyOneHot(spec.vocabulary)(x)
        else:
            x = ops.cast(x, "float32")
            if None in spec.shape[1:]:  # free dimensions: pool them away, one feature per input
                x = ops.expand_dims(ops.mean(x, axis=tuple(range(1, len(spec.shape)))), -1)
            elif len(spec.shape) > 2:
                x = layers.Flatten()(x)
        features.append(x)
    # One stack per dtype rather than a layer per feature: a model with 1000 scalar features stays
    # a handful of ops, and building, tracing and saving it stays linear.
    features += [ops.cast(ops.stack(xs, axis=-1), "float32") for xs in scalars.values()]
    x = features[0] if len(features) == 1 else layers.Concatenate()(features)
    for units in hidden_units:
        x = layers.Dense(int(units), activation="relu", kernel_initializer=LeanGlorotUniform())(x)
    if model.task == "regression":
        outputs = {"outputs": layers.Dense(1, name="outputs")(x)}
    else:
        outputs = {"scores": layers.Dense(model.num_classes, activation="softmax", name="scores")(x)}
    return keras.Model(inputs=tensors, outputs=outputs, name=model.architecture)


@hookimpl
def register_models(register):
    for name, requires in ARCHITECTURES.items():
        register(name, partial(build, requires=requires))
