"""One MLflow run around one export, in this process: ``start`` before, then ``finish`` or ``fail``.

What a finished run holds: the flattened config as params (secrets redacted), version and contract
tags, timing and size metrics, ``config.yaml``, the signature summary, card and request files, and
the export as an MLflow 3 LoggedModel named ``<model>-v<version>`` (the experiment's Models tab),
linked to the run and, with ``mlflow.registered_model_name``, the source of a registry version; the
run, the LoggedModel and the version each describe the contract in Markdown (``report.description``).
A refused export's FAILED run keeps the diff that refused it (``contract_diff.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigforge import __version__
from sigforge.errors import RegistrationRefused, TrackingError, one_line, without_credentials
from sigforge.report.description import TAG_LIMIT, describe
from sigforge.report.summary import SUMMARY_JSON, SUMMARY_MD, to_markdown
from sigforge.tracking import registry
from sigforge.tracking.lease import Lease, end_orphaned_runs, fail_pending_models, lease_tags
from sigforge.tracking.logged import Logged, LoggedExport, Refusal, export_name
from sigforge.tracking.mlmodel import MODEL_ARTIFACT, write_mlmodel
from sigforge.tracking.params import contract_digest, redact
from sigforge.tracking.store import (
    PARENT_RUN_ENV,
    configure_http,
    end_run,
    experiment_id,
    give_up_run,
    package_version,
    standard_tags,
    store_lock,
)


@dataclass(frozen=True)
class RunTarget:
    """Where and how a run is logged: the store, the experiment, and the bounds on each request."""

    model_name: str
    experiment: str
    tracking_uri: str
    cwd: Path
    http_timeout: int
    http_retries: int
    operation_timeout: int  # bounds a helper process's operations in total (BackgroundExportRun)
    lease: Path | None = None  # held by every process that can end the run (tracking/lease.py)
    exporter: str = ""  # the exporting process's lease.process_identity (the helper runs beside it)


REFUSAL_ARTIFACT = "contract_diff.md"


def kept_message(export_dir: Path, target: RunTarget) -> str:
    """What to do about a verified export MLflow could not log: the ``sigforge log`` line that logs
    it to the same store and experiment, shell-quoted, credentials left out (give them again)."""
    import shlex

    command = ["sigforge", "log", str(export_dir), "--tracking-uri", without_credentials(target.tracking_uri)]
    if target.experiment != Path(export_dir).parent.name:
        command += ["--experiment", target.experiment]
    return f"The verified export is kept at {export_dir}; log it later with {shlex.join(command)}"


def log_start(client: Any, run_id: str, params: Mapping[str, str]) -> None:
    """Log a started run's params (secrets redacted) and its ``exporting`` status. MLflow accepts
    the same values twice, so an exporter taking over from a helper that died may repeat it."""
    from mlflow.entities import Param, RunTag

    client.log_batch(
        run_id,
        params=[Param(k[:250], v[:6000]) for k, v in sorted(redact(params).items())],
        tags=[RunTag("sigforge.status", "exporting")],
    )


class ExportRun:
    """The run, driven in this process. Every failure to start is kept in ``start_error`` (the same
    channel as ``BackgroundExportRun``), so a caller decides when an unreachable store matters."""

    def __init__(self, target: RunTarget) -> None:
        configure_http(target.http_timeout, target.http_retries)
        self.target = target
        self.tracking_uri = target.tracking_uri
        self.run_id: str | None = None
        self.start_error: TrackingError | None = None
        self.client: Any = None
        self.model_id: str | None = None  # the LoggedModel, once created
        self._experiment_id = ""
        self.lease = Lease.take(target.lease) if target.lease is not None else None

    def _where(self) -> str:
        return f"MLflow at {without_credentials(self.tracking_uri)}"

    def start(self, params: Mapping[str, str], tags: Mapping[str, str] | None = None) -> None:
        from mlflow.tracking import MlflowClient

        target = self.target
        try:
            with store_lock(self.tracking_uri):
                self.client = MlflowClient(tracking_uri=self.tracking_uri)
                experiment = experiment_id(self.client, target.experiment, self.tracking_uri, target.cwd)
            end_orphaned_runs(self.client, experiment)
            run_tags = {
                "sigforge.version": __version__,
                "python.version": platform.python_version(),
                "tensorflow.version": package_version("tensorflow-cpu")
                or package_version("tensorflow")
                or "",
                **(tags or {}),
            }
            parent = os.environ.get(PARENT_RUN_ENV)
            if parent:
                run_tags["mlflow.parentRunId"] = parent
            run_tags.update(standard_tags(target.cwd))
            if target.lease is not None:
                run_tags.update(lease_tags(target.lease, target.exporter))
            run = self.client.create_run(experiment, run_name=f"{target.model_name}-pending", tags=run_tags)
            self.run_id = run.info.run_id
            log_start(self.client, self.run_id, params)
        except TrackingError as err:
            self.start_error = self._given_up(err)
        except Exception as err:
            self.start_error = self._given_up(
                TrackingError(f"{self._where()} could not start a run: {type(err).__name__}: {one_line(err)}")
            )

    def _given_up(self, error: TrackingError) -> TrackingError:
        """A start that failed after the run was created: this process gives up on it, so it ends
        it (``store.give_up_run``); no later ``fail`` or ``finish`` may use it."""
        if self.run_id is None:
            return error
        run_id, self.run_id = self.run_id, None
        self._release()
        return give_up_run(self.client, run_id, error)

    def fail(self, error: BaseException, status: str = "FAILED", refusal: Refusal | None = None) -> str:
        """End the run FAILED (or KILLED) with the error recorded; never raises. A ``refusal`` keeps
        its evidence: the run is named for the version it would have been and holds the diff.
        Returns the status the run ended with (a run that had already ended keeps its own)."""
        if self.run_id is None:
            return ""
        if refusal is not None:
            with contextlib.suppress(Exception):
                self._keep_evidence(refusal)
        ended = end_run(self.client, self.run_id, status, str(error) or type(error).__name__)
        self._release()
        return ended

    def _keep_evidence(self, refusal: Refusal) -> None:
        from mlflow.entities import RunTag

        text = f"# {refusal.run_name}: refused\n\n{refusal.message}\n\n{refusal.diff}"
        self.client.log_text(self.run_id, text, REFUSAL_ARTIFACT)
        self.client.log_batch(
            self.run_id,
            tags=[
                RunTag("mlflow.runName", refusal.run_name),
                RunTag("mlflow.note.content", text[: TAG_LIMIT - 1]),
                RunTag("sigforge.refused", "true"),
            ],
        )

    def _release(self) -> None:
        if self.lease is not None:
            self.lease.release()

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None:
        """Raise RegistrationRefused when ``contract`` breaks the latest registered version of ``name``."""
        if self.run_id is not None:
            registry.check_registration(self.client, self.tracking_uri, name, contract, allow_breaking)

    def finish(self, export: LoggedExport) -> Logged:
        """Log artifacts, the LoggedModel and metrics; register; describe; end FINISHED. Raises
        TrackingError (or RegistrationRefused) after ending the run FAILED."""
        from mlflow.entities import LoggedModelStatus

        if self.run_id is None:
            raise self.start_error or TrackingError("the MLflow run was not started")
        start = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix="sigforge-mlflow-") as tmp:
                self._log_files(Path(tmp) / "artifacts", export)
                model_id = self._log_model(Path(tmp) / MODEL_ARTIFACT, export)
            self._log_metrics_and_tags(model_id, export, time.perf_counter() - start)
            self.client.finalize_logged_model(model_id, LoggedModelStatus.READY)
            fail_pending_models(self.client, self._experiment_id, self.run_id)  # a dead helper's
            registered = None
            if export.register_as:
                registered = registry.register(
                    self.client,
                    self.tracking_uri,
                    name=export.register_as,
                    model_id=model_id,
                    run_id=self.run_id,
                    result=export,
                    allow_breaking=export.allow_breaking,
                )
            description = describe(export.summary, registered=registered.line() if registered else None)
            self.client.set_tag(self.run_id, "mlflow.note.content", description)
            self.client.set_logged_model_tags(model_id, {"mlflow.note.content": description})
            self.client.set_terminated(self.run_id, "FINISHED")
            self._release()
            return Logged(model_id, registered.uri if registered else None)
        except RegistrationRefused as err:
            self._fail_logged_model()
            self._name_published(export)
            self.fail(err)
            raise
        except Exception as err:
            self._fail_logged_model()
            self._name_published(export)
            self.fail(err)
            raise TrackingError(
                f"{self._where()} failed while logging run {self.run_id}: {type(err).__name__}: {one_line(err)}. "
                + kept_message(export.export_dir, self.target)
            ) from err

    def _name_published(self, export: LoggedExport) -> None:
        """A run whose logging failed still names the version that was published (``<model>-v<n>``),
        not ``<model>-pending``: the version is on disk whatever MLflow could record of it."""
        from mlflow.entities import RunTag

        with contextlib.suppress(Exception):
            self.client.log_batch(
                self.run_id,
                tags=[
                    RunTag("mlflow.runName", export_name(self.target.model_name, export.version)),
                    RunTag("sigforge.version_dir", str(export.export_dir)),
                    RunTag("sigforge.model_version", str(export.version)),
                    RunTag("sigforge.published", "true" if export.published else "false"),
                ],
            )

    def _fail_logged_model(self) -> None:
        """A LoggedModel whose logging failed is marked FAILED, never left PENDING in the Models tab."""
        from mlflow.entities import LoggedModelStatus

        if self.model_id is not None:
            with contextlib.suppress(Exception):
                self.client.finalize_logged_model(self.model_id, LoggedModelStatus.FAILED)

    def _log_files(self, directory: Path, export: LoggedExport) -> None:
        """``config.yaml``, the signature summary, the card and the request files, as run artifacts."""
        files = {
            "config.yaml": export.config_yaml.encode(),
            SUMMARY_JSON: (json.dumps(export.summary, indent=2) + "\n").encode(),
            SUMMARY_MD: to_markdown(export.summary).encode(),
            **export.client_files,
        }
        for name, data in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(data)
        self.client.log_artifacts(self.run_id, str(directory))

    def _log_metrics_and_tags(self, model_id: str, export: LoggedExport, seconds: float) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        metrics = {
            "saved_model_bytes": float(
                sum(p.stat().st_size for p in export.export_dir.rglob("*") if p.is_file())
            ),
            **{k: float(v) for k, v in export.metrics.items()},
            "logging_seconds": seconds,
        }
        status = "finished" if export.published else "identical to the newest version"
        self.client.log_batch(
            self.run_id,
            # Each metric once for the run and once for its LoggedModel (the Models tab's columns).
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()]
            + [Metric(k, v, now, 0, model_id=model_id, run_id=self.run_id) for k, v in metrics.items()],
            tags=[
                RunTag("mlflow.runName", export_name(self.target.model_name, export.version)),
                RunTag("sigforge.version_dir", str(export.export_dir)),
                RunTag("sigforge.model_version", str(export.version)),
                RunTag("sigforge.contract_digest", contract_digest(export.summary["signatures"])),
                RunTag("sigforge.weights", str(export.summary.get("weights", "unknown"))),
                RunTag("sigforge.status", status),
                RunTag("sigforge.published", "true" if export.published else "false"),
            ],
        )

    def _log_model(self, model_dir: Path, export: LoggedExport) -> str:
        """The export as an MLflow 3 LoggedModel (the experiment's Models tab), named like its run
        (``<model>-v<version>``): created with the run's params, its MLmodel + ``tfmodel/`` (the
        published files) logged to it, linked to the run as an output. ``models:/<model_id>`` and
        ``runs:/<run_id>/<model>-v<version>`` load it."""
        from mlflow.entities import LoggedModelOutput

        run = self.client.get_run(self.run_id)
        self._experiment_id = run.info.experiment_id
        name = export_name(self.target.model_name, export.version)
        logged = self.client.create_logged_model(
            run.info.experiment_id,
            name=name,
            source_run_id=self.run_id,
            params=dict(run.data.params),
            tags={
                "sigforge.model": self.target.model_name,
                "sigforge.model_version": str(export.version),
                "sigforge.contract_digest": contract_digest(export.summary["signatures"]),
                "sigforge.weights": str(export.summary.get("weights", "unknown")),
            },
            model_type="tensorflow-savedmodel",
        )
        self.model_id = logged.model_id  # finalized FAILED should logging fail from here on
        write_mlmodel(
            model_dir,
            export.export_dir,
            export.summary,
            export.examples,
            run_id=self.run_id,
            model_id=logged.model_id,
            artifact_path=name,
        )
        self.client.log_model_artifacts(logged.model_id, str(model_dir))
        self.client.log_outputs(self.run_id, [LoggedModelOutput(logged.model_id, step=0)])
        return logged.model_id
