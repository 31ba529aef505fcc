"""The registry read without MLflow (``sigforge.tracking.registry_read``) gives MLflow's own
answer, or no answer: checked against ``MlflowClient`` on stores sigforge really wrote."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import QUIET_TF, imported

from sigforge.tracking.registry import registered_contract
from sigforge.tracking.registry_read import KNOWN_SCHEMAS, Latest, latest_registered

pytestmark = pytest.mark.slow

CLASH = ("experiment=image_classifier", "model.name=digits_v2", "naming=prefixed")


def cli(cwd: Path, *args: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python, "-m", "sigforge", *args],
        cwd=cwd,
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> Path:
    """A directory whose embedded store holds registered model ``digits`` version 1, made by the CLI."""
    cwd = tmp_path_factory.mktemp("registered")
    done = cli(cwd, "experiment=image_classifier", "mlflow.registered_model_name=digits")
    assert done.returncode == 0, done.stderr[-3000:]
    return cwd


@pytest.fixture
def store(registered, tmp_path) -> str:
    """A copy of that store to change (its versions' files stay where the CLI wrote them)."""
    shutil.copy(registered / "outputs" / "mlflow.db", tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def through_mlflow(uri: str, name: str) -> Latest:
    from mlflow.tracking import MlflowClient

    found = registered_contract(MlflowClient(tracking_uri=uri), uri, name)
    return Latest(None) if found is None else Latest(str(found.version), found.contract)


def test_the_latest_version_and_its_contract_are_mlflows_own(store):
    quick = latest_registered(store, "digits")
    assert quick is not None and quick.version == "1"
    assert quick == through_mlflow(store, "digits")
    assert list(quick.contract["serving_default"]["inputs"]) == ["image"]
    assert latest_registered(store, "nobody") == Latest(None) == through_mlflow(store, "nobody")


def test_a_newer_version_counts_and_a_deleted_one_does_not(store):
    import mlflow
    from mlflow.tracking import MlflowClient

    # MLflow's registry looks a `models:/<model_id>` source up through the global tracking URI
    mlflow.set_tracking_uri(store)
    client = MlflowClient(tracking_uri=store)
    first = client.get_model_version("digits", "1")
    for _ in range(2):  # versions 2 and 3, of the same LoggedModel
        client.create_model_version("digits", source=first.source, run_id=first.run_id)
    assert latest_registered(store, "digits").version == "3" == through_mlflow(store, "digits").version
    client.delete_model_version("digits", "3")
    assert latest_registered(store, "digits") == through_mlflow(store, "digits")
    assert latest_registered(store, "digits").version == "2"
    client.delete_registered_model("digits")
    assert latest_registered(store, "digits") == Latest(None) == through_mlflow(store, "digits")


def test_what_it_cannot_read_exactly_is_left_to_mlflow(store, tmp_path, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    # a version sigforge did not make: no SavedModel where MLflow keeps its files
    client = MlflowClient(tracking_uri=store)
    mlflow.set_tracking_uri(store)
    with mlflow.start_run(experiment_id=client.create_experiment("notes", str(tmp_path / "art"))) as run:
        mlflow.log_text("not a model", "notes/readme.txt")
    client.create_registered_model("foreign")
    client.create_model_version("foreign", source=f"runs:/{run.info.run_id}/notes", run_id=run.info.run_id)
    assert latest_registered(store, "foreign") is None
    assert through_mlflow(store, "foreign") == Latest("1", None)
    # a store a writer holds locked: MLflow, which waits for it, answers instead
    writer = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert latest_registered(store, "digits") is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert latest_registered(store, "digits").version == "1"
    # a schema revision this reader was not checked against
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    assert latest_registered(store, "digits") is None
    # stores it does not read: a server, workspaces
    assert latest_registered("http://127.0.0.1:5000", "digits") is None
    assert latest_registered(store + "?timeout=5", "digits") is None
    monkeypatch.setenv("MLFLOW_WORKSPACE", "team-a")
    assert latest_registered(store, "digits") is None


def test_no_store_yet_means_nothing_registered(tmp_path):
    assert latest_registered(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}", "digits") == Latest(None)
    assert not (tmp_path / "outputs").exists()  # and nothing was created


def test_the_schema_this_mlflow_writes_is_one_the_reader_knows(registered):
    """Fails on an MLflow upgrade that migrates the schema: check the reader's two queries against
    the new revision, then add it to KNOWN_SCHEMAS (until then every read goes through MLflow)."""
    with sqlite3.connect(registered / "outputs" / "mlflow.db") as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in KNOWN_SCHEMAS


def test_the_dry_run_reads_the_registry_without_importing_mlflow_or_tensorflow(registered):
    done = cli(registered, *CLASH, "mlflow.registered_model_name=digits", "export.dry_run=true",
               python=("-X", "importtime"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    registry = json.loads(done.stdout)["registry"]
    assert registry["against"] == "models:/digits/1" and registry["allowed"] is False
    assert imported(done.stderr, "sigforge") >= {"sigforge.tracking.registry_read"}
    assert not imported(done.stderr, "mlflow", "tensorflow", "keras")


def test_the_cli_refuses_before_the_helper_reads_the_registry(registered, tmp_path):
    """The exporter judges the registry's version itself and prints the refusal at once; the run
    that records it ends FAILED, as the helper's own refusal did, before the process ends."""
    cwd = tmp_path / "work"
    shutil.copytree(registered / "outputs", cwd / "outputs", ignore=shutil.ignore_patterns("exports"))
    done = cli(cwd, *CLASH, "mlflow.registered_model_name=digits", python=("-X", "importtime"))
    assert done.returncode == 5, done.stderr[-3000:]
    # Printed once, as soon as it is known; then the process waits for MLflow to record the run.
    assert done.stderr.count("this contract breaks version 1's clients, so it was not registered") == 1
    assert done.stderr.count("Nothing was published.") == 1
    said = done.stderr.index("Nothing was published.")
    assert said < done.stderr.index("sigforge: recording the refused export's run in MLflow...")
    # Refused before TensorFlow's import began (the helper's refusal interrupts it midway, after
    # some of its modules are in); the helper imported MLflow to record the run.
    assert not imported(done.stderr, "tensorflow", "keras")
    assert imported(done.stderr, "mlflow")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'outputs' / 'mlflow.db'}")
    (failed,) = client.search_runs([client.get_experiment_by_name("digits_v2").experiment_id])
    assert failed.info.status == "FAILED" and failed.data.tags["sigforge.refused"]
