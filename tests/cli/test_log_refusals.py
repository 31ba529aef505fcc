"""``sigforge log`` of a version whose TF Serving warmup file is corrupt (kind 2 of reliability
round 4: a DataLossError traceback, with the run already started and left RUNNING) or whose
length headers claim more than the file holds (kind 3): one line naming the file, exit 2, and no
MLflow run, because the file is read before the run starts."""

from __future__ import annotations

import struct

import pytest
from conftest import run_statuses

from sigforge.contract.read import _saved_model_message
from sigforge.export.warmup import WARMUP_FILE

pytestmark = pytest.mark.slow


def version_with_warmup(tmp_path, data: bytes):
    version = tmp_path / "exports" / "digits" / "1"
    (version / WARMUP_FILE).parent.mkdir(parents=True)
    saved_model = _saved_model_message()()
    saved_model.meta_graphs.add().meta_info_def.tags.append("serve")
    (version / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (version / WARMUP_FILE).write_bytes(data)
    return version


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (struct.pack("<Q", 2**40) + b"\0" * 8, "runs past the end of the file"),
        (struct.pack("<Q", 4) + b"\0" * 4 + b"data" + b"\0" * 4, "DataLossError"),  # CRCs that do not match
    ],
    ids=["length-past-the-end", "bad-crc"],
)
def test_log_refuses_a_warmup_file_tf_serving_would_refuse_and_starts_no_run(run_cli, tmp_path, data, says):
    version = version_with_warmup(tmp_path, data)
    done = run_cli("log", str(version), timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(version / WARMUP_FILE) in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert run_statuses(tmp_path / "outputs" / "mlflow.db") == []
