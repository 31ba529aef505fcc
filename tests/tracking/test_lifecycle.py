"""The run's owner (``tracking.lifecycle.ExportTracking``) sees a signal through the errors C code
turns it into, and records what became of its run (``errors.run_outcome`` says it); both kinds of
run (a logging helper, or this process once TensorFlow is imported) have the registry judge the
contract as early as they can."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import QUIET_TF, free_port, run_statuses, start_cli

from sigforge.errors import Terminated, forget_signals, raise_for_signal, run_outcome
from sigforge.pipeline import prepare
from sigforge.tracking.lifecycle import ExportTracking

from .test_tracking import client_for, only_run, sqlite_uri


def test_a_signal_that_c_code_turned_into_another_error_still_ends_the_export_as_that_signal(compose):
    spec, _ = prepare(compose("experiment=image_classifier", "mlflow.enabled=false"))
    tracking = ExportTracking(spec, {}, Path.cwd())
    forget_signals()
    try:
        with pytest.raises(Terminated) as ended, tracking.owning():
            try:  # what TensorFlow's nest.flatten does when the handler raises inside its import
                raise_for_signal(Terminated(signal.SIGHUP))
            except Terminated as swallowed:
                raise TypeError("TypeError") from swallowed
        assert ended.value.exit_code == 129
        assert isinstance(ended.value.__cause__, TypeError)
        assert run_outcome(ended.value) == "no MLflow run was started"
    finally:
        forget_signals()


def test_without_a_signal_an_error_stays_what_it_is(compose):
    spec, _ = prepare(compose("experiment=image_classifier", "mlflow.enabled=false"))
    forget_signals()
    with pytest.raises(TypeError), ExportTracking(spec, {}, Path.cwd()).owning():
        raise TypeError("a tracing error of its own")


def test_a_signal_ends_the_started_run_killed_and_the_outcome_says_so(compose, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = compose("experiment=image_classifier", f"export.base_dir={tmp_path / 'exports'}")
    spec, _ = prepare(config, cwd=tmp_path)
    tracking = ExportTracking(spec, config, tmp_path)
    forget_signals()
    try:
        with pytest.raises(Terminated) as ended, tracking.owning():
            tracking.start()
            raise_for_signal(Terminated(signal.SIGTERM))
        assert ended.value.exit_code == 143
        assert run_outcome(ended.value) == "its MLflow run is marked KILLED"
        assert run_statuses(tmp_path / "outputs" / "mlflow.db") == ["KILLED"]
        # Another exception than the one that ended the run is told no run was marked for it.
        assert run_outcome(Terminated(signal.SIGTERM)) == "no MLflow run was started"
    finally:
        forget_signals()


JUDGED = """
import json, sys
from pathlib import Path
if sys.argv[1] == "in-process":
    import tensorflow  # a library caller who imported it first: the run is logged in this process
from sigforge.config.compose import compose
from sigforge.contract.read import contract_to_dict, known_contract
from sigforge.errors import RegistrationRefused
from sigforge.pipeline import prepare
from sigforge.tracking.lifecycle import ExportTracking
config = compose("experiment=image_classifier", "model.name=digits_v2", "naming=prefixed",
                 "mlflow.registered_model_name=digits", f"mlflow.experiment_name={sys.argv[2]}")
spec, _ = prepare(config, cwd=Path.cwd())
tracking = ExportTracking(spec, config, Path.cwd())
stage = "start"
try:
    with tracking.owning():
        tracking.start()
        stage = "before_publish"
        tracking.before_publish(contract_to_dict(known_contract(spec)))
        stage = "published"
except RegistrationRefused as refused:
    print(json.dumps({"stage": stage, "message": str(refused)}))
"""


def sigforge(cwd: Path, uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, **QUIET_TF, "MLFLOW_TRACKING_URI": uri},
    )  # fmt: skip


@pytest.fixture(scope="module")
def stores(tmp_path_factory, mlflow_server) -> dict[str, str]:
    """Two stores holding registered model ``digits`` version 1, made by the CLI: an embedded one,
    which ``registry_read`` reads without MLflow, and a server, which only MLflow reads."""
    cwd = tmp_path_factory.mktemp("registered")
    uris = {"embedded": f"sqlite:///{cwd / 'mlflow.db'}", "server": mlflow_server}
    for uri in uris.values():
        done = sigforge(
            cwd, uri, "-m", "sigforge", "experiment=image_classifier", "mlflow.registered_model_name=digits"
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return uris


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "kind", "when"),
    [
        ("embedded", "helper", "start"),  # read without MLflow before the run starts, either kind
        ("embedded", "in-process", "start"),
        ("server", "helper", "before_publish"),  # the helper judges while TensorFlow would import
        ("server", "in-process", "start"),  # a run in this process judges at once
    ],
)
def test_both_kinds_of_run_have_the_registry_refuse_a_breaking_contract(stores, tmp_path, store, kind, when):
    """Either kind of run asks the registry as early as it can, and ends FAILED keeping the same
    refusal."""
    experiment = f"{store}-{kind}"
    done = sigforge(tmp_path, stores[store], "-c", JUDGED, kind, experiment)
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["stage"] == when
    assert "this contract breaks version 1's clients, so it was not registered" in said["message"]
    assert said["message"].endswith("Nothing was published.")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=stores[store])
    (failed,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert failed.info.status == "FAILED" and failed.data.tags["sigforge.refused"] == "true"


# What the lifecycle does for a user, through the library's entry point (``pipeline.export``) and the
# CLI: a published export's run ends FINISHED, linked to what it logged and registered; a failure
# ends it FAILED with the error; a signal ends it KILLED; no run is ever left RUNNING.


@pytest.mark.slow
def test_a_published_export_ends_its_run_finished_linked_to_its_logged_model_and_registered_version(
    compose, tmp_path
):
    from sigforge.pipeline import export

    result = export(
        compose("experiment=image_classifier", "mlflow.registered_model_name=digits"), cwd=tmp_path
    )
    client = client_for(sqlite_uri(tmp_path))
    run = only_run(client, "image_classifier")
    assert (run.info.status, run.info.run_name) == ("FINISHED", "image_classifier-v1")
    assert result.mlflow_run_id == run.info.run_id
    (output,) = run.outputs.model_outputs
    assert result.mlflow_model_uri == f"models:/{output.model_id}"
    assert client.get_logged_model(output.model_id).source_run_id == run.info.run_id
    assert result.registered_version == "models:/digits/1"
    version = client.get_model_version_by_alias("digits", "latest_export")
    assert (str(version.version), version.run_id) == ("1", run.info.run_id)
    assert version.tags["sigforge.version_dir"] == str(result.export_dir)
    assert statuses(tmp_path) == ["FINISHED"]


def test_a_failure_mid_export_ends_its_run_failed_with_the_error_and_publishes_nothing(compose, tmp_path):
    """The run has started when the export fails (here a summary directory inside the model
    directory, refused before TensorFlow is imported): it ends FAILED, saying why, not RUNNING."""
    from sigforge.errors import ExportError
    from sigforge.pipeline import export

    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    config = compose("experiment=image_classifier", f"export.summary_dir={model_dir / 'summary'}")
    with pytest.raises(ExportError, match="is inside the model directory"):
        export(config, cwd=tmp_path)
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert run.info.status == "FAILED"
    assert "is inside the model directory" in run.data.tags["sigforge.error"]
    assert statuses(tmp_path) == ["FAILED"]
    assert not [p for p in model_dir.iterdir() if p.name.isdigit()]


def statuses(cwd: Path) -> list[str]:
    """Every run's status in the embedded store, read with SQLite (not through sigforge)."""
    return run_statuses(cwd / "outputs" / "mlflow.db")


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_deleted_experiment_is_refused_before_anything_is_published(run_cli, tmp_path):
    (tmp_path / "outputs").mkdir()
    client = client_for(sqlite_uri(tmp_path))
    client.delete_experiment(client.create_experiment("image_classifier"))
    refused = run_cli("experiment=image_classifier")
    assert refused.returncode != 0
    assert "mlflow.experiment_name = 'image_classifier' names a deleted experiment" in refused.stderr
    assert not list((tmp_path / "outputs" / "exports" / "image_classifier").glob("[0-9]*"))
    assert "RUNNING" not in statuses(tmp_path)


@pytest.mark.slow
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
