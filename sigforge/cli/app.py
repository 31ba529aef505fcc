"""``sigforge [OVERRIDES]``: the Hydra app. A thin shell around ``sigforge.pipeline``.

Composition and type checks are Hydra's; everything after is a plain function of the composed
config. Errors sigforge raises are printed as one ``sigforge: ...`` message with a non-zero exit
(the traceback too when ``HYDRA_FULL_ERROR=1``).

Streams: stdout carries what a script reads (the signature summary, then one JSON line with the
export directory, version, MLflow run and tracking URI); progress, logs and errors go to stderr.
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
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from sigforge import TENSORFLOW_ENV_DEFAULTS
from sigforge.cli.exits import end_process, quiet_broken_pipe, say_lost_stdout, write_out
from sigforge.cli.lean_imports import block_keras_extras
from sigforge.config import yaml_guard
from sigforge.config.compose import normalize_overrides
from sigforge.config.schema import register_schema
from sigforge.errors import (
    ConfigError,
    ContractRefused,
    SigforgeError,
    Terminated,
    TrackingError,
    exit_for,
    exit_with,
    forget_signals,
    out_of_memory,
    raise_for_signal,
    run_outcome,
    tell,
    without_credentials,
)

_STARTED = time.perf_counter()  # close to process start: the "compose" stage is measured from here

if TYPE_CHECKING:
    from sigforge import pipeline


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal, a killed session) end the export like Ctrl-C does.
    Each of the three is remembered as it is raised (``errors.raise_for_signal``)."""

    def handler(signum: int, frame: Any) -> None:
        raise_for_signal(KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum))

    forget_signals()
    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread (e.g. some launchers): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


# Libraries' INFO lines that say nothing a user acts on (absl's "renamed ... resource" on every save,
# TensorFlow's "Assets written to", MLflow's database migration and "Created version"): the run
# prints its own stages instead. Their warnings and errors still show.
QUIET_LOGGERS = ("absl", "tensorflow", "mlflow", "alembic")


def export_from_config(
    cfg: DictConfig,
    output_dir: Path | None,
    overrides: tuple[str, ...] = (),
    cwd: Path | None = None,
    refusals: Refusals | None = None,
) -> int:
    """Validate, then export and log to MLflow (or print the contract for ``export.dry_run=true``).

    ``cwd``: where the command was run. Relative paths (``export.base_dir``, ``model.weights``, the
    default MLflow store) resolve there even under ``hydra.job.chdir=true``, which moves each job
    into its run directory: otherwise every export would be a fresh v1 beside its run log and the
    contract guard would never see the version before it."""
    import logging

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow resets its logger when imported
    from sigforge import pipeline
    from sigforge.report.progress import Progress

    progress = Progress()
    container = resolved(cfg)
    from sigforge.tracking.params import without_environment

    # What MLflow logs: the config without values taken from the environment (tokens, whatever the key).
    logged = without_environment(container, OmegaConf.to_container(cfg, resolve=False))
    spec, plugins = pipeline.prepare(container, cwd=cwd)
    if spec.dry_run:
        write_out(json.dumps(pipeline.dry_run_contract(spec, cwd), indent=2))
        return 0
    progress.done("compose", time.perf_counter() - _STARTED)
    block_keras_extras()  # this process ends with the export: Keras's optional imports are waste here

    with _sigterm_raises():
        result = pipeline.export_spec(
            spec,
            plugins,
            logged,
            cwd=cwd,
            summary_dir=output_dir,
            overrides=overrides,
            progress=progress,
            on_published=_print_published,
            on_refused=(refusals or Refusals()).print,
            interrupt=True,
        )
    uri = without_credentials(result.mlflow_tracking_uri) if result.mlflow_tracking_uri else None
    if result.mlflow_run_id is not None and uri is not None:
        tell(f"logged MLflow run {result.mlflow_run_id} to {uri}")
    write_out(json.dumps(result_line(result, uri)))
    return 0


def resolved(cfg: DictConfig) -> dict[str, Any]:
    """The config with every interpolation resolved; one that does not resolve (``${nope}``, a
    missing ``${oc.env:VAR}``) is refused naming its key and what it says."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = str(getattr(err, "full_key", "") or "")
        raw: Any = OmegaConf.to_container(cfg, resolve=False)
        for part in key.split(".") if key else ():
            raw = raw.get(part) if isinstance(raw, dict) else None
        where = f"{key} = {raw!r}" if key and isinstance(raw, str) else (key or "a config value")
        reason = str(getattr(err, "msg", "") or err).splitlines()[0]
        raise ConfigError(
            [f"{where} cannot be resolved: {reason}. Fix the interpolation, or set a plain value."]
        ) from err


_PUBLISHED: list[Any] = []  # the published export, once it is: its line is printed even if MLflow fails


def _print_published(result: Any) -> None:
    """The summary on stdout as soon as the version is published (before MLflow logs it), and
    one line on stderr saying what was published."""
    from sigforge.report.summary import to_markdown

    _PUBLISHED[:] = [result]
    write_out(to_markdown(result.summary), end="")
    name = result.spec.model.name
    if result.published:
        tell(f"exported {name} v{result.version} to {result.export_dir}")
    else:
        tell(
            f"{name} v{result.version} ({result.export_dir}) already serves this export byte for byte; "
            "nothing published (export.publish_identical=true publishes it anyway)"
        )


class Refusals:
    """The refusals this command has printed as soon as they were decided (``export_spec``'s
    ``on_refused``), so that the exit does not print them a second time."""

    def __init__(self) -> None:
        self._told: list[ContractRefused] = []

    def print(self, err: ContractRefused) -> None:
        """The refusal as soon as it is known; the process ends once MLflow has recorded the refused
        run (importing MLflow and opening its store take a new process about 2 s)."""
        tell(str(err))
        tell("recording the refused export's run in MLflow...")
        self._told.append(err)

    def told(self, err: BaseException) -> bool:
        return any(err is told for told in self._told)


def result_line(result: pipeline.ExportResult, tracking_uri: str | None) -> dict[str, Any]:
    """The run's last stdout line, for scripts: ``sigforge ... | tail -1 | jq .export_dir``."""
    return {
        "model": result.summary.get("model"),
        "version": result.version,
        "published": result.published,
        "export_dir": str(result.export_dir),
        "mlflow_run_id": result.mlflow_run_id,
        "model_uri": result.mlflow_model_uri,
        "registered": result.registered_version,
        "tracking_uri": tracking_uri,
    }


@hydra.main(version_base="1.3", config_path="pkg://sigforge.conf", config_name="config")
def app(cfg: DictConfig) -> int | None:
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    in_sweep = hydra_cfg.mode.name == "MULTIRUN"
    refusals = Refusals()
    _PUBLISHED.clear()
    try:
        with quiet_broken_pipe():
            code = export_from_config(
                cfg,
                Path(hydra_cfg.runtime.output_dir),
                tuple(OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)),  # as typed
                cwd=Path(hydra_cfg.runtime.cwd),
                refusals=refusals,
            )
    except SigforgeError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _print_kept(err)
        told = refusals.told(err)  # printed when it was decided (Refusals.print)
        if in_sweep:  # the sweep goes on; sweeps.job_failures ends it with this status
            if not told:
                tell(str(err))
            return err.exit_code
        if told:
            sys.exit(err.exit_code)
        exit_for(err)
    except Terminated as err:
        exit_with(f"{err}; {run_outcome(err)}", err.exit_code)
    except KeyboardInterrupt as err:
        exit_with(f"interrupted (SIGINT); {run_outcome(err)}", 130)
    except MemoryError:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if not _PUBLISHED:
            exit_with(out_of_memory("the export"), 2)
        done = _PUBLISHED[-1].export_dir
        exit_with(
            f"the process ran out of memory (MemoryError) after publishing {done}, which is whole; its "
            f"MLflow run is marked FAILED: log it again with sigforge log {done}",
            4,
        )
    finally:
        say_lost_stdout()
    if code:
        sys.exit(code)


def _print_kept(err: SigforgeError) -> None:
    """Exit 4 (the version is published, MLflow failed): the result line still comes last on
    stdout, with no run, so that a script reading it finds the export; ``mlflow_error`` says why."""
    if err.exit_code != TrackingError.exit_code or not _PUBLISHED:
        return
    result = _PUBLISHED[-1]
    uri = without_credentials(result.mlflow_tracking_uri) if result.mlflow_tracking_uri else None
    line = result_line(result, uri)
    line.update(model_uri=None, registered=None, mlflow_error=without_credentials(str(err)))
    write_out(json.dumps(line))


OUTPUT_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir")


def output_dir_problem(args: list[str]) -> str | None:
    """Hydra makes its run (or sweep) directory before any sigforge code runs; one that names a
    file would end in Hydra's own traceback, so it is refused here, naming the override."""
    for arg in args:
        key, _, value = arg.lstrip("+").partition("=")
        if key in OUTPUT_DIR_KEYS and "${" not in value and Path(value).exists() and not Path(value).is_dir():
            return (
                f"{key} = {value!r} is a file; Hydra writes the run's log and config there: name a directory."
            )
    return None


def run(args: list[str]) -> None:
    """Hand ``args`` to Hydra as its command line (``@hydra.main`` reads ``sys.argv``)."""
    problem = output_dir_problem(args)
    if problem:
        exit_with(problem, 2)
    sys.argv = [sys.argv[0], *normalize_overrides(args)]
    # Set here, before anything imports TensorFlow; sweep jobs in other processes inherit them.
    for name, value in TENSORFLOW_ENV_DEFAULTS.items():  # a value the user set wins
        os.environ.setdefault(name, value)
    register_schema()  # Hydra composes the config, checked against it, before app's body runs
    yaml_guard.install(on_refusal=exit_for)  # a file Hydra reads is refused in one line, not a traceback
    try:
        app()
    except SystemExit as done:
        end_process(done.code)
        raise
    end_process(0)
