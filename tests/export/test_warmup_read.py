"""Kinds 2 and 3 of reliability round 4 for the TF Serving warmup file sigforge reads back
(``sigforge log``, verification): a file TF Serving would refuse (truncated, corrupt, a length
header past its end, more than 1000 records, a sparse giant) is refused in one sentence naming it,
without allocating what a length header claims and without a DataLossError traceback."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sigforge.errors import UnreadableSavedModel
from sigforge.export.warmup import MAX_WARMUP_RECORDS, WARMUP_FILE, read_warmup


def warmup(version: Path, data: bytes = b"", size: int | None = None) -> Path:
    path = version / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        if size is not None:
            handle.truncate(size)
    return path


@pytest.mark.parametrize(
    ("data", "size", "says"),
    [
        (struct.pack("<Q", 100) + b"\0" * 20, None, "runs past the end of the file"),  # truncated
        (b"\xff" * 12, None, "runs past the end of the file"),  # a 16 EiB length header
        (b"\x01\x02\x03", None, "runs past the end of the file"),  # not even a header
        (b"", 6 * 2**30, f"more than {MAX_WARMUP_RECORDS} records"),  # sparse: zero-length records
    ],
    ids=["truncated", "huge-length", "no-header", "sparse-6GB"],
)
def test_a_warmup_file_tf_serving_would_refuse_is_refused_naming_it(tmp_path, data, size, says):
    path = warmup(tmp_path / "1", data, size)
    with pytest.raises(UnreadableSavedModel, match=says) as info:
        read_warmup(tmp_path / "1")
    assert str(path) in str(info.value) and "TF Serving would refuse" in str(info.value)


def test_a_corrupt_record_is_refused_naming_the_file_not_a_data_loss_traceback(tmp_path):
    tf = pytest.importorskip("tensorflow")
    path = warmup(tmp_path / "1")
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(b"a request TF Serving would replay")
    raw = bytearray(path.read_bytes())
    raw[14] ^= 0xFF  # a byte of the record's data: its CRC no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(UnreadableSavedModel, match="DataLossError") as info:
        read_warmup(tmp_path / "1")
    assert str(path) in str(info.value)
