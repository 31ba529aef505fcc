"""Request files clients can send as they are, built from the inputs verification really ran.

For every signature, under ``requests/``:

- ``<signature>.json``: TF Serving REST, ``instances`` (one object per example) for predict, or
  ``examples`` (tf.Example features as JSON) for classify and regress;
- ``<signature>.columns.json``: TF Serving REST, ``inputs`` (one list per key), predict only;
- ``<signature>.invocations.json``: MLflow's ``/invocations`` body (``{"inputs": {key: [...]},
  "params": {"signature_name": ...}}``), for ``mlflow models serve``;
- ``<signature>/<key>.npy``: the arrays, for ``saved_model_cli run --inputs key=file.npy``;
- ``<signature>.grpc.py``: a gRPC client using ``tensorflow_serving.apis``;
- ``<signature>.features.json``: for signatures that take serialized tf.Examples, the features each
  example must carry (feature, dtype, shape, tf.Example list kind, default), so a client in any
  language can build them.

Bytes that are not UTF-8 (encoded images, serialized protos) travel as ``{"b64": ...}``, the only
form TF Serving's REST API takes them in.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np

from sigforge.contract.example import example_features
from sigforge.rules import OTHER_RUNTIMES, rest_carries

REQUESTS_DIR = "requests"
GRPC_PORT, REST_PORT = 8500, 8501
MLFLOW_PORT = 5000  # mlflow models serve's default
SERVING_API_PIN = "tensorflow-serving-api==2.21.0"
_EXAMPLE_METHODS = {"tensorflow/serving/classify": "classify", "tensorflow/serving/regress": "regress"}


def is_binary(values: np.ndarray) -> bool:
    """True for string data that holds bytes that are not UTF-8."""
    if values.dtype != object:
        return False
    try:
        for value in values.reshape(-1):
            if isinstance(value, bytes):
                value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def to_json(values: np.ndarray) -> Any:
    """An array as TF Serving's REST API takes it: nested lists, strings as text or ``{"b64": ...}``."""
    if values.dtype != object:
        return values.tolist()
    binary = is_binary(values)

    def leaf(value: Any) -> Any:
        data = value if isinstance(value, bytes) else str(value).encode()
        return {"b64": base64.b64encode(data).decode("ascii")} if binary else data.decode("utf-8")

    return np.vectorize(leaf, otypes=[object])(values).tolist() if values.size else values.tolist()


def example_json(serialized: bytes) -> dict[str, Any]:
    """A serialized tf.Example as TF Serving's REST classify/regress API takes it (feature -> value)."""
    features: dict[str, Any] = {}
    for name, (kind, raw) in example_features(serialized).items():
        values: Any = to_json(np.array(raw, dtype=object)) if kind == "bytes_list" else raw
        features[name] = values[0] if len(values) == 1 else values
    return features


def _npy(array: np.ndarray) -> bytes:
    """The array as ``np.load`` reads it back without ml_dtypes: bfloat16 (which NumPy would store
    as raw ``|V2`` bytes) as float32, which ``saved_model_cli`` and the gRPC client convert exactly."""
    if array.dtype.name == "bfloat16":
        array = array.astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


def rest_blockers(signature: Mapping[str, Any]) -> dict[str, str]:
    """Key -> dtype of a signature's tensors TF Serving's REST API cannot carry (its JSON reader has
    no conversion for DT_HALF, DT_BFLOAT16, DT_UINT16): such a signature is served over gRPC only."""
    return {
        key: tensor["dtype"]
        for direction in ("inputs", "outputs")
        for key, tensor in signature[direction].items()
        if tensor and not rest_carries(tensor["dtype"])
    }


def runtimes_note(blocking_ops: list[str]) -> str:
    """What TFLite, ONNX Runtime and TF.js make of one signature (``verify.portability``)."""
    names = ", ".join(OTHER_RUNTIMES)
    if not blocking_ops:
        return f"{names}: a pure-tensor graph, which they convert"
    return (
        f"{names}: not by default, its graph runs in-graph string ops they lack ({', '.join(blocking_ops)}); "
        "it serves in TensorFlow and TF Serving"
    )


def grpc_only_note(blockers: Mapping[str, str]) -> str:
    named = ", ".join(f"{key} ({dtype})" for key, dtype in blockers.items())
    return f"gRPC only: TF Serving's REST API cannot carry {named}"


def request_files(
    model: str,
    signatures: Mapping[str, Mapping[str, Any]],
    inputs: Mapping[str, Mapping[str, np.ndarray]],
    features: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """Relative path under the summary directory -> file content, for every signature in ``inputs``.
    ``features``: the summary's ``example_features`` (signature -> [{key, features}, ...])."""
    files: dict[str, bytes] = {}

    def put(path: str, data: Any) -> None:
        files[f"{REQUESTS_DIR}/{path}"] = (
            (json.dumps(data) + "\n").encode() if not isinstance(data, bytes) else data
        )

    for name, args in inputs.items():
        method = signatures[name]["method_name"]
        for key, value in args.items():
            put(f"{name}/{key}.npy", _npy(np.asarray(value)))
        dtypes = {key: (signatures[name]["inputs"].get(key) or {}).get("dtype") for key in args}
        put(f"{name}.grpc.py", grpc_client(model, name, method, dtypes).encode())
        if features and name in features:
            put(f"{name}.features.json", features[name])
        columns = {key: to_json(np.asarray(value)) for key, value in args.items()}
        put(f"{name}.invocations.json", {"inputs": columns, "params": {"signature_name": name}})
        if rest_blockers(signatures[name]):
            continue  # no REST body TF Serving would refuse
        if method in _EXAMPLE_METHODS:
            (serialized,) = args.values()
            examples = [example_json(e) for e in np.asarray(serialized).reshape(-1)]
            put(f"{name}.json", {"signature_name": name, "examples": examples})
        else:
            batch = len(next(iter(columns.values())))
            rows = [{key: column[i] for key, column in columns.items()} for i in range(batch)]
            put(f"{name}.json", {"signature_name": name, "instances": rows})
            put(f"{name}.columns.json", {"signature_name": name, "inputs": columns})
    return files


def grpc_client(model: str, signature: str, method_name: str, dtypes: Mapping[str, str | None]) -> str:
    """A runnable gRPC client for one signature: ``python requests/<signature>.grpc.py [host:port]``.

    ``dtypes``: each input key's dtype in the signature; the request's tensors are made in it, since
    TF Serving feeds by tensor name and refuses a dtype that differs from the placeholder's."""
    kind = _EXAMPLE_METHODS.get(method_name, "predict")
    if kind == "predict":
        body, call = _predict_request(model, signature, dtypes), "Predict"
    else:
        body, call = _example_request(model, signature, kind, next(iter(dtypes))), kind.capitalize()
    return _grpc_head(model, signature, kind) + body + _grpc_main(call)


def _grpc_head(model: str, signature: str, kind: str) -> str:
    return f'''"""gRPC {kind} request for model '{model}', signature '{signature}' (TF Serving's gRPC port).

Needs TF Serving's protos: pip install --no-deps {SERVING_API_PIN}  (--no-deps keeps tensorflow-cpu)
Run: python {REQUESTS_DIR}/{signature}.grpc.py [host:port] [label]   (default localhost:{GRPC_PORT})
A label (TF Serving's version_labels, e.g. from `sigforge serving-config`) asks for the version it names.
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent / "{signature}"
'''


def _predict_request(model: str, signature: str, dtypes: Mapping[str, str | None]) -> str:
    return f'''

def build_request(label=None):
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "{model}"
    request.model_spec.signature_name = "{signature}"
    if label:
        request.model_spec.version_label = label
    for key, dtype in {dict(dtypes)!r}.items():
        value = np.load(HERE / f"{{key}}.npy", allow_pickle=True)
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value, dtype=dtype and tf.as_dtype(dtype)))
    return request
'''


def _example_request(model: str, signature: str, kind: str, key: str) -> str:
    module, message = (
        ("classification_pb2", "ClassificationRequest")
        if kind == "classify"
        else ("regression_pb2", "RegressionRequest")
    )
    return f'''

def build_request(label=None):
    from tensorflow_serving.apis import {module}

    request = {module}.{message}()
    request.model_spec.name = "{model}"
    request.model_spec.signature_name = "{signature}"
    if label:
        request.model_spec.version_label = label
    for serialized in np.load(HERE / "{key}.npy", allow_pickle=True):
        request.input.example_list.examples.add().ParseFromString(serialized)
    return request
'''


def _grpc_main(call: str) -> str:
    return f"""

if __name__ == "__main__":
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    target = sys.argv[1] if len(sys.argv) > 1 else "localhost:{GRPC_PORT}"
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
    label = sys.argv[2] if len(sys.argv) > 2 else None
    print(stub.{call}(build_request(label), timeout=30.0))
"""


def command_lines(
    model: str,
    export_dir: str,
    signature: str,
    method_name: str,
    keys: list[str],
    *,
    rest: bool = True,
    labels: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """The shell lines of one signature, run from the directory that holds ``requests/``; every
    path and name is shell-quoted, so a line pasted into a shell runs as printed and nothing else.
    ``rest=False`` (``rest_blockers``): no curl lines, TF Serving would refuse them. ``labels``
    (label -> version, the model's TF Serving version labels): the label form of each endpoint too."""
    q = shlex.quote
    kind = _EXAMPLE_METHODS.get(method_name, "predict")
    url = q(f"http://localhost:{REST_PORT}/v1/models/{model}:{kind}")
    lines = {}
    if rest:
        lines[f"TF Serving REST {kind}"] = (
            f"curl -s -X POST {url} -d {q(f'@{REQUESTS_DIR}/{signature}.json')}"
        )
        if kind == "predict":
            lines["TF Serving REST predict, columnar (inputs: one list per key)"] = (
                f"curl -s -X POST {url} -d {q(f'@{REQUESTS_DIR}/{signature}.columns.json')}"
            )
    feeds = ";".join(f"{key}={REQUESTS_DIR}/{signature}/{key}.npy" for key in keys)
    lines["saved_model_cli (TensorFlow's session loader, as TF Serving loads the model)"] = (
        f"saved_model_cli run --dir {q(export_dir)} --tag_set serve --signature_def {q(signature)} --inputs {q(feeds)}"
    )
    lines[f"TF Serving gRPC {kind} (Python)"] = (
        f"python {q(f'{REQUESTS_DIR}/{signature}.grpc.py')} localhost:{GRPC_PORT}"
    )
    for label, version in sorted((labels or {}).items()):
        where = f"label {label} (version {version})"
        if rest:
            label_url = q(f"http://localhost:{REST_PORT}/v1/models/{model}/labels/{label}:{kind}")
            lines[f"TF Serving REST {kind}, {where}"] = (
                f"curl -s -X POST {label_url} -d {q(f'@{REQUESTS_DIR}/{signature}.json')}"
            )
        lines[f"TF Serving gRPC {kind} (Python), {where}"] = (
            f"python {q(f'{REQUESTS_DIR}/{signature}.grpc.py')} localhost:{GRPC_PORT} {q(label)}"
        )
    lines["MLflow (mlflow models serve -m models:/<model_id>), this signature by signature_name"] = (
        f"curl -s -X POST http://localhost:{MLFLOW_PORT}/invocations -H 'Content-Type: application/json' "
        f"-d {q(f'@{REQUESTS_DIR}/{signature}.invocations.json')}"
    )
    return lines
