"""MLflow's pyfunc entry for an export (``tracking.sigforge_pyfunc``): any signature picked by
``signature_name``, binary inputs base64-encoded as MLflow writes them and as TF Serving's REST
clients send them, and errors that name what a request lacks. In-process on the session's exports
through the loader hook MLflow calls, then end to end with ``mlflow models serve``."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import QUIET_TF, free_port, wait_for_http

from sigforge.tracking.sigforge_pyfunc import CONFIG_FILE, _load_pyfunc

from .test_tracking import client_for, model_uri, only_run, sqlite_uri


def loaded(result, tmp_path: Path, binary: tuple[str, ...] = ()):
    """The model as ``mlflow.pyfunc.load_model`` builds it: the loader hook on a config in ``data/``."""
    data = tmp_path / "data"
    data.mkdir()
    signatures = {
        name: {key: {"dtype": t["dtype"], "binary": key in binary} for key, t in sig["inputs"].items()}
        for name, sig in result.summary["signatures"].items()
    }
    config = {
        "saved_model_dir": os.path.relpath(result.export_dir, data),
        "default_signature": "serving_default",
        "signatures": signatures,
    }
    (data / CONFIG_FILE).write_text(json.dumps(config))
    return _load_pyfunc(str(data / CONFIG_FILE))


def test_named_inputs_answer_as_a_dict_or_a_dataframe_and_what_is_missing_is_named(export, tmp_path):
    import pandas as pd

    model = loaded(export("multi_input"), tmp_path)
    image, text = np.zeros((2, 28, 28, 1), np.float32), np.ones((2, 100), np.int64)  # int64: cast to int32
    scores = model.predict({"image": image, "text": text})["scores"]
    assert isinstance(scores, np.ndarray) and scores.shape == (2, 10)
    frame = pd.DataFrame({"image": list(image), "text": list(text)})  # one per-example array per cell
    np.testing.assert_allclose(model.predict(frame)["scores"], scores, rtol=1e-6)
    with pytest.raises(
        ValueError,
        match=r"signature 'serving_default' takes \['image', 'text'\]; the request lacks \['text'\]",
    ):
        model.predict({"image": image})
    with pytest.raises(ValueError, match="signature_name 'nope' is not a signature of this model; it has"):
        model.predict({"image": image, "text": text}, params={"signature_name": "nope"})


def test_a_binary_input_is_taken_as_base64_text_or_b64_objects_alike(export, tmp_path):
    result = export("image_bytes")
    model = loaded(result, tmp_path, binary=("image",))
    (encoded,) = result.report.inputs["serving_default"]["image"][:1]
    text = base64.b64encode(encoded).decode()
    plain = model.predict({"image": np.array([text], dtype=object)})["scores"]
    wrapped = model.predict({"image": [{"b64": text}]})["scores"]
    raw = model.predict({"image": np.array([encoded], dtype=object)})["scores"]
    np.testing.assert_allclose(wrapped, plain, rtol=1e-6)
    np.testing.assert_allclose(raw, plain, rtol=1e-6)
    with pytest.raises(
        ValueError, match="input 'image' is binary: send base64 text or {'b64': ...}, not int"
    ):
        model.predict({"image": [3]})


@contextlib.contextmanager
def served(model_uri: str, tracking_uri: str, cwd: Path) -> Iterator[Callable[[Any], Any]]:
    """``mlflow models serve`` on a free loopback port; yields ``invoke(json_body) -> reply``."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        **QUIET_TF,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local"]
    serve = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def invoke(body: Any) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", proc=serve)
        yield invoke
    finally:
        serve.terminate()
        serve.wait(timeout=30)


@pytest.mark.slow
def test_export_to_a_tracking_server_and_serve_the_logged_model(run_cli, tmp_path, mlflow_server):
    result = run_cli(
        "+experiment=multi_input", f"mlflow.tracking_uri={mlflow_server}", "mlflow.experiment_name=served"
    )
    assert result.returncode == 0, result.stderr
    run = only_run(client_for(mlflow_server), "served")
    assert run.info.status == "FINISHED"
    with served(model_uri(run), mlflow_server, tmp_path) as invoke:
        body = {"inputs": {"image": [[[[0.5]] * 28] * 28] * 2, "text": [[3] * 100] * 2}}
        predictions = invoke(body)["predictions"]
    assert len(predictions["scores"]) == 2 and len(predictions["scores"][0]) == 10


@pytest.mark.slow
@pytest.mark.parametrize(
    "experiment, key", [("image_bytes", "image"), ("dnn_classifier", "inputs"), ("tf_example", "examples")]
)
def test_byte_inputs_answer_through_pyfunc_and_mlflow_models_serve(run_cli, tmp_path, experiment, key):
    """A binary input travels base64-encoded: as MLflow writes its own input example (plain base64
    text) and as TF Serving's REST clients send it ({"b64": ...}), in both request forms."""
    import mlflow
    import numpy as np
    from mlflow.models import Model

    assert run_cli(f"+experiment={experiment}").returncode == 0
    uri = sqlite_uri(tmp_path)
    run = only_run(client_for(uri), experiment)
    mlflow.set_tracking_uri(uri)
    local = Path(mlflow.artifacts.download_artifacts(model_uri(run), dst_path=str(tmp_path / "model")))
    example = Model.load(str(local)).load_input_example(str(local))
    predicted = mlflow.pyfunc.load_model(str(local)).predict(example)
    assert predicted and all(isinstance(v, np.ndarray) for v in predicted.values())
    assert predicted["scores"].shape[0] == 1

    encoded = example[key][0].replace("\n", "")  # the example's base64 text
    with served(model_uri(run), uri, tmp_path) as invoke:
        replies = [
            invoke((local / "serving_input_example.json").read_bytes()),
            invoke({"instances": [{key: {"b64": encoded}}]}),
            invoke({"inputs": {key: [{"b64": encoded}]}}),
        ]
    for reply in replies:
        np.testing.assert_allclose(reply["predictions"]["scores"], predicted["scores"], rtol=1e-5)
    if "classes" in predicted:
        assert replies[0]["predictions"]["classes"] == predicted["classes"].tolist()


@pytest.mark.slow
def test_every_signature_answers_by_name_through_pyfunc_and_mlflow_models_serve(run_cli, tmp_path):
    """dnn_classifier has three signatures (two classify, one predict with other keys): each answers
    its own request file, which names it by signature_name, and the TF flavor loads the SavedModel."""
    import urllib.error

    import mlflow
    import numpy as np
    import tensorflow as tf

    assert run_cli("+experiment=dnn_classifier").returncode == 0
    uri = sqlite_uri(tmp_path)
    client = client_for(uri)
    run = only_run(client, "dnn_classifier")
    mlflow.set_tracking_uri(uri)
    requests = Path(client.download_artifacts(run.info.run_id, "requests", str(tmp_path)))
    bodies = {p.name.split(".")[0]: json.loads(p.read_text()) for p in requests.glob("*.invocations.json")}
    assert sorted(bodies) == ["classification", "predict", "serving_default"]
    model = mlflow.pyfunc.load_model(model_uri(run))
    expected = {}
    for name, body in bodies.items():
        assert body["params"] == {"signature_name": name}
        inputs = {key: np.asarray(values) for key, values in body["inputs"].items()}
        expected[name] = model.predict(inputs, params=body["params"])["scores"]
    module = mlflow.tensorflow.load_model(model_uri(run))  # model_type tf2-module: the SavedModel itself
    predict = module.signatures["predict"]
    specs = predict.structured_input_signature[1]
    feeds = {
        key: tf.constant(values, specs[key].dtype) for key, values in bodies["predict"]["inputs"].items()
    }
    direct = predict(**feeds)["scores"].numpy()
    np.testing.assert_allclose(expected["predict"], direct, rtol=1e-5)
    with served(model_uri(run), uri, tmp_path) as invoke:
        for name, body in bodies.items():
            np.testing.assert_allclose(invoke(body)["predictions"]["scores"], expected[name], rtol=1e-5)
        with pytest.raises(urllib.error.HTTPError) as refused:
            invoke({**bodies["predict"], "params": {"signature_name": "nope"}})
        assert "'nope' is not a signature of this model" in refused.value.read().decode()
