"""A failing job does not stop a sweep (``sweeps.job_failures.SweepFailures``): the other jobs run,
and the sweep ends with the worst status, naming every failed job. The callback is driven in-process
with the sweep config Hydra hands it; the end-to-end test runs a real sweep on both launchers."""

from __future__ import annotations

import pytest
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from sigforge.sweeps.job_failures import SweepFailed, SweepFailures, job_status


def job(sweep_dir, num: int, *overrides: str):
    return OmegaConf.create(
        {
            "hydra": {
                "mode": RunMode.MULTIRUN,
                "sweep": {"dir": str(sweep_dir)},
                "job": {"num": num},
                "overrides": {"task": list(overrides)},
            }
        }
    )


def ended(status: JobStatus, value=None) -> JobReturn:
    returned = JobReturn(status=status)
    returned.return_value = value
    return returned


def test_a_job_ends_with_the_status_the_app_returned_and_1_for_an_exception_hydra_caught():
    assert job_status(ended(JobStatus.COMPLETED, 5)) == 5
    assert job_status(ended(JobStatus.COMPLETED, None)) == 0
    assert job_status(ended(JobStatus.FAILED, RuntimeError("a bug"))) == 1


def test_the_sweep_exits_with_the_worst_status_naming_each_failed_job(tmp_path, capsys):
    callback = SweepFailures()
    callback.on_multirun_start(job(tmp_path / "sweep", 0))
    callback.on_job_end(job(tmp_path / "sweep", 0, "export.version=1"), ended(JobStatus.COMPLETED, 0))
    callback.on_job_end(job(tmp_path / "sweep", 1, "export.version=1"), ended(JobStatus.COMPLETED, 2))
    callback.on_job_end(job(tmp_path / "sweep", 2, "model.name=x"), ended(JobStatus.COMPLETED, 5))
    with pytest.raises(SystemExit) as exited:
        callback.on_multirun_end(job(tmp_path / "sweep", 0))
    assert exited.value.code == 5
    said = capsys.readouterr().err
    assert "2 job(s) of the sweep failed" in said
    assert "job 1 [export.version=1] exit 2; job 2 [model.name=x] exit 5" in said
    assert "The other jobs ran to the end and keep their exports and MLflow runs." in said


def test_a_sweep_whose_jobs_all_succeed_ends_quietly(tmp_path):
    callback = SweepFailures()
    callback.on_multirun_start(job(tmp_path, 0))
    for num in range(3):
        callback.on_job_end(job(tmp_path, num), ended(JobStatus.COMPLETED, 0))
    callback.on_multirun_end(job(tmp_path, 0))  # no SystemExit


def test_a_single_run_is_never_recorded_as_a_sweep_job(tmp_path):
    callback = SweepFailures()
    callback.on_multirun_start(job(tmp_path, 0))
    single = OmegaConf.merge(job(tmp_path, 0), {"hydra": {"mode": RunMode.RUN}})
    callback.on_job_end(single, ended(JobStatus.COMPLETED, 2))
    callback.on_multirun_end(job(tmp_path, 0))  # nothing recorded: no SystemExit


def test_the_error_names_the_jobs_and_carries_the_worst_exit():
    failed = SweepFailed(
        [{"job": 0, "overrides": ["a=1"], "exit": 2}, {"job": 3, "overrides": [], "exit": 4}]
    )
    assert failed.exit_code == 4
    assert str(failed).startswith(
        "2 job(s) of the sweep failed, each with its message above: job 0 [a=1] exit 2;"
    )


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_a_failing_job_does_not_stop_the_sweep_which_ends_with_its_status(run_cli, tmp_path, launcher):
    """Job 1 asks for version 1, which job 0 just published: refused (exit 2). Job 2 still runs, no
    run is left RUNNING, and the sweep exits 2 naming job 1."""
    import sqlite3

    done = run_cli(
        "-m", "experiment=image_classifier", "export.version=1,1,2", f"hydra/launcher={launcher}",
        *(["hydra.launcher.n_jobs=1"] if launcher == "joblib" else []),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert "1 job(s) of the sweep failed" in done.stderr and "job 1 [" in done.stderr
    assert "Traceback" not in done.stderr
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    assert sorted(p.name for p in model_dir.iterdir()) == ["1", "2"]
    with sqlite3.connect(tmp_path / "outputs" / "mlflow.db") as db:
        statuses = sorted(s for (s,) in db.execute("select status from runs"))
    assert statuses == ["FAILED", "FAILED", "FINISHED", "FINISHED"]  # the parent fails with its job
