"""The model registry: a contract guard before publishing, then a version per export.

A version carries the contract digest and the export's directory as tags, a description, and the
alias ``latest_export``; its LoggedModel gets ``mlflow.modelVersions``, which the Models tab reads
for its "Registered models" column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigforge.contract.gate import Moment, RegisteredVersion, Verdict, in_registry
from sigforge.errors import TrackingError, one_line, without_credentials
from sigforge.tracking.params import contract_digest
from sigforge.tracking.store import sqlite_store

REGISTRY_ALIAS = "latest_export"  # models:/<name>@latest_export: the newest version sigforge registered


def check_registration(
    client: Any, tracking_uri: str, name: str, contract: Mapping[str, Any], allow_breaking: bool
) -> Verdict:
    """The gate's verdict on ``contract`` against the latest registered version of ``name``, raised
    as RegistrationRefused when refused (``contract.gate.in_registry`` decides).

    Asked as soon as the run starts (with what the config alone fixes of the contract), before the
    version is published and when registering: a version the registry refuses must not be the
    newest on disk either, or TF Serving would serve it."""
    found = registered_contract(client, tracking_uri, name)
    return in_registry(name, found, contract, allow_breaking, Moment.FINAL).check()


def registered_contract(client: Any, tracking_uri: str, name: str) -> RegisteredVersion | None:
    """The latest registered version of ``name`` and its contract (None in it, with the reason:
    not one sigforge can read); None when nothing is registered under ``name``."""
    from sigforge.tracking.contract_source import load_contract

    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except Exception as err:
        raise TrackingError(
            f"MLflow at {without_credentials(tracking_uri)} could not read registered model '{name}': {type(err).__name__}: {one_line(err)}"
        ) from err
    if not versions:
        return None
    latest = max(versions, key=lambda v: int(v.version))
    try:
        return RegisteredVersion(
            name, latest.version, load_contract(f"models:/{name}/{latest.version}", tracking_uri)
        )
    except Exception as err:  # a version sigforge did not make: no tfmodel/saved_model.pb to compare
        return RegisteredVersion(name, latest.version, None, f"{type(err).__name__}: {one_line(err)}")


def registry_verdict(
    tracking_uri: str, name: str, contract: Mapping[str, Any], allow_breaking: bool
) -> dict[str, Any]:
    """How ``contract`` compares with the latest registered version of ``name``, as the dry run
    reports it (the gate's verdict, ``allowed`` included): read only, without MLflow where
    ``registry_read`` can answer exactly (the embedded SQLite store), else through MLflow's client."""
    from sigforge.tracking.registry_read import latest_registered

    quick = latest_registered(tracking_uri, name)
    found = quick.found(name) if quick is not None else _registered_through_mlflow(tracking_uri, name)
    verdict = in_registry(name, found, contract, allow_breaking, Moment.DRY_RUN)
    return {"registered_model_name": name, **verdict.as_dict(), "allowed": verdict.allowed}


def _registered_through_mlflow(tracking_uri: str, name: str) -> RegisteredVersion | None:
    store = sqlite_store(tracking_uri)
    if store is not None and not store[0].is_file():
        return None  # no local store yet: nothing registered
    from mlflow.tracking import MlflowClient

    return registered_contract(MlflowClient(tracking_uri=tracking_uri), tracking_uri, name)


@dataclass(frozen=True)
class Registered:
    """A registry version sigforge created: ``models:/<name>/<version>``."""

    name: str
    version: str
    verdict: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def line(self) -> str:
        return f"`{self.uri}` (alias `{REGISTRY_ALIAS}`): {self.verdict}."


def register(
    client: Any,
    tracking_uri: str,
    *,
    name: str,
    model_id: str,
    run_id: str,
    result: Any,
    allow_breaking: bool,
) -> Registered:
    """Register LoggedModel ``model_id`` as a new version of ``name``, guarding its contract."""
    from sigforge.report.description import REGISTRY_LIMIT, describe

    summary = result.summary
    verdict = check_registration(client, tracking_uri, name, summary["signatures"], allow_breaking).note
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)  # the models:/ source resolves through the global store
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        name,
        source=f"models:/{model_id}",
        run_id=run_id,
        model_id=model_id,
        tags={
            "sigforge.contract_digest": contract_digest(summary["signatures"]),
            "sigforge.version_dir": str(result.export_dir),
            "sigforge.model_version": str(result.version),
        },
    )
    registered = Registered(name, str(version.version), verdict)
    client.update_model_version(
        name,
        version.version,
        description=describe(summary, registered=registered.line(), limit=REGISTRY_LIMIT),
    )
    client.set_registered_model_alias(name, REGISTRY_ALIAS, version.version)
    client.set_logged_model_tags(
        model_id, {"mlflow.modelVersions": json.dumps([{"name": name, "version": registered.version}])}
    )
    return registered
