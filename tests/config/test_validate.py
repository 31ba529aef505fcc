"""The spec layer: config -> validated ExportSpec, without TensorFlow."""

from __future__ import annotations

import copy

import pytest
from conftest import EXPERIMENTS

from sigforge.config.validate import build_spec
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


def test_tf_example_input_is_parsed_in_graph(compose, plugins):
    spec = build_spec(compose("+experiment=tf_example"), plugins)
    examples = spec.input["examples"]
    assert (examples.modality, examples.dtype, examples.shape) == ("tf_example", "float32", (None, 8))
    assert [(s.name, dict(s.params)) for s in examples.preprocess] == [
        ("parse_example", {"feature": "features"})
    ]
    # Declared without a chain, a tf_example input is parsed with the feature named after it.
    bare = build_spec(compose("+experiment=tf_example", "inputs.examples.preprocess=[]"), plugins)
    assert [(s.name, dict(s.params)) for s in bare.input["examples"].preprocess] == [
        ("parse_example", {"feature": "examples"})
    ]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_into_a_valid_spec(compose, plugins, experiment):
    spec = build_spec(compose(f"+experiment={experiment}"), plugins)
    assert spec.model.name == experiment
    assert spec.signatures


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("naming.policy=identity", "image"),
        ("naming.policy=prefixed", "input_image"),
        ("naming=template", "image_image"),
        ("inputs.image.key=pixels", "pixels"),
    ],
)
def test_naming_policy_and_explicit_key_decide_the_client_key(compose, plugins, override, key):
    spec = build_spec(compose("+experiment=image_classifier", override), plugins)
    assert spec.signatures[0].keys == {"image": key}


def test_template_policy_takes_its_template_from_config(compose, plugins):
    cfg = compose("+experiment=multi_input", "naming.policy=template", "naming.template='{dtype}_{name}'")
    assert build_spec(cfg, plugins).signatures[0].keys == {"image": "float32_image", "text": "int32_text"}


def refusal(compose, plugins, *overrides, edit=None) -> str:
    cfg = compose(*overrides)
    if edit:
        cfg = copy.deepcopy(cfg)
        edit(cfg)
    with pytest.raises((ConfigError, PluginError)) as info:
        build_spec(cfg, plugins)
    return str(info.value)


def test_tensor_name_as_key_is_refused_with_the_reason(compose, plugins):
    message = refusal(compose, plugins, "+experiment=image_classifier", "inputs.image.key=input_image:0")
    assert message == (
        "inputs.image.key = 'input_image:0' is not a valid signature key: TensorFlow would store it as "
        "'input_image_0'. ':0' is the output index in a tensor's name (serving_default_input_image:0), "
        "not part of an input key; use 'input_image'."
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("inputs.image.key=a-b", "TensorFlow would store it as 'a_b'"),
        ("inputs.image.key=1abc", "TensorFlow would store it as 'arg_1abc'"),
        ("inputs.image.dtype=float99", "inputs.image.dtype = 'float99' is not a TensorFlow dtype"),
        ("inputs.image.shape=[28,28]", "inputs.image.shape[0] = 28: the first dimension is the batch"),
        ("inputs.image.shape=[null,0]", "inputs.image.shape[1] = 0 must be a positive integer or null"),
        ("inputs.image.shape=[]", "inputs.image.shape = [] must be a list of dimensions"),
        ("inputs.image.modality=video", "inputs.image.modality = 'video' is not one of"),
        ("signatures.serving_default.method=explain", "signatures.serving_default.method = 'explain'"),
        ("signatures.serving_default.inputs=[image,pixels]", "names 'pixels', which is not a declared input"),
        ("signatures.serving_default.outputs=[]", "signatures.serving_default.outputs is empty"),
        (
            "signatures.serving_default.outputs=[scores:0]",
            "signatures.serving_default.outputs[0] = 'scores:0'",
        ),
        ("model.name=../escape", "model.name = '../escape' would leave export.base_dir"),
        ("model.name=a/b", "model.name = 'a/b' would leave export.base_dir"),
        ("model.name=/abs", "model.name = '/abs' would leave export.base_dir"),
        ("model.name=..", "model.name = '..' would leave export.base_dir"),
        ("model.weights=missing.weights.h5", "model.weights = 'missing.weights.h5' does not exist"),
        ("model.architecture=resnet9000", "model.architecture = 'resnet9000' is not a registered model"),
        ("naming.policy=shouty", "naming.policy = 'shouty' is not a registered naming policy (registered: "),
        ("export.version=0", "export.version = 0 must be a positive integer"),
        ("model.task=clustering", "model.task = 'clustering' is not one of"),
        ("+inputs.image.preprocess=[{name: sharpen}]", "'sharpen' is not a registered preprocessor"),
    ],
)
def test_bad_values_are_refused_naming_the_key(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)


def test_two_inputs_with_one_key_are_refused(compose, plugins):
    message = refusal(compose, plugins, "+experiment=multi_input", "inputs.text.key=image")
    assert "inputs 'image' and 'text' both get the key 'image'" in message


def test_keys_that_differ_only_in_case_are_refused(compose, plugins):
    message = refusal(compose, plugins, "+experiment=multi_input", "inputs.text.key=IMAGE")
    assert "get the keys 'image' and 'IMAGE', which differ only in case" in message


def test_signature_that_leaves_out_a_model_input_is_refused(compose, plugins):
    message = refusal(
        compose, plugins, "+experiment=multi_input", "signatures.serving_default.inputs=[image]"
    )
    assert "signatures.serving_default.inputs leaves out text" in message


def test_classify_contract_is_checked_before_anything_is_built(compose, plugins):
    message = refusal(
        compose,
        plugins,
        "+experiment=dnn_classifier",
        "signatures.classification.outputs=[classes,probabilities]",
    )
    assert "TF Serving's Classify API reads only 'classes' (string) and 'scores' (float)" in message


def test_classify_needs_example_compatible_features(compose, plugins):
    message = refusal(compose, plugins, "+experiment=dnn_classifier", "inputs.age.dtype=float64")
    assert "carries only float32, int64, string features" in message


def test_regress_contract_is_checked(compose, plugins):
    message = refusal(compose, plugins, "+experiment=dnn_regressor", "signatures.regression.outputs=[scores]")
    assert "TF Serving's Regress API reads exactly one float output, 'outputs'" in message
    message = refusal(
        compose,
        plugins,
        "+experiment=dnn_classifier",
        "signatures.predict.method=regress",
        "signatures.predict.outputs=[outputs]",
    )
    assert "needs a regression model" in message


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


@pytest.mark.parametrize("keyword", ["is", "None", "class"])
def test_python_keywords_are_refused_as_input_keys(compose, plugins, keyword):
    """TensorFlow passes input keys as keyword arguments: ``is`` cannot be saved (found by the
    500-example property test)."""
    message = refusal(compose, plugins, "+experiment=multi_input", f"inputs.text.key={keyword}")
    assert f"inputs.text.key = {keyword!r} is a Python keyword" in message
    assert f"use {keyword + '_'!r}" in message


def test_an_input_named_like_a_keyword_needs_a_key_under_identity(compose, plugins):
    from sigforge.errors import ConfigError

    cfg = compose("+experiment=dnn_classifier")
    cfg["inputs"] = {"is": {"modality": "tabular", "dtype": "float32", "shape": [None]}}
    cfg["signatures"] = {"predict": {"method": "predict", "outputs": ["scores"]}}
    with pytest.raises(
        ConfigError,
        match=r"inputs.is \(the key under naming policy 'identity'\) = 'is' is a Python keyword.*Set inputs.is.key",
    ):
        build_spec(cfg, plugins)
    cfg["naming"]["policy"] = "prefixed"  # input_is is a fine key
    assert build_spec(cfg, plugins).signatures[0].keys == {"is": "input_is"}
