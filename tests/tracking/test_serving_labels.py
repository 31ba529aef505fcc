"""Registry aliases as TF Serving version labels (``tracking.serving_labels``): each alias of a
version sigforge registered from a model directory labels that directory's TF Serving version (not
the registry's own number); other tools' versions and sigforge's bookkeeping alias are left out.
On a real embedded MLflow store; ``sigforge serving-config`` is tested end to end in
tests/cli/test_serving_config_command.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigforge.tracking.registry import REGISTRY_ALIAS
from sigforge.tracking.serving_labels import (
    MODEL_VERSION_TAG,
    VERSION_DIR_TAG,
    Label,
    model_labels,
    registry_labels,
)

from .test_tracking import client_for, sqlite_uri


def register(client, name: str, version_dir: Path | None, *aliases: str) -> str:
    """A registry version of ``name``: sigforge's (tagged with its directory) or, without ``version_dir``,
    another tool's."""
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    tags = {VERSION_DIR_TAG: str(version_dir), MODEL_VERSION_TAG: version_dir.name} if version_dir else {}
    version = client.create_model_version(name, source=f"s3://bucket/{name}", tags=tags).version
    for alias in aliases:
        client.set_registered_model_alias(name, alias, version)
    return str(version)


@pytest.fixture
def store(tmp_path, monkeypatch):
    for name in ("TIMEOUT", "MAX_RETRIES", "BACKOFF_FACTOR", "BACKOFF_JITTER"):
        monkeypatch.delenv(f"MLFLOW_HTTP_REQUEST_{name}", raising=False)  # model_labels sets them
    (tmp_path / "outputs").mkdir()
    uri = sqlite_uri(tmp_path)
    return uri, client_for(uri), tmp_path / "outputs" / "exports" / "digits"


def test_an_alias_labels_the_directorys_version_not_the_registrys_number(store):
    uri, client, model_dir = store
    register(client, "digits", model_dir / "3", REGISTRY_ALIAS)
    registry_version = register(client, "digits", model_dir / "7", "champion")
    register(client, "digits", None, "foreign")  # another tool's version: no directory to label
    assert registry_labels(uri, [model_dir]) == {
        model_dir: {"champion": Label("champion", "digits", registry_version, 7, model_dir / "7")}
    }
    assert registry_labels(uri, [model_dir])[model_dir]["champion"].uri == "models:/digits@champion"
    with_bookkeeping = registry_labels(uri, [model_dir], aliases=["champion", REGISTRY_ALIAS])
    assert {alias: label.version for alias, label in with_bookkeeping[model_dir].items()} == {
        "champion": 7,
        REGISTRY_ALIAS: 3,
    }
    assert registry_labels(uri, [model_dir.parent / "other"]) == {}


def test_one_label_naming_two_versions_of_a_directory_is_refused_naming_both(store):
    uri, client, model_dir = store
    register(client, "digits", model_dir / "1", "stable")
    register(client, "digits_copy", model_dir / "2", "stable")
    with pytest.raises(ValueError) as refused:
        registry_labels(uri, [model_dir])
    assert f"label 'stable' of {model_dir} would name two versions: 1 (models:/digits@stable) and 2" in str(
        refused.value
    )


def test_the_card_gets_the_labels_of_its_model_directory_and_none_without_a_store(store, tmp_path):
    uri, client, model_dir = store
    bounds = {"http_timeout": 5, "http_retries": 0, "operation_timeout": 60}
    missing = f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}"
    assert model_labels(missing, model_dir, **bounds) == {}
    assert not (tmp_path / "none").exists()  # asking created no store
    register(client, "digits", model_dir / "1", REGISTRY_ALIAS)
    assert model_labels(uri, model_dir, **bounds) == {}  # only sigforge's bookkeeping alias
    register(client, "digits", model_dir / "2", "canary")
    assert model_labels(uri, model_dir, **bounds) == {"canary": 2}
