"""``mlflow.operation_timeout`` for a run logged in this process (a library caller who imported
TensorFlow first, every sweep job after the first): each operation runs in a daemon thread and is
given up on after the bound, as the logging helper's are. A server that trickles one byte at a time
defeats every per-read timeout; only a bound on the whole operation ends the wait.

A thread cannot be killed: one stuck in a socket read stays behind, as a daemon that does not hold
the process open. The export goes on (or ends) and says what was given up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sigforge.errors import RegistrationRefused, TrackingError, without_credentials
from sigforge.tracking.run import ExportRun, Logged, LoggedExport, Refusal, RunTarget, kept_message

T = TypeVar("T")


def bounded(seconds: float, what: str, uri: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` within ``seconds`` in total, else TrackingError naming the bound."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as err:  # handed to the caller's thread, raised there
            outcome["error"] = err

    worker = threading.Thread(target=target, name=f"sigforge-mlflow: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TrackingError(
            f"MLflow at {without_credentials(uri)} did not finish {what} within {seconds:g} s "
            "(mlflow.operation_timeout); check the server, or raise mlflow.operation_timeout"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class BoundedExportRun:
    """An ``ExportRun`` in this process with every operation bounded; the same interface."""

    def __init__(self, target: RunTarget) -> None:
        self._run = ExportRun(target)
        self.tracking_uri = target.tracking_uri
        self._seconds = float(target.operation_timeout)

    def _bounded(self, what: str, function: Callable[..., T], *args: Any) -> T:
        return bounded(self._seconds, what, self.tracking_uri, function, *args)

    @property
    def run_id(self) -> str | None:
        return self._run.run_id

    @property
    def start_error(self) -> TrackingError | None:
        return self._run.start_error

    def start(
        self, params: Mapping[str, str], tags: Mapping[str, str] | None = None, share_imports: bool = True
    ) -> TrackingError | None:
        """Start the run here and now (TensorFlow is imported already: nothing to share); its
        failure, known at once."""
        try:
            self._bounded("starting the run", self._run.start, params, tags)
        except TrackingError as err:
            self._run.start_error = err
        return self._run.start_error

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None:
        self._bounded("reading the registry", self._run.check_registration, name, contract, allow_breaking)

    def judge_soon(
        self, name: str, contract: Mapping[str, Any], allow_breaking: bool, interrupt: bool, refused: bool
    ) -> None:
        """In this process the registry judges here and now, refused already or not."""
        self.check_registration(name, contract, allow_breaking)

    def early_refusal(self) -> RegistrationRefused | None:
        return None  # a refusal here is raised where it is found, never signalled

    def finish(self, export: LoggedExport) -> Logged:
        try:
            return self._bounded("logging the export", self._run.finish, export)
        except TrackingError as err:
            if "mlflow.operation_timeout" not in str(err):
                raise
            raise TrackingError(f"{err}. {kept_message(export.export_dir, self._run.target)}") from err

    def fail(self, error: BaseException, status: str = "FAILED", refusal: Refusal | None = None) -> str:
        try:
            return self._bounded("ending the run", self._run.fail, error, status, refusal)
        except TrackingError:
            return ""  # the server does not answer: nobody can end the run there now
