"""The built-in architectures' own pieces: what the export tests do not see from the outside."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")


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


def test_lean_glorot_is_used_by_the_hidden_layers(compose, plugins):
    from sigforge.pipeline import build_model, prepare

    spec, _plugins = prepare(compose("+experiment=dnn_classifier", "model.hidden_units=[64,32]"))
    model = build_model(spec)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [type(layer.kernel_initializer).__name__ for layer in dense[:2]] == ["LeanGlorotUniform"] * 2


@pytest.mark.parametrize("experiment", ["variable_length", "dnn_classifier"])
def test_a_built_in_model_saved_whole_loads_again_and_exports_as_the_source(
    compose, plugins, tmp_path, experiment
):
    """Trained and saved with model.save, a built-in architecture (its own layers included) reloads
    with keras.saving.load_model and serves as model.source."""
    import keras

    import sigforge.plugins.builtin.keras_layers  # noqa: F401  (what registers the layers with Keras)
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import build_model, run_export

    spec = build_spec(compose(f"experiment={experiment}", f"export.base_dir={tmp_path}"), plugins)
    model = build_model(spec)
    path = tmp_path / "trained.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, compile=False)
    assert [w.shape for w in reloaded.weights] == [w.shape for w in model.weights]
    source = build_spec(
        compose(f"experiment={experiment}", f"export.base_dir={tmp_path}", f"model.source={path}"), plugins
    )
    assert run_export(source, plugins).version == 1
