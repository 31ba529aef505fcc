"""MLflow: real runs in the embedded SQLite store and on a real ``mlflow server`` on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import QUIET_TF, REPO, free_port, run_statuses, start_cli, wait_for_http

pytestmark = pytest.mark.slow


def client_for(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def sqlite_uri(cwd: Path) -> str:
    return f"sqlite:///{(cwd / 'outputs' / 'mlflow.db').resolve()}"


def only_run(client, experiment: str):
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def test_export_is_an_mlflow_run_in_the_embedded_sqlite_store(run_cli, tmp_path):
    import mlflow
    import numpy as np

    result = run_cli("+experiment=multi_input")
    assert result.returncode == 0, result.stderr
    client = client_for(sqlite_uri(tmp_path))
    run = only_run(client, "multi_input")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "multi_input-v1"
    assert run.data.params["inputs.image.shape"] == "[null, 28, 28, 1]"
    assert run.data.params["naming.policy"] == "identity"
    assert {"sigforge.version", "tensorflow.version", "python.version", "sigforge.contract_digest"} <= set(
        run.data.tags
    )
    assert {
        "build_seconds",
        "trace_seconds",
        "write_seconds",
        "verify_seconds",
        "logging_seconds",
        "saved_model_bytes",
        "parameter_count",
    } <= set(run.data.metrics)
    assert run.data.metrics["parameter_count"] > 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "config.yaml",
        "signature_summary.json",
        "signature_summary.md",
        "signature_card.html",
        "requests",
    } <= artifacts
    import mlflow.artifacts

    mlflow.set_tracking_uri(sqlite_uri(tmp_path))  # a run's model resolves through the tracking store
    model_files = {
        a.path
        for a in mlflow.artifacts.list_artifacts(
            artifact_uri=f"runs:/{run.info.run_id}/multi_input-v1", tracking_uri=sqlite_uri(tmp_path)
        )
    }
    assert {
        "multi_input-v1/MLmodel",
        "multi_input-v1/tfmodel",
        "multi_input-v1/input_example.json",
    } <= model_files
    line = json.loads(result.stdout.strip().splitlines()[-1])
    (output,) = run.outputs.model_outputs
    assert line["model_uri"] == f"models:/{output.model_id}"
    logged = client.get_logged_model(output.model_id)
    assert logged.name == "multi_input-v1"
    for description in (run.data.tags["mlflow.note.content"], logged.tags["mlflow.note.content"]):
        assert "| input | `image` | float32 | [None, 28, 28, 1] |" in description
        assert "| input | `text` | int32 | [None, 100] |" in description
        assert "`POST http://HOST:8501/v1/models/multi_input/versions/1:predict`" in description
        assert "the first version of this model" in description

    model = mlflow.pyfunc.load_model(line["model_uri"])
    inputs = model.metadata.signature.inputs.to_dict()
    assert {i["name"]: (i["tensor-spec"]["dtype"], list(i["tensor-spec"]["shape"])) for i in inputs} == {
        "image": ("float32", [-1, 28, 28, 1]),
        "text": ("int32", [-1, 100]),
    }
    out = model.predict({"image": np.zeros((3, 28, 28, 1), np.float32), "text": np.ones((3, 100), np.int32)})
    assert np.asarray(out["scores"]).shape == (3, 10)
    card = (tmp_path / "outputs" / "mlartifacts").rglob("signature_card.html").__next__().read_text()
    assert "<td class='key'>image</td>" in card and "http" not in card.split("<body>")[0]


def test_logged_model_is_the_published_saved_model(run_cli, tmp_path):
    result = run_cli("+experiment=image_classifier")
    assert result.returncode == 0, result.stderr
    published = tmp_path / "outputs" / "exports" / "image_classifier" / "1"
    logged = next((tmp_path / "outputs" / "mlartifacts").rglob("tfmodel"))
    for name in ("saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"):
        assert (logged / name).read_bytes() == (published / name).read_bytes()


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


def model_uri(run: Any) -> str:
    """``models:/<model_id>``: the run's LoggedModel, as the export's result line prints it."""
    (output,) = run.outputs.model_outputs
    return f"models:/{output.model_id}"


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


def test_the_mlflow_docs_python_snippet_runs_as_written(run_cli, tmp_path):
    import re

    snippet = re.search(r"```python\n(.*?)```", (REPO / "docs" / "mlflow.md").read_text(), re.S).group(1)
    assert run_cli("+experiment=multi_input").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "multi_input")
    code = (
        snippet.replace("models:/<model_id>", model_uri(run))
        + "\nprint(sorted(model.metadata.signature.inputs.input_names()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_TF},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['image', 'text']" in done.stdout


def _wait_for_a_run(db: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # raw SQL: an MlflowClient here would race the store's migration
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                if conn.execute("select count(*) from runs").fetchone()[0]:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no run appeared in {db}")


def test_a_killed_logging_helper_is_taken_over_and_the_run_finishes(tmp_path):
    """SIGKILL on the MLflow helper: the exporter ends the run itself (no BrokenPipeError traceback)."""
    proc = start_cli(tmp_path, "+experiment=image_classifier")
    _wait_for_a_run(tmp_path / "outputs" / "mlflow.db")  # the helper has started the run
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert children, "the exporter has its logging helper"
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert run.info.status == "FINISHED"
    assert (tmp_path / "outputs" / "exports" / "image_classifier" / "1" / "saved_model.pb").exists()


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """Headers, then one byte every 2 s: a per-read timeout never fires, only a bound on the whole."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            while not stop.wait(2):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    def serve() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


def test_a_server_that_trickles_is_given_up_on_within_the_operation_timeout(run_cli, trickling_server):
    start = time.monotonic()
    result = run_cli(
        "+experiment=image_classifier",
        f"mlflow.tracking_uri={trickling_server}",
        "mlflow.operation_timeout=8",
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 4, result.stderr
    assert "within 8 s (mlflow.operation_timeout)" in result.stderr
    assert "The verified export is kept at" in result.stderr
    assert elapsed < 60


def test_the_operation_timeout_bounds_a_run_logged_in_process_too(tmp_path, trickling_server):
    """A library caller who imported TensorFlow first logs in this process (no helper can fork):
    the same bound applies, and the export ends with the kept version named."""
    script = (
        "import sys, time\n"
        "import tensorflow\n"
        "from sigforge.config.compose import compose\n"
        "from sigforge.errors import TrackingError\n"
        "from sigforge.pipeline import export\n"
        f"config = compose('experiment=image_classifier', 'mlflow.tracking_uri={trickling_server}',"
        " 'mlflow.operation_timeout=8')\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    export(config)\n"
        "except TrackingError as err:\n"
        "    print(f'{time.monotonic() - start:.0f} {err}')\n"
        "    sys.exit(err.exit_code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **QUIET_TF},
    )
    assert done.returncode == 4, done.stderr[-2000:]
    seconds, _, message = done.stdout.strip().partition(" ")
    assert "within 8 s (mlflow.operation_timeout)" in message and "The verified export is kept at" in message
    assert int(seconds) < 60


def test_export_finished_hooks_learn_the_mlflow_run(run_cli, tmp_path):
    (tmp_path / "team_notify.py").write_text(
        "from pathlib import Path\nfrom sigforge import hookimpl\n\n"
        "@hookimpl\ndef export_finished(result):\n"
        "    Path('notified.txt').write_text(str(result.mlflow_run_id))\n"
    )
    done = run_cli(
        "+experiment=image_classifier", "plugins.modules=[team_notify]", env={"PYTHONPATH": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert (tmp_path / "notified.txt").read_text() == run.info.run_id


@pytest.mark.parametrize(
    "helper_died", ["after logging the params", "before logging the params", "before creating"]
)
def test_a_helper_dead_before_it_reported_the_start_is_replaced_without_losing_the_run(tmp_path, helper_died):
    """The window between the helper creating the run and telling the exporter: the exporter finds
    the run by its lease tag (or, if none was created, starts it itself), logs its params and ends it."""
    from sigforge.tracking.background import BackgroundExportRun
    from sigforge.tracking.lease import Lease, lease_tags
    from sigforge.tracking.run import ExportRun, RunTarget

    lease = Lease()
    (tmp_path / "outputs").mkdir()
    uri = sqlite_uri(tmp_path)
    target = RunTarget("m", "exp", uri, tmp_path, 10, 2, 60, lease=lease.path)
    created = None  # what the helper did before it died
    if helper_died == "after logging the params":
        helper = ExportRun(target)
        helper.start({"a": "1"})
        created = helper.run_id
    elif helper_died == "before logging the params":
        experiment = client_for(uri).create_experiment("exp")
        created = client_for(uri).create_run(experiment, tags=lease_tags(lease.path)).info.run_id
    exporter = BackgroundExportRun(target)  # its helper is already gone: no reply will come
    exporter._start_args = ({"a": "1"}, {})
    assert exporter.start_error is None
    assert created is None or exporter.run_id == created
    exporter.fail(RuntimeError("the export failed"), "FAILED")
    runs = client_for(uri).search_runs([client_for(uri).get_experiment_by_name("exp").experiment_id])
    assert [(r.info.run_id, r.info.status, r.data.params) for r in runs] == [
        (exporter.run_id, "FAILED", {"a": "1"})
    ]
    lease.release(remove=True)


def statuses(cwd: Path) -> list[str]:
    """Every run's status in the embedded store, read with SQLite (not through sigforge)."""
    return run_statuses(cwd / "outputs" / "mlflow.db")


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_signals_end_the_run_killed(tmp_path, signum, code):
    """The signal lands mid-export, synchronised on the build stage's own log record. Whether the
    helper has created the run by then depends on the machine's load (a fresh store's migrations take
    seconds), so the run may be created after the signal: it must end KILLED either way. Waiting for
    RUNNING instead raced the export: on a loaded machine the run appeared just before publishing."""
    proc = start_cli(tmp_path, "experiment=image_classifier")
    before = []
    for line in proc.stderr:
        before.append(line)
        if "stage build done" in line:
            break
    else:
        pytest.fail("the export ended before its build stage was logged: " + "".join(before)[-2000:])
    proc.send_signal(signum)
    _, rest = proc.communicate(timeout=120)
    stderr = "".join(before) + rest
    assert proc.returncode == code, stderr
    assert statuses(tmp_path) == ["KILLED"]
    assert "its MLflow run is marked KILLED" in stderr
    # sigforge prints no traceback. A signal that lands inside TensorFlow's nest.flatten (tracing
    # starts right after "stage build done") while it imports a module is turned by C code into
    # this SystemError, which TensorFlow prints itself; the export still ends KILLED.
    mangled = "SystemError: <built-in function __import__> returned a result with an exception set"
    assert stderr.count("Traceback") <= stderr.count(mangled), stderr


def test_a_signal_after_the_run_finished_does_not_claim_it_was_killed(tmp_path):
    """SIGTERM while the result is being printed: the run is FINISHED, and the console says so."""
    proc = start_cli(tmp_path, "experiment=image_classifier")
    deadline = time.monotonic() + 120
    while "FINISHED" not in statuses(tmp_path):
        assert proc.poll() is None and time.monotonic() < deadline, "the export ended before its run finished"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert statuses(tmp_path) == ["FINISHED"]
    if proc.returncode == 143:  # the signal arrived before the process ended by itself
        assert "its MLflow run had already ended FINISHED" in stderr and "marked KILLED" not in stderr


def test_a_deleted_experiment_is_refused_before_anything_is_published(run_cli, tmp_path):
    (tmp_path / "outputs").mkdir()
    client = client_for(sqlite_uri(tmp_path))
    client.delete_experiment(client.create_experiment("image_classifier"))
    refused = run_cli("experiment=image_classifier")
    assert refused.returncode != 0
    assert "mlflow.experiment_name = 'image_classifier' names a deleted experiment" in refused.stderr
    assert not list((tmp_path / "outputs" / "exports" / "image_classifier").glob("[0-9]*"))
    assert "RUNNING" not in statuses(tmp_path)


def test_registration_refuses_a_breaking_contract_unless_allowed(run_cli, tmp_path):
    first = run_cli("experiment=image_classifier", "mlflow.registered_model_name=digits")
    assert first.returncode == 0, first.stderr
    clash = ("experiment=image_classifier", "model.name=digits_v2", "naming=prefixed")
    dry = run_cli(*clash, "mlflow.registered_model_name=digits", "export.dry_run=true")
    registry = json.loads(dry.stdout)["registry"]
    assert registry["against"] == "models:/digits/1" and registry["allowed"] is False
    assert [c["change"] for c in registry["breaking"]] == [
        "input 'image' removed",
        "input 'input_image' added",
    ]
    refused = run_cli(*clash, "mlflow.registered_model_name=digits")
    assert refused.returncode == 5, refused.stderr
    # The config alone shows the renamed key: the helper refuses it while TensorFlow is imported.
    assert "stage verify" not in refused.stderr and "Nothing was published." in refused.stderr
    assert not (tmp_path / "outputs" / "exports" / "digits_v2" / "1").exists()
    assert "RUNNING" not in statuses(tmp_path)
    client = client_for(sqlite_uri(tmp_path))
    (failed,) = client.search_runs([client.get_experiment_by_name("digits_v2").experiment_id])
    assert failed.info.run_name == "digits_v2-v1" and failed.info.status == "FAILED"
    diff = Path(client.download_artifacts(failed.info.run_id, "contract_diff.md", str(tmp_path))).read_text()
    assert "Compared with registered model `digits` version 1" in diff
    assert "| serving_default | input 'image' removed |" in diff
    allowed = run_cli(*clash, "mlflow.registered_model_name=digits", "mlflow.allow_breaking=true")
    assert allowed.returncode == 0, allowed.stderr
    assert "registered models:/digits/2 (alias latest_export)" in allowed.stderr
    assert json.loads(allowed.stdout.strip().splitlines()[-1])["registered"] == "models:/digits/2"
    versions = client.search_model_versions("name='digits'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    second = client.get_model_version("digits", "2")
    assert (
        "breaks the clients of version 1 (registered with `mlflow.allow_breaking=true`)" in second.description
    )
    assert "| input | `input_image` | float32 | [None, 28, 28, 1] |" in second.description


def refused_in_process(
    cwd: Path, first: tuple[str, ...], second: tuple[str, ...], error: str
) -> tuple[list, str]:
    """Export ``first``, then ``second``, in one process that imported TensorFlow first, as a library
    caller does (so the run is logged in this process): the stages ``second`` ran before ``error``
    refused it, and the first line of its message."""
    script = (
        "import tensorflow, contextlib, json\n"
        "from sigforge.config.compose import compose\n"
        f"from sigforge.errors import {error}\n"
        "from sigforge.pipeline import export\n"
        "from sigforge.report.progress import Silent\n"
        "class Stages(Silent):\n"
        "    seen = []\n"
        "    @contextlib.contextmanager\n"
        "    def stage(self, name):\n"
        "        self.seen.append(name)\n"
        "        yield\n"
        f"export(compose(*{first!r}))\n"
        "try:\n"
        f"    export(compose(*{second!r}), progress=Stages())\n"
        f"except {error} as err:\n"
        "    print(json.dumps([Stages.seen, str(err).splitlines()[0]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    stages, line = json.loads(done.stdout.strip().splitlines()[-1])
    return stages, line


def test_an_export_logged_in_process_is_refused_by_the_registry_before_it_builds(tmp_path):
    """A library caller who imported TensorFlow first logs in this process: the registry judges
    what the config fixes as the run starts, so not one stage runs."""
    first = ("experiment=image_classifier", "mlflow.registered_model_name=digits")
    second = (
        "experiment=image_classifier",
        "model.name=other",
        "naming=prefixed",
        "mlflow.registered_model_name=digits",
    )
    assert refused_in_process(tmp_path, first, second, "RegistrationRefused") == (
        [],
        "mlflow.registered_model_name = 'digits': this contract breaks version 1's clients, so it was not registered:",
    )
    assert not (tmp_path / "outputs" / "exports" / "other").exists() or not list(
        (tmp_path / "outputs" / "exports" / "other").glob("[0-9]*")
    )
    assert "RUNNING" not in statuses(tmp_path)


def test_an_export_logged_in_process_is_refused_on_disk_before_it_builds_and_its_run_records_it(tmp_path):
    """The disk guard's refusal is decided before the run starts; the run (in this process, as
    TensorFlow is already imported) starts, records it FAILED, and not one stage runs."""
    first = ("experiment=image_classifier",)
    stages, line = refused_in_process(tmp_path, first, (*first, "naming=prefixed"), "BreakingChange")
    assert (stages, line.split(":")[0]) == ([], "export.allow_breaking = false")
    assert sorted(p.name for p in (tmp_path / "outputs" / "exports" / "image_classifier").iterdir()) == ["1"]
    assert statuses(tmp_path) == ["FINISHED", "FAILED"]


def test_two_exports_registering_one_name_with_clashing_contracts_publish_only_the_registered(tmp_path):
    """Both pass the registry check if it is not held through publishing and registering; the one
    refused must be refused before its version is on disk, where TF Serving would serve it."""
    procs = {
        name: start_cli(
            tmp_path,
            "experiment=image_classifier",
            f"model.name={name}",
            f"naming={policy}",
            "mlflow.registered_model_name=digits",
        )
        for name, policy in (("a", "identity"), ("b", "prefixed"))
    }
    codes = {}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=300)
        codes[name] = proc.returncode
        assert "Traceback" not in stderr, stderr
    assert sorted(codes.values()) == [0, 5], codes
    refused = next(name for name, code in codes.items() if code == 5)
    exports = tmp_path / "outputs" / "exports"
    assert not [p for p in (exports / refused).glob("*") if p.name.isdigit()]
    versions = client_for(sqlite_uri(tmp_path)).search_model_versions("name='digits'")
    assert [v.tags["sigforge.model_version"] for v in versions] == ["1"]


def test_unreachable_server_keeps_the_export_and_says_how_to_log_it(run_cli, tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = run_cli(
        "experiment=image_classifier",
        f"mlflow.tracking_uri={uri}",
        "mlflow.http_timeout=2",
        "mlflow.http_retries=0",
        "mlflow.operation_timeout=20",
    )
    assert done.returncode == 4, done.stderr
    export_dir = tmp_path / "outputs" / "exports" / "image_classifier" / "1"
    assert (export_dir / "saved_model.pb").is_file()
    assert (
        f"log it later with sigforge log {export_dir} --tracking-uri {uri}" in done.stderr
    )  # the same store


def test_secret_looking_values_are_redacted():
    from sigforge.errors import without_credentials
    from sigforge.tracking.params import REDACTED, redact, redact_overrides

    assert redact({"db.password": "hunter2", "api_token": "t", "model.name": "m"}) == {
        "db.password": REDACTED,
        "api_token": REDACTED,
        "model.name": "m",
    }
    assert redact({"mlflow.tracking_uri": "https://me:pw@host/x"})["mlflow.tracking_uri"] == REDACTED
    assert redact_overrides(["secret_key=abc", "model.name=m"]) == f"secret_key={REDACTED} model.name=m"
    assert without_credentials("https://me:pw@host:5000/x") == f"https://{REDACTED}@host:5000/x"
    assert without_credentials("sqlite:////tmp/outputs/mlflow.db") == "sqlite:////tmp/outputs/mlflow.db"


def test_credentials_in_uris_never_reach_messages_tags_or_uploaded_configs():
    from sigforge.errors import without_credentials
    from sigforge.tracking.params import REDACTED, redact_overrides, redacted_yaml

    message = "MLflow at https://me:s3cr3t@host:5000 failed: url: http://a:b@h/api/2.0 (sqlite:////tmp/x.db)"
    cleaned = without_credentials(message)
    assert "s3cr3t" not in cleaned and "a:b@" not in cleaned
    assert (
        cleaned == "MLflow at https://***@host:5000 failed: url: http://***@h/api/2.0 (sqlite:////tmp/x.db)"
    )
    assert redact_overrides(["+db={password: hunter2, host: x}", "n=1"]) == f"+db={REDACTED} n=1"
    assert "hunter2" not in redacted_yaml({"db": {"password": "hunter2"}, "uri": "https://u:p@h"})


def test_diff_finds_a_runs_model_whatever_its_name(run_cli, tmp_path):
    """``runs:/<run_id>`` and 0.1's ``runs:/<run_id>/model`` name the run's LoggedModel, which is
    called ``<model>-v<version>``; the contract read back from MLflow equals the published one."""
    assert run_cli("experiment=image_classifier").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    published = str(tmp_path / "outputs" / "exports" / "image_classifier" / "1")
    for uri in (f"runs:/{run.info.run_id}", f"runs:/{run.info.run_id}/model", model_uri(run)):
        done = run_cli("diff", uri, published)
        assert done.returncode == 0, done.stderr
        assert "no differences" in done.stdout


def test_a_registered_model_sigforge_did_not_make_is_named_not_a_traceback(run_cli, tmp_path):
    import mlflow

    (tmp_path / "outputs").mkdir()
    uri = sqlite_uri(tmp_path)
    client = client_for(uri)
    client.create_registered_model("foreign")
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        mlflow.log_text("not a model", "notes/readme.txt")
    client.create_model_version("foreign", source=f"runs:/{run.info.run_id}/notes", run_id=run.info.run_id)
    refused = run_cli("experiment=image_classifier", "mlflow.registered_model_name=foreign")
    assert refused.returncode == 5 and "Traceback" not in refused.stderr
    assert "its latest version, 1, holds no SavedModel sigforge can read" in refused.stderr
    assert not list((tmp_path / "outputs" / "exports" / "image_classifier").glob("[0-9]*"))
    allowed = run_cli(
        "experiment=image_classifier", "mlflow.registered_model_name=foreign", "mlflow.allow_breaking=true"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "not compared with version 1" in client.get_model_version("foreign", "2").description
