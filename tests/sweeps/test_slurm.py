"""Sweeps on a real Slurm cluster (single node, loopback, no accounting), as users run them."""

from __future__ import annotations

import sqlite3
import subprocess
import time

import pytest
from conftest import start_cli

# One cluster per session: every Slurm test runs in the one pytest-xdist worker that starts it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]

SWEEP = [
    "-m",
    "hydra/launcher=sigforge_slurm",
    "+experiment=multi_input",
    "naming.policy=identity,prefixed",
    "model.name=mi_${naming.policy}",
]


def sweep(slurm, cwd, *extra: str) -> subprocess.Popen:
    return start_cli(cwd, *SWEEP, *extra, env=slurm.env)


def runs(cwd) -> dict[str, str]:
    with sqlite3.connect(cwd / "outputs" / "mlflow.db") as db:
        return dict(db.execute("select name, status from runs"))


def queue(slurm) -> list[str]:
    return slurm.run("squeue", "-h", "-o", "%i %T").stdout.split("\n")[:-1]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("hydra.launcher.cpus_per_task=4", "hydra.launcher.cpus_per_task = 4"),
        ("hydra.launcher.mem_gb=64", "hydra.launcher.mem_gb = 64"),
    ],
)
def test_a_sweep_no_node_can_run_is_refused_before_submitting(slurm, tmp_path, override, key):
    proc = sweep(slurm, tmp_path, override)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert key in err and "the jobs would wait forever" in err and "Traceback" not in err
    assert queue(slurm) == []  # nothing was submitted
    assert not (tmp_path / "outputs" / "exports").exists()


def test_a_two_job_sweep_publishes_both_versions_with_nested_runs(slurm, tmp_path):
    proc = sweep(slurm, tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    for name in ("mi_identity", "mi_prefixed"):
        assert (tmp_path / "outputs" / "exports" / name / "1" / "saved_model.pb").exists()
    statuses = runs(tmp_path)
    assert statuses.pop(next(n for n in statuses if n.startswith("sweep-"))) == "FINISHED"
    assert statuses == {"mi_identity-v1": "FINISHED", "mi_prefixed-v1": "FINISHED"}


def test_a_cancelled_job_ends_the_sweep_and_keeps_the_finished_one(slurm, tmp_path):
    # Two CPUs per job on a two-CPU node: the second job waits while the first runs; cancel it.
    proc = sweep(slurm, tmp_path, "hydra.launcher.cpus_per_task=2")
    try:
        deadline = time.monotonic() + 120
        pending = []
        while not pending:
            assert time.monotonic() < deadline, f"no single pending job appeared: {queue(slurm)}"
            pending = [
                line.split()[0] for line in queue(slurm) if line.endswith("PENDING") and "[" not in line
            ]
            time.sleep(0.2)
        slurm.run("scancel", pending[0])
        start = time.monotonic()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - start < 120  # bounded: not the forever of a sacct-less submitit
    assert proc.returncode == 2, err[-3000:]
    assert f"job {pending[0]}" in err and "left the queue without a result" in err and "Traceback" not in err
    assert (tmp_path / "outputs" / "exports" / "mi_identity" / "1" / "saved_model.pb").exists()
    statuses = runs(tmp_path)
    assert statuses.pop(next(n for n in statuses if n.startswith("sweep-"))) == "FAILED"
    assert statuses == {"mi_identity-v1": "FINISHED"}
    assert "RUNNING" not in statuses.values()
