"""The registry guard compares tf.Example features too: a Classify-only feature change under the
same registered name is refused, naming the feature, though the signature_def tensors are equal."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

CLS_ONLY = ("experiment=dnn_classifier", "~signatures.predict", "mlflow.registered_model_name=census")


def test_a_feature_dtype_change_is_refused_by_the_registry_naming_the_feature(run_cli, tmp_path):
    first = run_cli(*CLS_ONLY, "model.name=census_a")
    assert first.returncode == 0, first.stderr[-3000:]
    # Another model directory, so the disk guard has nothing to compare: the registry decides.
    refused = run_cli(*CLS_ONLY, "model.name=census_b", "inputs.hours_per_week.dtype=float32")
    assert refused.returncode == 5, refused.stderr[-3000:]
    assert "this contract breaks version 1's clients, so it was not registered" in refused.stderr
    assert "feature 'hours_per_week' (in 'inputs') dtype" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "outputs" / "exports" / "census_b").exists()
