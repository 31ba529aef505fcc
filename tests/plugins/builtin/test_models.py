"""``plugins.builtin.models``: the built-in architectures, one encoder per input modality and a
head by task, registered like any team's models."""

from __future__ import annotations

import pytest
from conftest import HEAD_MULTI

from sigforge.config.validate import build_spec
from sigforge.errors import PluginError
from sigforge.plugins.builtin.models import ARCHITECTURES

keras = pytest.importorskip("keras")


def test_every_architecture_is_registered_by_the_builtin_plugin(plugins):
    assert {name: plugins.models.entries[name].plugin for name in ARCHITECTURES} == dict.fromkeys(
        ARCHITECTURES, "sigforge.plugins.builtin.models"
    )


def test_an_architecture_without_the_modality_it_needs_refuses_the_config(compose, plugins):
    from sigforge.pipeline import build_model

    spec = build_spec(compose("+experiment=image_classifier", "model.architecture=multi_input"), plugins)
    with pytest.raises(
        PluginError, match="needs an input of modality text, but the inputs are image"
    ) as info:
        build_model(spec)
    assert "(built in) refused the config" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "outputs"),
    [
        (["+experiment=dnn_classifier"], {"scores": [None, 3]}),
        (["+experiment=dnn_regressor"], {"outputs": [None, 1]}),
        (list(HEAD_MULTI), {"logits": [None, 3]}),
    ],
    ids=["classification", "regression", "estimator-head"],
)
def test_the_head_follows_the_task_or_the_estimator_head(compose, plugins, overrides, outputs):
    from sigforge.pipeline import build_model

    model = build_model(build_spec(compose(*overrides), plugins))
    assert {k: list(v.shape) for k, v in model.output.items()} == outputs


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
    import sigforge.plugins.builtin.keras_layers  # noqa: F401  (what registers the layers with Keras)
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
