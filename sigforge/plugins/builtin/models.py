"""Built-in model architectures: one encoder per input modality, concatenated, then a dense head.

``image_cnn``, ``text_classifier``, ``multi_input``, ``sequence_classifier``, ``dnn_classifier`` and
``dnn_regressor`` are the same assembly with different required modalities, so every architecture handles every
modality it is given the same way. Keras is imported when a model is built, never at import time:
this module is loaded on the config-validation path. The custom layers live in ``keras_layers``,
registered with Keras, so a built model saved whole (``model.save("m.keras")``) loads again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sigforge import hookimpl
from sigforge.contract.heads import LOGITS, logits_dimension

# What each architecture needs: for every entry, an input of one of the entry's modalities.
ARCHITECTURES: dict[str, tuple[tuple[str, ...], ...]] = {
    "image_cnn": (("image",),),
    "text_classifier": (("text",),),
    "multi_input": (("image",), ("text",)),
    "sequence_classifier": (("sequence",),),
    "dnn_classifier": (("tabular", "tf_example", "dense"),),
    "dnn_regressor": (("tabular", "tf_example", "dense"),),  # the same DNN; model.task picks the head
}


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
    """Build the model: a dict of named inputs in, ``{"scores"}`` or ``{"outputs"}`` out (with
    ``model.head``: ``{"logits"}``, from which the head's outputs are computed). The
    hyperparameters are ``model.*`` settings, whose defaults live in ``sigforge/config/schema.py``."""
    import keras
    from keras import layers

    _check_required_modalities(model, inputs, requires)
    from sigforge.plugins.builtin.keras_layers import LeanGlorotUniform

    keras.utils.set_random_seed(int(seed))
    tensors = {i.name: keras.Input(shape=tuple(i.shape[1:]), dtype=i.dtype, name=i.name) for i in inputs}
    encode = partial(
        _encode,
        tensors=tensors,
        filters=int(filters),
        vocab_size=int(vocab_size),
        embedding_dim=int(embedding_dim),
    )
    features = _features(inputs, tensors, encode)
    x = features[0] if len(features) == 1 else layers.Concatenate()(features)
    for units in hidden_units:
        x = layers.Dense(int(units), activation="relu", kernel_initializer=LeanGlorotUniform())(x)
    head = getattr(model, "head", None)
    if head is not None:  # the estimator's outputs are computed from these (sigforge.export.heads)
        units = logits_dimension(head, model.num_classes)
        outputs = {LOGITS: layers.Dense(units, name=LOGITS)(x)}
    elif model.task == "regression":
        outputs = {"outputs": layers.Dense(1, name="outputs")(x)}
    else:
        outputs = {"scores": layers.Dense(model.num_classes, activation="softmax", name="scores")(x)}
    return keras.Model(inputs=tensors, outputs=outputs, name=model.architecture)


def _check_required_modalities(model: Any, inputs: Sequence[Any], requires: Sequence[Sequence[str]]) -> None:
    have = {i.modality for i in inputs}
    missing = [" or ".join(options) for options in requires if not have.intersection(options)]
    if missing:
        raise ValueError(
            f"model.architecture = {model.architecture!r} needs an input of modality "
            f"{', '.join(missing)}, but the inputs are {', '.join(f'{i.name} ({i.modality})' for i in inputs)}"
        )


def _features(inputs: Sequence[Any], tensors: dict[str, Any], encode: Any) -> list[Any]:
    """One feature tensor per input (sequence lengths are consumed by their sequence), and one
    stack per dtype of the numeric scalar inputs."""
    from keras import ops

    features = []
    scalars: dict[str, list[Any]] = {}  # numeric [batch] inputs, stacked per dtype below
    for spec in inputs:
        if (
            len(spec.shape) == 1
            and spec.vocabulary is None
            and spec.dtype != "string"
            and spec.modality not in ("sequence_length", "text")
        ):
            scalars.setdefault(spec.dtype, []).append(tensors[spec.name])
        elif spec.modality != "sequence_length":  # consumed by the sequence that names it as its length_input
            features.append(encode(spec))
    # One stack per dtype rather than a layer per feature: a model with 1000 scalar features stays
    # a handful of ops, and building, tracing and saving it stays linear.
    return features + [ops.cast(ops.stack(xs, axis=-1), "float32") for xs in scalars.values()]


def _encode(spec: Any, *, tensors: dict[str, Any], filters: int, vocab_size: int, embedding_dim: int) -> Any:
    """The encoder of one input, by modality: the same for every architecture."""
    from keras import layers, ops

    from sigforge.plugins.builtin.keras_layers import (
        HashedStrings,
        LeanRandomUniform,
        MaskedMeanPooling,
        VocabularyOneHot,
    )

    x = tensors[spec.name]
    if spec.modality == "image":
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(ops.cast(x, "float32"))
        return layers.GlobalAveragePooling2D()(x)
    if spec.modality == "text":
        x = layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=LeanRandomUniform())(
            ops.clip(x, 0, vocab_size - 1)
        )
        return layers.GlobalAveragePooling1D()(x)
    if spec.modality == "sequence":
        if spec.length_input:
            return MaskedMeanPooling()(ops.cast(x, "float32"), tensors[spec.length_input])
        return layers.GlobalAveragePooling1D()(ops.cast(x, "float32"))
    if spec.vocabulary is not None:
        return VocabularyOneHot(spec.vocabulary)(x)
    if spec.dtype == "string":  # categorical without a vocabulary: hashed
        return HashedStrings(vocab_size, embedding_dim)(x)
    x = ops.cast(x, "float32")
    if None in spec.shape[1:]:  # free dimensions: pool them away, one feature per input
        return ops.expand_dims(ops.mean(x, axis=tuple(range(1, len(spec.shape)))), -1)
    if len(spec.shape) > 2:
        return layers.Flatten()(x)
    return x


@hookimpl
def register_models(register):
    for name, requires in ARCHITECTURES.items():
        register(name, partial(build, requires=requires))
