"""From a composed config to a validated ExportSpec: plain Python, no TensorFlow.

Everything that can be known about an export without building a graph is decided here: which
inputs exist, what each signature takes and returns, the key every client sends (through the
naming policy plugins), and whether TensorFlow, TF Serving and MLflow would take it. A wrong config
is refused in about a second. Problems are collected and reported together in two rounds: first
every value of the config, then the naming policies' keys and the plugins' ``validate_signature``
checks, which need a well-formed spec to run.

Each config group has its own module: ``validate_model``, ``validate_inputs``,
``validate_signatures``; ``naming`` resolves the keys. Defaults come from ``sigforge.config.schema`` only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge.config.inputs import inputs_spec
from sigforge.config.model import model_spec
from sigforge.config.naming import resolve_keys
from sigforge.config.schema import with_defaults
from sigforge.config.signatures import signature_specs
from sigforge.errors import ConfigError, Problems
from sigforge.plugins.manager import Plugins
from sigforge.rules import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_VERSION,
    REGISTERED_NAME_PATTERN,
    VERIFIED_TARGETS,
    full_name,
    tracking_uri_problem,
)
from sigforge.spec import ExportSpec, MlflowSpec


def build_spec(cfg: Mapping[str, Any], plugins: Plugins, *, cwd: Path | None = None) -> ExportSpec:
    """Validate a composed config (a plain mapping, partial or whole) into an ExportSpec, or raise
    ConfigError listing every problem found."""
    cwd = Path(cwd or os.getcwd())
    cfg = with_defaults(cfg)
    problems = Problems()
    model = model_spec(cfg["model"], plugins, cwd, problems)
    inputs = inputs_spec(cfg["inputs"], plugins, problems)
    naming = cfg["naming"]
    if naming["policy"] not in plugins.naming_policies:
        problems.append(plugins.naming_policies.unknown(naming["policy"], "naming.policy"))
    signatures = signature_specs(cfg["signatures"], inputs, model, naming, problems)
    export = cfg["export"]
    base_dir = Path(os.path.expanduser(export["base_dir"]))
    version = export["version"]
    problems.check(
        version is None or 0 < version <= MAX_VERSION,
        f"export.version = {version!r} must be a positive integer up to {MAX_VERSION} (TF Serving reads "
        "versions as int64), or null for the next free version.",
    )
    mlflow = _mlflow(cfg["mlflow"], model.name, problems)
    targets = _targets(export["targets"], problems)
    if problems:
        raise ConfigError(problems)

    policy = plugins.naming_policies.get(naming["policy"], "naming.policy")
    signatures = tuple(resolve_keys(s, inputs, policy, naming, problems) for s in signatures)
    for signature in signatures:
        problems += plugins.validate_signature(signature)
    if problems:
        raise ConfigError(problems)
    return ExportSpec(
        model=model,
        inputs=tuple(inputs.values()),
        signatures=signatures,
        base_dir=base_dir if base_dir.is_absolute() else cwd / base_dir,
        version=version,
        dry_run=export["dry_run"],
        summary_dir=Path(export["summary_dir"]) if export["summary_dir"] else None,
        warmup=export["warmup"],
        allow_breaking=export["allow_breaking"],
        publish_identical=export["publish_identical"],
        targets=targets,
        mlflow=mlflow,
    )


def _targets(listed: Any, problems: Problems) -> tuple[str, ...]:
    """``export.targets``: runtimes verification also converts the export to and runs."""
    targets = [str(t) for t in (listed or [])]
    for i, target in enumerate(targets):
        problems.check(
            target in VERIFIED_TARGETS,
            f"export.targets[{i}] = {target!r} is not a runtime sigforge converts to and checks; it can: "
            f"{', '.join(VERIFIED_TARGETS)}. (Whether TF.js can run each signature is "
            "reported in the summary's other_runtimes either way.)",
        )
    return tuple(dict.fromkeys(targets))


SWEEP_EXPERIMENT_ENV = "SIGFORGE_SWEEP_EXPERIMENT"  # set by the sweep's parent run for its jobs


def configured_experiment(cfg: Mapping[str, Any]) -> tuple[str, str | None]:
    """Where the experiment's name comes from, and the name: ``mlflow.experiment_name`` wins over
    ``MLFLOW_EXPERIMENT_NAME``, which wins over the sweep's own experiment (a sweep's jobs join
    their parent run, whatever each job's model.name); None means the model's name. The sweep's
    parent run asks here first, before it sets the sweep's experiment."""
    if cfg["experiment_name"] is None and os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        return "MLFLOW_EXPERIMENT_NAME (environment)", os.environ["MLFLOW_EXPERIMENT_NAME"]
    if cfg["experiment_name"] is None and os.environ.get(SWEEP_EXPERIMENT_ENV):
        return "the sweep's experiment (its parent run's)", os.environ[SWEEP_EXPERIMENT_ENV]
    return "mlflow.experiment_name", cfg["experiment_name"]


def _mlflow(cfg: Mapping[str, Any], model_name: str, problems: Problems) -> MlflowSpec:
    """The MLflow settings, checked before the export so that a typo never surfaces after publishing.
    The config wins over the environment (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``)."""
    tracking_uri = cfg["tracking_uri"]
    if tracking_uri is not None:
        problem = tracking_uri_problem(tracking_uri, "mlflow.tracking_uri")
        problems.check(problem is None, problem or "")
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        problem = tracking_uri_problem(os.environ["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI (environment)")
        problems.check(problem is None, problem or "")
    for key, least in (("operation_timeout", 1), ("http_timeout", 1), ("http_retries", 0)):
        problems.check(
            cfg[key] >= least,
            f"mlflow.{key} = {cfg[key]!r} must be an integer >= {least}"
            + (" (seconds)." if key.endswith("timeout") else "."),
        )
    experiment_key, experiment_name = configured_experiment(cfg)
    problems.check(
        experiment_name is None or experiment_name.strip() != "",
        f"{experiment_key} = {experiment_name!r} must be a non-empty name, or null for model.name.",
    )
    problems.check(
        experiment_name is None or len(experiment_name) <= MAX_EXPERIMENT_NAME_LENGTH,
        f"{experiment_key} is {len(str(experiment_name))} characters long; MLflow takes at most "
        f"{MAX_EXPERIMENT_NAME_LENGTH}: use a shorter name.",
    )
    registered = cfg["registered_model_name"]
    problems.check(
        registered is None
        or (registered.strip() == registered and full_name(REGISTERED_NAME_PATTERN, registered)),
        f"mlflow.registered_model_name = {registered!r} must be a plain name (letters, digits, '_', '-', '.', "
        "inner spaces), or null not to register.",
    )
    return MlflowSpec(
        enabled=cfg["enabled"],
        tracking_uri=tracking_uri,
        experiment_name=experiment_name or model_name,
        registered_model_name=registered,
        allow_breaking=cfg["allow_breaking"],
        http_timeout=cfg["http_timeout"],
        http_retries=cfg["http_retries"],
        operation_timeout=cfg["operation_timeout"],
    )
