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

from sigforge.errors import RegistrationRefused, TrackingError, one_line, without_credentials
from sigforge.tracking.params import contract_digest

REGISTRY_ALIAS = "latest_export"  # models:/<name>@latest_export: the newest version sigforge registered


def check_registration(
    client: Any, tracking_uri: str, name: str, contract: Mapping[str, Any], allow_breaking: bool
) -> str:
    """Raise RegistrationRefused when ``contract`` breaks the latest registered version of ``name``;
    otherwise say how it compares (the registered version's description carries this line).

    Called before the version is published (and again when registering): a version the registry
    refuses must not be the newest on disk either, or TF Serving would serve it."""
    from sigforge.contract.compat import breaking_changes, compare_contracts, render, render_markdown
    from sigforge.tracking.contract_source import load_contract

    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except Exception as err:
        raise TrackingError(
            f"MLflow at {without_credentials(tracking_uri)} could not read registered model '{name}': {type(err).__name__}: {one_line(err)}"
        ) from err
    if not versions:
        return f"the first version of registered model `{name}`"
    latest = max(versions, key=lambda v: int(v.version))
    try:
        previous = load_contract(f"models:/{name}/{latest.version}", tracking_uri)
    except Exception as err:  # a version sigforge did not make: no tfmodel/saved_model.pb to compare
        if allow_breaking:
            return f"not compared with version {latest.version}, which holds no SavedModel sigforge can read"
        raise RegistrationRefused(
            f"mlflow.registered_model_name = '{name}': its latest version, {latest.version}, holds no "
            f"SavedModel sigforge can read ({type(err).__name__}: {one_line(err)}), so this contract cannot be "
            "checked against its clients'. Register under another name, or set mlflow.allow_breaking=true "
            "to register without the check."
        ) from err
    changes = compare_contracts(previous, contract)
    breaking = breaking_changes(previous, contract)
    if breaking and not allow_breaking:
        raise RegistrationRefused(
            f"mlflow.registered_model_name = '{name}': this contract breaks version {latest.version}'s "
            f"clients, so it was not registered:\n{render(breaking)}"
            "Keep the old keys, dtypes and shapes, or set mlflow.allow_breaking=true to register anyway.",
            diff=f"Compared with registered model `{name}` version {latest.version}:\n\n"
            + render_markdown(changes),
        )
    if breaking:
        return (
            f"breaks the clients of version {latest.version} (registered with `mlflow.allow_breaking=true`)"
        )
    if changes:
        return f"compatible with version {latest.version} ({len(changes)} compatible changes)"
    return f"the same contract as version {latest.version}"


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
