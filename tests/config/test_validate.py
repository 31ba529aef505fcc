"""config/validate.build_spec: a composed config -> a validated ExportSpec, without TensorFlow; the
export and mlflow groups, and problems reported together. Each group's own rules are tested in its
module's mirror (test_model, test_inputs, test_signatures, test_naming)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from conftest import EXPERIMENTS

from sigforge.config.validate import SWEEP_EXPERIMENT_ENV, build_spec
from sigforge.errors import ConfigError, PluginError
from sigforge.rules import key_problem, tf_sanitized


def contract_of(spec):
    return {
        s.name: (s.method_name, {k: (spec.input[n].dtype, spec.input[n].shape) for n, k in s.keys.items()})
        for s in spec.signatures
    }


def test_image_classifier_spec(compose, plugins):
    spec = build_spec(compose("+experiment=image_classifier"), plugins)
    assert contract_of(spec) == {
        "serving_default": ("tensorflow/serving/predict", {"image": ("float32", (None, 28, 28, 1))})
    }


def test_multi_input_spec(compose, plugins):
    spec = build_spec(compose("+experiment=multi_input"), plugins)
    assert contract_of(spec) == {
        "serving_default": (
            "tensorflow/serving/predict",
            {"image": ("float32", (None, 28, 28, 1)), "text": ("int32", (None, 100))},
        )
    }


def test_variable_length_spec(compose, plugins):
    spec = build_spec(compose("+experiment=variable_length"), plugins)
    assert contract_of(spec) == {
        "serving_default": (
            "tensorflow/serving/predict",
            {"input_sequence": ("float32", (None, None, 100)), "sequence_length": ("int32", (None,))},
        )
    }
    assert spec.input["input_sequence"].length_input == "sequence_length"


def test_dnn_classifier_spec_has_classify_signatures(compose, plugins):
    spec = build_spec(compose("+experiment=dnn_classifier"), plugins)
    methods = {s.name: s.method_name for s in spec.signatures}
    assert methods == {
        "serving_default": "tensorflow/serving/classify",
        "classification": "tensorflow/serving/classify",
        "predict": "tensorflow/serving/predict",
    }
    classify = next(s for s in spec.signatures if s.name == "classification")
    assert classify.client_keys == ("inputs",)
    assert set(classify.inputs) == {"age", "hours_per_week", "occupation"}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_into_a_valid_spec(compose, plugins, experiment):
    spec = build_spec(compose(f"+experiment={experiment}"), plugins)
    assert spec.model.name == experiment
    assert spec.signatures


def refusal(compose, plugins, *overrides, edit=None) -> str:
    cfg = compose(*overrides)
    if edit:
        cfg = copy.deepcopy(cfg)
        edit(cfg)
    with pytest.raises((ConfigError, PluginError)) as info:
        build_spec(cfg, plugins)
    return str(info.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("naming.policy=shouty", "naming.policy = 'shouty' is not a registered naming policy (registered: "),
        ("export.version=0", "export.version = 0 must be a positive integer"),
        (
            "export.version=9223372036854775808",
            "up to 9223372036854775807 (TF Serving reads versions as int64)",
        ),
        ("export.targets=[tflite,coreml]", "export.targets[1] = 'coreml' is not a runtime sigforge converts"),
        (
            "mlflow.tracking_uri=localhost:5000",
            "mlflow.tracking_uri = 'localhost:5000' is not a tracking URI",
        ),
        ("mlflow.operation_timeout=0", "mlflow.operation_timeout = 0 must be an integer >= 1 (seconds)."),
        ("mlflow.http_retries=-1", "mlflow.http_retries = -1 must be an integer >= 0."),
        ("mlflow.experiment_name=' '", "mlflow.experiment_name = ' ' must be a non-empty name"),
        (
            "mlflow.registered_model_name=' digits'",
            "mlflow.registered_model_name = ' digits' must be a plain",
        ),
    ],
)
def test_bad_export_and_mlflow_values_are_refused_naming_the_key(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)


def test_a_relative_base_dir_is_made_absolute_against_the_working_directory(compose, plugins, tmp_path):
    spec = build_spec(
        compose("+experiment=image_classifier", "export.base_dir=out/exports"), plugins, cwd=tmp_path
    )
    assert spec.base_dir == tmp_path / "out" / "exports"
    spec = build_spec(
        compose("+experiment=image_classifier", "export.base_dir='~/exports'"), plugins, cwd=tmp_path
    )
    assert spec.base_dir == Path.home() / "exports"


def test_export_targets_are_kept_once_in_their_order(compose, plugins):
    spec = build_spec(compose("+experiment=image_classifier", "export.targets=[onnx,tflite,onnx]"), plugins)
    assert spec.targets == ("onnx", "tflite")


@pytest.mark.parametrize(
    ("configured", "environment", "sweep", "expected"),
    [
        (None, None, None, "image_classifier"),
        (None, "from-env", None, "from-env"),
        (None, None, "the-sweep", "the-sweep"),
        (None, "from-env", "the-sweep", "from-env"),
        ("configured", "from-env", "the-sweep", "configured"),
    ],
)
def test_the_experiment_name_comes_from_config_then_environment_then_sweep_then_model(
    compose, plugins, monkeypatch, configured, environment, sweep, expected
):
    for name, value in (("MLFLOW_EXPERIMENT_NAME", environment), (SWEEP_EXPERIMENT_ENV, sweep)):
        if value is not None:
            monkeypatch.setenv(name, value)
    overrides = [f"mlflow.experiment_name={configured}"] if configured else []
    spec = build_spec(compose("+experiment=image_classifier", *overrides), plugins)
    assert spec.mlflow.experiment_name == expected


def test_a_bad_tracking_uri_in_the_environment_is_named_as_the_environment(compose, plugins, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite://:memory:")
    message = refusal(compose, plugins, "+experiment=image_classifier")
    assert "MLFLOW_TRACKING_URI (environment) = 'sqlite://:memory:' is an in-memory database" in message
    # The config wins over the environment: a good configured URI is used, the environment unread.
    cfg = compose("+experiment=image_classifier", "mlflow.tracking_uri=http://127.0.0.1:5000")
    assert build_spec(cfg, plugins).mlflow.tracking_uri == "http://127.0.0.1:5000"


def test_keys_and_plugin_checks_wait_until_every_value_is_right(compose, plugins):
    """Round one (values) stops before round two (keys, plugins' validate_signature): a clash of
    keys is not reported beside a wrong dtype, whose fix may change the keys."""
    message = refusal(
        compose, plugins, "+experiment=multi_input", "inputs.image.dtype=floaty", "inputs.text.key=image"
    )
    assert "inputs.image.dtype = 'floaty'" in message and "both get the key" not in message
    message = refusal(compose, plugins, "+experiment=multi_input", "inputs.text.key=image")
    assert "both get the key 'image'" in message


def test_every_problem_is_reported_at_once(compose, plugins):
    message = refusal(
        compose, plugins, "+experiment=multi_input", "inputs.image.dtype=floaty", "inputs.text.shape=[5]"
    )
    assert message.startswith("2 problems in the config:")


def test_unknown_plugin_module_names_the_module(compose):
    from sigforge.pipeline import prepare

    with pytest.raises(
        PluginError, match=r"plugins.modules\[0\] = 'no_such_team.plugin' could not be imported"
    ):
        prepare(compose("plugins.modules=[no_such_team.plugin]"))


@pytest.mark.parametrize(
    ("key", "renamed"),
    [("input_image:0", "input_image_0"), ("a-b", "a_b"), ("1x", "arg_1x"), ("_x", "arg__x")],
)
def test_tf_sanitized_mirrors_tensorflow(key, renamed):
    assert tf_sanitized(key) == renamed
    assert key_problem(key, "k") is not None


def test_plain_identifiers_are_valid_keys():
    for key in ("image", "input_image", "CamelCase", "x1", "inputs"):
        assert key_problem(key, "k") is None


def test_spec_layer_imports_no_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sigforge.plugins.manager import load_plugins\n"
        "from sigforge.config.validate import build_spec\n"
        "import sigforge.contract.read, sigforge.report.summary, sigforge.cli.inspect_command, sigforge.pipeline\n"
        "load_plugins()\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
