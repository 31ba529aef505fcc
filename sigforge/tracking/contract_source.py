"""A contract wherever it lives: an export directory, a ``runs:/`` or a ``models:/`` URI.

Directories are read without MLflow; a URI downloads only the run's ``saved_model.pb``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.export.versions import resolve_export_dir
from sigforge.tracking.mlmodel import SAVED_MODEL_SUBDIR


def load_contract(location: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The contract at an export directory, a ``runs:/`` or a ``models:/`` URI."""
    if location.startswith(("runs:/", "models:/")):
        with tempfile.TemporaryDirectory(prefix="sigforge-diff-") as tmp:
            return contract_to_dict(read_contract(download_saved_model_pb(location, tracking_uri, Path(tmp))))
    return contract_to_dict(read_contract(resolve_export_dir(Path(location))))


def download_saved_model_pb(location: str, tracking_uri: str | None, destination: Path) -> Path:
    """The directory under ``destination`` that holds the ``saved_model.pb`` (only) of the model a
    ``runs:/`` or ``models:/`` URI names, in the store every sigforge entry point uses."""
    import mlflow

    from sigforge.tracking.store import resolve_tracking_uri, sqlite_store

    # The store every sigforge entry point uses: --tracking-uri, MLFLOW_TRACKING_URI, outputs/mlflow.db.
    uri = resolve_tracking_uri(tracking_uri, Path.cwd(), create=False)
    store = sqlite_store(uri)
    if store is not None and not store[0].is_file():
        raise FileNotFoundError(
            f"no MLflow store at {uri}; run from the directory you exported in, or pass --tracking-uri"
        )
    mlflow.set_tracking_uri(uri)
    pb = _saved_model_pb(location.rstrip("/"), uri)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=pb, dst_path=str(destination))).parent


def _saved_model_pb(location: str, tracking_uri: str) -> str:
    """Where the ``saved_model.pb`` of the model at ``location`` is, without downloading its weights.

    ``runs:/<run_id>`` (or 0.1's ``runs:/<run_id>/model``) and ``models:/<model_id>`` name a
    LoggedModel, read from its own artifact location; ``runs:/<run_id>/<name>`` and
    ``models:/<name>/<version>`` (or ``@alias``) resolve through MLflow."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    model_id = None
    if location.startswith("runs:/"):
        run_id, _, name = location.removeprefix("runs:/").partition("/")
        if name in ("", "model"):
            outputs = client.get_run(run_id).outputs
            models = [m.model_id for m in (outputs.model_outputs if outputs else [])]
            if len(models) != 1:
                raise ValueError(f"run {run_id} logged {len(models)} models; name one: runs:/{run_id}/<name>")
            model_id = models[0]
    else:
        rest = location.removeprefix("models:/")
        if "/" not in rest and "@" not in rest:
            model_id = rest
    if model_id is None:
        return f"{location}/{SAVED_MODEL_SUBDIR}/saved_model.pb"
    return f"{client.get_logged_model(model_id).artifact_location}/{SAVED_MODEL_SUBDIR}/saved_model.pb"
