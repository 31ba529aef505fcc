"""``hydra/launcher=sigforge_slurm``: Submitit's Slurm launcher, with two things a real cluster needs.

- **Refuse what cannot run.** A job array that asks for more CPUs or memory than any node of the
  partition has stays PENDING forever (Reason=PartitionConfig) and the sweep with it. Before
  submitting, ``sinfo`` says what the partition's nodes offer; a request beyond that is refused at
  once, naming the launcher key.
- **Bound every wait.** Submitit reads job states with ``sacct``; without Slurm's accounting a job
  cancelled or killed before it writes its result is waited for forever. Here the jobs are watched
  with ``squeue`` (no accounting needed): a job that has left the queue without a result for
  ``LOST_AFTER_S`` seconds is lost, and the sweep ends with an error naming it. The finished jobs'
  exports and MLflow runs are kept; the sweep's parent run ends FAILED.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hydra.experimental.callback import Callback

from sigforge.errors import LauncherError, exit_for

log = logging.getLogger("sigforge")

LOST_AFTER_S = 20.0  # out of the queue and still no result file (a shared filesystem may lag)
POLL_S = 2.0


def partition_capacity(partition: str | None) -> tuple[int, int] | None:
    """(most CPUs, most memory in MB) of one node of ``partition`` (the default one if None), or
    None when ``sinfo`` is not there to ask."""
    if shutil.which("sinfo") is None:
        return None
    command = ["sinfo", "-h", "-o", "%P|%c|%m"] + (["-p", partition] if partition else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        return None
    rows = [line.split("|") for line in done.stdout.split() if line.count("|") == 2]
    if partition is None:
        rows = [r for r in rows if r[0].endswith("*")]  # the default partition
    if not rows:
        raise LauncherError(
            f"hydra.launcher.partition = {partition!r}: sinfo lists no such partition; "
            "choose one of those `sinfo -s` lists."
            if partition
            else "hydra.launcher.partition is null and the cluster has no default partition; set one."
        )
    cpus = max(int(r[1].rstrip("+")) for r in rows)
    memory = max(int(r[2].rstrip("+")) for r in rows)
    return cpus, memory


def check_fits(params: Mapping[str, Any]) -> None:
    """Refuse a request no node of the partition can satisfy (it would stay PENDING forever)."""
    capacity = partition_capacity(params.get("partition"))
    if capacity is None:
        return
    cpus, memory_mb = capacity
    where = f"partition {params.get('partition') or '(default)'}"
    per_node = int(params.get("cpus_per_task") or 1) * int(params.get("tasks_per_node") or 1)
    if per_node > cpus:
        raise LauncherError(
            f"hydra.launcher.cpus_per_task = {params.get('cpus_per_task')} (x tasks_per_node = "
            f"{params.get('tasks_per_node') or 1}) asks for {per_node} CPUs, but the nodes of {where} have "
            f"at most {cpus}: the jobs would wait forever. Set hydra.launcher.cpus_per_task={cpus} or less."
        )
    mem_gb = params.get("mem_gb")
    if mem_gb is not None and int(mem_gb) * 1024 > memory_mb:
        raise LauncherError(
            f"hydra.launcher.mem_gb = {mem_gb} asks for {int(mem_gb) * 1024} MB, but the nodes of {where} "
            f"have at most {memory_mb} MB: the jobs would wait forever. Set hydra.launcher.mem_gb="
            f"{max(memory_mb // 1024, 1)} or less."
        )


def _queued(job_ids: Sequence[str]) -> set[str] | None:
    """The ids of ``job_ids`` still in Slurm's queue (pending, running, completing), or None if
    squeue cannot be asked. Pending array tasks show as ``12_[0-3]``."""
    masters = sorted({job_id.split("_")[0] for job_id in job_ids})
    done = subprocess.run(
        ["squeue", "-h", "-o", "%i", "-j", ",".join(masters)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        # squeue refuses ids it no longer knows ("Invalid job id"): then none of them is queued.
        return set() if "Invalid job id" in done.stderr else None
    listed = done.stdout.split()
    return {
        job_id
        for job_id in job_ids
        if job_id in listed or any(line.startswith(job_id.split("_")[0] + "_[") for line in listed)
    }


def wait_for(jobs: Sequence[Any], overrides: Sequence[Sequence[str]]) -> list[Any]:
    """Every job's result; a job that left the queue without one ends the sweep (after the rest)."""
    left_at: dict[int, float] = {}
    pending = set(range(len(jobs)))
    lost: list[int] = []
    while pending:
        for i in sorted(pending):
            if jobs[i].paths.result_pickle.exists():
                pending.discard(i)
        if not pending:
            break
        queued = _queued([jobs[i].job_id for i in pending])
        now = time.monotonic()
        for i in sorted(pending):
            if queued is None or jobs[i].job_id in queued:
                left_at.pop(i, None)
                continue
            left_at.setdefault(i, now)
            if now - left_at[i] > LOST_AFTER_S and not jobs[i].paths.result_pickle.exists():
                pending.discard(i)
                lost.append(i)
        if pending:
            time.sleep(POLL_S)
    if lost:
        described = "; ".join(
            f"job {jobs[i].job_id} [{' '.join(overrides[i])}] (log: {jobs[i].paths.stderr})" for i in lost
        )
        finished = len(jobs) - len(lost)
        raise LauncherError(
            f"{len(lost)} of {len(jobs)} Slurm jobs left the queue without a result (cancelled, killed, or "
            f"past hydra.launcher.timeout_min): {described}. The {finished} finished job(s) keep their "
            "exports and MLflow runs; rerun the lost ones."
        )
    return [job.results()[0] for job in jobs]


class _BoundedJobs:
    """The job list Submitit's launcher reads results from (``[j.results()[0] for j in jobs]``): the
    first ``results()`` waits for all of them through ``wait_for``, with its bound."""

    def __init__(self, jobs: Sequence[Any], overrides: Sequence[Sequence[str]]) -> None:
        self.jobs, self.overrides = list(jobs), overrides
        self._results: list[Any] | None = None

    def __iter__(self):
        return iter(_BoundedJob(self, i) for i in range(len(self.jobs)))

    def results(self, i: int) -> list[Any]:
        if self._results is None:
            try:
                self._results = wait_for(self.jobs, self.overrides)
            except LauncherError as err:  # one sigforge: line; the parent run ends FAILED at exit
                exit_for(err)
        return [self._results[i]]


class _BoundedJob:
    def __init__(self, group: _BoundedJobs, index: int) -> None:
        self.group, self.index = group, index

    def results(self) -> list[Any]:
        return self.group.results(self.index)


class SlurmGuard(Callback):
    """Hydra callback (conf/config.yaml): active when the sweep runs on Submitit's Slurm launcher.

    Hydra loads launchers only from its ``hydra_plugins`` namespace, which an editable install
    cannot extend, so sigforge guards Submitit's own launcher from a callback: it checks the request
    before anything is submitted, and, for the length of the sweep, hands the launcher job lists
    whose results are waited for with a bound (``_BoundedJobs``)."""

    _restore: Callable[[], None] | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        launcher = config.hydra.launcher
        if not str(launcher.get("_target_", "")).endswith(".SlurmLauncher"):
            return
        try:
            check_fits(launcher)
        except LauncherError as err:
            exit_for(err)
        self._restore = bound_results_of_map_array()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        restore, self._restore = getattr(self, "_restore", None), None
        if restore is not None:
            restore()


def bound_results_of_map_array() -> Callable[[], None]:
    """For the length of one sweep, make ``submitit.AutoExecutor.map_array`` (what Submitit's Hydra
    launcher submits the jobs with) return ``_BoundedJobs``; returns the function that undoes it.

    Submitit's launcher offers no hook between submitting and waiting, so this is the one place
    sigforge patches a dependency; ``tests/test_dependency_guards.py`` fails loudly if the launcher stops
    submitting through ``map_array`` or stops reading results as ``job.results()[0]``.
    """
    import submitit

    original = submitit.AutoExecutor.map_array

    def map_array(executor: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        overrides = [list(o) for o in args[0]] if args else []
        return _BoundedJobs(original(executor, fn, *args, **kwargs), overrides)

    submitit.AutoExecutor.map_array = map_array

    def restore() -> None:
        submitit.AutoExecutor.map_array = original

    return restore
