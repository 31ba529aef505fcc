"""The run's owner (``tracking.lifecycle.ExportTracking``) sees a signal through the errors C code
turns it into."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from sigforge.errors import Terminated, forget_signals, raise_for_signal
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
    finally:
        forget_signals()


def test_without_a_signal_an_error_stays_what_it_is(compose):
    spec, _ = prepare(compose("experiment=image_classifier", "mlflow.enabled=false"))
    forget_signals()
    with pytest.raises(TypeError), ExportTracking(spec, {}, Path.cwd()).owning():
        raise TypeError("a tracing error of its own")
