"""Hydra callback: a failing job does not stop a sweep; the sweep ends non-zero and says which failed.

A job that sigforge refuses returns its exit status instead of exiting (``cli.app``): an exit would
end Hydra's basic launcher at the first failure, leaving the rest of the sweep unrun, and with
joblib it would tear down the worker beside it mid-export. Each job's status is recorded in the
sweep directory (jobs may run in other processes or on other hosts); when the sweep ends this
callback, listed first in ``conf/config.yaml`` so that Hydra calls it last, exits with the worst
status, naming every failed job.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sigforge.errors import SigforgeError, exit_for

FAILURES_FILE = ".sigforge_jobs_failed"


class SweepFailures(Callback):
    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / FAILURES_FILE).write_text("")

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        if config.hydra.mode.name != "MULTIRUN":
            return
        failures = Path(config.hydra.sweep.dir) / FAILURES_FILE
        if not failures.exists():
            return
        code = job_status(job_return)
        if code == 0:
            return
        record = {"job": config.hydra.job.num, "overrides": list(config.hydra.overrides.task), "exit": code}
        with open(failures, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(json.dumps(record) + "\n")

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        failures = Path(config.hydra.sweep.dir) / FAILURES_FILE
        records = (
            [json.loads(line) for line in failures.read_text().splitlines()] if failures.exists() else []
        )
        if records:
            exit_for(SweepFailed(records))


def job_status(job_return: Any) -> int:
    """The exit status a job ended with: what ``cli.app`` returned, 1 for an exception Hydra caught."""
    from hydra.core.utils import JobStatus

    if job_return.status == JobStatus.FAILED:
        return 1
    value = job_return.return_value
    return value if isinstance(value, int) else 0


class SweepFailed(SigforgeError):
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.exit_code = max(r["exit"] for r in records)
        listed = "; ".join(f"job {r['job']} [{' '.join(r['overrides'])}] exit {r['exit']}" for r in records)
        super().__init__(
            f"{len(records)} job(s) of the sweep failed, each with its message above: {listed}. "
            "The other jobs ran to the end and keep their exports and MLflow runs."
        )
