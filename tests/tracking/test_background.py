"""The MLflow run hosted by a logging helper process (``tracking.background``): a helper killed or
dead before it reported is taken over by the exporter without losing the run, and a server that
trickles is given up on within ``mlflow.operation_timeout``."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import start_cli

from .test_tracking import client_for, only_run, sqlite_uri

pytestmark = pytest.mark.slow


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
