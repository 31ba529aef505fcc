"""``ExportResult``: built once by the pipeline, never changed afterwards."""

from __future__ import annotations

import dataclasses

import pytest

from sigforge.verify.result import ExportResult


def test_an_export_result_is_built_once_and_never_changed(export):
    result = export("image_classifier", "mlflow.enabled=false")
    assert isinstance(result, ExportResult) and result.published and result.mlflow_run_id is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.version = 99  # type: ignore[misc]
    logged = dataclasses.replace(
        result, mlflow_model_uri="models:/m-1"
    )  # how export_spec adds MLflow's outcome
    assert logged.mlflow_model_uri == "models:/m-1" and result.mlflow_model_uri is None
    assert logged.export_dir == result.export_dir and logged.report is result.report
