"""One export, stage by stage: spec -> model -> signatures -> staged write -> verify -> publish -> summary.

Each stage takes what the previous one returned. TensorFlow is imported only after the spec is
valid and the export is not a dry run, so a wrong config never pays for it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sigforge import errors
from sigforge.config.validate import build_spec
from sigforge.contract import gate
from sigforge.contract.gate import Moment
from sigforge.contract.read import contract_to_dict, expected_contract, known_contract
from sigforge.errors import ConfigError, ContractRefused, ExportError, out_of_memory
from sigforge.export.build import build_model, weights_origin
from sigforge.plugins.manager import Plugins, load_plugins
from sigforge.report.progress import Progress, Silent
from sigforge.report.summary import build_summary, client_files, write_summary
from sigforge.spec import ExportSpec
from sigforge.verify.result import ExportResult

__all__ = ["ExportResult", "dry_run_contract", "export", "export_spec", "prepare", "run_export"]

log = logging.getLogger("sigforge")


def dry_run_contract(spec: ExportSpec, cwd: Path | None = None) -> dict[str, Any]:
    """The contract an export would write, from the spec alone (no TensorFlow), and how it compares
    with the newest version on disk and, with ``mlflow.registered_model_name``, with the
    registry's latest version (which imports MLflow, read only)."""
    summary = build_summary(
        contract_to_dict(expected_contract(spec)),
        model=spec.model.name,
        dry_run=True,
    )
    model_dir = spec.model_dir
    known = contract_to_dict(known_contract(spec))
    on_disk_now = gate.on_disk(model_dir, known, spec.allow_breaking, Moment.DRY_RUN)
    summary["compatibility"] = {**on_disk_now.as_dict(), "allowed": on_disk_now.allowed}
    if spec.mlflow.enabled and spec.mlflow.registered_model_name:
        from sigforge.tracking.bounded import bounded
        from sigforge.tracking.registry import registry_verdict
        from sigforge.tracking.store import resolve_tracking_uri

        uri = resolve_tracking_uri(spec.mlflow.tracking_uri, Path(cwd or Path.cwd()), create=False)
        summary["registry"] = bounded(
            spec.mlflow.operation_timeout,
            "reading the registry",
            uri,
            registry_verdict,
            uri,
            spec.mlflow.registered_model_name,
            known,
            spec.mlflow.allow_breaking,
        )
    for sig in spec.signatures:
        preprocessed = sorted(n for n in sig.inputs if spec.input[n].preprocess)
        if preprocessed:
            summary["signatures"][sig.name]["note"] = (
                f"client dtype/shape of {', '.join(preprocessed)} is set by its preprocessors"
            )
    return summary


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
    on_refused: Callable[[ContractRefused], None] | None = None,
    interrupt: bool = False,
) -> ExportResult:
    """``run_export`` inside the export's MLflow run, which this function owns from start to end.

    The run starts first (before TensorFlow is imported), may refuse the version before it is
    published, and ends FINISHED, FAILED or KILLED. ``on_published(result)`` runs between
    publishing and logging (the CLI prints the summary there); ``on_refused(error)`` as soon as a
    contract is refused, before MLflow records the refused run (the CLI prints the refusal there).
    ``interrupt``: the process ends with this export (the CLI), so a registry refusal may stop it
    by signal mid-import."""
    from sigforge.tracking.lifecycle import ExportTracking
    from sigforge.tracking.serving_labels import card_labels

    progress = progress or Silent()
    tracking = ExportTracking(spec, config, Path(cwd or Path.cwd()), on_refused=on_refused)
    with tracking.owning():
        tracking.start(overrides, interrupt, refused=_refused_on_disk(spec))
        result = run_export(
            spec,
            plugins,
            summary_dir=summary_dir,
            progress=progress,
            before_publish=tracking.before_publish,
            mlflow_run_id=lambda: tracking.run_id,
            labels=card_labels(spec, tracking),
        )
        if on_published is not None:
            on_published(result)
        with progress.stage("log") if tracking.run is not None else contextlib.nullcontext():
            logged = tracking.finish(result)
    return replace(
        result,
        mlflow_tracking_uri=tracking.tracking_uri,
        mlflow_model_uri=logged.model_uri if logged is not None else None,
        registered_version=logged.registered if logged is not None else None,
    )


def _refused_on_disk(spec: ExportSpec) -> ContractRefused | None:
    """``run_export``'s first guard, asked before the run starts so that the run can record the
    refusal at once, before the imports the logging helper would share with TensorFlow's. Any
    other failure is left to ``run_export``, which raises it where it always has."""
    model_dir = spec.model_dir
    if not spec.mlflow.enabled:  # without a run, run_export refuses it
        return None
    try:
        refused = gate.on_disk(
            model_dir, contract_to_dict(known_contract(spec)), spec.allow_breaking, Moment.EARLY
        )
    except Exception:  # an unreadable version, a directory that cannot be listed: run_export says so
        return None
    return refused.refusal


def prepare(cfg: Mapping[str, Any], *, cwd: Path | None = None) -> tuple[ExportSpec, Plugins]:
    """Load plugins (built-ins, entry points, ``plugins.modules``) and validate the config."""
    modules = list((cfg.get("plugins") or {}).get("modules") or [])
    plugins = load_plugins(modules)
    return build_spec(cfg, plugins, cwd=cwd), plugins


@contextlib.contextmanager
def _frozen_gc() -> Iterator[None]:
    """Collecting the export's garbage scans only its objects, not TensorFlow's and Keras's modules."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Stages:
    """Each stage under the progress display, its duration kept as ``<stage>_seconds``."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.timings = progress, {}
        errors.forget_signals()  # this export's signals only

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        try:
            with self.progress.stage(name) as timed:  # the progress display's clock, the one clock
                yield
            errors.reraise_swallowed_signal()
        except MemoryError as err:  # a model too large for the process's memory limit
            raise ExportError(out_of_memory(f"the {name} stage")) from err
        self.timings[f"{name}_seconds"] = timed.seconds


@dataclass(frozen=True)
class _Published:
    version: int
    export_dir: Path
    identical: bool  # the newest version already served this byte for byte: nothing was published
    compatibility: dict[str, Any]  # against the version served until now


def run_export(
    spec: ExportSpec,
    plugins: Plugins,
    *,
    summary_dir: Path | None = None,
    progress: Progress | None = None,
    before_publish: Callable[[dict[str, Any]], None] | None = None,
    mlflow_run_id: Callable[[], str | None] | None = None,
    labels: Callable[[Path], Mapping[str, int]] | None = None,
) -> ExportResult:
    """Build, write, verify and publish one version; nothing numbered appears unless all of it worked.

    ``before_publish(contract)`` runs after verification, just before the version is published: a
    last chance to refuse it (the MLflow stage raises there when the run could not start for a
    reason in the config, or when the registry would refuse the contract). ``mlflow_run_id()`` gives
    the run that will log the export, for ``export_finished`` hooks. ``labels(model_dir)``: its TF
    Serving version labels, named on the card and in the request files."""
    from sigforge.export import versions

    stage = _Stages(progress or Silent())
    model_dir = versions.prepare_model_dir(spec.base_dir, spec.model.name)
    # Refused here, before TensorFlow is imported, when the config alone shows the break; the
    # guard at publish time judges the written contract in full.
    gate.on_disk(model_dir, contract_to_dict(known_contract(spec)), spec.allow_breaking, Moment.EARLY).check()
    target = spec.summary_dir or summary_dir
    if target is not None:
        key = "export.summary_dir" if spec.summary_dir else "the run directory (hydra.run.dir)"
        versions.prepare_summary_dir(target, key, model_dir)
    with (
        _frozen_gc(),
        _verified_staging(spec, model_dir, stage) as (staged, report, parameter_count),
        stage("publish"),
    ):
        if before_publish is not None:
            before_publish(report.contract)
        published = _publish(spec, model_dir, staged, report.contract)
    summary = _summary(spec, report, published)
    if found := labels(model_dir) if labels is not None else None:
        summary["labels"] = dict(found)
    for_clients = client_files(summary, report.inputs)
    files = (
        _write_summary_files(summary, target, for_clients, published.export_dir) if target is not None else ()
    )
    result = ExportResult(
        export_dir=published.export_dir,
        version=published.version,
        spec=spec,
        report=report,
        summary=summary,
        summary_files=files,
        client_files=for_clients,
        timings=stage.timings,
        parameter_count=parameter_count,
        published=not published.identical,
        mlflow_run_id=mlflow_run_id() if mlflow_run_id is not None else None,
    )
    for failure in plugins.export_finished(result):
        log.warning("%s", failure)
    return result


def _summary(spec: ExportSpec, report: Any, published: _Published) -> dict[str, Any]:
    return build_summary(
        report.contract,
        model=spec.model.name,
        version=published.version,
        export_dir=str(published.export_dir),
        weights=weights_origin(spec),
        binary_inputs=report.binary_inputs(),
        other_runtimes=report.runtime_blockers or None,
        warmup=spec.warmup,
        compatibility=published.compatibility,
        published=False if published.identical else None,  # only said when nothing was published
    )


@contextlib.contextmanager
def _verified_staging(spec: ExportSpec, model_dir: Path, stage: _Stages) -> Iterator[tuple[Path, Any, int]]:
    """Build and trace the model, write it into a staging directory and verify it there; yields
    ``(staged, report, parameter_count)``. The in-memory model is released before verification
    reloads the SavedModel, so two copies of the weights never sit side by side."""
    from sigforge.export import versions
    from sigforge.export.saved_model import write_saved_model
    from sigforge.export.signatures import build_serving_plan
    from sigforge.verify.checks import verify
    from sigforge.verify.inputs import reference_calls

    with stage("build"):
        model = build_model(spec)
    with stage("trace"):
        plan = build_serving_plan(model, spec)
    methods = {s.name: s.method_name for s in spec.signatures}
    with versions.staging(model_dir) as staged:
        with stage("write"):
            write_saved_model(plan, staged, methods)
        with stage("verify"):
            references = reference_calls(spec, plan)
            if spec.warmup:
                _write_warmup(spec, staged, methods, references)
            client_specs = plan.client_specs
            parameter_count = int(model.count_params())
            del model, plan  # the reload below must not sit beside a second copy of the weights
            gc.collect()  # Keras models are reference cycles; cheap under _frozen_gc
            report = verify(staged, spec, client_specs, references)
        yield staged, report, parameter_count


def _write_warmup(
    spec: ExportSpec, staged: Path, methods: Mapping[str, str], references: Mapping[str, Any]
) -> None:
    """TF Serving's warmup file, from the inputs verification sends (one request per signature)."""
    from sigforge.export import versions
    from sigforge.export.warmup import write_warmup

    inputs = {name: {k: v.numpy() for k, v in ref.inputs.items()} for name, ref in references.items()}
    write_warmup(staged, spec.model.name, methods, inputs)
    versions.no_world_write(staged)


def _publish(spec: ExportSpec, model_dir: Path, staged: Path, contract: Mapping[str, Any]) -> _Published:
    """Publish the verified staging directory as the next version (or ``export.version``), unless
    the newest version already is this export byte for byte (then nothing new is published)."""
    from sigforge.export import versions

    same = None
    if not spec.publish_identical and spec.version is None:
        same = versions.identical_version(model_dir, staged)
    if same is not None:
        compatibility = gate.on_disk(model_dir, contract, spec.allow_breaking, Moment.FINAL).as_dict()
        log.info(
            "%s v%d already serves this export byte for byte: nothing published "
            "(export.publish_identical=true publishes a new version anyway)",
            spec.model.name,
            same[0],
        )
        return _Published(same[0], same[1], True, compatibility)
    final: list[gate.Verdict] = []  # the gate's last word, asked just before each rename attempt

    def check() -> None:
        final.append(gate.on_disk(model_dir, contract, spec.allow_breaking, Moment.FINAL).check())

    version, export_dir = versions.publish(staged, model_dir, spec.version, check=check)
    return _Published(version, export_dir, False, final[-1].as_dict())


def _write_summary_files(
    summary: Mapping[str, Any], target: Path, for_clients: Mapping[str, bytes], export_dir: Path
) -> tuple[Path, ...]:
    try:
        return write_summary(summary, target, for_clients)
    except OSError as err:
        raise ExportError(
            f"{export_dir} is published, but writing its summary to {target} failed ({err.strerror}); "
            f"free space there, then rebuild it with sigforge inspect {export_dir}."
        ) from err
