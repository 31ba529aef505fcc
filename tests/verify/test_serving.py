"""Exports serve as TF Serving serves them: every signature in a session loader, the request files.

The readers here are independent of sigforge's own: ``tf.compat.v1.saved_model.loader.load`` in a
fresh Graph and Session (restore op, init op, tensors by name), ``saved_model_cli`` in a subprocess,
TF Serving's own request protos for the gRPC clients, and a reading of TF Serving's REST JSON
written from its documentation. sigforge's own C++ loader: ``test_serving_loader.py``; the warmup
file: ``tests/export/test_warmup.py``.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXPERIMENTS, QUIET_TF, assert_same_feeds, session_run

tf = pytest.importorskip("tensorflow")


def requests_dir(result) -> Path:
    return result.summary_files[0].parent / "requests"


def npy_feeds(result, signature: str) -> dict[str, np.ndarray]:
    folder = requests_dir(result) / signature
    return {p.stem: np.load(p, allow_pickle=True) for p in sorted(folder.glob("*.npy"))}


def assert_same_outputs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert set(a) == set(b)
    for key in a:
        if np.asarray(a[key]).dtype.kind in "fc":
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_signature_answers_in_the_session_loader_as_in_tf_saved_model_load(export, experiment):
    result = export(experiment)
    loaded = tf.saved_model.load(str(result.export_dir))
    for name in result.summary["signatures"]:
        feeds = npy_feeds(result, name)
        assert set(feeds) == set(result.report.inputs[name])
        served = session_run(result.export_dir, name, feeds)
        eager = {k: v.numpy() for k, v in loaded.signatures[name](**feeds).items()}
        assert_same_outputs(served, eager)
        assert all(len(v) == 2 for v in served.values())


# TF Serving's REST reader as its source has it (../shared/tf-serving-rules.md, util/json_tensor.cc):
# strict where TF Serving is strict, so a body it would refuse is refused here too.
_REST_INTEGERS = {"int8": 2**7, "int16": 2**15, "int32": 2**31, "int64": 2**63, "uint8": 2**8,
                  "uint32": 2**32, "uint64": 2**64}  # fmt: skip
_REST_UNIMPLEMENTED = ("float16", "bfloat16", "uint16", "complex64", "complex128")


class RestRefused(ValueError):
    """What TF Serving answers with HTTP 400 (INVALID_ARGUMENT) or 501 (UNIMPLEMENTED)."""


def _rest_leaf(value, dtype: str):
    if dtype in _REST_UNIMPLEMENTED:
        raise RestRefused(f"UNIMPLEMENTED: Conversion of JSON Value: {value!r} to type: {dtype}")
    if isinstance(value, dict):
        if dtype != "string" or set(value) != {"b64"}:
            raise RestRefused(f"an object is only {{'b64': ...}} for DT_STRING, not {dtype}: {value!r}")
        return base64.b64decode(value["b64"])
    if dtype == "string":
        if not isinstance(value, str):
            raise RestRefused(f"DT_STRING takes a JSON string or {{'b64': ...}}, not {value!r}")
        return value.encode()
    if dtype == "bool":
        if not isinstance(value, bool):
            raise RestRefused(f"DT_BOOL takes true or false, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RestRefused(f"{dtype} takes a JSON number, not {value!r}")
    if dtype in _REST_INTEGERS:
        bound = _REST_INTEGERS[dtype]
        low = 0 if dtype.startswith("uint") else -bound
        if not isinstance(value, int):  # 1.0 is refused: an integer dtype needs an integer token
            raise RestRefused(f"{dtype} needs an integer token, not {value!r}")
        if not low <= value < bound:
            raise RestRefused(f"{value} is out of range for {dtype}")
    return value


def _rest_array(values, dtype: str) -> np.ndarray:
    def walk(value):
        return [walk(v) for v in value] if isinstance(value, list) else _rest_leaf(value, dtype)

    decoded = walk(values)
    return np.array(decoded, dtype=object if dtype == "string" else dtype)


def _rest_example(features: dict) -> bytes:
    feature = {}
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        if any(v is None or isinstance(v, list) for v in values):
            raise RestRefused(f"feature {name}: null and nested lists are errors")
        if all(isinstance(v, (str, dict)) for v in values):
            data = [_rest_leaf(v, "string") for v in values]
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=data))
        elif all(isinstance(v, (bool, int)) for v in values):
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            raise RestRefused(f"feature {name}: mixed kinds {values!r}")
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def rest_feeds(body: dict, signature) -> dict[str, np.ndarray]:
    dtypes = {k: tf.dtypes.as_dtype(v.dtype).name for k, v in signature.inputs.items()}
    if "examples" in body:
        return {"inputs": np.array([_rest_example(e) for e in body["examples"]], dtype=object)}
    if ("instances" in body) == ("inputs" in body):
        raise RestRefused("exactly one of 'instances' (row) or 'inputs' (columnar)")
    if "instances" in body:
        rows = body["instances"]
        if not rows:
            raise RestRefused("'instances' must be a non-empty list")
        if len(dtypes) == 1 and not all(isinstance(row, dict) for row in rows):
            rows = [{next(iter(dtypes)): row} for row in rows]
        for row in rows:
            if not isinstance(row, dict) or set(row) != set(dtypes):
                raise RestRefused(f"every instance must name exactly the inputs {sorted(dtypes)}")
        return {k: _rest_array([row[k] for row in rows], dtype) for k, dtype in dtypes.items()}
    missing = set(dtypes) - set(body["inputs"])
    if missing:
        raise RestRefused(f"columnar 'inputs' lacks {sorted(missing)}")
    return {k: _rest_array(body["inputs"][k], dtype) for k, dtype in dtypes.items()}


def test_the_rest_stand_in_is_as_strict_as_tf_serving():
    assert _rest_leaf(3, "int32") == 3 and _rest_leaf(3, "float32") == 3
    for value, dtype in [(1.5, "int32"), (1.0, "int8"), (True, "int64"), (300, "uint8"), (0.5, "float16"),
                         (1, "bfloat16"), (7, "uint16"), ({"b64": "AA=="}, "float32"), (1, "bool")]:  # fmt: skip
        with pytest.raises(RestRefused):
            _rest_leaf(value, dtype)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_rest_request_files_carry_the_verified_inputs_and_answer(export, experiment):
    result = export(experiment)
    folder = requests_dir(result)
    for name, sig in result.summary["signatures"].items():
        signature_def = _signature_def(result.export_dir, name)
        verified = result.report.inputs[name]
        bodies = [folder / f"{name}.json"]
        if sig["method_name"] == "tensorflow/serving/predict":
            bodies.append(folder / f"{name}.columns.json")
        for path in bodies:
            body = json.loads(path.read_text())
            assert body["signature_name"] == name
            feeds = rest_feeds(body, signature_def)
            assert_same_feeds(feeds, verified)
            outputs = session_run(result.export_dir, name, feeds)
            assert all(len(v) == len(next(iter(verified.values()))) for v in outputs.values())
        invocations = json.loads((folder / f"{name}.invocations.json").read_text())
        assert set(invocations["inputs"]) == set(verified)


def _signature_def(export_dir: Path, name: str):
    from conftest import saved_model_proto

    return saved_model_proto(export_dir).signature_def[name]


def test_binary_inputs_travel_as_b64_and_text_as_text(export):
    image = json.loads((requests_dir(export("image_bytes")) / "serving_default.json").read_text())
    assert set(image["instances"][0]["image"]) == {"b64"}
    png = base64.b64decode(image["instances"][0]["image"]["b64"])
    assert png.startswith(b"\x89PNG") and len(png) > 100  # a whole image, not a header
    text = json.loads((requests_dir(export("text_raw")) / "serving_default.json").read_text())
    assert isinstance(text["instances"][0]["text"], str)
    example = json.loads((requests_dir(export("tf_example")) / "serving_default.columns.json").read_text())
    serialized = base64.b64decode(example["inputs"]["examples"][0]["b64"])
    assert tf.train.Example.FromString(serialized).features.feature  # a real tf.Example


@pytest.mark.parametrize("experiment", ["dnn_classifier", "dnn_regressor", "multi_input", "image_bytes"])
def test_grpc_clients_build_requests_tf_serving_answers(export, experiment):
    from tensorflow_serving.apis import classification_pb2, predict_pb2, regression_pb2

    result = export(experiment)
    for name in result.summary["signatures"]:
        script = requests_dir(result) / f"{name}.grpc.py"
        request = runpy.run_path(str(script))["build_request"]()
        assert request.model_spec.name == experiment and request.model_spec.signature_name == name
        if isinstance(request, predict_pb2.PredictRequest):
            feeds = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        else:
            assert isinstance(
                request, (classification_pb2.ClassificationRequest, regression_pb2.RegressionRequest)
            )
            feeds = {
                "inputs": np.array(
                    [e.SerializeToString() for e in request.input.example_list.examples], object
                )
            }
        assert_same_feeds(feeds, result.report.inputs[name])
        assert session_run(result.export_dir, name, feeds)


def card_lines(result) -> list[str]:
    card = (result.summary_files[0].parent / "signature_card.html").read_text()
    return [html.unescape(m) for m in re.findall(r"<pre>([^\n<]*)</pre>", card)]


def test_card_points_at_request_files_not_walls_of_zeros(export):
    lines = card_lines(export("multi_input"))
    assert (
        "curl -s -X POST http://localhost:8501/v1/models/multi_input:predict -d @requests/serving_default.json"
        in lines
    )
    assert not any("0.0, 0.0, 0.0" in line for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["dnn_classifier", "image_bytes", "variable_length", "tf_example"])
def test_saved_model_cli_lines_of_the_card_run_as_printed(export, experiment):
    result = export(experiment)
    commands = [line for line in card_lines(result) if line.startswith("saved_model_cli ")]
    assert len(commands) == len(result.summary["signatures"])
    bin_dir = Path(sys.executable).parent
    for command in commands:
        done = subprocess.run(
            command,
            shell=True,
            cwd=result.summary_files[0].parent,
            env={**os.environ, **QUIET_TF, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        for key in result.summary["signatures"][command.split("--signature_def ")[1].split()[0]]["outputs"]:
            assert f"Result for output key {key}:" in done.stdout


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_dtypes_tf_servings_rest_api_cannot_carry_are_grpc_only(export, dtype):
    """No REST body and no TF Serving curl line for what TF Serving's JSON reader refuses; the summary, the
    card and the console say gRPC only; the .npy files and the gRPC client still answer."""
    result = export("image_classifier", f"inputs.image.dtype={dtype}", "model.name=half")
    folder = requests_dir(result)
    assert not (folder / "serving_default.json").exists()
    assert not (folder / "serving_default.columns.json").exists()
    assert result.summary["grpc_only"] == {"serving_default": {"image": dtype}}
    from sigforge.report.summary import to_markdown

    assert f"gRPC only: TF Serving's REST API cannot carry image ({dtype})" in to_markdown(result.summary)
    lines = card_lines(result)
    assert not any(line.startswith("curl ") and ":8501/" in line for line in lines)  # TF Serving's REST
    assert any(line.startswith("saved_model_cli ") for line in lines)
    assert any("/invocations" in line for line in lines)  # MLflow's JSON carries it; the loader casts
    from sigforge.tracking.sigforge_pyfunc import SignatureModel

    body = json.loads((folder / "serving_default.invocations.json").read_text())
    signatures = {"serving_default": {"image": {"dtype": dtype, "binary": False}}}
    scores = SignatureModel(str(result.export_dir), "serving_default", signatures).predict(
        {k: np.asarray(v) for k, v in body["inputs"].items()}, params=body["params"]
    )["scores"]
    assert scores.shape == (len(body["inputs"]["image"]), 10)
    assert (
        np.load(folder / "serving_default" / "image.npy").dtype == np.float16
        if dtype == "float16"
        else np.float32
    )
    request = runpy.run_path(str(folder / "serving_default.grpc.py"))["build_request"]()
    assert tf.dtypes.as_dtype(request.inputs["image"].dtype).name == dtype
    feeds = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
    assert session_run(result.export_dir, "serving_default", feeds)["scores"].shape[1] == 10
    with pytest.raises(RestRefused, match="UNIMPLEMENTED"):
        rest_feeds({"instances": [{"image": 0.5}]}, _signature_def(result.export_dir, "serving_default"))
