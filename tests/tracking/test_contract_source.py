"""A contract wherever it lives (``tracking.contract_source``): an export directory (its newest
version for a model directory), ``runs:/`` and ``models:/`` URIs of a real MLflow store, reading only
``saved_model.pb``."""

from __future__ import annotations

import shutil

import pytest

from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.tracking.contract_source import load_contract

from .test_tracking import client_for, model_uri, only_run, sqlite_uri


@pytest.fixture(scope="module")
def model_dir(export, tmp_path_factory):
    """A model directory whose version 1 holds image_classifier's saved_model.pb, version 2 multi_input's."""
    model = tmp_path_factory.mktemp("contracts") / "m"
    for version, experiment in ((1, "image_classifier"), (2, "multi_input")):
        (model / str(version)).mkdir(parents=True)
        shutil.copy(export(experiment).export_dir / "saved_model.pb", model / str(version))
    return model


def test_a_model_directory_gives_its_newest_versions_contract_and_a_version_its_own(model_dir):
    assert sorted(load_contract(str(model_dir))["serving_default"]["inputs"]) == ["image", "text"]
    assert sorted(load_contract(str(model_dir / "1"))["serving_default"]["inputs"]) == ["image"]
    with pytest.raises(FileNotFoundError, match="holds no saved_model.pb and no numbered version directory"):
        load_contract(str(model_dir.parent))


def test_a_runs_uri_naming_an_artifact_reads_only_its_saved_model_pb(model_dir, tmp_path):
    uri = sqlite_uri(tmp_path)
    (tmp_path / "outputs").mkdir()
    client = client_for(uri)
    run = client.create_run(
        client.create_experiment("e", artifact_location=(tmp_path / "artifacts").as_uri())
    )
    client.log_artifact(run.info.run_id, str(model_dir / "2" / "saved_model.pb"), "exported/tfmodel")
    read = load_contract(f"runs:/{run.info.run_id}/exported", tracking_uri=uri)
    assert read == contract_to_dict(read_contract(model_dir / "2"))
    with pytest.raises(ValueError, match=rf"run {run.info.run_id} logged 0 models; name one: runs:/"):
        load_contract(f"runs:/{run.info.run_id}", tracking_uri=uri)


def test_a_uri_in_a_store_that_does_not_exist_says_where_to_run_from(tmp_path):
    missing = f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"
    with pytest.raises(
        FileNotFoundError, match="run from the directory you exported in, or pass --tracking-uri"
    ):
        load_contract("runs:/0123/model", tracking_uri=missing)
    assert not (tmp_path / "nowhere").exists()  # asking created no store


@pytest.mark.slow
def test_diff_finds_a_runs_model_whatever_its_name(run_cli, tmp_path):
    """``runs:/<run_id>`` and 0.1's ``runs:/<run_id>/model`` name the run's LoggedModel, which is
    called ``<model>-v<version>``; the contract read back from MLflow equals the published one."""
    assert run_cli("experiment=image_classifier").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    published = str(tmp_path / "outputs" / "exports" / "image_classifier" / "1")
    for uri in (f"runs:/{run.info.run_id}", f"runs:/{run.info.run_id}/model", model_uri(run)):
        done = run_cli("diff", uri, published)
        assert done.returncode == 0, done.stderr
        assert "no differences" in done.stdout
