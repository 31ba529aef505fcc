"""In-process helpers for the benchmarks that time sigforge's own stages."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def compose(*overrides: str) -> dict[str, Any]:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from sigforge.schema import register_schema

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("sigforge.conf", version_base="1.3"):
        return OmegaConf.to_container(hydra_compose("config", overrides=list(overrides)), resolve=True)


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
