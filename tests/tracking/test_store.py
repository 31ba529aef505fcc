"""tracking/store: an embedded store's URI may carry SQLAlchemy options (`?timeout=5`); they are
MLflow's, never part of the store's file name, and the registry guard holds through them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import QUIET_TF

from sigforge.tracking.store import sqlite_store


def test_the_options_of_a_sqlite_uri_are_not_part_of_the_file():
    assert sqlite_store("sqlite:////data/mlflow.db?timeout=5") == (Path("/data/mlflow.db"), "?timeout=5")
    assert sqlite_store("sqlite:///rel/mlflow.db") == (Path("rel/mlflow.db"), "")
    assert sqlite_store("http://127.0.0.1:5000") is None


@pytest.mark.slow
def test_a_store_uri_with_options_logs_registers_and_guards_the_registry(tmp_path):
    env = {
        **os.environ,
        **QUIET_TF,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/outputs/mlflow.db?timeout=5",
    }

    def sigforge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sigforge", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    first = sigforge("experiment=image_classifier", "model.name=a", "mlflow.registered_model_name=digits")
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir() if "mlflow.db" in p.name) == [
        "mlflow.db",
        "mlflow.db.lock",
    ]
    refused = sigforge("experiment=image_classifier", "model.name=b", "naming=prefixed",
                       "mlflow.registered_model_name=digits")  # fmt: skip
    assert refused.returncode == 5, refused.stderr[-3000:]
    assert "this contract breaks version 1's clients, so it was not registered" in refused.stderr
