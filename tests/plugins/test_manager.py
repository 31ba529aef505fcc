"""``plugins.manager``: built-ins, installed entry points and ``plugins.modules`` in one plugin
manager; registries whose every name remembers its plugin; plugin parameters as keyword arguments."""

from __future__ import annotations

import os

import pytest
from conftest import REPO, Policy, saved_model_proto, with_plugin

from sigforge import hookimpl
from sigforge.config.validate import build_spec
from sigforge.errors import PluginError
from sigforge.plugins.manager import Registry, load_plugins, make_plugin_manager


def test_a_name_registered_twice_names_both_plugins():
    # pluggy calls the newest plugin first, so the copy registers first and the built-in second
    with pytest.raises(
        PluginError,
        match="naming policy 'identity' is registered twice, by plugin "
        "'copycat' and by plugin 'sigforge.plugins.builtin.naming'",
    ):
        with_plugin(Policy(lambda i, s, **_: "x", name="copycat", policy_name="identity"))


def test_misspelt_hook_is_refused():
    class Typo:
        name = "typo-plugin"

        @hookimpl
        def register_naming_policy(self, register):  # missing the final 's'
            pass

    with pytest.raises(PluginError, match="plugin 'typo-plugin' implements a hook sigforge does not define"):
        with_plugin(Typo())


def test_unknown_preprocessor_lists_the_registered_ones(compose):
    with pytest.raises(
        Exception, match=r"'sharpen' is not a registered preprocessor \(registered: decode_image, "
    ):
        build_spec(
            compose("+experiment=image_classifier", "+inputs.image.preprocess=[{name: sharpen}]"),
            with_plugin(),
        )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("", len, "registered a model under '': the name must be a non-empty string"),
        (7, len, "registered a model under 7"),
        ("dnn", "not callable", "registered model 'dnn' as str, which is not callable"),
    ],
)
def test_a_registration_that_is_not_a_name_and_a_callable_is_refused_naming_the_plugin(name, value, says):
    with pytest.raises(PluginError, match=f"plugin 'team' {says}"):
        Registry("model").add(name, value, "team")


@pytest.mark.parametrize("module", ["team-plugin", "team_pkg/plugin", "team_pkg.", "1team"])
def test_a_plugins_module_that_is_not_a_dotted_path_is_refused_before_importing(module):
    with pytest.raises(PluginError, match=r"plugins.modules\[0\] = .* is not a dotted module path"):
        make_plugin_manager([module], entry_points=False)


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


def test_a_hookimpl_with_wrong_argument_names_is_named(tmp_path, monkeypatch):
    (tmp_path / "team_bad_args.py").write_text(
        "from sigforge import hookimpl\n\n@hookimpl\ndef register_models(registry):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError, match=r"plugin 'team_bad_args' \(plugins.modules\[0\].*does not fit"
    ) as err:
        make_plugin_manager(["team_bad_args"], entry_points=False)
    assert "\n" not in str(err.value) and "registry" in str(err.value)  # one line, naming the argument


def test_every_plugin_registers_under_its_own_name_whatever_the_order(team):
    team(
        team_models="""
        @hookimpl(tryfirst=True)
        def register_models(register):
            register("team_dnn", lambda model, inputs, **params: None)
        """
    )
    plugins = load_plugins(["team_models"], entry_points=False)
    assert plugins.models.entries["team_dnn"].plugin == "team_models"
    assert plugins.models.entries["dnn_classifier"].plugin == "sigforge.plugins.builtin.models"


def test_export_finished_failures_leave_the_other_plugins_running(team):
    team(
        team_flaky="""
        @hookimpl(tryfirst=True)
        def export_finished(result):
            raise ConnectionError("chat server down")
        """,
        team_notes="""
        notes = []

        @hookimpl
        def export_finished(result):
            notes.append(result)
        """,
    )
    plugins = load_plugins(["team_flaky", "team_notes"], entry_points=False)
    failures = plugins.export_finished(result="v7")
    import team_notes

    assert team_notes.notes == ["v7"]
    assert failures == [
        "plugin 'team_flaky' failed in hook export_finished: ConnectionError: chat server down; "
        "fix the plugin or remove it from plugins.modules / uninstall it."
    ]


def test_plugins_written_for_the_old_parameter_forms_still_work_with_a_deprecation_warning(compose, tmp_path):
    """One release of grace: policy(input, signature) reading signature.naming, and
    builder(model_cfg, inputs) reading model_cfg.<param>, are called the old way and warned about."""
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

    got = {}

    def policy(input, signature, *, prefix, template):
        got.update(prefix=prefix, template=template)
        return prefix + input.name

    plugins = with_plugin(Policy(policy))
    build_spec(compose("+experiment=image_classifier", "naming.policy=team", "naming.prefix=p_"), plugins)
    assert got == {"prefix": "p_", "template": "{modality}_{name}"}


@pytest.mark.slow
def test_example_team_plugin_installed_with_pip_works_through_the_cli(tmp_path):
    tf = pytest.importorskip("tensorflow")
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
