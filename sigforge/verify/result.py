"""What one export hands the stages after it: ``ExportResult``, built once, never changed.

Defined here, below the stages that read it (``tracking`` logs it, ``pipeline`` returns it, the CLI
prints it), so that none of them imports another for its type. ``pipeline.run_export`` builds it
once the version is published and verified; ``pipeline.export_spec`` returns a copy with what MLflow
made of it (``dataclasses.replace``), never the same object changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: importing the checks imports TensorFlow
    from sigforge.spec import ExportSpec
    from sigforge.verify.checks import VerificationReport

__all__ = ["ExportResult"]


@dataclass(frozen=True)
class ExportResult:
    """A published export: handed to ``export_finished`` hooks and to the MLflow stage."""

    export_dir: Path
    version: int
    spec: ExportSpec
    report: VerificationReport
    summary: dict[str, Any]
    summary_files: tuple[Path, ...] = ()
    # relative path -> bytes: request files (from verification's inputs) and the signature card
    client_files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    parameter_count: int = 0
    published: bool = True  # False: the newest version already served this byte for byte
    mlflow_run_id: str | None = None  # the MLflow run that logs this export (None without MLflow)
    mlflow_tracking_uri: str | None = None  # where that run is (set once it is logged)
    mlflow_model_uri: str | None = None  # models:/<model_id>, the LoggedModel (set once it is logged)
    registered_version: str | None = None  # models:/<name>/<version> when mlflow.registered_model_name is set
