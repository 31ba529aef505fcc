"""Who may end a run left RUNNING: only proof of its processes' death, never absence of evidence."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sigforge.tracking import lease as leases
from sigforge.tracking.lease import BOOT_TAG, PROCESS_TAG, Lease, end_orphaned_runs, lease_tags, run_holding

pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return client, client.create_experiment("leases")


def running(client, experiment, tags):
    return client.create_run(experiment, tags=tags).info.run_id


def status(client, run_id):
    return client.get_run(run_id).info.status


def test_a_live_export_whose_lease_file_was_cleaned_away_is_left_running(store):
    client, experiment = store
    lease = Lease()
    run = running(client, experiment, lease_tags(lease.path))  # this process is the exporter
    lease.release(remove=True)  # the runtime directory was cleaned at logout
    assert end_orphaned_runs(client, experiment) == []
    assert status(client, run) == "RUNNING"


def test_a_run_whose_lease_is_gone_and_whose_exporter_is_dead_is_ended(store):
    client, experiment = store
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = leases.process_identity(child.pid)
    lease = Lease()
    run = running(client, experiment, lease_tags(lease.path, identity))
    lease.release(remove=True)
    assert end_orphaned_runs(client, experiment) == []  # its exporter still lives
    child.kill()
    child.wait()
    assert end_orphaned_runs(client, experiment) == [run]
    assert status(client, run) == "FAILED"


def test_a_run_from_before_a_reboot_is_ended(store):
    client, experiment = store
    lease = Lease()
    tags = {**lease_tags(lease.path), BOOT_TAG: "an-earlier-boot"}
    lease.release(remove=True)
    run = running(client, experiment, tags)
    assert end_orphaned_runs(client, experiment) == [run]


def test_a_lease_nobody_holds_ends_its_run_and_a_held_one_does_not(store):
    client, experiment = store
    held, free = Lease(), Lease()
    kept = running(client, experiment, lease_tags(held.path))
    ended = running(client, experiment, {**lease_tags(free.path), PROCESS_TAG: ""})
    free.release()  # the file stays, unlocked: as after kill -9
    assert end_orphaned_runs(client, experiment) == [ended]
    assert status(client, kept) == "RUNNING"
    held.release(remove=True)


def test_a_host_name_with_a_quote_breaks_no_search(store, monkeypatch):
    client, experiment = store
    monkeypatch.setattr(leases.socket, "gethostname", lambda: "o'brien's laptop")
    lease = Lease()
    run = running(client, experiment, lease_tags(lease.path))
    assert run_holding(client, "leases", lease.path) == run
    lease.release()
    assert end_orphaned_runs(client, experiment) == [run]


def test_an_orphaned_runs_pending_logged_model_is_marked_failed(store):
    from mlflow.entities import LoggedModelStatus

    client, experiment = store
    lease = Lease()
    run = running(client, experiment, lease_tags(lease.path))
    model = client.create_logged_model(experiment, name="m-v1", source_run_id=run)
    lease.release()  # both processes died: nobody holds the lease
    assert end_orphaned_runs(client, experiment) == [run]
    assert client.get_logged_model(model.model_id).status == LoggedModelStatus.FAILED
