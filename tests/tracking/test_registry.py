"""The registry guard compares tf.Example features too: a Classify-only feature change under the
same registered name is refused, naming the feature, though the signature_def tensors are equal."""

from __future__ import annotations

import pytest
import yaml

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


def test_adopt_reads_a_registered_version(run_cli, tmp_path):
    assert run_cli(*CLS_ONLY, "model.name=census_a").returncode == 0
    adopted = run_cli("adopt", "models:/census/1")
    assert adopted.returncode == 0, adopted.stderr[-3000:]
    config = yaml.safe_load(adopted.stdout)
    assert config["model"]["name"] == "census" and config["model"]["architecture"] == "dnn_classifier"
    assert config["inputs"]["hours_per_week"]["dtype"] == "int64"
    assert config["model"]["class_names"] == ["low", "medium", "high"]  # read from the downloaded graph
