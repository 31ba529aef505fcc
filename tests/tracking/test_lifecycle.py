"""The run's owner (``tracking.lifecycle.ExportTracking``) sees a signal through the errors C code
turns it into, and records what became of its run (``errors.run_outcome`` says it)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import run_statuses

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
