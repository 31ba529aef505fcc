"""``plugins.hookspecs``: the public plugin API, each hook's contract as its docstring states it,
exercised with inline plugins on a fresh plugin manager, the way pluggy's users test."""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import pytest
from conftest import REPO, Policy, Preprocessor, with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import ConfigError, PluginError
from sigforge.plugins import hookspecs
from sigforge.plugins.manager import SigforgeDeprecationWarning


def test_register_naming_policies_hook_provides_a_selectable_policy(compose):
    plugins = with_plugin(Policy(lambda i, s, **_: f"{s.name}_{i.name}"))
    spec = build_spec(compose("+experiment=multi_input", "naming.policy=team"), plugins)
    assert spec.signatures[0].keys == {"image": "serving_default_image", "text": "serving_default_text"}


def test_policies_see_read_only_input_and_signature_views(compose):
    seen = []

    def policy(input, signature, **params):
        seen.append((input.name, input.modality, input.dtype, input.shape, signature.name, signature.method))
        with pytest.raises(AttributeError):
            input.name = "changed"
        return input.name

    build_spec(compose("+experiment=multi_input", "naming.policy=team"), with_plugin(Policy(policy)))
    assert seen == [
        ("image", "image", "float32", (None, 28, 28, 1), "serving_default", "predict"),
        ("text", "text", "int32", (None, 100), "serving_default", "predict"),
    ]


def test_policy_returning_a_non_string_is_named(compose):
    plugins = with_plugin(Policy(lambda i, s, **_: 42))
    with pytest.raises(
        PluginError, match=r"naming policy 'team' \(plugin 'team-policy'\) .* returned 42 \(int\)"
    ):
        build_spec(compose("+experiment=image_classifier", "naming.policy=team"), plugins)


def test_policy_returning_an_invalid_key_is_named(compose):
    plugins = with_plugin(Policy(lambda i, s, **_: f"{i.name}:0"))
    with pytest.raises(PluginError, match=r"plugin 'team-policy'.*'image:0' is not a valid signature key"):
        build_spec(compose("+experiment=image_classifier", "naming.policy=team"), plugins)


def test_policy_giving_two_inputs_one_key_is_refused(compose):
    plugins = with_plugin(Policy(lambda i, s, **_: "same"))
    with pytest.raises(ConfigError, match="inputs 'image' and 'text' both get the key 'same'"):
        build_spec(compose("+experiment=multi_input", "naming.policy=team"), plugins)


def test_validate_signature_problems_stop_the_export(compose, tmp_path):
    class Rules:
        name = "team-rules"

        @hookimpl
        def validate_signature(self, signature):
            if signature.method == "predict" and "scores" in signature.outputs:
                return [f"signature {signature.name} must not expose raw scores"]
            return []

    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}")
    with pytest.raises(
        Exception, match="plugin 'team-rules': signature serving_default must not expose raw scores"
    ):
        build_spec(cfg, with_plugin(Rules()))
    assert os.listdir(tmp_path) == []


def test_every_hook_is_documented_tested_and_in_the_readme():
    tree = ast.parse(Path(hookspecs.__file__).read_text())
    hooks = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert {h.name for h in hooks} >= {
        "register_naming_policies",
        "register_preprocessors",
        "register_models",
        "validate_signature",
        "export_finished",
    }
    tests = "".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
    guide = (REPO / "docs" / "plugins.md").read_text()
    for hook in hooks:
        assert ast.get_docstring(hook), f"hook {hook.name} has no docstring"
        assert f"def test_{hook.name}" in tests, f"hook {hook.name} has no test named after it"
        assert f"`{hook.name}" in guide, f"hook {hook.name} is not in docs/plugins.md"


def test_what_a_preprocessor_factory_returns_is_told_by_its_methods():
    class Step:
        def serving_spec(self, spec):
            return spec

        def __call__(self, tensor):
            return tensor

    class StepWithExample(Step):
        def example_input(self, batch):
            return [b"raw"] * batch

    class NoSpec:
        def __call__(self, tensor):
            return tensor

    assert isinstance(Step(), hookspecs.Preprocessor)
    assert not isinstance(Step(), hookspecs.PreprocessorWithExample)
    assert isinstance(StepWithExample(), hookspecs.PreprocessorWithExample)
    assert not isinstance(NoSpec(), hookspecs.Preprocessor)


tf = pytest.importorskip("tensorflow")

np = pytest.importorskip("numpy")


def export_with(compose, plugins, tmp_path, *overrides):
    from sigforge.pipeline import run_export

    spec = build_spec(compose(*overrides, f"export.base_dir={tmp_path}"), plugins)
    return run_export(spec, plugins)


def test_register_preprocessors_hook_changes_what_the_client_sends(compose, tmp_path):
    class Uint8:
        def serving_spec(self, spec):
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor):
            return tf.cast(tensor, tf.float32) / 255.0

    plugins = with_plugin(Preprocessor(Uint8))
    result = export_with(
        compose,
        plugins,
        tmp_path,
        "+experiment=image_classifier",
        "+inputs.image.preprocess=[{name: team_pre}]",
    )
    assert result.summary["signatures"]["serving_default"]["inputs"]["image"] == {
        "dtype": "uint8",
        "shape": [None, 28, 28, 1],
    }
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    assert serve(image=tf.zeros([2, 28, 28, 1], tf.uint8))["scores"].shape == (2, 10)


def test_a_preprocessor_is_handed_the_spec_it_produces_for(compose, tmp_path):
    """The 0.2 contract: no call order to rely on. serving_spec answers from its argument, and
    __call__ / example_input that declare ``spec`` get the spec their output must have."""
    seen = []

    class Scaled:
        def serving_spec(self, spec):
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor, spec):
            seen.append(("call", spec.dtype.name, spec.shape.as_list()))
            return tf.cast(tensor, spec.dtype) / 255.0

        def example_input(self, batch, spec):
            seen.append(("example", spec.dtype.name, spec.shape.as_list()))
            return np.full([batch, *spec.shape.as_list()[1:]], 255, np.uint8)

    with warnings.catch_warnings():
        warnings.simplefilter("error", SigforgeDeprecationWarning)
        result = export_with(
            compose,
            with_plugin(Preprocessor(Scaled)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    assert ("call", "float32", [None, 28, 28, 1]) in seen
    assert ("example", "float32", [None, 28, 28, 1]) in seen
    assert result.summary["signatures"]["serving_default"]["inputs"]["image"]["dtype"] == "uint8"


def test_register_models_hook_provides_an_architecture(compose, tmp_path):
    import keras

    class Models:
        name = "team-models"

        @hookimpl
        def register_models(self, register):
            def linear(model, inputs, **params):
                image = keras.Input(shape=(28, 28, 1), name="image")
                scores = keras.layers.Dense(model.num_classes, activation="softmax")(
                    keras.layers.Flatten()(image)
                )
                return keras.Model({"image": image}, {"scores": scores})

            register("team_linear", linear)

    result = export_with(
        compose,
        with_plugin(Models()),
        tmp_path,
        "+experiment=image_classifier",
        "model.architecture=team_linear",
        "model.num_classes=3",
    )
    assert result.summary["signatures"]["serving_default"]["outputs"]["scores"]["shape"] == [None, 3]


def test_export_finished_receives_the_published_result(compose, tmp_path):
    seen = []

    class Notify:
        name = "notify"

        @hookimpl
        def export_finished(self, result):
            seen.append(
                (result.version, result.export_dir, result.spec.model.name, sorted(result.report.smoke))
            )

    result = export_with(compose, with_plugin(Notify()), tmp_path, "+experiment=image_classifier")
    assert seen == [(1, result.export_dir, "image_classifier", ["serving_default"])]


def test_export_finished_failure_is_reported_but_the_version_stays(compose, tmp_path, caplog):
    class Flaky:
        name = "flaky"

        @hookimpl
        def export_finished(self, result):
            raise OSError("chat server down")

    result = export_with(compose, with_plugin(Flaky()), tmp_path, "+experiment=image_classifier")
    assert (result.export_dir / "saved_model.pb").exists()
    assert "plugin 'flaky' failed in hook export_finished: OSError: chat server down" in caplog.text
