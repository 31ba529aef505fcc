"""The registry's latest version of a name and its contract, read without importing MLflow.

Why: importing MLflow and opening its SQL store take about 2 s, which is most of what a dry run
with ``mlflow.registered_model_name`` cost, and all of what stood between a breaking change and its
refusal by the registry. For the embedded SQLite store (sigforge's default) the same answer is one
read-only query and one ``saved_model.pb`` read.

The store's tables are MLflow's own, not a public interface, so this reader answers only where it
is exact and says ``None`` otherwise, and the caller asks MLflow's client instead:

- only a SQLite store at a schema revision listed in ``KNOWN_SCHEMAS`` (checked against MLflow's
  own answers in ``tests/tracking/test_registry_read.py``; a new MLflow with a new revision falls
  back until its revision is added there);
- only MLflow's default workspace (``MLFLOW_ENABLE_WORKSPACES`` / ``MLFLOW_WORKSPACE`` unset);
- only a version whose files are on this machine (a ``file:`` or plain path download location);
- only a ``saved_model.pb`` the contract reader can read: anything else, MLflow decides.

What it answers is a first verdict, never the last: the registry guard before publishing and at
registration still asks MLflow.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sigforge.contract.gate import RegisteredVersion
from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.errors import SigforgeError
from sigforge.tracking.mlmodel import SAVED_MODEL_SUBDIR

# Alembic revisions of MLflow's tracking schema whose model registry tables this module reads:
# MLflow 3.17's head. Add a revision only after tests/tracking/test_registry_read.py passes with it.
KNOWN_SCHEMAS = frozenset({"dc11669786a5"})
_DEFAULT_WORKSPACE = "default"
_STAGE_DELETED = "Deleted_Internal"  # versions MLflow's own search leaves out


@dataclass(frozen=True)
class Latest:
    """The newest registered version of a name (``version`` None: nothing is registered under it)."""

    version: str | None
    contract: dict[str, Any] | None = None

    def found(self, name: str) -> RegisteredVersion | None:
        """The form ``registry.registered_contract`` answers in: None when nothing is registered."""
        return None if self.version is None else RegisteredVersion(name, self.version, self.contract)


def latest_registered(tracking_uri: str, name: str) -> Latest | None:
    """The newest version of registered model ``name`` and its contract, or None where this
    cannot be read exactly without MLflow (see the module docstring)."""
    path = _sqlite_path(tracking_uri)
    if path is None or os.environ.get("MLFLOW_WORKSPACE") or _flag("MLFLOW_ENABLE_WORKSPACES"):
        return None
    if not path.exists():
        return Latest(None)  # no store yet: nothing can be registered in it
    try:
        found = _latest_location(path, name)
    except sqlite3.Error:  # locked past the timeout, not a database, a table missing: ask MLflow
        return None
    if found is None or isinstance(found, Latest):
        return found
    version, location = found
    directory = _local_dir(location)
    if directory is None:
        return None
    try:
        return Latest(version, contract_to_dict(read_contract(directory / SAVED_MODEL_SUBDIR)))
    except (OSError, SigforgeError):  # not a SavedModel sigforge wrote: MLflow says what it holds
        return None


def _latest_location(path: Path, name: str) -> tuple[str, str] | Latest | None:
    """(version, download location) of the newest live version of ``name``; Latest(None) when
    there is none; None at a schema revision not in ``KNOWN_SCHEMAS``."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    # A writer holds the lock for milliseconds; past half a second, the helper asks MLflow instead.
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=0.5)) as db:
        revisions = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
        if not revisions or not revisions <= KNOWN_SCHEMAS:
            return None
        row = db.execute(
            "SELECT version, storage_location, source FROM model_versions "
            "WHERE name = ? AND workspace = ? AND current_stage != ? "
            "ORDER BY version DESC LIMIT 1",
            (name, _DEFAULT_WORKSPACE, _STAGE_DELETED),
        ).fetchone()
    if row is None:
        return Latest(None)
    version, storage_location, source = row
    # MLflow's get_model_version_download_uri: the storage location, else the source.
    return str(version), str(storage_location or source or "")


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` store; None for any other store or a URI with options."""
    if not tracking_uri.startswith("sqlite:///") or "?" in tracking_uri:
        return None
    rest = tracking_uri[len("sqlite:///") :]
    return Path(rest) if rest and rest != ":memory:" else None


def _local_dir(location: str) -> Path | None:
    """The directory a ``file:`` URI or a plain path names; None for a remote location."""
    if location.startswith("file:"):
        parsed = urlparse(location)
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(unquote(parsed.path))
    if location.startswith("/"):
        return Path(location)
    return None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
