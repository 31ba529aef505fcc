"""The request files a client sends as they are (``report.requests``): TF Serving's REST bodies in both
forms, MLflow's ``/invocations`` body, the ``.npy`` arrays and a gRPC client per signature, and the
shell lines that send them. Built in-process from the contract of a composed config, without
TensorFlow; the end-to-end tests in tests/verify/test_serving.py send them to TensorFlow's loader."""

from __future__ import annotations

import ast
import base64
import io
import json
import shlex

import numpy as np
import pytest

from sigforge.config.validate import build_spec
from sigforge.contract.example import example_message
from sigforge.contract.features import summary_features
from sigforge.contract.read import contract_to_dict, expected_contract
from sigforge.report.requests import command_lines, request_files, rest_blockers, to_json


def contract(compose, plugins, experiment: str, *overrides: str) -> dict:
    """The contract a composed config asks for, as the summary and the request files read it."""
    return contract_to_dict(
        expected_contract(build_spec(compose(f"+experiment={experiment}", *overrides), plugins))
    )


def serialized_example(**features: list) -> bytes:
    example = example_message()()
    for name, values in features.items():
        feature = example.features.feature[name]
        if isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example.SerializeToString()


def test_a_predict_signature_gets_both_rest_forms_the_invocations_body_and_npy_files(compose, plugins):
    signatures = contract(compose, plugins, "multi_input")
    image = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28, 1)
    text = np.ones((2, 100), np.int32)
    files = request_files("multi_input", signatures, {"serving_default": {"image": image, "text": text}})

    rows = json.loads(files["requests/serving_default.json"])
    assert rows["signature_name"] == "serving_default"
    assert [sorted(row) for row in rows["instances"]] == [["image", "text"], ["image", "text"]]
    assert rows["instances"][1]["image"] == image[1].tolist()
    columns = json.loads(files["requests/serving_default.columns.json"])
    assert columns == {
        "signature_name": "serving_default",
        "inputs": {"image": image.tolist(), "text": text.tolist()},
    }
    invocations = json.loads(files["requests/serving_default.invocations.json"])
    assert invocations == {"inputs": columns["inputs"], "params": {"signature_name": "serving_default"}}
    for key, array in (("image", image), ("text", text)):
        read = np.load(io.BytesIO(files[f"requests/serving_default/{key}.npy"]))
        assert read.dtype == array.dtype
        np.testing.assert_array_equal(read, array)


def test_the_grpc_client_is_python_that_asks_for_the_model_signature_and_dtypes(compose, plugins):
    signatures = contract(compose, plugins, "multi_input")
    inputs = {
        "serving_default": {
            "image": np.zeros((1, 28, 28, 1), np.float32),
            "text": np.zeros((1, 100), np.int32),
        }
    }
    client = request_files("multi_input", signatures, inputs)["requests/serving_default.grpc.py"].decode()
    ast.parse(client)  # it runs as written (running it needs TF Serving's protos and a server)
    assert 'request.model_spec.name = "multi_input"' in client
    assert 'request.model_spec.signature_name = "serving_default"' in client
    assert "{'image': 'float32', 'text': 'int32'}" in client  # the tensors are made in the signature's dtypes
    assert "stub.Predict(" in client


def test_a_classify_signature_sends_tf_examples_as_json_features_and_lists_them(compose, plugins):
    signatures = contract(compose, plugins, "dnn_classifier")
    examples = np.array(
        [
            serialized_example(age=[31.0], hours_per_week=[40], occupation=[b"nurse"]),
            serialized_example(age=[52.5], hours_per_week=[20], occupation=[b"\xff\xfe"]),
        ],
        dtype=object,
    )
    features = summary_features(signatures)
    files = request_files("dnn_classifier", signatures, {"classification": {"inputs": examples}}, features)
    body = json.loads(files["requests/classification.json"])
    assert body["signature_name"] == "classification"
    assert body["examples"][0] == {"age": 31.0, "hours_per_week": 40, "occupation": "nurse"}
    assert body["examples"][1]["occupation"] == {"b64": base64.b64encode(b"\xff\xfe").decode()}
    assert "requests/classification.columns.json" not in files  # classify takes no columnar form
    assert json.loads(files["requests/classification.features.json"]) == features["classification"]
    client = files["requests/classification.grpc.py"].decode()
    assert "ClassificationRequest" in client and "stub.Classify(" in client


def test_classify_and_regress_have_no_columnar_form(export):
    files = export("dnn_regressor").client_files
    assert "requests/regression.json" in files and "requests/regression.columns.json" not in files
    assert "requests/predict.columns.json" in files


def test_bytes_that_are_not_utf8_travel_as_b64_and_text_as_text():
    assert to_json(np.array([b"hello", "wörld"], dtype=object)) == ["hello", "wörld"]
    png = b"\x89PNG\r\n\x1a\n"
    assert to_json(np.array([[png]], dtype=object)) == [[{"b64": base64.b64encode(png).decode()}]]
    assert to_json(np.array([1.5, 2.0], np.float32)) == [1.5, 2.0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_signature_rest_cannot_carry_gets_no_rest_body_but_still_npy_grpc_and_mlflow(
    compose, plugins, dtype
):
    signatures = contract(compose, plugins, "image_classifier", f"inputs.image.dtype={dtype}")
    assert rest_blockers(signatures["serving_default"]) == {"image": dtype}
    image = np.zeros((1, 28, 28, 1), np.float16)
    files = request_files("image_classifier", signatures, {"serving_default": {"image": image}})
    assert sorted(files) == [
        "requests/serving_default.grpc.py",
        "requests/serving_default.invocations.json",
        "requests/serving_default/image.npy",
    ]
    lines = command_lines(
        "image_classifier", "/e/1", "serving_default", "tensorflow/serving/predict", ["image"], rest=False
    )
    assert not [line for line in lines.values() if ":8501/" in line]


def test_every_command_line_runs_as_printed_whatever_the_directory_is_called():
    export_dir = "/tmp/my exports/it's here/1"
    lines = command_lines(
        "digits",
        export_dir,
        "serving_default",
        "tensorflow/serving/predict",
        ["image", "text"],
        labels={"canary": 2},
    )
    cli = shlex.split(lines["saved_model_cli (TensorFlow's session loader, as TF Serving loads the model)"])
    assert cli[cli.index("--dir") + 1] == export_dir
    assert cli[cli.index("--inputs") + 1] == (
        "image=requests/serving_default/image.npy;text=requests/serving_default/text.npy"
    )
    assert shlex.split(lines["TF Serving REST predict"]) == [
        "curl", "-s", "-X", "POST", "http://localhost:8501/v1/models/digits:predict",
        "-d", "@requests/serving_default.json",
    ]  # fmt: skip
    labelled = shlex.split(lines["TF Serving REST predict, label canary (version 2)"])
    assert "http://localhost:8501/v1/models/digits/labels/canary:predict" in labelled
    assert shlex.split(lines["TF Serving gRPC predict (Python), label canary (version 2)"])[-1] == "canary"


def test_classify_lines_post_to_the_classify_endpoint_without_a_columnar_line():
    lines = command_lines("census", "/e/1", "classification", "tensorflow/serving/classify", ["inputs"])
    assert (
        "curl -s -X POST http://localhost:8501/v1/models/census:classify -d @requests/classification.json"
        in (lines.values())
    )
    assert not [name for name in lines if "columnar" in name]
