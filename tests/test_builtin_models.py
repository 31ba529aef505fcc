"""The built-in architectures' own pieces: what the export tests do not see from the outside."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def blockwise(block_bytes: int):
    from sigforge.builtin.models import _layers

    init = _layers()[2](seed=7)
    init.block_bytes = block_bytes
    return init


def test_blockwise_glorot_is_glorot_uniform_over_the_whole_kernel():
    shape = (300, 50)  # 200-byte rows: 5 rows a block, 60 blocks
    values = np.asarray(blockwise(1000)(shape, dtype="float32"))
    limit = math.sqrt(6 / (300 + 50))  # Glorot's limit from the whole kernel's fans, not a block's
    assert values.shape == shape and values.dtype == np.float32
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.95 * limit
    assert values.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)
    assert abs(values.mean()) < 0.05 * limit
    blocks = values.reshape(60, 5, 50)
    assert len({b.tobytes() for b in blocks}) == 60, "every block is drawn afresh, none repeats"


def test_blockwise_glorot_leaves_small_kernels_to_keras():
    shape = (20, 10)
    ours = np.asarray(blockwise(2**20)(shape, dtype="float32"))
    theirs = np.asarray(keras.initializers.GlorotUniform(seed=7)(shape, dtype="float32"))
    np.testing.assert_array_equal(ours, theirs)


def test_blockwise_glorot_is_used_by_the_hidden_layers(compose, plugins):
    from sigforge.pipeline import build_model, prepare

    spec, _plugins = prepare(compose("+experiment=dnn_classifier", "model.hidden_units=[64,32]"))
    model = build_model(spec)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [type(layer.kernel_initializer).__name__ for layer in dense[:2]] == ["BlockwiseGlorotUniform"] * 2
