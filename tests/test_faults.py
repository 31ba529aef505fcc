"""Fault injection: kill -9 at every stage boundary, synchronised on the stage's own log record.

Two kinds of death: the exporter alone (its logging helper sees the pipe close and ends the run),
and the exporter together with its helper (nobody is left; the next export ends the orphaned run,
whose lease no process holds any more)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_statuses, start_cli

pytestmark = pytest.mark.slow

STAGES = ["compose", "build", "trace", "write", "verify", "publish"]


def export(cwd: Path) -> subprocess.Popen:
    # Its own process group: the helper it forks is in it too, so killpg reaches both.
    # publish_identical: the export after a kill must publish the next version even where the killed
    # one got as far as publishing the same bytes.
    return start_cli(
        cwd,
        "experiment=image_classifier",
        "export.publish_identical=true",
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def statuses(cwd: Path) -> list[str]:
    return run_statuses(cwd / "outputs" / "mlflow.db")


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("victims", ["exporter", "exporter and helper"])
def test_kill_9_at_a_stage_boundary_leaves_nothing_half_done(tmp_path, stage, victims):
    proc = export(tmp_path)
    for line in proc.stdout:
        if f"stage {stage} done" in line:
            if victims == "exporter":
                proc.send_signal(signal.SIGKILL)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
            break
    else:
        pytest.fail(f"the export ended before stage {stage} was logged")
    proc.wait(timeout=60)
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    published = [p for p in model_dir.iterdir() if p.name.isdigit()] if model_dir.exists() else []
    for version in published:  # complete, or not there at all
        assert (version / "saved_model.pb").exists() and (version / "variables" / "variables.index").exists()
    # The kill lands a moment after the record is read: past "verify done", the rename may have won.
    assert len(published) == 1 if stage == "publish" else len(published) <= (1 if stage == "verify" else 0)
    if victims == "exporter":
        deadline = time.monotonic() + 60  # the helper sees the pipe close and ends the run FAILED
        while "RUNNING" in statuses(tmp_path):
            assert time.monotonic() < deadline, f"a run stayed RUNNING after kill -9 at {stage}"
            time.sleep(0.2)
    following = export(tmp_path)
    out, _ = following.communicate(timeout=300)
    assert following.returncode == 0, out[-2000:]
    assert f"image_classifier v{len(published) + 1} " in out  # the next version, staging cleaned up
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".sigforge-staging")]
    assert "RUNNING" not in statuses(tmp_path), "the next export ends what the dead left RUNNING"


def test_a_process_killed_while_mlflow_creates_the_store_leaves_no_half_made_store(run_cli, tmp_path):
    """MLflow creates a SQLite store's schema in dozens of migrations; killed among them, a store
    made in place would be refused by every later export as out of date."""
    import sys

    outputs = tmp_path / "outputs"
    outputs.mkdir()
    creating = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom mlflow.tracking import MlflowClient\nfrom sigforge.tracking.store import store_lock\n"
            "with store_lock(sys.argv[1]):  # as a run's start opens the store\n"
            "    MlflowClient(tracking_uri=sys.argv[1]).search_experiments()",
            f"sqlite:///{outputs / 'mlflow.db'}",
        ]
    )
    deadline = time.monotonic() + 120

    def size(path: Path) -> int:  # SQLite's journal comes and goes with each migration's commit
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    def being_made() -> bool:  # tables are being created: the file has grown past its first pages
        return any(size(p) > 100_000 for p in outputs.glob("*mlflow.db*") if p.suffix != ".lock")

    while not being_made():
        assert time.monotonic() < deadline and creating.poll() is None, "the store was never created"
        time.sleep(0.002)
    creating.kill()  # the schema is being written now
    assert creating.wait() == -signal.SIGKILL
    done = run_cli("experiment=image_classifier")
    assert done.returncode == 0, done.stderr[-2000:]
    assert statuses(tmp_path) == ["FINISHED"]
