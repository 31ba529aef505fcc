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
from pathlib import Path

import pytest
from conftest import QUIET_TF, run_statuses

from sigforge.errors import Terminated, forget_signals, raise_for_signal, run_outcome
from sigforge.pipeline import prepare
from sigforge.tracking.lifecycle import ExportTracking


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
