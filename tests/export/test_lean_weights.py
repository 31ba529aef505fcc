"""Weights loaded in place (``export/lean_weights.py``, ``source_model._load_keras``) equal what
Keras's own loaders give, and layouts it does not handle are left to Keras untouched."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from sigforge.export.lean_weights import CHUNK_BYTES, load_in_place  # noqa: E402
from sigforge.export.source_model import _load_keras  # noqa: E402

ROWS = CHUNK_BYTES // (4 * 64) * 2 + 123  # two full slices and a partial one


def model(seed: int, named: bool = True) -> keras.Model:
    """Dense, BatchNormalization (non-trainable state), a nested model and a table read in slices;
    ``named``: its layers have the names they were saved with (as in a fresh process)."""
    keras.utils.set_random_seed(seed)

    def name(text: str) -> dict[str, str]:
        return {"name": text} if named else {}

    ids = keras.Input((5,), dtype="int32", name="ids")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(ROWS, 64, **name("table"))(ids))
    x = keras.layers.BatchNormalization(**name("norm"))(keras.layers.Dense(8, **name("hidden"))(x))
    inner = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(3, **name("inner_dense"))], **name("inner")
    )
    return keras.Model(ids, {"scores": inner(x)})


def values(m: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in m.weights]


def loaded_as_keras_loads(saved: keras.Model, build, path) -> keras.Model:
    """``build(seed)`` filled in place from ``saved``'s weights file, checked equal to what Keras's
    ``load_weights`` gives another ``build(seed)``, and to ``saved`` itself."""
    saved.save_weights(path)
    by_keras, in_place = build(2), build(3)
    by_keras.load_weights(path)
    assert load_in_place(in_place, path)
    for ours, theirs, original in zip(values(in_place), values(by_keras), values(saved), strict=True):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, original)
    return in_place


def test_in_place_loading_gives_exactly_what_load_weights_gives(tmp_path):
    saved = model(1)
    (norm,) = [layer for layer in saved.layers if isinstance(layer, keras.layers.BatchNormalization)]
    norm.moving_mean.assign(np.arange(8, dtype="float32"))  # non-trainable state too
    loaded_as_keras_loads(saved, model, tmp_path / "m.weights.h5")


@keras.saving.register_keras_serializable(package="sigforge_tests")
class Wrapped(keras.layers.Layer):
    """A layer that owns a variable and a sublayer: a layout left to Keras."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(2)

    def build(self, shape):
        self.scale = self.add_weight(shape=(2,), initializer="ones")
        self.inner.build(shape)

    def call(self, x):
        return self.inner(x) * self.scale


def test_a_layout_it_does_not_handle_is_left_untouched(tmp_path):
    def wrapped(seed: int) -> keras.Model:
        keras.utils.set_random_seed(seed)
        x = keras.Input((4,))
        return keras.Model(x, Wrapped()(x))

    wrapped(1).save_weights(tmp_path / "w.weights.h5")
    model(1).save_weights(tmp_path / "m.weights.h5")
    small = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8), keras.layers.Dense(3)])
    # A layer owning a sublayer; a model of other layers than the file's.
    for target, path in ((wrapped(2), "w.weights.h5"), (small, "m.weights.h5")):
        before = values(target)
        assert not load_in_place(target, tmp_path / path)
        for now, then in zip(values(target), before, strict=True):
            np.testing.assert_array_equal(now, then)


def test_layers_named_otherwise_than_when_saved_are_matched_by_their_place_as_keras_does(tmp_path):
    """Built twice in one process (a notebook exporting again), the layers are ``dense_2``,
    ``dense_3``...: matched by the path Keras saves them under, they are filled in place with
    exactly what Keras's ``load_weights`` gives."""
    saved = model(1, named=False)
    path = tmp_path / "m.weights.h5"
    in_place = loaded_as_keras_loads(saved, lambda seed: model(seed, named=False), path)
    assert {x.name for x in in_place.layers if x.weights}.isdisjoint(x.name for x in saved.layers)


def test_a_keras_archive_is_built_from_its_config_and_filled_in_place(tmp_path):
    saved = model(1)
    saved.save(tmp_path / "m.keras")
    loaded = _load_keras(tmp_path / "m.keras")
    by_keras = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    for ours, theirs in zip(values(loaded), values(by_keras), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    ids = np.random.default_rng(0).integers(0, ROWS, (4, 5)).astype("int32")
    np.testing.assert_array_equal(loaded(ids)["scores"], by_keras(ids)["scores"])


def test_an_archive_with_assets_is_loaded_by_keras(tmp_path):
    """A lookup layer keeps its vocabulary in the archive's assets: only Keras restores those."""
    words = keras.Input((1,), dtype="string", name="words")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b", "c"])
    saved = keras.Model(words, keras.layers.Embedding(5, 2)(lookup(words)))
    saved.save(tmp_path / "s.keras")
    loaded = _load_keras(tmp_path / "s.keras")
    assert loaded.layers[1].get_vocabulary() == ["[UNK]", "a", "b", "c"]
    batch = np.array([["b"], ["z"]])
    np.testing.assert_array_equal(loaded(batch), saved(batch))


def siblings(seed: int) -> keras.Model:
    """Layers of one class and one shape side by side (and a Dropout between, which Keras's saving
    counts too): only their places tell them apart."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((8,))
    h = keras.layers.Dense(8)(x)
    h = keras.layers.Dropout(0.1)(h)
    h = keras.layers.Dense(8)(keras.layers.Dense(8)(h))
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.Dense(8)])
    return keras.Model(x, inner(h))


def test_same_shaped_siblings_built_twice_each_get_their_own_weights(tmp_path):
    loaded_as_keras_loads(siblings(1), siblings, tmp_path / "s.weights.h5")


def test_a_trained_models_file_is_loaded_in_place_without_its_optimizer_state(tmp_path):
    trained = siblings(1)
    trained.compile("adam", "mse")
    trained.fit(np.ones((16, 8), "float32"), np.zeros((16, 8), "float32"), epochs=2, verbose=0)
    trained.save_weights(tmp_path / "t.weights.h5")  # holds optimizer/vars beside the layers
    served = siblings(2)  # the export's model: built, never compiled
    assert load_in_place(served, tmp_path / "t.weights.h5")
    for ours, original in zip(values(served), values(trained), strict=True):
        np.testing.assert_array_equal(ours, original)
