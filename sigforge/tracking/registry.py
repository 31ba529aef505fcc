"""The model registry: a contract guard before publishing, then a version per export.

A version carries the contract digest and the export's directory as tags, a description, and the
alias ``latest_export``; its LoggedModel gets ``mlflow.modelVersions``, which the Models tab reads
for its "Registered models" column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigforge.errors import RegistrationRefused, TrackingError, one_line, without_credentials
from sigforge.tracking.params import contract_digest

REGISTRY_ALIAS = "latest_export"  # models:/<name>@latest_export: the newest version sigforge registered


def check_registration(
    client: Any, tracking_uri: str, name: str, contract: Mapping[str, Any], allow_breaking: bool
) -> str:
    """Raise RegistrationRefused when ``contract`` breaks the latest registered version of ``name``;
    otherwise say how it compares (the registered version's description carries this line).

    Called as soon as the run starts (with what the config alone fixes of the contract), before the
    version is published and when registering: a version the registry refuses must not be the
    newest on disk either, or TF Serving would serve it."""
    found = registered_contract(client, tracking_uri, name, allow_breaking)
    return judge_registration(name, found, contract, allow_breaking)


def judge_registration(
    name: str,
    found: tuple[str, Mapping[str, Any] | None] | None,
    contract: Mapping[str, Any],
    allow_breaking: bool,
) -> str:
    """``check_registration``'s verdict on ``found`` (the latest version and its contract, as
    ``registered_contract`` or ``registry_read`` give it): RegistrationRefused, or how it compares."""
    from sigforge.contract.compat import breaking_changes, compare_contracts, render, render_markdown

    if found is None:
        return f"the first version of registered model `{name}`"
    version, previous = found
    if previous is None:
        return f"not compared with version {version}, which holds no SavedModel sigforge can read"
    changes = compare_contracts(previous, contract)
    breaking = breaking_changes(previous, contract)
    if breaking and not allow_breaking:
        raise RegistrationRefused(
            f"mlflow.registered_model_name = '{name}': this contract breaks version {version}'s "
            f"clients, so it was not registered:\n{render(breaking)}"
            "Keep the old keys, dtypes and shapes, or set mlflow.allow_breaking=true to register anyway.",
            diff=f"Compared with registered model `{name}` version {version}:\n\n" + render_markdown(changes),
        )
    if breaking:
        return f"breaks the clients of version {version} (registered with `mlflow.allow_breaking=true`)"
    if changes:
        return f"compatible with version {version} ({len(changes)} compatible changes)"
    return f"the same contract as version {version}"


def registered_contract(
    client: Any, tracking_uri: str, name: str, allow_breaking: bool
) -> tuple[str, dict[str, Any] | None] | None:
    """The latest registered version of ``name`` and its contract (None: not one sigforge can read,
    which only ``allow_breaking`` lets pass); None when nothing is registered under ``name``."""
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
        return latest.version, load_contract(f"models:/{name}/{latest.version}", tracking_uri)
    except Exception as err:  # a version sigforge did not make: no tfmodel/saved_model.pb to compare
        if allow_breaking:
            return latest.version, None
        raise RegistrationRefused(
            f"mlflow.registered_model_name = '{name}': its latest version, {latest.version}, holds no "
            f"SavedModel sigforge can read ({type(err).__name__}: {one_line(err)}), so this contract cannot be "
            "checked against its clients'. Register under another name, or set mlflow.allow_breaking=true "
            "to register without the check."
        ) from err


def registry_verdict(
    tracking_uri: str, name: str, contract: Mapping[str, Any], allow_breaking: bool
) -> dict[str, Any]:
    """How ``contract`` compares with the latest registered version of ``name``, as the dry run
    reports it (the form of ``compat.verdict``, plus ``allowed``): read only, without MLflow where
    ``registry_read`` can answer exactly (the embedded SQLite store), else through MLflow's client."""
    from sigforge.contract.compat import comparison
    from sigforge.tracking.registry_read import latest_registered

    quick = latest_registered(tracking_uri, name)
    found = quick.found() if quick is not None else _registered_through_mlflow(tracking_uri, name)
    verdict: dict[str, Any] = {"against": None, "breaking": [], "changes": []}
    readable = True
    if found is not None and found[1] is not None:
        verdict = comparison(f"models:/{name}/{found[0]}", found[1], contract)
    elif found is not None:
        verdict["against"] = f"models:/{name}/{found[0]} (holds no SavedModel sigforge can read)"
        readable = False
    allowed = (readable and not verdict["breaking"]) or allow_breaking
    return {"registered_model_name": name, **verdict, "allowed": allowed}


def _registered_through_mlflow(tracking_uri: str, name: str) -> tuple[str, dict[str, Any] | None] | None:
    store = tracking_uri.removeprefix("sqlite:///")
    if store != tracking_uri and not Path(store).is_file():
        return None  # no local store yet: nothing registered
    from mlflow.tracking import MlflowClient

    return registered_contract(MlflowClient(tracking_uri=tracking_uri), tracking_uri, name, True)


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
    verdict = check_registration(client, tracking_uri, name, summary["signatures"], allow_breaking)
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
