"""``compose(*overrides)``: the config ``sigforge`` would run, for library callers.

Hydra's compose API over the packaged config tree, as a plain mapping that
``sigforge.pipeline.export`` and ``sigforge.config.validate.build_spec`` take::

    from sigforge.config.compose import compose
    from sigforge.pipeline import export

    result = export(compose("experiment=multi_input", "mlflow.enabled=false"))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def normalize_overrides(overrides: Iterable[str]) -> list[str]:
    """``+experiment=NAME`` and ``experiment=NAME`` both select an experiment.

    The primary config lists ``experiment`` with no selection (so that ``experiment=NAME`` works,
    as the README writes it); Hydra then refuses ``+experiment=NAME``, the form its own docs teach
    and sigforge 0.1 used, as adding a group that is already there. Both mean the same here.
    """
    return [arg[1:] if arg.startswith("+experiment=") else arg for arg in overrides]


def compose(*overrides: str) -> dict[str, Any]:
    """The packaged config composed with ``overrides`` (command-line syntax), resolved."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from sigforge.config.schema import register_schema

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("sigforge.conf", version_base="1.3"):
        cfg = hydra_compose("config", overrides=normalize_overrides(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
