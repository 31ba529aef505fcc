"""Who can still end a run: a lease file that every process able to end it holds a shared lock on.

The exporter takes the lease before its logging helper exists; the helper (or the exporter, when
it logs in-process) takes it too. If both die (kill -9 of the process group, a lost node), nobody
is left to end their run, which would stay RUNNING forever. So each export, when it starts its own
run, ends the RUNNING runs of its experiment that were started on this host and whose lease nobody
holds any more: an exclusive lock on the lease succeeds only then. "Dead" is proven by the kernel
releasing the locks, never guessed from a PID.
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
ORPHANED = (
    "the sigforge process and its logging helper both died (kill -9, a lost machine) before this run "
    "ended; the next export on the same host ended it"
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


def _abandoned(path: Path) -> bool:
    """True when nobody holds ``path``: a missing file (a reboot cleared it) or a free exclusive lock."""
    try:
        handle = open(path, "a")  # noqa: SIM115
    except FileNotFoundError:
        return True
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
        runs = client.search_runs(
            [experiment_id],
            filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
            max_results=200,
        )
        for run in runs:
            lease = run.data.tags.get(LEASE_TAG)
            if not lease or not _abandoned(Path(lease)):
                continue
            end_run(client, run.info.run_id, "FAILED", ORPHANED)
            ended.append(run.info.run_id)
    return ended


def run_holding(client: Any, experiment_name: str, lease: Path) -> str | None:
    """The id of the run tagged with ``lease`` in ``experiment_name``, if one was created."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return None
    found = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{LEASE_TAG}` = '{lease}'", max_results=1
    )
    return found[0].info.run_id if found else None


def lease_tags(lease: Path) -> dict[str, str]:
    return {HOST_TAG: socket.gethostname(), LEASE_TAG: str(lease)}
