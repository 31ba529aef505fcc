"""contract/read: the serving contract from a spec (what the config asks for, what it alone fixes)
and from ``saved_model.pb`` without TensorFlow, and the differences between two.

The files are built with TensorFlow's own protobuf classes or are real exports
(tests/fixtures/adopt, made by tf.estimator, Keras and tf.saved_model.save), so what is read is what
TensorFlow writes, field numbers included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sigforge.config.validate import build_spec
from sigforge.contract.graph import FeatureContract
from sigforge.contract.read import (
    SignatureContract,
    TensorContract,
    contract_to_dict,
    expected_contract,
    known_contract,
    mismatches,
    read_contract,
)
from sigforge.errors import UnreadableSavedModel

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


def write_saved_model(path, metas):
    """``metas``: [(tags, {signature: (method, {key: (dtype_enum, dims or None)}, outputs)})]."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    for tags, signatures in metas:
        meta = saved_model.meta_graphs.add()
        meta.meta_info_def.tags.extend(tags)
        for name, (method, inputs, outputs) in signatures.items():
            sig = meta.signature_def[name]
            sig.method_name = method
            for target, tensors in ((sig.inputs, inputs), (sig.outputs, outputs)):
                for key, (dtype, dims) in tensors.items():
                    info = target[key]
                    info.name = f"{key}:0"
                    info.dtype = dtype
                    if dims is None:
                        info.tensor_shape.unknown_rank = True
                    else:
                        for d in dims:
                            info.tensor_shape.dim.add().size = d
    path.mkdir(parents=True, exist_ok=True)
    (path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    return path


PREDICT = "tensorflow/serving/predict"
FLOAT, INT32, STRING = 1, 3, 7


@pytest.mark.parametrize(
    "metas, expected",
    [
        pytest.param(
            [
                (
                    ["serve"],
                    {
                        "serving_default": (
                            PREDICT,
                            {"image": (FLOAT, [-1, 28, 28, 1])},
                            {"scores": (FLOAT, [-1, 10])},
                        )
                    },
                )
            ],
            {"serving_default": {"image": ("float32", (None, 28, 28, 1))}},
            id="free batch dimension reads as None",
        ),
        pytest.param(
            [(["serve"], {"s": (PREDICT, {"x": (STRING, None)}, {"y": (FLOAT, [])})})],
            {"s": {"x": ("string", None)}},
            id="unknown rank reads as None, scalar as ()",
        ),
        pytest.param(
            [
                (["train"], {"t": (PREDICT, {"a": (INT32, [-1])}, {})}),
                (["serve"], {"s": (PREDICT, {"b": (INT32, [-1])}, {})}),
            ],
            {"s": {"b": ("int32", (None,))}},
            id="the serve-tagged MetaGraph is the one read",
        ),
        pytest.param(
            [
                (
                    ["serve"],
                    {"__saved_model_init_op": (PREDICT, {}, {}), "s": (PREDICT, {"a": (INT32, [-1])}, {})},
                )
            ],
            {"s": {"a": ("int32", (None,))}},
            id="the init op is not a serving signature",
        ),
        pytest.param(
            [(["other"], {"s": (PREDICT, {"a": (FLOAT, [-1, -1, 100])}, {})})],
            {"s": {"a": ("float32", (None, None, 100))}},
            id="without a serve tag the first MetaGraph is read",
        ),
    ],
)
def test_read_contract_reads_what_tensorflow_wrote(tmp_path, metas, expected):
    contract = read_contract(write_saved_model(tmp_path / "1", metas))
    assert {
        name: {k: (t.dtype, t.shape) for k, t in sig.inputs.items()} for name, sig in contract.items()
    } == expected


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda p: p, FileNotFoundError),
        (lambda p: write_saved_model(p, []), ValueError),
    ],
    ids=["no saved_model.pb", "no MetaGraph"],
)
def test_read_contract_refuses_what_is_not_a_saved_model(tmp_path, make, error):
    path = tmp_path / "1"
    path.mkdir()
    with pytest.raises(error):
        read_contract(make(path))


def sig(inputs, outputs=None, method=PREDICT):
    return SignatureContract(
        "s",
        method,
        {k: TensorContract(*v) for k, v in inputs.items()},
        {k: TensorContract(*v) for k, v in (outputs or {"scores": ("float32", (None, 10))}).items()},
    )


BASE = {"s": sig({"image": ("float32", (None, 28, 28, 1))})}


@pytest.mark.parametrize(
    "actual, problem",
    [
        (BASE, None),
        ({}, "signature 's' is missing"),
        ({**BASE, "t": BASE["s"]}, "signature 't' was written but not asked for"),
        (
            {"s": sig({"image": ("float32", (None, 28, 28, 1))}, method="tensorflow/serving/classify")},
            "has method",
        ),
        (
            {"s": sig({"image_0": ("float32", (None, 28, 28, 1))})},
            "takes keys ['image_0'], expected ['image']",
        ),
        ({"s": sig({"image": ("float64", (None, 28, 28, 1))})}, "input 'image' is float64 [None, 28, 28, 1]"),
        ({"s": sig({"image": ("float32", None)})}, "input 'image' is float32 unknown rank"),
        (
            {"s": sig({"image": ("float32", (None, 28, 28, 1))}, {"probs": ("float32", (None, 10))})},
            "returns keys",
        ),
        (
            {"s": sig({"image": ("float32", (None, 28, 28, 1))}, {"scores": ("float16", (None, 10))})},
            "output 'scores'",
        ),
    ],
)
def test_compare_names_every_difference(actual, problem):
    problems = mismatches(BASE, actual)
    assert problems == [] if problem is None else problem in " ".join(problems)


def test_contract_to_dict_is_plain_json_data():
    assert contract_to_dict(BASE) == {
        "s": {
            "method_name": PREDICT,
            "inputs": {"image": {"dtype": "float32", "shape": [None, 28, 28, 1]}},
            "outputs": {"scores": {"dtype": "float32", "shape": [None, 10]}},
        }
    }


def test_the_contract_layer_loads_neither_the_spec_builder_nor_pluggy_nor_tensorflow():
    code = (
        "import sys, sigforge.contract.read, sigforge.contract.compat, sigforge.cli.inspect_command, sigforge.cli.diff_command\n"
        "print(sorted(m for m in ('pluggy', 'sigforge.config.validate', 'sigforge.plugins.manager', 'tensorflow', 'mlflow')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _tensor(manifest_tensor: dict) -> dict:
    """The manifest's tensor (TensorFlow's -1 for a free dimension) as a contract shows it."""
    shape = [None if d == -1 else d for d in manifest_tensor["shape"]]
    return {"dtype": manifest_tensor["dtype"], "shape": shape}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_the_contract_read_from_another_tools_export_is_what_tensorflow_wrote(name):
    """Estimator, Keras ``model.export`` and hand-written exports: every signature, method, key,
    dtype and shape as the tool's TensorFlow wrote them (the manifest's, read with TensorFlow)."""
    fixture = MANIFEST[name]
    read = contract_to_dict(read_contract(FIXTURES / fixture["path"]))
    for sig in read.values():
        sig.pop("examples", None)  # the parsed features: tests/contract/test_graph.py
    assert read == {
        n: {
            "method_name": s["method_name"],
            "inputs": {k: _tensor(t) for k, t in sorted(s["inputs"].items())},
            "outputs": {k: _tensor(t) for k, t in sorted(s["outputs"].items())},
        }
        for n, s in sorted(fixture["signatures"].items())
    }


def test_a_truncated_saved_model_is_refused_naming_the_file(tmp_path):
    whole = (FIXTURES / MANIFEST["dnn_binary_parsing"]["path"] / "saved_model.pb").read_bytes()
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnreadableSavedModel, match="cannot be parsed as a SavedModel .* truncated or not a"):
        read_contract(tmp_path / "1")


def test_the_expected_contract_types_what_the_config_fixes(compose, plugins):
    contract = expected_contract(build_spec(compose("+experiment=dnn_classifier"), plugins))
    classify, predict = contract["classification"], contract["predict"]
    assert classify.method_name == "tensorflow/serving/classify"
    assert classify.inputs == {"inputs": TensorContract("string", (None,))}
    # TF Serving's Classify outputs have fixed types; a predict signature's are the model's own.
    assert classify.outputs == {
        "classes": TensorContract("string", (None, 3)),
        "scores": TensorContract("float32", (None, 3)),
    }
    assert set(predict.outputs.values()) == {None}
    assert set(classify.examples["inputs"]) == {"age", "hours_per_week", "occupation"}
    assert predict.examples is None and all(
        isinstance(f, FeatureContract) for f in classify.examples["inputs"].values()
    )


def test_traced_client_specs_stand_in_only_for_preprocessed_inputs(compose, plugins):
    spec = build_spec(compose("+experiment=text_raw"), plugins)  # text is tokenized, image is not
    traced = {"image": TensorContract("float64", (None, 3)), "text": TensorContract("string", (None,))}
    contract = expected_contract(spec, {"serving_default": traced})
    assert contract["serving_default"].inputs == {
        "image": TensorContract("float32", (None, 28, 28, 1)),  # as declared: a drift is caught
        "text": TensorContract("string", (None,)),
    }


def test_before_tracing_a_preprocessed_input_is_unknown(compose, plugins):
    spec = build_spec(compose("+experiment=text_raw"), plugins)
    inputs = known_contract(spec)["serving_default"].inputs
    assert inputs == {"image": TensorContract("float32", (None, 28, 28, 1)), "text": None}


def test_an_output_the_config_does_not_type_is_not_compared():
    untyped = {"s": SignatureContract("s", PREDICT, BASE["s"].inputs, {"scores": None})}
    assert mismatches(untyped, BASE) == []


def test_the_features_parsed_from_a_key_are_compared_where_both_sides_know_them():
    age = {"inputs": {"age": FeatureContract("float32", "fixed", (1,))}}
    other = {"inputs": {"age": FeatureContract("int64", "fixed", (1,))}}

    def with_examples(examples):
        return {"s": SignatureContract("s", PREDICT, BASE["s"].inputs, BASE["s"].outputs, examples)}

    assert mismatches(with_examples(age), with_examples(None)) == []
    (problem,) = mismatches(with_examples(age), with_examples(other))
    assert problem == (
        "saved_model.pb: signature 's' parses tf.Example features {'age': 'int64 [1] required'} from "
        "'inputs', expected {'age': 'float32 [1] required'}"
    )
