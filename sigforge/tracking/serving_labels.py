"""TF Serving version labels from the MLflow registry: each alias of a registered model whose
versions sigforge registered from a model directory names a version of that directory.

A registered version carries the export's directory and TF Serving version number as tags
(``sigforge.version_dir``, ``sigforge.model_version``, set by ``registry.register``); the label
points at that number, not at the registry's own version number, which can differ (a registered
model can start later than the directory, or hold versions of several directories).

sigforge's own bookkeeping alias, ``latest_export``, is left out unless asked for: it follows
every export, which is what TF Serving's default policy already does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigforge.errors import TrackingError, one_line, without_credentials
from sigforge.rules import serving_version
from sigforge.tracking.registry import REGISTRY_ALIAS
from sigforge.tracking.store import sqlite_store

VERSION_DIR_TAG = "sigforge.version_dir"
MODEL_VERSION_TAG = "sigforge.model_version"


@dataclass(frozen=True)
class Label:
    """An alias of a registered model, as a TF Serving version label of one model directory."""

    alias: str
    registered_model: str
    registry_version: str
    version: int  # the TF Serving version directory's number
    version_dir: Path

    @property
    def uri(self) -> str:
        return f"models:/{self.registered_model}@{self.alias}"


def no_store(tracking_uri: str) -> bool:
    """True for an embedded SQLite store that does not exist: nothing is registered, and MLflow
    need not be imported (nor the store created) to say so."""
    store = sqlite_store(tracking_uri)
    return store is not None and not store[0].is_file()


def registry_labels(
    tracking_uri: str, model_dirs: Iterable[Path], aliases: Iterable[str] | None = None
) -> dict[Path, dict[str, Label]]:
    """Model directory (as given) -> label -> Label, for every alias of a registered model that
    points at a version sigforge registered from one of ``model_dirs``. ``aliases``: only these
    (default: every alias but ``latest_export``). Raises TrackingError where MLflow cannot answer,
    ValueError where two registered models give one directory the same label for different versions."""
    dirs = {Path(d).resolve(): Path(d) for d in model_dirs}
    if no_store(tracking_uri) or not dirs:
        return {}
    wanted = None if aliases is None else set(aliases)
    found: dict[Path, dict[str, Label]] = {}
    for label in _aliased_versions(tracking_uri, wanted):
        model_dir = dirs.get(label.version_dir.parent.resolve())
        if model_dir is None:
            continue
        other = found.setdefault(model_dir, {}).get(label.alias)
        if other is not None and other.version != label.version:
            raise ValueError(
                f"label '{label.alias}' of {model_dir} would name two versions: {other.version} "
                f"({other.uri}) and {label.version} ({label.uri}); TF Serving maps a label to one version. "
                "Remove one of the aliases, or choose the aliases that become labels with --alias."
            )
        found[model_dir][label.alias] = label
    return found


def _aliased_versions(tracking_uri: str, wanted: set[str] | None) -> list[Label]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    labels = []
    try:
        for model in _registered_models(client):
            for alias, version in sorted(model.aliases.items()):
                if (alias not in wanted) if wanted is not None else alias == REGISTRY_ALIAS:
                    continue
                tags = client.get_model_version(model.name, str(version)).tags or {}
                label = _label(alias, model.name, str(version), tags)
                if label is not None:
                    labels.append(label)
    except Exception as err:
        raise TrackingError(
            f"MLflow at {without_credentials(tracking_uri)} could not list the registry's aliases: "
            f"{type(err).__name__}: {one_line(err)}"
        ) from err
    return labels


def _registered_models(client: object) -> Iterable[object]:
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)  # type: ignore[attr-defined]
        yield from page
        token = page.token
        if not token:
            return


def _label(alias: str, name: str, registry_version: str, tags: dict[str, str]) -> Label | None:
    """None for a version sigforge did not register from a directory (another tool's)."""
    location = tags.get(VERSION_DIR_TAG)
    if not location:
        return None
    version_dir = Path(location)
    number = serving_version(tags.get(MODEL_VERSION_TAG, ""))
    number = serving_version(version_dir.name) if number is None else number
    if number is None:
        return None
    return Label(alias, name, registry_version, number, version_dir)


def model_labels(
    tracking_uri: str | None,
    model_dir: Path,
    *,
    http_timeout: int,
    http_retries: int,
    operation_timeout: float,
) -> dict[str, int]:
    """Label -> TF Serving version of one model directory, for its card and request files; empty
    where there are none or the registry cannot say within the export's MLflow bounds (the export
    never fails for this). An embedded store whose only aliases are ``latest_export`` is answered
    without importing MLflow."""
    import logging

    from sigforge.tracking.bounded import bounded
    from sigforge.tracking.store import configure_http

    if tracking_uri is None or no_store(tracking_uri) or _only_bookkeeping_aliases(tracking_uri):
        return {}
    configure_http(http_timeout, http_retries)
    try:
        found = bounded(
            operation_timeout,
            "reading the registry's aliases",
            tracking_uri,
            registry_labels,
            tracking_uri,
            [model_dir],
        ).get(model_dir, {})
    except Exception as err:  # labels decorate the card; the export stands without them
        logging.getLogger(__name__).warning("no TF Serving labels on the card: %s", one_line(err))
        return {}
    return {alias: label.version for alias, label in found.items()}


def card_labels(spec: Any, tracking: Any) -> Callable[[Path], dict[str, int]]:
    """``pipeline.run_export``'s ``labels``: the model directory's labels, asked of the export's
    tracking store within its bounds, and only where its run started (else MLflow cannot answer)."""
    bounds = spec.mlflow

    def labels(model_dir: Path) -> dict[str, int]:
        return model_labels(
            tracking.tracking_uri if tracking.run_id else None,
            model_dir,
            http_timeout=bounds.http_timeout,
            http_retries=bounds.http_retries,
            operation_timeout=bounds.operation_timeout,
        )

    return labels


def _only_bookkeeping_aliases(tracking_uri: str) -> bool:
    """True when an embedded SQLite store holds no alias but ``latest_export`` (read-only, exact
    at the schema revisions ``registry_read`` knows); False where MLflow must answer."""
    import contextlib
    import sqlite3

    from sigforge.tracking.registry_read import KNOWN_SCHEMAS

    path = tracking_uri.removeprefix("sqlite:///")
    if path == tracking_uri or "?" in path:
        return False
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=0.5)) as db:
            revisions = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
            if not revisions or not revisions <= KNOWN_SCHEMAS:
                return False
            (count,) = db.execute(
                "SELECT count(*) FROM registered_model_aliases WHERE alias != ?", (REGISTRY_ALIAS,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return count == 0
