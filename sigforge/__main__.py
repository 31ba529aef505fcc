"""``python -m sigforge``: the Hydra app. A thin shell around sigforge.pipeline and sigforge.tracking.

Composition and type checks are Hydra's; everything after is a plain function of the composed
config. Errors sigforge raises are printed as one ``sigforge: ...`` message with a non-zero exit
(the traceback too when ``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from sigforge import TENSORFLOW_ENV_DEFAULTS
from sigforge.errors import SigforgeError
from sigforge.schema import register_schema

_STARTED = time.perf_counter()  # close to process start: the "compose" stage is measured from here
for _name, _value in TENSORFLOW_ENV_DEFAULTS.items():  # before anything imports TensorFlow
    os.environ.setdefault(_name, _value)
register_schema()


class Terminated(BaseException):
    """SIGTERM, raised where the export is so that the MLflow run can be marked KILLED."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated by signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. some launchers): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# Libraries' INFO lines that say nothing a user acts on (absl's "renamed ... resource" on every save,
# TensorFlow's "Assets written to", MLflow's database migration and "Created version"): the run
# prints its own stages instead. Their warnings and errors still show.
QUIET_LOGGERS = ("absl", "tensorflow", "mlflow", "alembic")


def export_from_config(cfg: DictConfig, output_dir: Path | None, overrides: tuple[str, ...] = ()) -> int:
    """Validate, then export and log to MLflow (or print the contract for ``export.dry_run=true``)."""
    import logging

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow resets its logger when imported
    from sigforge import pipeline
    from sigforge.progress import Progress

    progress = Progress()
    container = OmegaConf.to_container(cfg, resolve=True)
    spec, plugins = pipeline.prepare(container)
    if spec.dry_run:
        print(json.dumps(pipeline.dry_run_contract(spec), indent=2))
        return 0
    progress.done("compose", time.perf_counter() - _STARTED)
    with _sigterm_raises():
        return _export_and_log(container, spec, plugins, output_dir, overrides, progress)


def _export_and_log(
    container: dict[str, Any],
    spec: Any,
    plugins: Any,
    output_dir: Path | None,
    overrides: tuple[str, ...],
    progress: Any,
) -> int:
    from sigforge import pipeline
    from sigforge.summary import to_markdown

    cwd = Path.cwd()
    run = None
    tracking_error = None
    if spec.mlflow.enabled:
        from sigforge import tracking

        # Before TensorFlow is imported, a helper process imports MLflow and starts the run meanwhile.
        Run = tracking.BackgroundExportRun if "tensorflow" not in sys.modules else tracking.ExportRun
        run = Run(
            model_name=spec.model.name,
            experiment=spec.mlflow.experiment_name,
            tracking_uri=tracking.resolve_tracking_uri(spec.mlflow.tracking_uri, cwd),
            cwd=cwd,
            timeout=spec.mlflow.http_timeout,
            retries=spec.mlflow.http_retries,
            operation_timeout=spec.mlflow.operation_timeout,
        )
        try:
            run.start(
                tracking.flatten(container), tags={"sigforge.overrides": tracking.redact_overrides(overrides)}
            )
        except tracking.TrackingConfigError:
            raise
        except tracking.TrackingError as err:
            tracking_error, run = err, None

    def before_publish(contract: dict[str, Any]) -> None:
        """What MLflow would refuse stops the export here, so nothing is published: a run refused over
        the config, or a contract the registry refuses."""
        from sigforge import tracking

        error = run.start_error if run is not None else None
        if isinstance(error, tracking.TrackingConfigError):
            raise error
        if run is not None and error is None and spec.mlflow.registered_model_name:
            try:
                run.check_registration(
                    spec.mlflow.registered_model_name, contract, spec.mlflow.allow_breaking
                )
            except tracking.RegistrationRefused as refused:
                raise tracking.RegistrationRefused(f"{refused} Nothing was published.") from refused

    try:
        result = pipeline.run_export(
            spec,
            plugins,
            summary_dir=output_dir,
            progress=progress,
            before_publish=before_publish,
            mlflow_run_id=lambda: run.run_id if run is not None else None,
        )
    except (KeyboardInterrupt, Terminated) as err:
        if run is not None:
            run.fail(err, "KILLED")
        raise
    except BaseException as err:
        if run is not None:
            run.fail(err, "FAILED")
        raise
    print(to_markdown(result.summary), end="")
    print(f"sigforge: exported {spec.model.name} v{result.version} to {result.export_dir}")
    if run is not None and run.start_error is not None:
        tracking_error, run = run.start_error, None
    if run is not None:
        from sigforge import tracking

        try:
            with progress.stage("log"):
                run.finish(
                    result,
                    tracking.redacted_yaml(container),
                    examples={
                        name: {k: v[:1] for k, v in args.items()}
                        for name, args in result.report.inputs.items()
                    },
                    extra_metrics={"parameter_count": float(result.parameter_count)},
                    register_as=spec.mlflow.registered_model_name,
                    allow_breaking=spec.mlflow.allow_breaking,
                )
        except (KeyboardInterrupt, Terminated) as err:
            run.fail(err, "KILLED")
            raise
        print(f"sigforge: logged MLflow run {run.run_id} to {run.tracking_uri}")
    elif tracking_error is not None:
        raise type(tracking_error)(
            f"{tracking_error}. The verified export is kept at {result.export_dir}; log it later with "
            f"python -m sigforge.log {result.export_dir}"
        )
    return 0


@hydra.main(version_base="1.3", config_path="pkg://sigforge.conf", config_name="config")
def app(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    try:
        code = export_from_config(cfg, Path(hydra_cfg.runtime.output_dir), tuple(hydra_cfg.overrides.task))
    except SigforgeError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"sigforge: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except Terminated:
        print("sigforge: terminated (SIGTERM); the MLflow run, if any, is marked KILLED", file=sys.stderr)
        sys.exit(143)
    except KeyboardInterrupt:
        print("sigforge: interrupted (SIGINT); the MLflow run, if any, is marked KILLED", file=sys.stderr)
        sys.exit(130)
    if code:
        sys.exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
