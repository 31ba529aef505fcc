"""Signatures: composed on the command line like any typed Hydra group; heads, examples-taking
predict and output_sources checked before anything is built (no TensorFlow)."""

from __future__ import annotations

import pytest
from conftest import HEAD_BINARY as BINARY
from conftest import HEAD_MULTI as MULTI
from conftest import HEAD_REGRESSOR as REGRESSOR

from sigforge.config.schema import SignatureConf
from sigforge.config.validate import build_spec
from sigforge.contract.read import TensorContract, expected_contract
from sigforge.errors import ConfigError

from .test_validate import refusal


@pytest.mark.parametrize(
    "experiment, added, method, outputs",
    [
        ("dnn_regressor", "+signatures.extra={method: regress, outputs: [outputs]}", "regress", ("outputs",)),
        ("dnn_classifier", "+signatures.extra.method=classify", "classify", tuple(SignatureConf().outputs)),
    ],
)
def test_a_signature_is_added_on_the_command_line_with_the_schema_defaults(
    compose, plugins, experiment, added, method, outputs
):
    cfg = compose(f"experiment={experiment}", added)
    spec = build_spec(cfg, plugins)
    sig = next(s for s in spec.signatures if s.name == "extra")
    assert (sig.method, sig.inputs, sig.outputs, sig.examples) == (
        method,
        ("age", "hours_per_week", "occupation"),
        outputs,
        None,  # the schema's defaults: every input, outputs [scores], one key per input
    )
    assert len(spec.signatures) == 4


def test_the_issue_s_command_adds_a_regress_signature_to_a_binary_classifier(compose, plugins):
    cfg = compose(
        "experiment=dnn_classifier",
        "+signatures.regression={method: regress, outputs: [outputs]}",
        "model.head=binary_classifier",
        "model.num_classes=2",
        "model.class_names=null",
        "signatures.predict.outputs=[probabilities]",
    )
    contract = expected_contract(build_spec(cfg, plugins))
    assert contract["regression"].method_name == "tensorflow/serving/regress"
    assert contract["regression"].outputs == {"outputs": TensorContract("float32", (None, 1))}


@pytest.mark.parametrize(
    "added, key",
    [
        ("+signatures.extra={method: regress, outputs: 3}", "signatures.extra.outputs"),
        ("+signatures.extra={method: regress, output: [outputs]}", "signatures.extra.output"),
        ("+signatures.extra.output_sources=[a]", "signatures.extra.output_sources"),
        ("+signatures.extra=regress", "signatures.extra = 'regress' must be a mapping"),
    ],
)
def test_a_wrong_signature_setting_names_its_key(compose, plugins, added, key):
    cfg = compose("experiment=dnn_regressor", added)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_spec(cfg, plugins)


@pytest.mark.parametrize(
    "overrides, signature, outputs",
    [
        (
            BINARY,
            "predict",
            {
                "all_class_ids": ("int32", (None, 2)),
                "all_classes": ("string", (None, 2)),
                "class_ids": ("int64", (None, 1)),
                "classes": ("string", (None, 1)),
                "logistic": ("float32", (None, 1)),
                "logits": ("float32", (None, 1)),
                "probabilities": ("float32", (None, 2)),
            },
        ),
        (BINARY, "classification", {"classes": ("string", (None, 2)), "scores": ("float32", (None, 2))}),
        (BINARY, "regression", {"outputs": ("float32", (None, 1))}),
        (MULTI, "serving_default", {"classes": ("string", (None, 3)), "scores": ("float32", (None, 3))}),
        (
            MULTI,
            "predict",
            {
                "all_class_ids": ("int32", (None, 3)),
                "all_classes": ("string", (None, 3)),
                "class_ids": ("int64", (None, 1)),
                "classes": ("string", (None, 1)),
                "logits": ("float32", (None, 3)),
                "probabilities": ("float32", (None, 3)),
            },
        ),
        (REGRESSOR, "serving_default", {"outputs": ("float32", (None, 1))}),
        (REGRESSOR, "predict", {"predictions": ("float32", (None, 1))}),
    ],
)
def test_a_head_fixes_the_estimator_s_outputs(compose, plugins, overrides, signature, outputs):
    contract = expected_contract(build_spec(compose(*overrides), plugins))
    assert contract[signature].outputs == {k: TensorContract(*v) for k, v in outputs.items()}


def test_an_examples_predict_signature_takes_one_string_key(compose, plugins):
    spec = build_spec(compose(*BINARY), plugins)
    predict = next(s for s in spec.signatures if s.name == "predict")
    assert (predict.takes_examples, predict.example_key, predict.client_keys) == (
        True,
        "examples",
        ("examples",),
    )
    assert expected_contract(spec)["predict"].inputs == {"examples": TensorContract("string", (None,))}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (
            ("signatures.predict.outputs=[scores]",),
            "signatures.predict.outputs names 'scores', which model.head = binary_classifier does not give a "
            "predict signature; it gives: all_class_ids, all_classes, class_ids, classes, logistic, logits, "
            "probabilities.",
        ),
        (
            ("model.head=multi_class_classifier", "model.num_classes=3", "model.class_names=null"),
            "signatures.regression.method = regress: model.head = multi_class_classifier gives no regress "
            "signature (the estimator writes none); use predict, classify.",
        ),
        (
            ("signatures.regression.examples=examples",),
            "TF Serving's Regress API sends serialized tf.Examples",
        ),
        (("signatures.predict.examples=x:0",), "signatures.predict.examples = 'x:0'"),
        (
            ("+signatures.predict.output_sources={scores: probabilities}",),
            "signatures.predict.output_sources names 'scores', which is not one of signatures.predict.outputs",
        ),
        (
            ("signatures.predict.outputs=[p]", "+signatures.predict.output_sources={p: scores}"),
            "signatures.predict.outputs names 'p' (output_sources: 'scores'), which model.head",
        ),
    ],
)
def test_signature_settings_under_a_head_are_refused_naming_the_key(compose, plugins, overrides, expected):
    assert expected in refusal(compose, plugins, *BINARY, *overrides)


def test_output_sources_rename_an_output_and_keep_a_head_s_type(compose, plugins):
    spec = build_spec(
        compose(
            *BINARY,
            "signatures.predict.outputs=[output_0]",
            "+signatures.predict.output_sources={output_0: probabilities}",
        ),
        plugins,
    )
    assert expected_contract(spec)["predict"].outputs == {"output_0": TensorContract("float32", (None, 2))}


def test_without_a_head_a_regress_signature_still_needs_a_regression_model(compose, plugins):
    message = refusal(
        compose, plugins, "experiment=dnn_classifier", "+signatures.r={method: regress, outputs: [outputs]}"
    )
    assert "signatures.r.method = regress needs a regression model" in message


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


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("signatures.serving_default.method=explain", "signatures.serving_default.method = 'explain'"),
        ("signatures.serving_default.inputs=[image,pixels]", "names 'pixels', which is not a declared input"),
        ("signatures.serving_default.outputs=[]", "signatures.serving_default.outputs is empty"),
        (
            "signatures.serving_default.outputs=[scores:0]",
            "signatures.serving_default.outputs[0] = 'scores:0'",
        ),
    ],
)
def test_bad_signature_values_are_refused_naming_the_key(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)
