"""The contract layer: reading ``saved_model.pb`` without TensorFlow, and comparing contracts.

The files are built with TensorFlow's own protobuf classes, so what is read is what TensorFlow
writes, field numbers included."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sigforge.contract.read import (
    SignatureContract,
    TensorContract,
    contract_to_dict,
    mismatches,
    read_contract,
)


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
