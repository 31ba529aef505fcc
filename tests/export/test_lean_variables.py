"""A registered builder's variables made at one copy of themselves (``export/lean_variables.py``):
random initialisation gives what Keras draws, bit for bit; with weights nothing is drawn that the
file overwrites, and whatever the file does not hold is drawn from its own initializer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import with_plugin

keras = pytest.importorskip("keras")

from sigforge.export.lean_variables import GRAPH_BYTES, lean_variables  # noqa: E402
from sigforge.export.lean_weights import fill_in_place  # noqa: E402

ROWS = GRAPH_BYTES // (4 * 16) + 1000  # a table over GRAPH_BYTES: drawn in a graph


@keras.saving.register_keras_serializable(package="sigforge_tests")
class Counted(keras.initializers.Initializer):
    """A team's own initializer that counts its calls."""

    calls = 0

    def __call__(self, shape, dtype=None):
        Counted.calls += 1
        return keras.ops.full(shape, 7.0, dtype=dtype)


def recommender(initializer: str | keras.initializers.Initializer = "uniform", dropout: bool = False):
    """A team's builder: every layer named, so that weights saved from it load by name."""
    keras.utils.set_random_seed(3)
    ids = keras.Input((5,), dtype="int32", name="ids")
    x = keras.layers.Embedding(ROWS, 16, embeddings_initializer=initializer, name="table")(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if dropout:
        x = keras.layers.Dropout(0.5, seed=1, name="drop")(x)
    x = keras.layers.Dense(4, kernel_initializer=Counted(), name="hidden")(x)
    return keras.Model(ids, {"scores": keras.layers.Dense(2, name="scores")(x)})


def values(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


@pytest.mark.parametrize(
    "initializer",
    ["uniform", "normal", "truncated_normal", "glorot_uniform", "he_normal", "lecun_uniform", "zeros"],
)
def test_random_initialisation_draws_exactly_what_keras_draws(initializer):
    with lean_variables(fill_later=False) as pending:
        ours = recommender(initializer)
    theirs = recommender(initializer)
    assert len(pending) == 0
    for mine, keras_own in zip(values(ours), values(theirs), strict=True):
        np.testing.assert_array_equal(mine, keras_own)


def test_with_weights_nothing_is_drawn_and_the_file_fills_every_weight(tmp_path):
    saved = recommender(dropout=True)
    saved.save_weights(tmp_path / "m.weights.h5")
    Counted.calls = 0
    with lean_variables(fill_later=True) as pending:
        model = recommender(dropout=True)
    assert Counted.calls == 0  # the team's initializer was not called: its value would be overwritten
    assert len(pending) == len(model.variables)
    filled = fill_in_place(model, tmp_path / "m.weights.h5")
    assert filled is not None and len(filled) == len(model.weights)
    assert pending.initialise(filled) == len(model.variables) - len(model.weights)  # the dropout's seed state
    assert Counted.calls == 0 and len(pending) == 0
    for mine, original in zip(values(model), values(saved), strict=True):
        np.testing.assert_array_equal(mine, original)


def test_what_the_file_does_not_fill_is_drawn_from_its_own_initializer():
    """Keras's own loader (a layout ``lean_weights`` does not handle) may skip variables: before
    it runs, every variable is given the value Keras would have drawn, in creation order."""
    with lean_variables(fill_later=True) as pending:
        model = recommender("he_normal")
    assert pending.initialise() == len(model.variables)
    for mine, keras_own in zip(values(model), values(recommender("he_normal")), strict=True):
        np.testing.assert_array_equal(mine, keras_own)


def test_variables_made_outside_keras_are_left_as_they_are():
    import tensorflow as tf

    with lean_variables(fill_later=True) as pending:
        plain = tf.Variable(lambda: tf.ones((3,)))
    assert len(pending) == 0
    np.testing.assert_array_equal(plain.numpy(), np.ones(3))


class Team:
    """A team's plugin: its builder registered through ``register_models``."""

    name = "team-recommender"

    def __init__(self) -> None:
        from sigforge import hookimpl

        def build(model, inputs, **params):
            table = recommender()
            ids = keras.Input((5,), dtype="int32", name="ids")
            return keras.Model({"ids": ids}, table(ids))

        self.register_models = hookimpl(lambda register: register("recommender", build))


def test_an_export_through_a_plugin_builder_serves_the_files_weights_or_keras_own_draw(compose, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import build_model

    plugins = with_plugin(Team())
    overrides = (
        "model.architecture=recommender",
        "inputs=[]",
        "+inputs.ids={modality: dense, dtype: int32, shape: [null, 5]}",
        f"export.base_dir={tmp_path}",
    )
    random = build_model(build_spec(compose(*overrides), plugins))
    for mine, keras_own in zip(values(random), values(recommender()), strict=True):
        np.testing.assert_array_equal(mine, keras_own)
    trained = recommender()
    trained.set_weights([w + 0.5 for w in trained.get_weights()])
    trained.save_weights(tmp_path / "trained.weights.h5")
    Counted.calls = 0
    loaded = build_model(
        build_spec(compose(*overrides, f"model.weights={tmp_path / 'trained.weights.h5'}"), plugins)
    )
    assert Counted.calls == 0
    for mine, original in zip(values(loaded), values(trained), strict=True):
        np.testing.assert_array_equal(mine, original)


PEAK = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    import keras, tensorflow as tf
    from sigforge.export.lean_variables import lean_variables
    mode, rows = sys.argv[1], 2**20  # a 256 MiB table, Keras's default initializer

    def build():
        ids = keras.Input((5,), dtype="int32")
        return keras.Model(ids, keras.layers.Embedding(rows, 64)(ids))

    def kb(field):
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith(field))

    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM, the peak, starts again from the RSS now
    before = kb("VmRSS:")
    if mode == "keras":
        model = build()
    else:
        with lean_variables(fill_later=mode == "fill_later") as pending:
            model = build()
    print(json.dumps({"grown_mib": (kb("VmHWM:") - before) / 1024}))
    """
)


@pytest.mark.slow
def test_a_large_table_costs_one_copy_of_itself_to_draw_and_nothing_to_defer():
    def grown(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", PEAK, mode], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["grown_mib"]

    keras_own, drawn, deferred = grown("keras"), grown("random"), grown("fill_later")
    print(f"MiB above the imports for a 256 MiB table: {keras_own=} {drawn=} {deferred=}")
    assert keras_own > 2.5 * 256  # the measurement sees Keras's eager temporaries
    assert drawn < 1.5 * 256  # the table, and about 80 MiB of TensorFlow's first tf.function
    assert deferred < 0.1 * 256  # an unwritten buffer: no page of it touched yet
