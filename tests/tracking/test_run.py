"""Reliability round 4 for the run of one export (``tracking.run.ExportRun``), on real SQLite stores.

Kind 1: a store that fails after the run was created (a file-size limit just above its size)
left the run RUNNING until the next export blamed "kill -9"; the process that gives up on a run
ends it. Kind 8: a store path whose directory does not exist yet. Also seen: a run whose logging
failed (a full artifact store) was left FAILED but still named ``<model>-pending``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_statuses

pytest.importorskip("mlflow")

from sigforge.errors import TrackingConfigError
from sigforge.tracking.run import ExportRun, LoggedExport, RunTarget


def target(uri: str, cwd: Path, model: str = "m") -> RunTarget:
    return RunTarget(
        model_name=model,
        experiment=model,
        tracking_uri=uri,
        cwd=cwd,
        http_timeout=5,
        http_retries=0,
        operation_timeout=60,
    )


START_UNDER_LIMIT = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from sigforge.tracking.run import ExportRun, RunTarget
    db = Path(sys.argv[1])
    size = db.stat().st_size + int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))  # the store cannot grow past this
    run = ExportRun(RunTarget("m", "m", f"sqlite:///{db}", Path.cwd(), 5, 0, 60))
    run.start({f"p{i}": "x" * 5000 for i in range(int(sys.argv[3]))})
    print(run.start_error)
    """
)


@pytest.mark.parametrize(("room", "params"), [(0, 200), (4096, 400)])
def test_a_run_whose_store_stops_growing_is_ended_by_the_process_that_gives_up(tmp_path, room, params):
    db = tmp_path / "mlflow.db"
    first = ExportRun(target(f"sqlite:///{db}", tmp_path))
    first.start({"a": "b"})  # the store and the experiment exist, with some free room in their pages
    first.fail(RuntimeError("setting up"))
    done = subprocess.run(
        [sys.executable, "-c", START_UNDER_LIMIT, str(db), str(room), str(params)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "could not start a run" in done.stdout
    assert run_statuses(db, "where status = 'RUNNING'") == []
    assert "is ended FAILED" in done.stdout  # the run was created before the store refused to grow
    assert run_statuses(db) == ["FAILED", "FAILED"]


def test_a_sqlite_store_in_a_directory_that_does_not_exist_yet_is_made(tmp_path):
    db = tmp_path / "new" / "dir" / "mlflow.db"
    run = ExportRun(target(f"sqlite:///{db}", tmp_path))
    run.start({"a": "b"})
    assert run.start_error is None and run.run_id is not None
    run.fail(RuntimeError("done"))
    assert run_statuses(db) == ["FAILED"]


def test_a_sqlite_store_whose_directory_cannot_be_made_is_the_configs_fault(tmp_path):
    (tmp_path / "blocker").write_text("a file where the store's directory would go")
    run = ExportRun(target(f"sqlite:///{tmp_path}/blocker/dir/mlflow.db", tmp_path))
    run.start({"a": "b"})
    assert isinstance(run.start_error, TrackingConfigError)
    assert "mlflow.tracking_uri" in str(run.start_error) and "cannot be created" in str(run.start_error)


def test_a_run_whose_logging_fails_is_named_for_its_published_version(tmp_path):
    """A full (here: impossible) artifact store: the run ends FAILED, named ``m-v3``, not ``m-pending``."""
    from mlflow.tracking import MlflowClient

    from sigforge.report.summary import build_summary

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    (tmp_path / "artifacts").write_text("a file where the artifact store's directory would go")
    MlflowClient(uri).create_experiment("m", artifact_location=(tmp_path / "artifacts").as_uri())
    version = tmp_path / "exports" / "m" / "3"
    version.mkdir(parents=True)
    run = ExportRun(target(uri, tmp_path))
    run.start({"a": "b"})
    assert run.start_error is None
    with pytest.raises(Exception, match="failed while logging run"):
        run.finish(LoggedExport(export_dir=version, version=3, summary=build_summary({}, model="m")))
    found = MlflowClient(uri).get_run(run.run_id)
    assert found.info.status == "FAILED"
    assert found.data.tags["mlflow.runName"] == "m-v3"
    assert found.data.tags["sigforge.version_dir"] == str(version)
