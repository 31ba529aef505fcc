"""``model.source``: a model trained elsewhere, exported with the config's inputs and signatures."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import session_run

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small classifier trained for a few steps, saved as .keras and as a SavedModel."""
    keras.utils.set_random_seed(3)
    image = keras.Input(shape=(28, 28, 1), name="image")
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(image))
    model = keras.Model(image, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 28, 28, 1), np.float32), rng.integers(0, 10, 64), epochs=2, verbose=0)
    root = tmp_path_factory.mktemp("trained")
    model.save(root / "model.keras")
    model.export(str(root / "saved_model"), verbose=False)
    probe = rng.random((5, 28, 28, 1), np.float32)
    return root, probe, model.predict(probe, verbose=0)


@pytest.mark.parametrize("form", ["model.keras", "saved_model"])
def test_a_trained_model_is_exported_exactly(compose, plugins, tmp_path, trained, form):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    root, probe, expected = trained
    cfg = compose(
        "+experiment=image_classifier", f"export.base_dir={tmp_path}", f"model.source={root / form}"
    )
    result = run_export(build_spec(cfg, plugins), plugins, summary_dir=tmp_path / "summary")
    assert result.summary["weights"] == f"source:{root / form}"
    served = session_run(result.export_dir, "serving_default", {"image": probe})["scores"]
    loaded = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"](image=probe)["scores"]
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loaded.numpy(), expected, rtol=1e-6, atol=1e-7)


@pytest.fixture(scope="module")
def unnamed(tmp_path_factory):
    """The common case: a Sequential model whose one input Keras names itself, saved both ways."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    root = tmp_path_factory.mktemp("unnamed")
    model.save(root / "model.keras")
    model.export(str(root / "saved_model"), verbose=False)
    probe = np.random.default_rng(1).random((3, 28, 28, 1), np.float32)
    return root, probe, model.predict(probe, verbose=0)


@pytest.mark.parametrize("form", ["model.keras", "saved_model"])
def test_a_single_unnamed_input_is_matched_by_position(compose, plugins, tmp_path, unnamed, form, caplog):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    root, probe, expected = unnamed
    cfg = compose(
        "+experiment=image_classifier", f"export.base_dir={tmp_path}", f"model.source={root / form}"
    )
    with caplog.at_level("INFO", logger="sigforge"):
        result = run_export(build_spec(cfg, plugins), plugins)
    assert "is matched to the config's only input, inputs.image, by position" in caplog.text
    served = session_run(result.export_dir, "serving_default", {"image": probe})["scores"]
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-6)


def test_a_saved_model_source_linking_outside_itself_is_refused(compose, plugins, tmp_path, trained):
    """A link out of the source directory would publish (and upload) the file it points at."""
    import shutil

    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    root, _, _ = trained
    source = tmp_path / "source"
    shutil.copytree(root / "saved_model", source)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for export")
    (source / "assets").mkdir(exist_ok=True)
    (source / "assets" / "vocab.txt").symlink_to(secret)
    base = tmp_path / "exports"
    cfg = compose("+experiment=image_classifier", f"export.base_dir={base}", f"model.source={source}")
    with pytest.raises(ExportError, match=r"holds links to files outside it \(assets/vocab.txt\)"):
        run_export(build_spec(cfg, plugins), plugins)
    assert not list(base.rglob("*.txt"))


def test_a_source_whose_inputs_differ_is_refused_before_any_write(compose, plugins, tmp_path, trained):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    root, _, _ = trained
    cfg = compose(
        "+experiment=multi_input", f"export.base_dir={tmp_path}", f"model.source={root / 'model.keras'}"
    )
    with pytest.raises(ExportError) as caught:
        run_export(build_spec(cfg, plugins), plugins)
    message = str(caught.value)
    assert "the config declares text, which the model does not take" in message
    assert "The model takes {image: float32 [None, 28, 28, 1]}" in message
    assert os.listdir(tmp_path / "multi_input") == []

    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        f"model.source={root / 'saved_model'}",
        "inputs.image.dtype=float64",
    )
    with pytest.raises(
        ExportError, match="inputs.image: the model takes float32, the config declares float64"
    ):
        run_export(build_spec(cfg, plugins), plugins)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("missing.keras", "does not exist"),
        (".", "a directory without saved_model.pb"),
    ],
)
def test_model_source_paths_are_checked_with_the_config(compose, plugins, tmp_path, value, message):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        build_spec(compose("+experiment=image_classifier", f"model.source={value}"), plugins, cwd=tmp_path)


def test_random_weights_are_announced_and_recorded(run_cli, tmp_path):
    done = run_cli("+experiment=image_classifier", "mlflow.enabled=false")
    assert done.returncode == 0, done.stderr
    assert "untrained, randomly initialised weights" in done.stdout + done.stderr
    summary = next((tmp_path / "outputs" / "runs").glob("*/*/signature_summary.json")).read_text()
    assert '"weights": "random-init"' in summary


def test_team_hyperparameters_and_a_command_line_input_compose_and_export(compose, tmp_path):
    from conftest import with_plugin

    from sigforge import hookimpl
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    seen = {}

    class ResMlp:
        name = "team-res-mlp"

        @hookimpl
        def register_models(self, register):
            def build(model, inputs, *, depth, **params):
                seen.update(params, depth=depth)
                features = keras.Input(shape=(8,), name="features")
                x = features
                for _ in range(depth):
                    x = x + keras.layers.Dense(8, activation="relu")(x)
                return keras.Model({"features": features}, {"scores": keras.layers.Dense(3)(x)})

            register("res_mlp", build)

    plugins = with_plugin(ResMlp())
    cfg = compose(
        "model.architecture=res_mlp",
        "+model.params={depth: 2, width: 8}",
        "inputs=[]",
        "+inputs.features={modality: dense, dtype: float32, shape: [null, 8]}",
        f"export.base_dir={tmp_path}",
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    assert seen["depth"] == 2 and seen["width"] == 8
    assert result.summary["signatures"]["serving_default"]["inputs"] == {
        "features": {"dtype": "float32", "shape": [None, 8]}
    }


def test_a_keras_source_refused_by_safe_mode_names_the_layer_and_safe_mode(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    image = keras.Input((28, 28, 1), name="image")
    doubled = keras.layers.Lambda(lambda x: x * 2)(image)
    model = keras.Model(image, keras.layers.Dense(10)(keras.layers.Flatten()(doubled)))
    model.save(tmp_path / "lambda.keras")
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        f"model.source={tmp_path / 'lambda.keras'}",
    )
    with pytest.raises(ExportError) as refused:
        run_export(build_spec(cfg, plugins), plugins)
    message = str(refused.value)
    assert "Keras's safe mode refuses its Lambda layer" in message and "safe_mode=True" in message
    assert "\n" not in message
