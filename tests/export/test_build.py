"""``export.build``: the model an export serves, a registered builder's with ``model.weights``
loaded into it (random initialisation, said loudly, without them), and where its weights came from."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import ExportError, PluginError
from sigforge.export.build import build_model, weights_origin

tf = pytest.importorskip("tensorflow")


def test_weights_origin_says_where_the_served_weights_come_from(compose, plugins, tmp_path):
    weights = tmp_path / "trained.weights.h5"
    weights.write_bytes(b"")
    untrained = build_spec(compose("+experiment=image_classifier"), plugins)
    trained = build_spec(compose("+experiment=image_classifier", f"model.weights={weights}"), plugins)
    assert weights_origin(untrained) == "random-init"
    assert weights_origin(trained) == f"file:{weights}"


def test_a_model_built_without_weights_is_exported_with_a_warning_naming_the_fix(compose, plugins, caplog):
    spec = build_spec(compose("+experiment=image_classifier"), plugins)
    with caplog.at_level(logging.WARNING, logger="sigforge"):
        model = build_model(spec)
    assert "model.weights is not set: image_classifier is exported with untrained" in caplog.text
    assert "model.weights=<file>" in caplog.text
    assert model({"image": np.zeros((1, 28, 28, 1), "float32")})["scores"].shape == (1, 10)


def test_weights_file_is_loaded_before_export(compose, plugins, tmp_path):
    from sigforge.pipeline import run_export

    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}", "model.seed=1")
    trained = build_model(build_spec(cfg, plugins))
    trained.set_weights([w + 0.5 for w in trained.get_weights()])
    trained.save_weights(tmp_path / "trained.weights.h5")
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        f"model.weights={tmp_path / 'trained.weights.h5'}",
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    image = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(
        serve(image=tf.constant(image))["scores"].numpy(),
        trained({"image": image})["scores"].numpy(),
        rtol=1e-5,
    )


def test_incompatible_weights_are_refused_and_nothing_is_published(compose, plugins, tmp_path):
    from sigforge.pipeline import run_export

    other = build_model(build_spec(compose("+experiment=multi_input"), plugins))
    other.save_weights(tmp_path / "other.weights.h5")
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path / 'exports'}",
        f"model.weights={tmp_path / 'other.weights.h5'}",
    )
    with pytest.raises(ExportError, match="cannot be loaded into model 'image_cnn'"):
        run_export(build_spec(cfg, plugins), plugins)
    assert not any((tmp_path / "exports").rglob("saved_model.pb"))


def test_a_model_builder_that_returns_no_model_is_named(compose):
    class NotAModel:
        name = "team-broken"

        @hookimpl
        def register_models(self, register):
            register("broken", lambda model, inputs, **params: {"scores": 1})

    plugins = with_plugin(NotAModel())
    spec = build_spec(compose("+experiment=image_classifier", "model.architecture=broken"), plugins)
    with pytest.raises(
        PluginError, match="plugin 'team-broken': model builder 'broken' returned dict, not a model"
    ):
        build_model(spec)
