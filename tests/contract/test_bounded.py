"""contract/bounded: files sigforge does not control are read within a bound (kind 3 of
reliability round 4).

A sparse 6 GB ``saved_model.pb`` in the newest version was read whole by the export's guard,
``inspect`` and ``log``. Every such read goes through ``contract.bounded.read_saved_model_bytes``:
larger than protobuf's 2 GiB limit (which TensorFlow applies to the same file) is refused unread,
and one that does not fit in the process's memory is refused naming it. Sparse files cost no disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sigforge.contract import gate
from sigforge.contract.bounded import MAX_SAVED_MODEL_BYTES, bounded_read, read_saved_model_bytes
from sigforge.contract.read import read_contract
from sigforge.errors import UnreadableSavedModel


def sparse(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_file_up_to_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "saved_model.pb"
    path.write_bytes(b"\x12\x00" * 5)
    assert bounded_read(path, 10, "a test file", "Fix it.") == b"\x12\x00" * 5
    assert read_saved_model_bytes(path) == b"\x12\x00" * 5


def test_a_file_past_the_limit_is_refused_saying_what_it_should_be_and_what_to_do(tmp_path):
    path = tmp_path / "warmup"
    path.write_bytes(b"x" * 11)
    with pytest.raises(UnreadableSavedModel) as info:
        bounded_read(path, 10, "a test file", "Fix it.")
    assert str(info.value) == (
        f"{path} is 11 bytes, more than a test file can be (10 bytes); it is not one sigforge or TF "
        "Serving can read, so sigforge did not read it. Fix it."
    )


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path):
    """A FIFO (or a file still being written) reports one size at open and gives more: what is
    read is bounded by the size at open, plus one byte to notice."""
    fifo = tmp_path / "saved_model.pb"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(b"more than nothing",))
    writer.start()
    try:
        with pytest.raises(
            UnreadableSavedModel, match=f"{fifo} grew past 0 bytes while it was read. Fix it."
        ):
            bounded_read(fifo, 0, "a test file", "Fix it.")
    finally:
        writer.join(timeout=10)


@pytest.mark.parametrize("size", [MAX_SAVED_MODEL_BYTES + 1, 6 * 2**30, 2**40])
def test_a_saved_model_past_protobufs_limit_is_refused_unread(tmp_path, size):
    pb = sparse(tmp_path / "7" / "saved_model.pb", size)
    tick = time.perf_counter()
    with pytest.raises(UnreadableSavedModel) as info:
        read_contract(pb.parent)
    assert time.perf_counter() - tick < 1  # nothing was read
    assert str(pb) in str(info.value) and f"{size} bytes" in str(info.value)


def test_the_export_guard_refuses_a_huge_newest_version_naming_it(tmp_path):
    model_dir = tmp_path / "digits"
    pb = sparse(model_dir / "3" / "saved_model.pb", 3 * 2**30)
    for refuse in (
        lambda: gate.newest_on_disk(model_dir),
        lambda: gate.on_disk(model_dir, {}, False, gate.Moment.FINAL),
    ):
        with pytest.raises(UnreadableSavedModel, match=str(pb)):
            refuse()


def test_a_saved_model_that_does_not_fit_in_memory_is_refused_naming_it(tmp_path):
    """Under an address-space limit (a container's, ``ulimit -v``) a 1.5 GB file within protobuf's
    limit does not fit: one sentence naming the file, not a MemoryError."""
    pb = sparse(tmp_path / "1" / "saved_model.pb", 1536 * 2**20)
    script = (
        "import resource, sys\n"
        "from sigforge.contract.read import read_contract\n"
        "from sigforge.errors import UnreadableSavedModel\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1024 * 2**20, resource.RLIM_INFINITY))\n"
        "try:\n"
        f"    read_contract({str(pb.parent)!r})\n"
        "except UnreadableSavedModel as err:\n"
        "    print(err)\n"
        "    sys.exit(2)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(pb) in done.stdout and "does not fit in the memory" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_inspect_and_log_refuse_a_huge_saved_model_naming_it(run_cli, tmp_path):
    pb = sparse(tmp_path / "exports" / "digits" / "4" / "saved_model.pb", 6 * 2**30)
    for args in (("inspect", str(pb.parent)), ("log", str(pb.parent.parent))):
        done = run_cli(*args, timeout=120)
        assert done.returncode == 2, done.stderr[-2000:]
        assert str(pb) in done.stderr and "Traceback" not in done.stderr
    assert os.stat(pb).st_blocks == 0  # still sparse: nothing was written, nothing read into it
