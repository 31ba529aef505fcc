"""``compose(*overrides)``: the config ``python -m sigforge`` would run, for library callers.

Hydra's compose API over the packaged config tree, as a plain mapping that
``sigforge.pipeline.export`` and ``sigforge.validate.build_spec`` take::

    from sigforge.compose import compose
    from sigforge.pipeline import export

    result = export(compose("+experiment=multi_input", "mlflow.enabled=false"))
"""

from __future__ import annotations

from typing import Any


def compose(*overrides: str) -> dict[str, Any]:
    """The packaged config composed with ``overrides`` (command-line syntax), resolved."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from sigforge.schema import register_schema

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("sigforge.conf", version_base="1.3"):
        cfg = hydra_compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
