"""``mlflow.operation_timeout`` for a run logged in this process (``tracking.bounded``): every MLflow
operation is given up on after the bound in total, even against a server that trickles one byte at a
time (which no per-read timeout ends); what the operation returned or raised reaches the caller."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import QUIET_TF

from sigforge.errors import TrackingError
from sigforge.tracking.bounded import BoundedExportRun, bounded
from sigforge.tracking.run import RunTarget


def test_an_operation_within_the_bound_returns_its_value_or_raises_its_own_error():
    assert bounded(5, "adding", "sqlite:///x.db", lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(KeyError, match="missing"):
        bounded(5, "looking up", "sqlite:///x.db", {}.__getitem__, "missing")


def test_an_operation_past_the_bound_is_given_up_on_naming_it_and_the_server_without_credentials():
    release = threading.Event()
    start = time.monotonic()
    with pytest.raises(TrackingError) as given_up:
        bounded(0.5, "logging the export", "https://me:s3cr3t@mlflow.example", release.wait, 60)
    release.set()
    assert time.monotonic() - start < 5
    assert str(given_up.value) == (
        "MLflow at https://***@mlflow.example did not finish logging the export within 0.5 s "
        "(mlflow.operation_timeout); check the server, or raise mlflow.operation_timeout"
    )


def test_a_run_on_a_server_that_trickles_fails_to_start_within_the_bound_and_ends_quietly(
    tmp_path, trickling_server, monkeypatch
):
    for name in ("TIMEOUT", "MAX_RETRIES", "BACKOFF_FACTOR", "BACKOFF_JITTER"):
        monkeypatch.delenv(f"MLFLOW_HTTP_REQUEST_{name}", raising=False)  # restored after the test
    run = BoundedExportRun(RunTarget("m", "m", trickling_server, tmp_path, 5, 0, operation_timeout=3))
    start = time.monotonic()
    error = run.start({"a": "b"})
    assert isinstance(error, TrackingError) and run.start_error is error
    assert "did not finish starting the run within 3 s (mlflow.operation_timeout)" in str(error)
    assert run.run_id is None
    assert run.fail(RuntimeError("the export failed")) == ""  # no run to end, and no hang
    assert time.monotonic() - start < 20


@pytest.mark.slow
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
