"""MLflow: real runs in the embedded SQLite store and on a real ``mlflow server`` on loopback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import QUIET_TF, free_port, start_cli, wait_for_http

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
            artifact_uri=f"runs:/{run.info.run_id}/model", tracking_uri=sqlite_uri(tmp_path)
        )
    }
    assert {"model/MLmodel", "model/tfmodel", "model/input_example.json"} <= model_files

    mlflow.set_tracking_uri(sqlite_uri(tmp_path))
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
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
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        **QUIET_TF,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    serve = subprocess.Popen(
        [
            str(bin_dir / "mlflow"),
            "models",
            "serve",
            "-m",
            f"runs:/{run.info.run_id}/model",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", proc=serve)
        body = json.dumps({"inputs": {"image": [[[[0.5]] * 28] * 28] * 2, "text": [[3] * 100] * 2}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = json.loads(response.read())["predictions"]
        assert len(predictions["scores"]) == 2 and len(predictions["scores"][0]) == 10
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def test_failed_export_ends_the_run_failed_with_its_error(run_cli, tmp_path):
    (tmp_path / "corrupt.weights.h5").write_bytes(b"not an hdf5 file")
    result = run_cli("+experiment=image_classifier", "model.weights=corrupt.weights.h5")
    assert result.returncode == 2
    assert "model.weights = " in result.stderr and "cannot be loaded" in result.stderr
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert run.info.status == "FAILED"
    assert "cannot be loaded" in run.data.tags["sigforge.error"]
    assert not any(
        p.name.isdigit() for p in (tmp_path / "outputs" / "exports" / "image_classifier").iterdir()
    )


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_signals_end_the_run_killed(tmp_path, signum, code):
    proc = start_cli(tmp_path, "+experiment=image_classifier", stdout=subprocess.DEVNULL)
    _wait_for_a_run(tmp_path / "outputs" / "mlflow.db")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    if run.info.status == "FINISHED":
        pytest.skip("the export finished before the signal arrived")
    # 130/143 from sigforge's handler; -signum when the signal lands during interpreter shutdown.
    assert proc.returncode in (code, -signum), err
    assert run.info.status == "KILLED"
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    assert not model_dir.exists() or not [p for p in model_dir.iterdir() if not p.name.isdigit()]


def test_unreachable_server_keeps_the_export_and_says_how_to_log_it(run_cli, tmp_path):
    port = free_port()  # nothing listens here
    start = time.monotonic()
    result = run_cli("+experiment=image_classifier", f"mlflow.tracking_uri=http://127.0.0.1:{port}")
    assert time.monotonic() - start < 60
    assert result.returncode == 4
    export_dir = tmp_path / "outputs" / "exports" / "image_classifier" / "1"
    assert f"MLflow at http://127.0.0.1:{port}" in result.stderr
    assert f"The verified export is kept at {export_dir}" in result.stderr
    assert (export_dir / "saved_model.pb").exists()
    later = run_cli(str(export_dir), module="sigforge.log")
    assert later.returncode == 0, later.stderr
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert run.info.status == "FINISHED" and run.info.run_name == "image_classifier-v1"


def test_secret_looking_values_are_redacted():
    from sigforge.tracking import flatten, redact

    params = redact(
        flatten(
            {
                "mlflow": {"tracking_uri": "http://alice:hunter2@host:5000", "api_token": "t0k"},
                "naming": {"policy": "identity"},
            }
        )
    )
    assert params == {"mlflow.tracking_uri": "***", "mlflow.api_token": "***", "naming.policy": "identity"}


def test_disabled_mlflow_is_not_imported(run_cli, tmp_path):
    result = run_cli(
        "+experiment=image_classifier", "mlflow.enabled=false", env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")
    }
    assert "mlflow" not in imported
    assert not (tmp_path / "outputs" / "mlflow.db").exists()


def test_sweep_has_a_parent_run_with_nested_children_and_a_comparison(run_cli, tmp_path):
    result = run_cli(
        "-m", "+experiment=multi_input", "naming.policy=identity,prefixed", "export.allow_breaking=true"
    )
    assert result.returncode == 0, result.stderr
    client = client_for(sqlite_uri(tmp_path))
    runs = client.search_runs([client.get_experiment_by_name("multi_input").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert sorted(r.data.tags["sigforge.overrides"] for r in children) == [
        "+experiment=multi_input naming.policy=identity export.allow_breaking=True",
        "+experiment=multi_input naming.policy=prefixed export.allow_breaking=True",
    ]
    path = client.download_artifacts(parents[0].info.run_id, "sweep_comparison.json", str(tmp_path))
    comparison = json.loads(Path(path).read_text())
    differing = {r["row"] for r in comparison["rows"] if r["differs"]}
    assert "serving_default / input input_image" in differing
    assert "serving_default / output scores" not in differing


def test_diff_flags_breaking_changes(run_cli, tmp_path):
    for overrides in (
        [],
        ["inputs.text.shape=[null,null]"],
        ["inputs.text.dtype=int64", "export.allow_breaking=true"],
    ):
        result = run_cli("+experiment=multi_input", "mlflow.enabled=false", *overrides)
        assert result.returncode == 0, result.stderr
    model_dir = tmp_path / "outputs" / "exports" / "multi_input"
    same = run_cli(str(model_dir / "1"), str(model_dir / "1"), module="sigforge.diff")
    assert same.returncode == 0 and "identical" in same.stdout
    widened = run_cli(str(model_dir / "1"), str(model_dir / "2"), module="sigforge.diff")
    assert widened.returncode == 0, widened.stdout
    assert "input 'text' shape widened" in widened.stdout
    narrowed = run_cli(str(model_dir / "2"), str(model_dir / "1"), module="sigforge.diff")
    assert narrowed.returncode == 1 and "BREAKING" in narrowed.stdout
    dtype = run_cli(str(model_dir / "1"), str(model_dir / "3"), module="sigforge.diff")
    assert dtype.returncode == 1 and "input 'text' dtype" in dtype.stdout


def test_registration_refuses_a_breaking_contract_unless_allowed(run_cli, tmp_path, mlflow_server):
    base = [
        f"mlflow.tracking_uri={mlflow_server}",
        "mlflow.registered_model_name=guarded",
        "mlflow.experiment_name=reg",
    ]
    first = run_cli("+experiment=multi_input", *base)
    assert first.returncode == 0, first.stderr
    base.append("export.allow_breaking=true")  # past the guard on disk, to the registry's
    breaking = run_cli("+experiment=multi_input", "naming.policy=prefixed", *base)
    assert breaking.returncode == 5
    assert "breaks version 1's clients, so it was not registered" in breaking.stderr
    assert "mlflow.allow_breaking=true" in breaking.stderr and "Nothing was published" in breaking.stderr
    assert sorted(os.listdir(tmp_path / "outputs" / "exports" / "multi_input")) == ["1"]  # checked before
    client = client_for(mlflow_server)
    assert [v.version for v in client.search_model_versions("name = 'guarded'")] == ["1"]
    forced = run_cli("+experiment=multi_input", "naming.policy=prefixed", "mlflow.allow_breaking=true", *base)
    assert forced.returncode == 0, forced.stderr
    assert sorted(v.version for v in client.search_model_versions("name = 'guarded'")) == ["1", "2"]
    diff = run_cli(
        "models:/guarded/1", "models:/guarded/2", "--tracking-uri", mlflow_server, module="sigforge.diff"
    )
    assert diff.returncode == 1 and "input 'image' removed" in diff.stdout


def test_each_export_is_a_logged_model_linked_to_its_run_and_registry_version(run_cli, tmp_path):
    import mlflow

    result = run_cli("+experiment=dnn_classifier", "mlflow.registered_model_name=census")
    assert result.returncode == 0, result.stderr
    uri = sqlite_uri(tmp_path)
    client = client_for(uri)
    experiment = client.get_experiment_by_name("dnn_classifier")
    (logged,) = client.search_logged_models([experiment.experiment_id])
    run = only_run(client, "dnn_classifier")
    assert logged.source_run_id == run.info.run_id and logged.name == "model"
    assert str(logged.status) == "LoggedModelStatus.READY" or logged.status.name == "READY"
    assert logged.params["naming.policy"] == "identity"
    assert {"verify_seconds", "saved_model_bytes", "parameter_count"} <= {m.key for m in logged.metrics}
    assert [o.model_id for o in run.outputs.model_outputs] == [logged.model_id]
    version = client.get_model_version("census", "1")
    assert version.source == f"models:/{logged.model_id}"
    assert version.tags["sigforge.contract_digest"] == run.data.tags["sigforge.contract_digest"]
    assert "dnn_classifier v1" in version.description
    assert str(client.get_model_version_by_alias("census", "latest_export").version) == "1"
    mlflow.set_tracking_uri(uri)
    for location in (
        f"runs:/{run.info.run_id}/model",
        f"models:/{logged.model_id}",
        "models:/census@latest_export",
    ):
        assert mlflow.pyfunc.load_model(location).metadata.model_id == logged.model_id


def test_standard_tags_say_who_ran_what(run_cli, tmp_path):
    assert run_cli("+experiment=image_classifier").returncode == 0
    tags = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier").data.tags
    assert tags["mlflow.source.name"] == "python -m sigforge" and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.user"]


def test_environment_chooses_store_and_experiment_and_config_wins(run_cli, tmp_path):
    store = f"sqlite:///{tmp_path / 'env.db'}"
    env = {"MLFLOW_TRACKING_URI": store, "MLFLOW_EXPERIMENT_NAME": "from-env"}
    assert run_cli("+experiment=image_classifier", env=env).returncode == 0
    assert (
        run_cli("+experiment=image_classifier", "mlflow.experiment_name=from-config", env=env).returncode == 0
    )
    client = client_for(store)
    assert only_run(client, "from-env").info.status == "FINISHED"
    assert only_run(client, "from-config").info.status == "FINISHED"
    assert not (tmp_path / "outputs" / "mlflow.db").exists()
    bad = run_cli("+experiment=image_classifier", env={"MLFLOW_TRACKING_URI": "notauri"})
    assert bad.returncode == 2 and "MLFLOW_TRACKING_URI (environment) = 'notauri'" in bad.stderr


def test_a_deleted_experiment_is_refused_before_anything_is_published(run_cli, tmp_path):
    assert run_cli("+experiment=image_classifier", "mlflow.experiment_name=gone").returncode == 0
    client = client_for(sqlite_uri(tmp_path))
    client.delete_experiment(client.get_experiment_by_name("gone").experiment_id)
    refused = run_cli("+experiment=image_classifier", "mlflow.experiment_name=gone")
    assert refused.returncode == 4, refused.stderr
    assert "mlflow.experiment_name = 'gone' names a deleted experiment" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert os.listdir(tmp_path / "outputs" / "exports" / "image_classifier") == ["1"]


def test_diff_reads_runs_from_the_store_sigforge_wrote(run_cli, tmp_path):
    assert run_cli("+experiment=image_classifier").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    exported = tmp_path / "outputs" / "exports" / "image_classifier" / "1"
    same = run_cli(f"runs:/{run.info.run_id}", str(exported), module="sigforge.diff")
    assert same.returncode == 0 and "identical" in same.stdout, same.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_readme_python_snippet_runs_as_written(run_cli, tmp_path):
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    mlflow_section = readme[readme.index("## MLflow") :]
    snippet = re.search(r"```python\n(.*?)```", mlflow_section, re.S).group(1)
    assert run_cli("+experiment=multi_input").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "multi_input")
    code = (
        snippet.replace("<run_id>", run.info.run_id)
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


def test_a_server_that_trickles_is_given_up_on_within_the_operation_timeout(run_cli, tmp_path):
    """Headers, then one byte every 2 s: a per-read timeout never fires, mlflow.operation_timeout does."""
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
        start = time.monotonic()
        result = run_cli(
            "+experiment=image_classifier",
            f"mlflow.tracking_uri=http://127.0.0.1:{server.getsockname()[1]}",
            "mlflow.operation_timeout=8",
            timeout=120,
        )
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        server.close()
    assert result.returncode == 4, result.stderr
    assert "did not finish within 8 s (mlflow.operation_timeout)" in result.stderr
    assert "The verified export is kept at" in result.stderr
    assert elapsed < 60


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
