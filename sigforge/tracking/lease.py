"""Who can still end a run: a lease file that every process able to end it holds a shared lock on.

The exporter takes the lease before its logging helper exists; the helper (or the exporter, when
it logs in-process) takes it too. If both die (kill -9 of the process group, a lost node), nobody
is left to end their run, which would stay RUNNING forever. So each export, when it starts its own
run, ends the RUNNING runs of its experiment that were started on this host and whose lease nobody
holds any more: an exclusive lock on the lease succeeds only then. "Dead" is proven by the kernel
releasing the locks, never guessed. A lease file that is gone proves nothing by itself (a runtime
directory is cleaned at logout while the export runs on): its run is ended only when the machine
has rebooted since (another boot id), or when the exporter, named by its PID and its start time in
the kernel's clock, no longer exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from sigforge.tracking.store import end_run

HOST_TAG = "sigforge.host"
LEASE_TAG = "sigforge.lease"
BOOT_TAG = "sigforge.boot_id"
PROCESS_TAG = "sigforge.process"  # "<pid>:<start time in clock ticks since boot>"
ORPHANED = (
    "the sigforge process and its logging helper both ended before this run did (kill -9, a lost "
    "machine, or a store that refused to record the end; such a process says so as it exits); "
    "the next export on the same host ended it"
)


def lease_dir() -> Path:
    """A per-user directory on local disk; reboots may clear it, which only proves the owners dead."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = Path(base) / f"sigforge-leases-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class Lease:
    """A shared lock on a lease file, held by this process until ``release`` or death."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or lease_dir() / f"{uuid.uuid4().hex}.lock"
        self._file: IO[str] | None = open(self.path, "a")  # noqa: SIM115 - held for the run's life
        fcntl.flock(self._file, fcntl.LOCK_SH)

    @classmethod
    def take(cls, path: Path | None = None) -> Lease | None:
        """A lease, or None where no lease file can be made (the run then goes without one: only the
        cleanup of runs whose processes all died is lost)."""
        try:
            return cls(path)
        except OSError:
            return None

    def release(self, *, remove: bool = False) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()


def boot_id() -> str:
    """This boot's id (Linux); empty where the kernel does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_identity(pid: int | None = None) -> str:
    """``<pid>:<start time>``: names one process for the whole boot (a PID alone is reused)."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return f"{pid}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, starttime


def _gone_for_good(tags: dict[str, str]) -> bool:
    """Without its lease file: True only on proof that the run's exporter is dead."""
    recorded_boot, process = tags.get(BOOT_TAG, ""), tags.get(PROCESS_TAG, "")
    if recorded_boot and boot_id() and recorded_boot != boot_id():
        return True  # the machine rebooted: every process of the old boot is gone
    if not process or not recorded_boot:
        return False  # nothing to prove it by: leave the run alone
    return process_identity(int(process.split(":", 1)[0])) != process


def _abandoned(path: Path, tags: dict[str, str]) -> bool:
    """True when nobody holds ``path``: a free exclusive lock, or a missing file whose exporter is
    provably dead (``_gone_for_good``)."""
    try:
        handle = open(path, "r+")  # noqa: SIM115 - never creates it: a missing file is its own case
    except FileNotFoundError:
        return _gone_for_good(tags)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
    with contextlib.suppress(OSError):
        path.unlink()
    return True


def end_orphaned_runs(client: Any, experiment_id: str) -> list[str]:
    """End FAILED the RUNNING runs of ``experiment_id`` started on this host whose lease is free."""
    host = socket.gethostname()
    ended = []
    with contextlib.suppress(Exception):  # cleaning up after others never stops this export
        # Tag values are compared here, not in the filter: a host name may hold a quote.
        runs = client.search_runs(
            [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
        )
        for run in runs:
            tags = dict(run.data.tags)
            lease = tags.get(LEASE_TAG)
            if tags.get(HOST_TAG) != host or not lease or not _abandoned(Path(lease), tags):
                continue
            end_run(client, run.info.run_id, "FAILED", ORPHANED)
            fail_pending_models(client, experiment_id, run.info.run_id)
            ended.append(run.info.run_id)
    return ended


def fail_pending_models(client: Any, experiment_id: str, run_id: str) -> None:
    """The LoggedModels of ``run_id`` still PENDING are marked FAILED (the Models tab shows them):
    those of an orphaned run, or one a logging helper created before it died."""
    from mlflow.entities import LoggedModelStatus

    with contextlib.suppress(Exception):
        for model in client.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
        ):
            if model.status == LoggedModelStatus.PENDING:
                client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)


def run_holding(client: Any, experiment_name: str, lease: Path) -> str | None:
    """The id of the run tagged with ``lease`` in ``experiment_name``, if one was created."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return None
    running = client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )  # compared here, not in the filter: the path may hold a quote
    found = [r for r in running if r.data.tags.get(LEASE_TAG) == str(lease)]
    return found[0].info.run_id if found else None


def lease_tags(lease: Path, exporter: str = "") -> dict[str, str]:
    """Where the run's lease is, and what proves its exporter dead should the lease file vanish.
    ``exporter``: the exporting process's ``process_identity`` (default: this process)."""
    return {
        HOST_TAG: socket.gethostname(),
        LEASE_TAG: str(lease),
        BOOT_TAG: boot_id(),
        PROCESS_TAG: exporter or process_identity(),
    }
