"""Sweeps on real launchers: joblib (parallel processes) and Submitit's local executor (the same
code path as SLURM, on this machine). Every job's export and nested MLflow run must be found."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import saved_model_proto

pytestmark = pytest.mark.slow


def runs_by_parent(db):
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select r.run_uuid, r.status, (select value from tags t where t.run_uuid = r.run_uuid "
            "and t.key = 'mlflow.parentRunId') from runs r"
        ).fetchall()
    parents = [r for r in rows if r[2] is None]
    return parents, [r for r in rows if r[2] is not None]


@pytest.mark.parametrize("launcher", ["joblib", "sigforge_local"])
def test_sweep_on_a_real_launcher_exports_and_logs_every_job(run_cli, tmp_path, launcher):
    result = run_cli(
        "-m",
        f"hydra/launcher={launcher}",
        "+experiment=image_classifier",
        "naming.policy=identity,prefixed",
        "export.allow_breaking=true",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    keys = sorted(
        tuple(saved_model_proto(model_dir / v).signature_def["serving_default"].inputs) for v in ("1", "2")
    )
    assert keys == [("image",), ("input_image",)]
    parents, children = runs_by_parent(tmp_path / "outputs" / "mlflow.db")
    assert [p[1] for p in parents] == ["FINISHED"]
    assert sorted(c[1] for c in children) == ["FINISHED", "FINISHED"]
    assert {c[2] for c in children} == {parents[0][0]}
    if launcher == "joblib":  # Submitit's jobs write their logs to its own folder, not our stderr
        assert "sweep: 2/2 jobs done" in result.stdout + result.stderr
