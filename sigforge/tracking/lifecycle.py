"""The MLflow run of one export, from start to end, driven by the pipeline (``pipeline.export``).

The run starts before TensorFlow is imported (in a helper process when it can, so that MLflow's
import overlaps TensorFlow's), refuses before publishing what MLflow would refuse (a config the
store rejects, a contract the registry rejects), and ends exactly once: FINISHED with the export
logged, FAILED with the error, or KILLED on SIGINT/SIGTERM. A library call and the CLI go through
this same object.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sigforge.contract.gate import Moment, in_registry
from sigforge.contract.read import contract_to_dict, known_contract
from sigforge.errors import (
    ContractRefused,
    RegistrationRefused,
    Terminated,
    TrackingConfigError,
    TrackingError,
    raised_by_signal,
    signal_ended_run,
)
from sigforge.rules import served_versions
from sigforge.tracking.background import BackgroundExportRun, RefusedEarly
from sigforge.tracking.bounded import BoundedExportRun
from sigforge.tracking.lease import Lease, process_identity
from sigforge.tracking.params import flatten, redact_overrides, redacted_yaml
from sigforge.tracking.registry_read import latest_registered
from sigforge.tracking.run import Logged, LoggedExport, Refusal, RunTarget, export_name, kept_message
from sigforge.tracking.store import RegistrationLock, resolve_tracking_uri

log = logging.getLogger("sigforge")

if TYPE_CHECKING:
    from sigforge.spec import ExportSpec
    from sigforge.verify.result import ExportResult


class Run(Protocol):
    """What ``ExportRun`` (in-process) and ``BackgroundExportRun`` (helper process) both offer."""

    tracking_uri: str
    run_id: str | None

    @property
    def start_error(self) -> TrackingError | None: ...

    def start(
        self, params: Mapping[str, str], tags: Mapping[str, str] | None = None, share_imports: bool = True
    ) -> TrackingError | None:
        """Start the run; its failure if known at once (in this process), else None (a helper's
        start is under way: ``start_error`` waits for it). ``share_imports``: this process goes
        on to import TensorFlow."""

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None: ...

    def judge_soon(
        self, name: str, contract: Mapping[str, Any], allow_breaking: bool, interrupt: bool, refused: bool
    ) -> None:
        """Have the registry judge ``contract`` as soon as this run can: here and now (raising
        RegistrationRefused), or in a helper while TensorFlow imports (not for an export already
        ``refused``; ``BackgroundExportRun.judge_soon``)."""

    def early_refusal(self) -> RegistrationRefused | None:
        """The refusal that stopped the export early (the helper's SIGUSR1), if any."""

    def fail(self, error: BaseException, status: str = "FAILED", refusal: Refusal | None = None) -> str: ...

    def finish(self, export: LoggedExport) -> Logged: ...


class ExportTracking:
    """The run of one export, or nothing at all with ``mlflow.enabled=false``."""

    def __init__(
        self,
        spec: ExportSpec,
        config: Mapping[str, Any],
        cwd: Path,
        on_refused: Callable[[ContractRefused], None] | None = None,
    ) -> None:
        self.spec = spec
        self.config = config
        self.on_refused = on_refused  # told of a refusal before the refused run is recorded
        self.run: Run | None = None
        self.ended = False  # finish() returned or failed: the run is ended (a signal during it is not)
        self.final_status = ""  # how it ended, once ended: FINISHED or FAILED
        self.error: TrackingError | None = None  # a start failure, reported once the export is kept
        self.lease: Lease | None = None
        self._registering: RegistrationLock | None = None
        self.target: RunTarget | None = None
        if not spec.mlflow.enabled:
            return
        self.lease = Lease.take()  # taken before the helper exists: it inherits it
        self.target = target = RunTarget(
            model_name=spec.model.name,
            experiment=spec.mlflow.experiment_name,
            tracking_uri=resolve_tracking_uri(spec.mlflow.tracking_uri, cwd),
            cwd=cwd,
            http_timeout=spec.mlflow.http_timeout,
            http_retries=spec.mlflow.http_retries,
            operation_timeout=spec.mlflow.operation_timeout,
            lease=self.lease.path if self.lease is not None else None,
            exporter=process_identity(),
        )
        # A helper process can be forked only before TensorFlow has started its threads.
        self.run = (
            BackgroundExportRun(target) if "tensorflow" not in sys.modules else BoundedExportRun(target)
        )

    @property
    def run_id(self) -> str | None:
        return self.run.run_id if self.run is not None else None

    @property
    def tracking_uri(self) -> str | None:
        return self.run.tracking_uri if self.run is not None else None

    def start(
        self, overrides: Sequence[str] = (), interrupt: bool = False, refused: ContractRefused | None = None
    ) -> None:
        """Start the run with the config as params; a config the store refuses raises as soon as the
        run knows it. ``refused``: a refusal the pipeline has already decided (against the newest
        version on disk), raised once the run is started, so that the run records it.

        With ``mlflow.registered_model_name``, the registry judges what the config alone fixes of
        the contract (``contract.read.known_contract``) at once: read here without MLflow where
        ``registry_read`` can (a refusal is raised as soon as the run is started, to record it),
        else as soon as the run can (``Run.judge_soon``: in-process, here and now; in a helper, while
        this process imports TensorFlow, ``interrupt``: a refusal stops the export wherever it is).
        Before publishing it judges the written contract in full."""
        if self.run is None:
            return
        name = self.spec.mlflow.registered_model_name
        known = contract_to_dict(known_contract(self.spec)) if name else {}
        params, tags = flatten(self.config), {"sigforge.overrides": redact_overrides(overrides)}
        judged, by_registry = self._judge_without_mlflow(name, known) if name else (True, None)
        pending = by_registry or refused
        # A refused export imports no TensorFlow: nothing to share with a helper but waiting.
        self._settled(self.run.start(params, tags, share_imports=pending is None))
        if self.run is None:  # it could not start (and said so at once): nothing judges the registry
            if refused is not None:
                raise refused
            return
        if not judged:
            self._check_registration(name, known, soon=(interrupt, pending is not None))
        if pending is not None:
            raise pending  # the run, being started, records it (owning)

    def _judge_without_mlflow(
        self, name: str, known: Mapping[str, Any]
    ) -> tuple[bool, RegistrationRefused | None]:
        """The registry's first verdict on ``known``, read here without MLflow where that is exact
        (``registry_read``), before the run is even started: (judged, the refusal if refused).
        Not judged: only MLflow can tell (``Run.judge_soon``)."""
        assert self.run is not None
        latest = latest_registered(self.run.tracking_uri, name)
        if latest is None:
            return False, None
        verdict = in_registry(name, latest.found(name), known, self.spec.mlflow.allow_breaking, Moment.EARLY)
        refused = verdict.refusal
        return True, _nothing_published(refused) if isinstance(refused, RegistrationRefused) else None

    def _settle_start(self) -> None:
        """How the run's start went, waited for where it is still under way (a helper)."""
        self._settled(self.run.start_error if self.run is not None else None)

    def _settled(self, error: TrackingError | None) -> None:
        """A config error stops the export; any other start failure is reported after the export."""
        if isinstance(error, TrackingConfigError):
            raise error
        if error is not None:
            self.error, self.run = error, None

    def before_publish(self, contract: Mapping[str, Any]) -> None:
        """What MLflow would refuse stops the export here, so that nothing is published: a run refused
        over the config, or a contract the registry refuses."""
        self._settle_start()
        name = self.spec.mlflow.registered_model_name
        if self.run is None or not name:
            return
        if self._registering is None:  # held until the version is registered, or the export fails
            self._registering = RegistrationLock(self.spec.base_dir, name)
        self._check_registration(name, contract)

    def _check_registration(
        self, name: str, contract: Mapping[str, Any], soon: tuple[bool, bool] | None = None
    ) -> None:
        """The registry's verdict on ``contract``: now, or (``soon``: interrupt, already refused) as
        soon as the run can give it (``Run.judge_soon``)."""
        assert self.run is not None
        allow = self.spec.mlflow.allow_breaking
        try:
            if soon is None:
                self.run.check_registration(name, contract, allow)
            else:
                self.run.judge_soon(name, contract, allow, *soon)
        except RegistrationRefused as refused:
            raise _nothing_published(refused) from refused

    @contextlib.contextmanager
    def owning(self) -> Iterator[None]:
        """The run's whole life: it is marked KILLED (SIGINT/SIGTERM) or FAILED (anything else) when
        the block raises, and the lease is given back when the block ends, however it ends."""
        try:
            try:
                yield
            except RefusedEarly:
                raise self._early_refusal() from None
            except Exception as err:
                signalled = raised_by_signal()
                if signalled is not None:  # C code turned the signal's exception into this one
                    raise signalled from err
                raise
        except (KeyboardInterrupt, Terminated) as err:
            if self.run is not None and not self.ended:
                # What the console says: KILLED, or the status the run had already ended with.
                signal_ended_run(err, self.run.fail(err, "KILLED") or "KILLED")
            elif self.ended:
                signal_ended_run(err, self.final_status)
            raise
        except BaseException as err:
            if self.run is not None and not self.ended:
                refusal = self._refusal(err)
                try:
                    if refusal is not None and self.on_refused is not None:
                        # Known in about a second; recording it waits on MLflow's import and store.
                        self.on_refused(err)  # type: ignore[arg-type]
                finally:
                    self.run.fail(err, "FAILED", refusal)
            raise
        finally:
            if self._registering is not None:
                self._registering.release()
            if self.lease is not None:
                self.lease.release(remove=True)

    def _early_refusal(self) -> BaseException:
        """What the helper's SIGUSR1 (``RefusedEarly``) stands for: the registry's refusal."""
        refused = self.run.early_refusal() if self.run is not None else None
        if refused is None:  # cannot happen: the helper signals only after sending a refusal
            return TrackingError("the logging helper stopped the export without saying why")
        return _nothing_published(refused)

    def _refusal(self, error: BaseException) -> Refusal | None:
        """A contract refusal's evidence, with the run named for the version it would have been."""
        if not isinstance(error, ContractRefused):
            return None
        try:
            served = served_versions(self.spec.model_dir)
        except OSError:  # an unreadable model directory: the run still keeps the diff
            served = {}
        candidate = self.spec.version or max(served, default=0) + 1
        return Refusal(export_name(self.spec.model.name, candidate), str(error), error.diff)

    def finish(self, result: ExportResult) -> Logged | None:
        """Log the published export and end the run FINISHED: what MLflow made of it (None without a
        run). Raises TrackingError, naming the kept export, when the run could not start."""
        self._settle_start()
        if self.run is None:
            if self.error is not None:
                raise type(self.error)(
                    f"{self.error}. {kept_message(result.export_dir, self.target)}"  # type: ignore[arg-type]
                )
            return None
        try:
            logged = self.run.finish(logged_export(result, self.config, self.spec))
        except Exception:
            self.ended, self.final_status = True, "FAILED"  # finish itself ended it, with its error
            raise
        self.ended, self.final_status = True, "FINISHED"
        if logged.registered:
            log.info("registered %s (alias latest_export)", logged.registered)
        return logged


def _nothing_published(refused: RegistrationRefused) -> RegistrationRefused:
    return RegistrationRefused(f"{refused} Nothing was published.", refused.diff)


def logged_export(result: ExportResult, config: Mapping[str, Any], spec: ExportSpec) -> LoggedExport:
    """What the MLflow stage logs of a pipeline ``ExportResult``: one example per signature input."""
    return LoggedExport(
        export_dir=Path(result.export_dir),
        version=result.version,
        summary=result.summary,
        config_yaml=redacted_yaml(config),
        client_files=result.client_files,
        examples={name: {k: v[:1] for k, v in args.items()} for name, args in result.report.inputs.items()},
        metrics={**result.timings, "parameter_count": float(result.parameter_count)},
        register_as=spec.mlflow.registered_model_name,
        allow_breaking=spec.mlflow.allow_breaking,
        published=result.published,
    )
