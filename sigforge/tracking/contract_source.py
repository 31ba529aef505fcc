"""A contract wherever it lives: an export directory, a ``runs:/`` or a ``models:/`` URI.

Directories are read without MLflow; a URI downloads only the run's ``saved_model.pb``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.export.versions import resolve_export_dir


def load_contract(location: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The contract at an export directory, a ``runs:/`` or a ``models:/`` URI."""
    if location.startswith(("runs:/", "models:/")):
        import mlflow

        from sigforge.tracking.store import resolve_tracking_uri

        # The store every sigforge entry point uses: --tracking-uri, MLFLOW_TRACKING_URI, outputs/mlflow.db.
        uri = resolve_tracking_uri(tracking_uri, Path.cwd(), create=False)
        if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
            raise FileNotFoundError(
                f"no MLflow store at {uri}; run from the directory you exported in, or pass --tracking-uri"
            )
        mlflow.set_tracking_uri(uri)
        uri = _model_uri(location.rstrip("/"), uri)
        with tempfile.TemporaryDirectory(prefix="sigforge-diff-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/tfmodel/saved_model.pb", dst_path=tmp
            )
            return contract_to_dict(read_contract(Path(local).parent))
    return contract_to_dict(read_contract(resolve_export_dir(Path(location))))


def _model_uri(location: str, tracking_uri: str) -> str:
    """``runs:/<run_id>`` (or the 0.1 form ``runs:/<run_id>/model``) names the run's LoggedModel,
    whatever it is called (``<model>-v<version>`` since 0.2): ``models:/<model_id>``."""
    run_id, _, name = location.removeprefix("runs:/").partition("/")
    if not location.startswith("runs:/") or name not in ("", "model"):
        return location
    from mlflow.tracking import MlflowClient

    outputs = MlflowClient(tracking_uri=tracking_uri).get_run(run_id).outputs
    models = [m.model_id for m in (outputs.model_outputs if outputs else [])]
    if len(models) != 1:
        return location if name else f"{location}/model"
    return f"models:/{models[0]}"
