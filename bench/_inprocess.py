"""In-process helpers for the benchmarks that time sigforge's own stages."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sigforge.config.compose import compose

__all__ = ["compose", "tabular_config"]


def tabular_config(n_inputs: int, n_signatures: int) -> dict[str, Any]:
    """A DNN over ``n_inputs`` scalar float features with ``n_signatures`` predict signatures."""
    cfg = compose(
        "+experiment=dnn_classifier", f"export.base_dir={tempfile.mkdtemp(prefix='sigforge-bench-')}"
    )
    cfg["inputs"] = {
        f"f{i}": {"modality": "tabular", "dtype": "float32", "shape": [None]} for i in range(n_inputs)
    }
    cfg["signatures"] = {f"sig{i}": {"method": "predict", "outputs": ["scores"]} for i in range(n_signatures)}
    return cfg


def export(cfg: dict[str, Any]) -> Any:
    from sigforge.pipeline import prepare, run_export

    spec, plugins = prepare(cfg)
    return run_export(spec, plugins)


def base_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="sigforge-bench-"))
