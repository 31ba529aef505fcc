"""The plugin contract: inline plugins on a fresh plugin manager, the way pluggy's users test."""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import pytest
from conftest import REPO, saved_model_proto, with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import ConfigError, PluginError
from sigforge.plugins import hookspecs
from sigforge.plugins.manager import SigforgeDeprecationWarning


class Policy:
    """A plugin offering one naming policy."""

    def __init__(self, policy, name="team-policy", policy_name="team"):
        self.policy, self.name, self.policy_name = policy, name, policy_name

    @hookimpl
    def register_naming_policies(self, register):
        register(self.policy_name, self.policy)


class Preprocessor:
    def __init__(self, factory, name="team-pre", pre_name="team_pre"):
        self.factory, self.name, self.pre_name = factory, name, pre_name

    @hookimpl
    def register_preprocessors(self, register):
        register(self.pre_name, self.factory)


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


def test_a_name_registered_twice_names_both_plugins():
    # pluggy calls the newest plugin first, so the copy registers first and the built-in second
    with pytest.raises(
        PluginError,
        match="naming policy 'identity' is registered twice, by plugin "
        "'copycat' and by plugin 'sigforge.plugins.builtin.naming'",
    ):
        with_plugin(Policy(lambda i, s, **_: "x", name="copycat", policy_name="identity"))


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


def test_hook_that_raises_is_reported_by_plugin_and_hook():
    class Broken:
        name = "broken-plugin"

        @hookimpl
        def register_models(self, register):
            raise RuntimeError("boom")

    with pytest.raises(
        PluginError, match="plugin 'broken-plugin' failed in hook register_models: RuntimeError: boom"
    ):
        with_plugin(Broken())


def test_misspelt_hook_is_refused():
    class Typo:
        name = "typo-plugin"

        @hookimpl
        def register_naming_policy(self, register):  # missing the final 's'
            pass

    with pytest.raises(PluginError, match="plugin 'typo-plugin' implements a hook sigforge does not define"):
        with_plugin(Typo())


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


def test_unknown_preprocessor_lists_the_registered_ones(compose):
    with pytest.raises(
        Exception, match=r"'sharpen' is not a registered preprocessor \(registered: decode_image, "
    ):
        build_spec(
            compose("+experiment=image_classifier", "+inputs.image.preprocess=[{name: sharpen}]"),
            with_plugin(),
        )


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


def test_a_preprocessor_that_stores_state_in_serving_spec_still_works_with_a_warning(compose, tmp_path):
    class Remembers:  # 0.1's form: __call__ reads what serving_spec stored
        def serving_spec(self, spec):
            self.dtype = spec.dtype
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor):
            return tf.cast(tensor, self.dtype) / 255.0

    with pytest.warns(
        SigforgeDeprecationWarning,
        match=r"plugin 'team-pre': preprocessor 'team_pre'.serving_spec stores state",
    ):
        result = export_with(
            compose,
            with_plugin(Preprocessor(Remembers)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    assert serve(image=tf.zeros([2, 28, 28, 1], tf.uint8))["scores"].shape == (2, 10)


def test_preprocessor_whose_serving_spec_is_not_a_tensorspec_is_named(compose, tmp_path):
    class Bad:
        def serving_spec(self, spec):
            return "string please"

        def __call__(self, tensor):
            return tensor

    with pytest.raises(
        PluginError, match=r"plugin 'team-pre': preprocessor 'team_pre'.serving_spec returned str"
    ):
        export_with(
            compose,
            with_plugin(Preprocessor(Bad)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    assert not any(tmp_path.rglob("saved_model.pb"))


def test_preprocessor_output_that_does_not_fit_the_model_names_both(compose, tmp_path):
    class Shrink:
        def serving_spec(self, spec):
            return tf.TensorSpec([None, 14, 14, 1], tf.float32)

        def __call__(self, tensor):
            return tensor  # forgot to resize

    with pytest.raises(
        PluginError,
        match=r"preprocessor 'team_pre' on inputs.image returns float32 \(None, 14, 14, 1\), "
        r"but the model takes float32 \[None, 28, 28, 1\]",
    ):
        export_with(
            compose,
            with_plugin(Preprocessor(Shrink)),
            tmp_path,
            "+experiment=image_classifier",
            "+inputs.image.preprocess=[{name: team_pre}]",
        )
    assert not any(tmp_path.rglob("saved_model.pb"))


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


def test_builtin_image_bytes_experiment_serves_real_png_and_jpeg(export):
    result = export("image_bytes")
    assert result.summary["signatures"]["serving_default"]["inputs"] == {
        "image": {"dtype": "string", "shape": [None]}
    }
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    pixels = (np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1) * 3) % 255
    batch = tf.constant([tf.io.encode_png(pixels).numpy(), tf.io.encode_jpeg(pixels, quality=100).numpy()])
    scores = serve(image=batch)["scores"].numpy()
    assert scores.shape == (2, 10)
    np.testing.assert_allclose(scores[0], scores[1], atol=2e-3)  # same picture, two encodings
    # Same result as preprocessing eagerly and calling the model with floats.
    direct = tf.saved_model.load(str(export("image_classifier").export_dir)).signatures["serving_default"]
    np.testing.assert_allclose(
        scores[0], direct(image=tf.constant(pixels[None] / 255.0, tf.float32))["scores"][0], rtol=1e-4
    )


def test_builtin_tokenize_ships_its_vocabulary_as_an_asset(export, tmp_path):
    import shutil

    result = export("text_raw")
    moved = tmp_path / "moved"
    shutil.copytree(result.export_dir, moved)  # the SavedModel must not depend on files outside it
    assert (moved / "assets" / "vocabulary.txt").read_text().splitlines()[:3] == ["the", "a", "an"]
    serve = tf.saved_model.load(str(moved)).signatures["serving_default"]
    image = tf.zeros([2, 28, 28, 1])
    same = serve(image=image, text=tf.constant(["The quick fox", "the   QUICK fox"]))["scores"].numpy()
    np.testing.assert_allclose(same[0], same[1], rtol=1e-6)  # lower-cased, whitespace-split
    other = serve(image=image, text=tf.constant(["lazy dog", "zzz unknown"]))["scores"].numpy()
    assert not np.allclose(same[0], other[0])


def test_tokenize_maps_tokens_to_ids_with_oov_and_padding():
    from sigforge.plugins.builtin.preprocessors import _factory

    tokenize = _factory("tokenize")(vocabulary=["the", "fox"], oov_id=1, pad_id=0, first_id=2)
    ids_spec = tf.TensorSpec([None, 5], tf.int32)
    assert tokenize.serving_spec(ids_spec) == tf.TensorSpec([None], tf.string)
    ids = tokenize(tf.constant(["the red fox", "Fox the fox the fox the"]), ids_spec).numpy().tolist()
    assert ids == [[2, 1, 3, 0, 0], [3, 2, 3, 2, 3]]


def test_normalize_and_parse_example():
    from sigforge.plugins.builtin.preprocessors import _factory

    normalize = _factory("normalize")(mean=[1.0], std=[2.0])
    np.testing.assert_allclose(normalize(tf.constant([[3.0]])).numpy(), [[1.0]])
    with pytest.raises(ValueError, match="both mean and std"):
        _factory("normalize")(mean=[1.0])
    parse = _factory("parse_example")(feature="age")
    age = tf.TensorSpec([None], tf.float32)
    assert parse.serving_spec(age) == tf.TensorSpec([None], tf.string)
    example = tf.train.Example(
        features=tf.train.Features(
            feature={"age": tf.train.Feature(float_list=tf.train.FloatList(value=[7.5]))}
        )
    )
    assert parse(tf.constant([example.SerializeToString()]), age).numpy().tolist() == [7.5]


@pytest.mark.slow
def test_example_team_plugin_installed_with_pip_works_through_the_cli(tmp_path):
    import subprocess
    import sys

    from conftest import QUIET_TF, pip_install_target

    site = tmp_path / "site"
    pip_install_target(REPO / "plugins" / "sigforge-team-example", site)
    env = {**os.environ, **QUIET_TF, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigforge",
            "+experiment=variable_length",
            "naming.policy=camel",
            "+inputs.input_sequence.preprocess=[{name: uint8_image}]",
            "inputs.input_sequence.shape=[null,null,100]",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    export_dir = tmp_path / "outputs" / "exports" / "variable_length" / "1"
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    _, keys = serve.structured_input_signature
    assert {k: v.dtype.name for k, v in keys.items()} == {"inputSequence": "uint8", "sequenceLength": "int32"}
    out = serve(
        inputSequence=tf.fill([3, 4, 100], tf.constant(200, tf.uint8)), sequenceLength=tf.constant([1, 2, 4])
    )
    assert out["scores"].shape == (3, 4)
    model = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigforge",
            "+experiment=multi_input",
            "model.architecture=res_mlp",
            "+model.params={depth: 3, width: 16}",
            "mlflow.enabled=false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert model.returncode == 0, model.stderr
    served = saved_model_proto(tmp_path / "outputs" / "exports" / "multi_input" / "1")
    assert set(served.signature_def["serving_default"].inputs) == {"image", "text"}
    without = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigforge",
            "+experiment=variable_length",
            "naming.policy=camel",
            "export.dry_run=true",
        ],
        cwd=tmp_path,
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
    )
    assert without.returncode == 2
    assert "naming.policy = 'camel' is not a registered naming policy" in without.stderr


def test_plugins_modules_from_config_are_loaded(compose, tmp_path, monkeypatch):
    from sigforge.pipeline import prepare

    (tmp_path / "team_conventions.py").write_text(
        "from sigforge import hookimpl\n\n"
        "@hookimpl\n"
        "def register_naming_policies(register):\n"
        "    register('shout', lambda input, signature, **params: input.name.upper())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec, _ = prepare(
        compose("+experiment=multi_input", "plugins.modules=[team_conventions]", "naming.policy=shout")
    )
    assert spec.signatures[0].keys == {"image": "IMAGE", "text": "TEXT"}


def test_plugin_module_that_fails_to_import_names_the_module_and_error(compose, tmp_path, monkeypatch):
    from sigforge.pipeline import prepare

    (tmp_path / "team_broken.py").write_text("import numpy_but_misspelt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError,
        match=r"plugins.modules\[0\] = 'team_broken' could not be imported: "
        r"ModuleNotFoundError: No module named 'numpy_but_misspelt'",
    ):
        prepare(compose("plugins.modules=[team_broken]"))


# ---- plugin boundaries: every way a plugin can fail ends in one message naming it ------------------


def test_a_hookimpl_with_wrong_argument_names_is_named(tmp_path, monkeypatch):
    from sigforge.plugins.manager import make_plugin_manager

    (tmp_path / "team_bad_args.py").write_text(
        "from sigforge import hookimpl\n\n@hookimpl\ndef register_models(registry):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError, match=r"plugin 'team_bad_args' \(plugins.modules\[0\].*does not fit"
    ) as err:
        make_plugin_manager(["team_bad_args"], entry_points=False)
    assert "\n" not in str(err.value) and "registry" in str(err.value)  # one line, naming the argument


def test_a_hook_that_calls_sys_exit_is_a_failing_plugin(compose):
    import sys

    from sigforge.config.validate import build_spec

    class Quitter:
        name = "quitter"

        @hookimpl
        def register_naming_policies(self, register):
            register("quit", lambda input, signature, **params: sys.exit(3))

    with pytest.raises(PluginError, match="plugin 'quitter' failed in .*SystemExit"):
        build_spec(compose("+experiment=image_classifier", "naming.policy=quit"), with_plugin(Quitter()))


def test_a_model_builder_that_returns_no_model_is_named(compose, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    class NotAModel:
        name = "team-broken"

        @hookimpl
        def register_models(self, register):
            register("broken", lambda model, inputs, **params: {"scores": 1})

    plugins = with_plugin(NotAModel())
    cfg = compose("+experiment=image_classifier", "model.architecture=broken", f"export.base_dir={tmp_path}")
    with pytest.raises(
        PluginError, match="plugin 'team-broken': model builder 'broken' returned dict, not a model"
    ):
        run_export(build_spec(cfg, plugins), plugins)


@pytest.mark.parametrize(
    ("example_input", "message"),
    [
        (lambda batch: 1 / 0, r"example_input\(2\) .* raised ZeroDivisionError"),
        (lambda batch: "not an array", r"example_input\(2\) .* returned <U12 \[\]"),
        (lambda batch: np.zeros((batch + 1, 28, 28, 1), np.uint8), r"returned uint8 \[3, 28, 28, 1\]"),
    ],
    ids=["raises", "wrong-type", "wrong-batch"],
)
def test_example_input_that_misbehaves_is_named(compose, tmp_path, example_input, message):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    class Raw:
        def serving_spec(self, spec):
            return tf.TensorSpec(spec.shape, tf.uint8)

        def __call__(self, tensor):
            return tf.cast(tensor, tf.float32)

    Raw.example_input = staticmethod(example_input)

    class Team:
        name = "team-raw"

        @hookimpl
        def register_preprocessors(self, register):
            register("raw", Raw)

    plugins = with_plugin(Team())
    cfg = compose(
        "+experiment=image_classifier", "inputs.image.preprocess=[{name: raw}]", f"export.base_dir={tmp_path}"
    )
    with pytest.raises(PluginError, match=message) as caught:
        run_export(build_spec(cfg, plugins), plugins)
    assert "plugin 'team-raw': preprocessor 'raw'" in str(caught.value)
    assert os.listdir(tmp_path / "image_classifier") == []


def test_plugins_written_for_the_old_parameter_forms_still_work_with_a_deprecation_warning(compose, tmp_path):
    """One release of grace: policy(input, signature) reading signature.naming, and
    builder(model_cfg, inputs) reading model_cfg.<param>, are called the old way and warned about."""
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import build_model
    from sigforge.plugins.manager import SigforgeDeprecationWarning

    class OldStyle:
        name = "old-style"

        @hookimpl
        def register_naming_policies(self, register):
            register("old", lambda input, signature: signature.naming["prefix"] + input.name)

        @hookimpl
        def register_models(self, register):
            def build(model_cfg, inputs):
                import keras

                x = keras.Input(shape=(8,), name="features")
                units = model_cfg.hidden_units[0]
                return keras.Model({"features": x}, {"scores": keras.layers.Dense(units)(x)})

            register("old_model", build)

    plugins = with_plugin(OldStyle())
    cfg = compose(
        "model.architecture=old_model",
        "model.hidden_units=[3]",
        "naming.policy=old",
        "inputs=[]",
        "+inputs.features={modality: dense, shape: [null, 8]}",
    )
    with pytest.warns(SigforgeDeprecationWarning, match="naming policy 'old'.*deprecated"):
        spec = build_spec(cfg, plugins)
    assert spec.signatures[0].keys == {"features": "input_features"}
    with (
        pytest.warns(SigforgeDeprecationWarning, match="model builder 'old_model'.*deprecated"),
        pytest.warns(SigforgeDeprecationWarning, match=r"model_cfg\.hidden_units is deprecated"),
    ):
        model = build_model(spec)
    assert tuple(model.outputs[0].shape) == (None, 3)


def test_plugins_get_their_parameters_as_keyword_arguments(compose):
    from sigforge.config.validate import build_spec

    got = {}

    def policy(input, signature, *, prefix, template):
        got.update(prefix=prefix, template=template)
        return prefix + input.name

    plugins = with_plugin(Policy(policy))
    build_spec(compose("+experiment=image_classifier", "naming.policy=team", "naming.prefix=p_"), plugins)
    assert got == {"prefix": "p_", "template": "{modality}_{name}"}
