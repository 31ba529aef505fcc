"""``hydra/launcher=sigforge_slurm`` (``sweeps.slurm_guard``): a request no node can satisfy is refused
before submitting, and every wait on a job is bounded. In-process against a stand-in ``sinfo``, and
on a real Slurm cluster (single node, loopback, no accounting), as users run sweeps."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time

import pytest
from conftest import start_cli

from sigforge.errors import LauncherError
from sigforge.sweeps.slurm_guard import check_fits, partition_capacity

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


SINFO = """#!{python}
import sys
rows = {{"cpu*": "4|16000", "big": "32+|262144"}}  # partition (* the default) | CPUs | memory MB
args = sys.argv[1:]
wanted = args[args.index("-p") + 1] if "-p" in args else None
for name, offers in rows.items():
    if wanted in (None, name.rstrip("*")):
        print(f"{{name}}|{{offers}}")
"""


@pytest.fixture
def sinfo(tmp_path, monkeypatch):
    """A stand-in ``sinfo`` first on PATH: a default partition ``cpu`` (4 CPUs, 16000 MB a node) and
    ``big`` (32+ CPUs, 256 GB)."""
    import sys

    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "sinfo"
    script.write_text(SINFO.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")


def test_more_cpus_than_a_node_has_are_refused_naming_the_key_and_the_most_it_can_ask(sinfo):
    with pytest.raises(LauncherError) as refused:
        check_fits({"cpus_per_task": 3, "tasks_per_node": 2})
    assert str(refused.value) == (
        "hydra.launcher.cpus_per_task = 3 (x tasks_per_node = 2) asks for 6 CPUs, but the nodes of partition "
        "(default) have at most 4: the jobs would wait forever. Set hydra.launcher.cpus_per_task=4 or less."
    )
    check_fits({"cpus_per_task": 4})  # a node of the default partition has exactly that
    check_fits({"partition": "big", "cpus_per_task": 32, "mem_gb": 256})


def test_more_memory_than_a_node_has_is_refused_naming_the_key(sinfo):
    with pytest.raises(LauncherError, match=r"hydra\.launcher\.mem_gb = 16 asks for 16384 MB, but the nodes"):
        check_fits({"mem_gb": 16})
    assert partition_capacity(None) == (4, 16000)
    assert partition_capacity("big") == (32, 262144)


def test_a_partition_the_cluster_lacks_is_refused_naming_it(sinfo):
    with pytest.raises(
        LauncherError, match="hydra.launcher.partition = 'gpu': sinfo lists no such partition"
    ):
        check_fits({"partition": "gpu"})


def test_where_sinfo_is_not_there_to_ask_nothing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert partition_capacity(None) is None
    check_fits({"cpus_per_task": 512, "mem_gb": 4096})


@pytest.mark.slow
@pytest.mark.xdist_group("slurm")
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


@pytest.mark.slow
@pytest.mark.xdist_group("slurm")
def test_a_two_job_sweep_publishes_both_versions_with_nested_runs(slurm, tmp_path):
    proc = sweep(slurm, tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    for name in ("mi_identity", "mi_prefixed"):
        assert (tmp_path / "outputs" / "exports" / name / "1" / "saved_model.pb").exists()
    statuses = runs(tmp_path)
    assert statuses.pop(next(n for n in statuses if n.startswith("sweep-"))) == "FINISHED"
    assert statuses == {"mi_identity-v1": "FINISHED", "mi_prefixed-v1": "FINISHED"}


@pytest.mark.slow
@pytest.mark.xdist_group("slurm")
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
