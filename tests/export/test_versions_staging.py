"""``export.versions``' staging directories: a version is written aside, under a lock its writer
holds for as long as it lives, and only the staging of a writer that provably died is removed, in
whatever PID namespace or on whatever host the writer ran."""

from __future__ import annotations

import os
import shutil

import pytest


def test_staging_is_removed_only_when_its_writer_provably_died(tmp_path):
    """Liveness is the writer's lock on <staging>.lock, not a PID (which another namespace or host
    cannot see): a free lock means the writer is gone, a held one that it lives, wherever it runs."""
    import fcntl
    import time

    from sigforge.export.versions import STALE_WITHOUT_LOCK_SECONDS, remove_stale_staging

    dead, alive, legacy = (tmp_path / f".sigforge-staging-host-1-{n}" for n in ("dead", "alive", "legacy"))
    for path in (dead, alive, legacy):
        path.mkdir()
    (tmp_path / (dead.name + ".lock")).touch()  # its writer was killed: nobody holds the lock
    held = os.open(tmp_path / (alive.name + ".lock"), os.O_CREAT | os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # a live writer (another open file, as another process has)
    old = time.time() - STALE_WITHOUT_LOCK_SECONDS - 60
    os.utime(legacy, (old, old))  # no lock file at all (an older sigforge): a lease of a day
    orphan = tmp_path / ".sigforge-staging-host-1-published.lock"  # killed right after its rename
    orphan.touch()
    try:
        assert sorted(remove_stale_staging(tmp_path)) == sorted([dead, legacy])
        assert alive.exists() and not dead.exists() and not (tmp_path / (dead.name + ".lock")).exists()
        assert not orphan.exists() and (tmp_path / (alive.name + ".lock")).exists()
    finally:
        os.close(held)
    shutil.rmtree(alive)


STAGING_WRITER = """
import sys
from pathlib import Path
from sigforge.export.versions import publish, staging

model_dir = Path(sys.argv[1])
with staging(model_dir) as path:
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"from another namespace")
    print(path.name, flush=True)
    sys.stdin.readline()  # until the test says: publish
    print(publish(path, model_dir)[0], flush=True)
"""


def _can_unshare() -> bool:
    """Root, and a kernel/container that lets it make PID namespaces (some sandboxes do not)."""
    import subprocess

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


CAN_UNSHARE = _can_unshare()


def writer_in_another_pid_namespace(model_dir):
    """STAGING_WRITER in a PID namespace of its own (it dies with unshare: --kill-child)."""
    import subprocess
    import sys

    command = [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        sys.executable,
        "-c",
        STAGING_WRITER,
    ]
    return subprocess.Popen(
        [*command, str(model_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


@pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and unshare --pid (PID namespaces)")
def test_a_writer_in_another_pid_namespace_keeps_its_staging(compose, plugins, tmp_path):
    """Its PID means nothing here (it is 1 or 2 inside its namespace); its lock does."""

    from sigforge.config.validate import build_spec
    from sigforge.export.versions import remove_stale_staging
    from sigforge.pipeline import run_export

    model_dir = tmp_path / "image_classifier"
    model_dir.mkdir()
    writer = writer_in_another_pid_namespace(model_dir)
    try:
        staged = model_dir / writer.stdout.readline().strip()
        assert staged.is_dir() and staged.name.split("-")[-2] in ("1", "2")  # its PID inside its namespace
        assert remove_stale_staging(model_dir) == []
        cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}")
        ours = run_export(build_spec(cfg, plugins), plugins)  # a whole export beside it
        assert ours.version == 1 and staged.is_dir()
        writer.stdin.write("publish\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "2"
        assert writer.wait(timeout=30) == 0  # it leaves its staging block: the lock file goes
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert (model_dir / "2" / "saved_model.pb").read_bytes() == b"from another namespace"
    assert sorted(os.listdir(model_dir)) == ["1", "2"]


@pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and unshare --pid (PID namespaces)")
def test_a_killed_writer_in_another_namespace_leaves_staging_the_next_export_removes(tmp_path):
    import signal
    import time

    from sigforge.export.versions import remove_stale_staging

    writer = writer_in_another_pid_namespace(tmp_path)
    staged = tmp_path / writer.stdout.readline().strip()
    assert remove_stale_staging(tmp_path) == []
    writer.send_signal(signal.SIGKILL)  # unshare dies, and --kill-child takes the writer with it
    writer.wait()
    deadline = time.monotonic() + 30
    while remove_stale_staging(tmp_path) != [staged]:  # the kernel drops the lock as the writer dies
        assert time.monotonic() < deadline, "the dead writer's lock was never released"
    assert os.listdir(tmp_path) == []
