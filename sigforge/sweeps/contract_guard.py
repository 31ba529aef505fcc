"""Hydra callback: refuse a sweep whose jobs would publish clashing contracts under one model name.

TF Serving serves the newest version of a model directory. If a sweep over ``naming.policy``
publishes ``multi_input/4`` with keys ``image, text`` and ``multi_input/5`` with ``input_image,
input_text``, every client breaks when job 5 lands, and with a parallel launcher the order is not
even fixed. Before any job runs, every job's config is composed and validated (no TensorFlow), its
expected contract computed, and jobs that share a model directory are compared both ways with the
rules of ``sigforge.contract.compat``. A clash is refused with the jobs, the differences and the advice to
give each job its own ``model.name``; ``export.allow_breaking=true`` lets it through.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sigforge.errors import ConfigError, SigforgeError, exit_for


class SweepContractGuard(Callback):
    def on_multirun_start(self, config: Any, config_name: str | None = None, **kwargs: Any) -> None:
        if config.export.dry_run or config.export.allow_breaking:
            return
        from omegaconf import OmegaConf

        # unresolved: an override such as 'model.name=m_${naming.policy}' must reach each job as typed
        overrides = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        try:
            check_sweep(config_name or "config", list(overrides))
        except SigforgeError as err:
            exit_for(err)


def job_overrides(task_overrides: list[str]) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper expands the command line: the cartesian product
    of every discrete sweep (``a=1,2``, ``choice(...)``, ``range(...)``), in command-line order.

    Built on the override parser's public API (``sweep_string_iterator``), not the sweeper's
    internals; a range or interval sweep is refused as the basic sweeper refuses it.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sigforge.config.compose import normalize_overrides

    axes: list[list[str]] = []
    for override in OverridesParser.create().parse_overrides(normalize_overrides(task_overrides)):
        key = override.get_key_element()
        if not override.is_sweep_override():
            axes.append([f"{key}={override.get_value_element_as_str()}"])
        elif override.is_discrete_sweep():
            axes.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            kind = override.value_type.name.lower().removesuffix("_sweep")  # Hydra's INTERVAL_SWEEP
            raise ConfigError(
                [
                    f"{override.input_line}: an {kind}() sweep needs a sweeper that samples it (e.g. "
                    "Optuna's); the basic sweeper expands only lists, choice() and range()."
                ]
            )
    return [list(job) for job in itertools.product(*axes)]


def swept_keys(task_overrides: list[str]) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(task_overrides)
    return [o.get_key_element() for o in parsed if o.is_sweep_override()]


def check_sweep(config_name: str, task_overrides: list[str]) -> None:
    """Raise BreakingChange when a job would break the version served now from its model directory,
    or two jobs would publish clashing contracts into one (``contract.gate`` decides, early: from
    each job's config, read from ``saved_model.pb``, no TensorFlow)."""
    from hydra import compose
    from omegaconf import OmegaConf

    from sigforge.config.validate import build_spec
    from sigforge.contract import gate
    from sigforge.contract.read import contract_to_dict, expected_contract, known_contract
    from sigforge.plugins.manager import load_plugins

    plugins: dict[tuple[str, ...], Any] = {}
    first_job: dict[Path, tuple[list[str], dict[str, Any]]] = {}
    swept = swept_keys(task_overrides)
    for overrides in job_overrides(task_overrides):
        cfg = OmegaConf.to_container(compose(config_name, overrides=overrides), resolve=True)
        modules = tuple((cfg.get("plugins") or {}).get("modules") or ())
        if modules not in plugins:
            plugins[modules] = load_plugins(list(modules))
        spec = build_spec(cfg, plugins[modules])
        if spec.allow_breaking:
            continue
        contract = contract_to_dict(expected_contract(spec))
        model_dir = spec.model_dir
        if model_dir not in first_job:
            known = contract_to_dict(known_contract(spec))
            gate.on_disk(model_dir, known, False, gate.Moment.EARLY, job=overrides).check()
            first_job[model_dir] = (overrides, contract)
            continue
        gate.between_jobs(
            spec.model.name, model_dir, first_job[model_dir], (overrides, contract), swept
        ).check()
