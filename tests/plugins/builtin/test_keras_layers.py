"""``plugins.builtin.keras_layers``: the built-in architectures' own layers and initializers, which
Keras can save and load (``package="sigforge"``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from sigforge.plugins.builtin.keras_layers import (  # noqa: E402
    HashedStrings,
    LeanRandomUniform,
    MaskedMeanPooling,
    VocabularyOneHot,
)


def lean(eager_bytes: int, seed: int = 7):
    from sigforge.plugins.builtin.keras_layers import LeanGlorotUniform

    init = LeanGlorotUniform(seed=seed)
    init.eager_bytes = eager_bytes
    return init


def test_lean_glorot_is_glorot_uniform_over_the_whole_kernel():
    shape = (300, 50)  # 60,000 bytes: drawn in a graph when the eager limit is lower
    values = np.asarray(lean(1000)(shape, dtype="float32"))
    limit = math.sqrt(6 / (300 + 50))  # Glorot's limit from the kernel's fans
    assert values.shape == shape and values.dtype == np.float32
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.95 * limit
    assert values.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)
    assert abs(values.mean()) < 0.05 * limit


def test_lean_glorot_is_reproducible_from_its_seed_and_draws_each_layer_afresh():
    """Keras's semantics: one int seed, one kernel; unseeded initializers (one per layer) differ."""
    a, b = (np.asarray(lean(1000, seed=3)((300, 50), dtype="float32")) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    c, d = (np.asarray(lean(1000, seed=None)((300, 50), dtype="float32")) for _ in range(2))
    assert not np.array_equal(c, d)


def test_lean_glorot_leaves_small_kernels_to_keras():
    shape = (20, 10)
    ours = np.asarray(lean(2**20)(shape, dtype="float32"))
    theirs = np.asarray(keras.initializers.GlorotUniform(seed=7)(shape, dtype="float32"))
    np.testing.assert_array_equal(ours, theirs)


def test_lean_random_uniform_draws_large_tables_within_keras_bounds():
    init = LeanRandomUniform(seed=5)
    init.eager_bytes = 1000  # 60,000 bytes: drawn in a graph
    values = np.asarray(init((300, 50), dtype="float32"))
    assert values.shape == (300, 50) and np.abs(values).max() <= 0.05
    assert values.std() == pytest.approx(0.1 / math.sqrt(12), rel=0.05)  # uniform over [-0.05, 0.05)


def test_masked_mean_pooling_averages_only_the_steps_within_each_length():
    sequence = np.arange(12, dtype="float32").reshape(2, 3, 2)  # steps [0,1] [2,3] [4,5] / [6,7] ...
    pooled = MaskedMeanPooling()(sequence, np.array([1, 2], dtype="int32"))
    np.testing.assert_allclose(np.asarray(pooled), [[0.0, 1.0], [7.0, 8.0]])


def test_vocabulary_one_hot_marks_known_values_and_averages_several():
    layer = VocabularyOneHot(["red", "green", "blue"])
    one = np.asarray(layer(tf.constant(["green", "purple"])))
    np.testing.assert_array_equal(one, [[0, 1, 0], [0, 0, 0]])  # out of vocabulary: all zeros
    several = np.asarray(layer(tf.constant([["red", "blue"], ["blue", ""]])))  # '' pads a VarLen list
    np.testing.assert_allclose(several, [[0.5, 0, 0.5], [0, 0, 1]])


def test_hashed_strings_give_one_value_one_vector_and_ignore_padding():
    layer = HashedStrings(num_buckets=64, dim=4)
    vectors = np.asarray(layer(tf.constant([["nurse", ""], ["nurse", "nurse"], ["artist", ""]])))
    np.testing.assert_allclose(vectors[0], vectors[1], rtol=1e-6)  # padding is not a value
    assert not np.allclose(vectors[0], vectors[2])


@pytest.mark.parametrize(
    "layer",
    [VocabularyOneHot(["a", "b"]), HashedStrings(8, 3), MaskedMeanPooling()],
    ids=lambda layer: type(layer).__name__,
)
def test_each_layer_comes_back_from_its_keras_config(layer):
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == f"sigforge>{type(layer).__name__}"
    back = keras.saving.deserialize_keras_object(config)
    assert type(back) is type(layer) and back.get_config() == layer.get_config()


def test_variable_length_model_ignores_steps_past_the_length(export):
    serve = tf.saved_model.load(str(export("variable_length").export_dir)).signatures["serving_default"]
    rng = np.random.default_rng(1)
    sequence = rng.standard_normal((2, 5, 100)).astype("float32")
    padded = sequence.copy()
    padded[:, 3:] = 99.0  # garbage after the real steps
    lengths = tf.constant([3, 3], dtype=tf.int32)
    a = serve(input_sequence=tf.constant(sequence), sequence_length=lengths)["scores"].numpy()
    b = serve(input_sequence=tf.constant(padded), sequence_length=lengths)["scores"].numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    c = serve(input_sequence=tf.constant(padded), sequence_length=tf.constant([5, 5], dtype=tf.int32))[
        "scores"
    ]
    assert not np.allclose(a, c.numpy())
