"""``sigforge.spec``: the validated export as plain, frozen data, and what it derives for the stages
that read it (the method name TF Serving reads, the keys a client sends, the model directory)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest

from sigforge.errors import REMOVAL_VERSION, SigforgeDeprecationWarning
from sigforge.spec import ExportSpec, InputSpec, MlflowSpec, ModelSpec, SignatureSpec

IMAGE = InputSpec(name="image", modality="image", dtype="float32", shape=(None, 28, 28, 1))
TEXT = InputSpec(name="text", modality="text", dtype="int32", shape=(None, 100))


def model(**params: object) -> ModelSpec:
    return ModelSpec(
        architecture="image_cnn", name="digits", weights=None, task="classification", num_classes=10,
        class_names=(), params=params,
    )  # fmt: skip


def export_spec(*signatures: SignatureSpec, base_dir: Path = Path("/srv/models")) -> ExportSpec:
    mlflow = MlflowSpec(
        enabled=False, tracking_uri=None, experiment_name="digits", registered_model_name=None,
        allow_breaking=False, http_timeout=30, http_retries=2, operation_timeout=60,
    )  # fmt: skip
    return ExportSpec(
        model=model(), inputs=(IMAGE, TEXT), signatures=signatures, base_dir=base_dir, version=None,
        dry_run=False, summary_dir=None, mlflow=mlflow, warmup=True, allow_breaking=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "method_name"),
    [
        ("predict", "tensorflow/serving/predict"),
        ("classify", "tensorflow/serving/classify"),
        ("regress", "tensorflow/serving/regress"),
    ],
)
def test_a_signatures_method_name_is_the_one_tf_serving_dispatches_on(method, method_name):
    assert SignatureSpec("s", method, ("image",), ("scores",)).method_name == method_name


def test_a_predict_signature_takes_one_key_per_input_in_the_signatures_order():
    sig = SignatureSpec(
        "serving_default", "predict", ("text", "image"), ("scores",),
        keys={"image": "input_image", "text": "input_text"},
    )  # fmt: skip
    assert (sig.takes_examples, sig.example_key) == (False, None)
    assert sig.client_keys == ("input_text", "input_image")


@pytest.mark.parametrize("method", ["classify", "regress"])
def test_classify_and_regress_take_serialized_examples_under_inputs(method):
    sig = SignatureSpec("s", method, ("image", "text"), ("scores",), keys={"image": "a", "text": "b"})
    assert (sig.takes_examples, sig.example_key, sig.client_keys) == (True, "inputs", ("inputs",))


def test_a_predict_signature_over_examples_takes_them_under_its_own_key():
    sig = SignatureSpec("predict", "predict", ("image", "text"), ("scores",), examples="examples")
    assert (sig.takes_examples, sig.example_key, sig.client_keys) == (True, "examples", ("examples",))


def test_an_output_returns_the_model_output_it_is_mapped_to_else_its_own_name():
    sig = SignatureSpec(
        "s", "predict", ("image",), ("output_0", "scores"), output_sources={"output_0": "logits"}
    )
    assert [sig.source(key) for key in sig.outputs] == ["logits", "scores"]


def test_the_model_directory_is_the_base_directory_and_the_models_name():
    assert export_spec(base_dir=Path("/srv/models")).model_dir == Path("/srv/models/digits")


def test_an_inputs_config_path_names_it_for_messages():
    assert IMAGE.path == "inputs.image"


def test_inputs_are_looked_up_by_name_read_only():
    spec = export_spec()
    assert spec.input["text"] is TEXT and list(spec.input) == ["image", "text"]
    with pytest.raises(TypeError):
        spec.input["image"] = TEXT  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (IMAGE, "dtype"),
        (SignatureSpec("s", "predict", ("image",), ("scores",)), "method"),
        (model(), "name"),
        (export_spec(), "base_dir"),
    ],
    ids=["InputSpec", "SignatureSpec", "ModelSpec", "ExportSpec"],
)
def test_a_validated_spec_cannot_be_changed_after_validation(value, field):
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "other")


def test_a_builder_reading_a_hyperparameter_as_an_attribute_gets_it_with_a_deprecation_warning():
    spec = model(hidden_units=[64, 32])
    with pytest.warns(
        SigforgeDeprecationWarning, match=rf"model_cfg\.hidden_units .* removed in sigforge {REMOVAL_VERSION}"
    ):
        assert spec.hidden_units == [64, 32]


def test_an_attribute_that_is_neither_a_field_nor_a_hyperparameter_does_not_exist():
    spec = model(hidden_units=[64])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for a name that is not there
        assert not hasattr(spec, "dropout")
    with pytest.raises(AttributeError, match="dropout"):
        _ = spec.dropout
