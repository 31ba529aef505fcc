"""``sigforge.cli.log_command``: ``sigforge log EXPORT_DIR`` logs an export made without MLflow to a
run, with the composed config's params (redacted) when ``--config`` names it; a version whose TF
Serving warmup file is corrupt (kind 2 of reliability round 4: a DataLossError traceback, with the
run already started and left RUNNING) or whose length headers claim more than the file holds
(kind 3), or a ``--config`` that is no config, is refused in one line naming the file, exit 2, and
no MLflow run, because the files are read before the run starts."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from conftest import run_statuses

from sigforge.cli.log_command import main
from sigforge.contract.read import _saved_model_message
from sigforge.export.warmup import WARMUP_FILE

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"


def version_with_warmup(tmp_path, data: bytes):
    version = tmp_path / "exports" / "digits" / "1"
    (version / WARMUP_FILE).parent.mkdir(parents=True)
    saved_model = _saved_model_message()()
    saved_model.meta_graphs.add().meta_info_def.tags.append("serve")
    (version / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (version / WARMUP_FILE).write_bytes(data)
    return version


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_export_made_without_mlflow_is_logged_to_a_finished_run_with_its_redacted_config(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    version = tmp_path / "exports" / "digits" / "3"
    shutil.copytree(FIXTURES / "handwritten_multi" / "1", version)
    (tmp_path / "config.yaml").write_text(
        "model:\n  name: digits\nmlflow:\n  tracking_uri: https://me:s3cret@mlflow.example/\n"
    )
    assert main([str(version.parent), "--config", str(tmp_path / "config.yaml")]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"sigforge log: logged {version} as MLflow run ")
    assert said.rstrip().endswith(f"to sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    with sqlite3.connect(tmp_path / "outputs" / "mlflow.db") as db:
        runs = db.execute(
            "select r.run_uuid, r.status, e.name from runs r join experiments e using (experiment_id)"
        ).fetchall()
        ((run_id, status, experiment),) = runs
        tags = dict(db.execute("select key, value from tags where run_uuid = ?", (run_id,)))
        params = dict(db.execute("select key, value from params where run_uuid = ?", (run_id,)))
    assert (status, experiment) == ("FINISHED", "digits")  # the experiment is the model's name
    assert tags["sigforge.logged_later"] == "true"
    assert params["model.name"] == "digits"
    assert "s3cret" not in params["mlflow.tracking_uri"]


def test_a_config_that_is_not_a_mapping_is_refused_before_a_run_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("[1, 2]\n")
    with pytest.raises(SystemExit) as ended:
        main([str(FIXTURES / "handwritten_image"), "--config", str(tmp_path / "config.yaml")])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sigforge log: --config {tmp_path / 'config.yaml'} holds a list, not a mapping")
    assert not (tmp_path / "outputs").exists()  # no store made, no run


@pytest.mark.slow
def test_a_logged_export_names_the_version_labels_of_its_model_directory(tmp_path, monkeypatch, capsys):
    """A registry alias on the version (``sigforge serving-config`` makes it a TF Serving label)
    is in the logged summary, which the card's and request files' label endpoints are made from, as
    in an export's own run."""
    from mlflow.tracking import MlflowClient

    from sigforge.tracking.serving_labels import MODEL_VERSION_TAG, VERSION_DIR_TAG

    monkeypatch.chdir(tmp_path)
    version = tmp_path / "exports" / "digits" / "3"
    shutil.copytree(FIXTURES / "handwritten_multi" / "1", version)
    (tmp_path / "outputs").mkdir()
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    client.create_registered_model("digits")
    tags = {VERSION_DIR_TAG: str(version), MODEL_VERSION_TAG: "3"}
    registered = client.create_model_version("digits", source="s3://bucket/digits", tags=tags).version
    client.set_registered_model_alias("digits", "champion", registered)
    assert main([str(version)]) == 0
    run_id = capsys.readouterr().out.split(" as MLflow run ")[1].split()[0]
    summary = json.loads(
        Path(client.download_artifacts(run_id, "signature_summary.json", str(tmp_path))).read_text()
    )
    assert summary["labels"] == {"champion": 3}
