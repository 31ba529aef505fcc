"""What one export's MLflow run records, as plain data that crosses to the logging helper process:
the published export (``LoggedExport``), what logging it returned (``Logged``), why an export was
refused (``Refusal``), and the name a run and a LoggedModel take (``export_name``).
``tracking.run`` re-exports them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def export_name(model: str, version: int | str) -> str:
    """The name of an export's run and LoggedModel in MLflow: ``<model>-v<version>``."""
    return f"{model}-v{version}"


@dataclass(frozen=True)
class Refusal:
    """Why an export was refused, kept on its FAILED run: the diff a reviewer needs."""

    run_name: str
    message: str
    diff: str


@dataclass(frozen=True)
class Logged:
    """What ``finish`` logged: the LoggedModel and, when registered, ``models:/<name>/<version>``."""

    model_id: str
    registered: str | None = None

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


@dataclass(frozen=True)
class LoggedExport:
    """What the MLflow stage logs of a published export. Plain data: it crosses to the helper process."""

    export_dir: Path
    version: int
    summary: Mapping[str, Any]
    config_yaml: str = ""
    client_files: Mapping[str, bytes] = field(default_factory=dict)
    examples: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # signature -> key -> array
    metrics: Mapping[str, float] = field(default_factory=dict)
    register_as: str | None = None
    allow_breaking: bool = False
    published: bool = True  # False: an identical version was already there; nothing new was published
