"""``python -m sigforge``: the Hydra app. A thin shell around ``sigforge.pipeline``.

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
from sigforge.errors import SigforgeError, Terminated
from sigforge.schema import register_schema

_STARTED = time.perf_counter()  # close to process start: the "compose" stage is measured from here
for _name, _value in TENSORFLOW_ENV_DEFAULTS.items():  # before anything imports TensorFlow
    os.environ.setdefault(_name, _value)
register_schema()


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
    from sigforge.summary import to_markdown

    progress = Progress()
    container = OmegaConf.to_container(cfg, resolve=True)
    spec, plugins = pipeline.prepare(container)
    if spec.dry_run:
        print(json.dumps(pipeline.dry_run_contract(spec), indent=2))
        return 0
    progress.done("compose", time.perf_counter() - _STARTED)

    def published(result: pipeline.ExportResult) -> None:
        print(to_markdown(result.summary), end="")
        print(f"sigforge: exported {spec.model.name} v{result.version} to {result.export_dir}")

    with _sigterm_raises():
        result = pipeline.export_spec(
            spec,
            plugins,
            container,
            summary_dir=output_dir,
            overrides=overrides,
            progress=progress,
            on_published=published,
        )
    if result.mlflow_run_id is not None and result.mlflow_tracking_uri is not None:
        print(f"sigforge: logged MLflow run {result.mlflow_run_id} to {result.mlflow_tracking_uri}")
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
