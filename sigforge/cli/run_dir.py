"""Hydra callback: the run's (or sweep's) output directory is checked before Hydra makes it.

Hydra makes ``hydra.run.dir`` (``hydra.sweep.dir`` for a sweep) before any sigforge code runs, and
a directory it cannot make (a read-only filesystem, ``outputs`` existing as a file, no permission)
ends in Hydra's own traceback. ``on_run_start`` / ``on_multirun_start`` come first, with the
composed config: the directory is resolved there (Hydra's ``now`` resolver caches its value, so it
is the directory Hydra makes next) and refused in one line naming the key. A run directory inside
the model directory is refused too: TF Serving would take a numbered one for a version.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sigforge.errors import exit_with


def output_dir_problem(key: str, value: str) -> str | None:
    """Why the directory ``value`` of ``key`` cannot be made and written, or None."""
    path = Path(value)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    what = "Hydra writes the run's log and config there"
    if not probe.is_dir():
        return f"{key} = '{value}': {probe} is a file, where a directory must go; {what}: name a directory."
    if not os.access(probe, os.W_OK | os.X_OK):
        return (
            f"{key} = '{value}': {probe} cannot be written by this user (a read-only filesystem, or its "
            f"permissions); {what}: point {key} at a writable directory."
        )
    return None


def inside_model_dir(key: str, value: str, config: Any) -> str | None:
    """A run directory inside ``export.base_dir/model.name``: TF Serving reads a numbered one as a version."""
    try:
        base, name = config.export.base_dir, config.model.name
    except Exception:  # an interpolation that does not resolve: sigforge's validation names it
        return None
    if not isinstance(base, str) or not isinstance(name, str) or not name:
        return None
    model_dir = Path(os.path.abspath(os.path.expanduser(base))) / name
    where = Path(os.path.abspath(value)).resolve()
    if where == model_dir.resolve() or model_dir.resolve() in where.parents:
        return (
            f"{key} = '{value}' is inside the model directory {model_dir}, where TF Serving takes every "
            f"numbered directory for a version; point {key} outside it."
        )
    return None


class OutputDirGuard(Callback):
    def on_run_start(self, config: Any, config_name: str | None = None, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: Any, config_name: str | None = None, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    def _check(self, config: Any, key: str) -> None:
        from omegaconf import OmegaConf

        try:
            value = str(OmegaConf.select(config, key, throw_on_resolution_failure=True))
        except Exception:  # Hydra reports what it cannot resolve itself
            return
        problem = output_dir_problem(key, value) or inside_model_dir(key, value, config)
        if problem:
            exit_with(problem, 2)
