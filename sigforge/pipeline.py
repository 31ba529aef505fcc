"""One export, stage by stage: spec -> model -> signatures -> staged write -> verify -> publish -> summary.

Each stage takes what the previous one returned. TensorFlow is imported only after the spec is
valid and the export is not a dry run, so a wrong config never pays for it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigforge.config.validate import build_spec
from sigforge.contract.compat import guard_version, verdict
from sigforge.contract.features import example_features
from sigforge.contract.read import contract_to_dict, expected_contract, known_contract
from sigforge.errors import ConfigError, ExportError, PluginError, one_line
from sigforge.plugins.manager import Plugins, call_with_params, load_plugins
from sigforge.report.progress import Progress, Silent
from sigforge.report.summary import build_summary, client_files, write_summary
from sigforge.spec import ExportSpec

log = logging.getLogger("sigforge")


@dataclass
class ExportResult:
    """A published export: handed to ``export_finished`` hooks and to the MLflow stage."""

    export_dir: Path
    version: int
    spec: ExportSpec
    report: Any
    summary: dict[str, Any]
    summary_files: tuple[Path, ...] = ()
    # relative path -> bytes: request files (from verification's inputs) and the signature card
    client_files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    parameter_count: int = 0
    mlflow_run_id: str | None = None  # the MLflow run that logs this export (None without MLflow)
    mlflow_tracking_uri: str | None = None  # where that run is (set once it is logged)
    mlflow_model_uri: str | None = None  # models:/<model_id>, the LoggedModel (set once it is logged)
    registered_version: str | None = None  # models:/<name>/<version> when mlflow.registered_model_name is set
    published: bool = True  # False: the newest version already served this byte for byte


def dry_run_contract(spec: ExportSpec) -> dict[str, Any]:
    """The contract an export would write, from the spec alone (no TensorFlow)."""
    summary = build_summary(
        contract_to_dict(expected_contract(spec)),
        model=spec.model.name,
        dry_run=True,
        example_features=example_features(spec) or None,
    )
    model_dir = spec.base_dir / spec.model.name
    summary["compatibility"] = verdict(model_dir, contract_to_dict(known_contract(spec)))
    summary["compatibility"]["allowed"] = not summary["compatibility"]["breaking"] or spec.allow_breaking
    for sig in spec.signatures:
        preprocessed = sorted(n for n in sig.inputs if spec.input[n].preprocess)
        if preprocessed:
            summary["signatures"][sig.name]["note"] = (
                f"client dtype/shape of {', '.join(preprocessed)} is set by its preprocessors"
            )
    return summary


def weights_origin(spec: ExportSpec) -> str:
    """Where the exported weights come from: ``source:<path>``, ``file:<path>`` or ``random-init``."""
    if spec.model.source is not None:
        return f"source:{spec.model.source}"
    if spec.model.weights is not None:
        return f"file:{spec.model.weights}"
    return "random-init"


def export(config: Mapping[str, Any], *, cwd: Path | None = None, **options: Any) -> ExportResult:
    """The whole export of a composed config (a plain mapping, e.g. ``sigforge.config.compose.compose(...)``),
    as ``python -m sigforge`` runs it: validate, export, publish, and log to MLflow unless
    ``mlflow.enabled`` is false. ``options``: those of ``export_spec``."""
    spec, plugins = prepare(config, cwd=cwd)
    if spec.dry_run:
        raise ConfigError(
            [
                "export.dry_run = true writes nothing, so there is no export to return: call "
                "sigforge.pipeline.dry_run_contract(spec) for the contract, or set export.dry_run=false."
            ]
        )
    return export_spec(spec, plugins, config, cwd=cwd, **options)


def export_spec(
    spec: ExportSpec,
    plugins: Plugins,
    config: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    summary_dir: Path | None = None,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
    on_published: Callable[[ExportResult], None] | None = None,
) -> ExportResult:
    """``run_export`` inside the export's MLflow run, which this function owns from start to end.

    The run starts first (before TensorFlow is imported), may refuse the version before it is
    published, and ends FINISHED, FAILED or KILLED. ``on_published(result)`` runs between
    publishing and logging (the CLI prints the summary there)."""
    from sigforge.tracking.lifecycle import ExportTracking

    progress = progress or Silent()
    tracking = ExportTracking(spec, config, Path(cwd or Path.cwd()))
    with tracking.owning():
        tracking.start(overrides)
        result = run_export(
            spec,
            plugins,
            summary_dir=summary_dir,
            progress=progress,
            before_publish=tracking.before_publish,
            mlflow_run_id=lambda: tracking.run_id,
        )
        if on_published is not None:
            on_published(result)
        with progress.stage("log") if tracking.run is not None else contextlib.nullcontext():
            tracking.finish(result)
    result.mlflow_tracking_uri = tracking.tracking_uri
    return result


def prepare(cfg: Mapping[str, Any], *, cwd: Path | None = None) -> tuple[ExportSpec, Plugins]:
    """Load plugins (built-ins, entry points, ``plugins.modules``) and validate the config."""
    modules = list((cfg.get("plugins") or {}).get("modules") or [])
    plugins = load_plugins(modules)
    return build_spec(cfg, plugins, cwd=cwd), plugins


def build_model(spec: ExportSpec) -> Any:
    """The model to export: a trained `model.source`, or the registered builder's model with `model.weights`."""
    if spec.model.source is not None:
        from sigforge.export.source_model import load_source

        return load_source(spec)
    if spec.model.weights is None:
        log.warning(
            "model.weights is not set: %s is exported with untrained, randomly initialised weights "
            "(recorded as weights: random-init). Set model.weights=<file> or model.source=<trained model>.",
            spec.model.name,
        )
    builder = spec.model.builder
    assert builder is not None, "a spec without model.source has its builder resolved"
    model = call_with_params(
        builder,
        f"model builder '{spec.model.architecture}'",
        spec.model,
        spec.inputs,
        params=spec.model.params,
        old_form="builder(model_cfg, inputs) reading model_cfg.<param>",
    )
    if not callable(model) or not hasattr(model, "variables"):
        raise PluginError(
            f"plugin '{builder.plugin}': model builder '{spec.model.architecture}' returned "
            f"{type(model).__name__}, not a model; return a keras.Model that takes a dict of the inputs by "
            "name and returns a dict of outputs."
        )
    if spec.model.weights is not None:
        try:
            with warnings.catch_warnings():  # Keras warns per mismatched layer, with tensor values
                warnings.simplefilter("ignore")
                model.load_weights(str(spec.model.weights))
        except Exception as err:
            raise ExportError(
                f"model.weights = '{spec.model.weights}' cannot be loaded into model "
                f"'{spec.model.architecture}': {type(err).__name__}: {one_line(err)}. Give weights saved from "
                "the same architecture and inputs (model.save_weights('x.weights.h5'))."
            ) from err
    return model


@contextlib.contextmanager
def _frozen_gc() -> Iterator[None]:
    """Freeze what exists before the export, so collecting the export's garbage (the released
    in-memory model, before verification reloads the SavedModel) scans only the export's objects:
    milliseconds instead of a full pass over TensorFlow's and Keras's module state."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_export(
    spec: ExportSpec,
    plugins: Plugins,
    *,
    summary_dir: Path | None = None,
    progress: Progress | None = None,
    before_publish: Callable[[dict[str, Any]], None] | None = None,
    mlflow_run_id: Callable[[], str | None] | None = None,
) -> ExportResult:
    """Build, write, verify and publish one version; nothing numbered appears unless all of it worked.

    ``before_publish(contract)`` runs after verification, just before the version is published: a
    last chance to refuse it (the MLflow stage raises there when the run could not start for a
    reason in the config, or when the registry would refuse the contract). ``mlflow_run_id()`` gives
    the run that will log the export, for ``export_finished`` hooks."""
    from sigforge.export import versions
    from sigforge.export.saved_model import write_saved_model

    progress = progress or Silent()
    timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        tick = time.perf_counter()
        with progress.stage(name):
            yield
        timings[f"{name}_seconds"] = time.perf_counter() - tick

    model_dir = versions.prepare_model_dir(spec.base_dir, spec.model.name)
    # Refused here, before TensorFlow is imported, when the config alone shows the break; the
    # guard at publish time judges the written contract in full.
    guard_version(model_dir, contract_to_dict(known_contract(spec)), spec.allow_breaking)
    target = spec.summary_dir or summary_dir
    if target is not None:
        key = "export.summary_dir" if spec.summary_dir else "the run directory (hydra.run.dir)"
        versions.prepare_summary_dir(target, key)
    with _frozen_gc():
        with stage("build"):
            model = build_model(spec)
        with stage("trace"):
            from sigforge.export.signatures import build_serving_plan

            plan = build_serving_plan(model, spec)
        with versions.staging(model_dir) as staged:
            with stage("write"):
                write_saved_model(plan, staged, {s.name: s.method_name for s in spec.signatures})
            with stage("verify"):
                from sigforge.verify.checks import verify
                from sigforge.verify.inputs import reference_calls

                references = reference_calls(spec, plan)
                if spec.warmup:
                    from sigforge.export.warmup import write_warmup

                    write_warmup(
                        staged,
                        spec.model.name,
                        {s.name: s.method_name for s in spec.signatures},
                        {
                            name: {k: v.numpy() for k, v in ref.inputs.items()}
                            for name, ref in references.items()
                        },
                    )
                    versions.no_world_write(staged)
                client_specs = plan.client_specs
                parameter_count = int(model.count_params())
                del model, plan  # the reload below must not sit beside a second copy of the weights
                gc.collect()  # Keras models are reference cycles; cheap under _frozen_gc
                report = verify(staged, spec, client_specs, references)
            with stage("publish"):
                if before_publish is not None:
                    before_publish(report.contract)
                compatibility = verdict(model_dir, report.contract)  # against the version served until now
                same = None
                if not spec.publish_identical and spec.version is None:
                    same = versions.identical_version(model_dir, staged)
                if same is not None:
                    version, export_dir = same
                    log.info(
                        "%s v%d already serves this export byte for byte: nothing published "
                        "(export.publish_identical=true publishes a new version anyway)",
                        spec.model.name,
                        version,
                    )
                else:
                    version, export_dir = versions.publish(
                        staged,
                        model_dir,
                        spec.version,
                        check=lambda: guard_version(model_dir, report.contract, spec.allow_breaking),
                    )
    summary = build_summary(
        report.contract,
        model=spec.model.name,
        version=version,
        export_dir=str(export_dir),
        weights=weights_origin(spec),
        binary_inputs=report.binary_inputs(),
        example_features=example_features(spec) or None,
        warmup=spec.warmup,
        compatibility=compatibility,
        published=False if same is not None else None,  # only said when nothing was published
    )
    kit = client_files(summary, report.inputs)
    files: tuple[Path, ...] = ()
    if target is not None:
        try:
            files = write_summary(summary, target, kit)
        except OSError as err:
            raise ExportError(
                f"{export_dir} is published, but writing its summary to {target} failed ({err.strerror}); "
                f"free space there, then rebuild it with sigforge inspect {export_dir}."
            ) from err
    result = ExportResult(export_dir, version, spec, report, summary, files, kit, timings, parameter_count)
    result.published = same is None
    result.mlflow_run_id = mlflow_run_id() if mlflow_run_id is not None else None
    for failure in plugins.export_finished(result):
        log.warning("%s", failure)
    return result
