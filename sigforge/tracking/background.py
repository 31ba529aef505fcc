"""The MLflow run hosted by a helper process, so MLflow's import and the run's creation overlap
TensorFlow's import and the export (threads would not help: both imports hold the GIL).

Same interface as ``ExportRun``. The helper ignores SIGINT/SIGTERM and is told how the export
ended; if the exporter dies without telling it (kill -9), the pipe closes and the helper ends the
run FAILED. If the helper dies instead, the exporter takes the run over in-process. Either way the
run never stays RUNNING while one of the two lives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from sigforge.errors import RegistrationRefused, TrackingConfigError, TrackingError, without_credentials
from sigforge.tracking.lease import run_holding
from sigforge.tracking.messages import (
    Check,
    Dead,
    Ended,
    Fail,
    Failed,
    Finish,
    Ok,
    Refused,
    Reply,
    Request,
    Started,
    StartFailed,
)
from sigforge.tracking.run import ExportRun, Logged, LoggedExport, Refusal, RunTarget, log_start

# What both processes import: TensorFlow and Keras here, MLflow in the helper (measured with
# -X importtime on each side). Imported before the fork, the helper inherits them instead of
# importing them a second time: about 0.5 s of CPU less per export, and no later finish, as this
# process imports them anyway and the helper then waits for the export.
SHARED_IMPORTS = (
    "numpy",
    "pandas",
    "scipy.sparse",
    "requests",
    "google.protobuf.message",
    "google.protobuf.json_format",
    "asyncio",
)


class RefusedEarly(BaseException):
    """SIGUSR1 from the helper: the registry refused the contract the config alone fixes, so the
    export stops wherever it is (importing TensorFlow, building). ``early_refusal()`` says why."""

    signal_borne = True  # only the SIGUSR1 handler raises it (plugins.guard lets it through)


def _refused_early(signum: int, frame: Any) -> None:
    raise RefusedEarly


class BackgroundExportRun:
    """An ``ExportRun`` in a helper process (see the module docstring)."""

    def __init__(self, target: RunTarget) -> None:
        self.target = target
        self.tracking_uri = target.tracking_uri
        self.run_id: str | None = None
        self._start_error: str | None = None
        self._config_error = False
        self._conn: Any = None
        self._proc: Any = None
        self.operation_timeout: float = target.operation_timeout
        self._start_args: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self._early = False  # a judge_soon reply is on its way: it comes before any other reply
        self._armed = False  # SIGUSR1 raises RefusedEarly
        self._refusal: RegistrationRefused | None = None

    def start(
        self, params: Mapping[str, str], tags: Mapping[str, str] | None = None, share_imports: bool = True
    ) -> TrackingError | None:
        """Fork the helper, which starts the run (None: how it went is not known yet, see
        ``start_error``). ``share_imports``: this process goes on to import TensorFlow
        (``SHARED_IMPORTS`` are imported first, for both)."""
        import multiprocessing

        self._start_args = (dict(params), dict(tags or {}))
        # fork is only safe before TensorFlow has started its threads.
        method = "fork" if "tensorflow" not in sys.modules else "spawn"
        if method == "fork" and share_imports:
            _import_shared()
        context = multiprocessing.get_context(method)
        self._conn, child = context.Pipe()
        # A forked helper inherits this process's end of the pipe too; it must close that copy, or
        # the pipe would never report EOF when this process dies (kill -9) and the run would stay RUNNING.
        inherited = self._conn if method == "fork" else None
        self._proc = context.Process(
            target=_run_worker,
            args=(child, inherited, self.target, dict(params), dict(tags or {})),
            daemon=True,
        )
        self._proc.start()
        child.close()
        return None

    def judge_soon(
        self, name: str, contract: Mapping[str, Any], allow_breaking: bool, interrupt: bool, refused: bool
    ) -> None:
        """Have the helper check ``contract`` against the registry as soon as the run is started,
        while this process imports TensorFlow and builds (not for an export ``refused`` already: it
        imports nothing). With ``interrupt`` (a process that ends with the export, i.e. the CLI, in
        its main thread) a refusal arrives as SIGUSR1 and stops the export at once; otherwise it is
        raised by ``check_registration``, before publishing."""
        if refused:
            return
        notify = None
        if interrupt and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGUSR1, _refused_early)
            self._armed, notify = True, os.getpid()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self._conn.send(Check(name, dict(contract), allow_breaking, notify))
            self._early = True

    def early_refusal(self) -> RegistrationRefused | None:
        """The registry's refusal of the contract given to ``judge_soon``, if it refused it."""
        self._settle_early()
        return self._refusal

    def _settle_early(self) -> None:
        """Read the reply to ``judge_soon``, which precedes every other reply."""
        self._disarm()  # from here on the reply is read, not signalled; a late SIGUSR1 is moot
        if not self._early or not self._wait_started():
            return
        reply = self._receive()
        self._early = False
        if isinstance(reply, Refused):
            self._refusal = RegistrationRefused(reply.message, reply.diff)

    def _wait_started(self) -> bool:
        if self.run_id is None and self._start_error is None:
            reply = self._receive()
            if isinstance(reply, Started):
                self.run_id = reply.run_id
            elif isinstance(reply, Dead):
                self._start_in_process()
            elif isinstance(reply, StartFailed):
                self._start_error, self._config_error = reply.message, reply.config_error
            else:
                self._start_error = (
                    getattr(reply, "message", None) or f"the logging helper answered {reply!r}"
                )
        return self.run_id is not None

    def _start_in_process(self) -> None:
        """The helper died before saying whether it had started the run: find the run it created by
        the lease it is tagged with (and log its params, in case it died first), or start the run here."""
        from mlflow.tracking import MlflowClient

        self._close()
        if self.target.lease is not None:
            with contextlib.suppress(Exception):
                client = MlflowClient(tracking_uri=self.tracking_uri)
                self.run_id = run_holding(client, self.target.experiment, self.target.lease)
                if self.run_id is not None:  # it may have died before logging the params
                    log_start(client, self.run_id, self._start_args[0])
            if self.run_id is not None:
                return
        run = ExportRun(self.target)
        run.start(*self._start_args)
        if run.start_error is not None:
            self._start_error = str(run.start_error)
            self._config_error = isinstance(run.start_error, TrackingConfigError)
        self.run_id = run.run_id

    def _receive(self) -> Reply:
        """The helper's reply, within ``mlflow.operation_timeout`` seconds: a server that trickles
        bytes defeats a per-read timeout, so every operation is bounded in total here."""
        if self._conn is None:
            return Dead("the logging helper is gone")
        try:
            if not self._conn.poll(self.operation_timeout):
                self._kill()
                # Said plainly: the helper may have created (or still held) a run it could not end.
                left = "" if self.run_id is None else f" run {self.run_id}"
                return Failed(
                    f"MLflow at {without_credentials(self.tracking_uri)} did not finish within {self.operation_timeout} s "
                    "(mlflow.operation_timeout); check the server, or raise mlflow.operation_timeout. The "
                    f"logging helper was stopped, so a run{left} it was logging may stay RUNNING until the next "
                    "export to this store on this host ends it FAILED",
                )
            reply: Reply = self._conn.recv()
            return reply
        except (EOFError, OSError):
            return Dead()

    def _request(self, message: Request) -> Reply:
        self._settle_early()
        try:
            self._conn.send(message)
        except (OSError, ValueError, AttributeError):  # BrokenPipeError: the helper was killed
            return Dead()
        return self._receive()

    def _in_process(self) -> ExportRun:
        """The run, taken over by this process after its helper died (kill -9): never left RUNNING."""
        from mlflow.tracking import MlflowClient

        self._close()
        run = ExportRun(self.target)
        run.client, run.run_id = MlflowClient(tracking_uri=self.tracking_uri), self.run_id
        return run

    @property
    def start_error(self) -> TrackingError | None:
        self._wait_started()
        if not self._start_error:
            return None
        return (TrackingConfigError if self._config_error else TrackingError)(self._start_error)

    def fail(self, error: BaseException, status: str = "FAILED", refusal: Refusal | None = None) -> str:
        ended = ""
        with contextlib.suppress(Exception):
            if self._wait_started():
                text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                reply = self._request(Fail(text, status, refusal))
                if isinstance(reply, Dead):
                    ended = self._in_process().fail(error, status, refusal)
                elif isinstance(reply, Ended):
                    ended = reply.status
                elif isinstance(reply, Ok):  # the reply to Finish, crossing the signal: it FINISHED
                    ended = "FINISHED"
        self._close()
        return ended

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None:
        if not self._wait_started():
            return  # no run: the exporter reports the start error
        self._settle_early()
        if self._refusal is not None:
            raise self._refusal
        reply = self._request(Check(name, dict(contract), allow_breaking))
        if isinstance(reply, Dead):
            self._in_process().check_registration(name, contract, allow_breaking)
            return
        if isinstance(reply, Refused):
            raise RegistrationRefused(reply.message, reply.diff)
        if not isinstance(reply, Ok):
            raise TrackingError(_said(reply))

    def finish(self, export: LoggedExport) -> Logged:
        if not self._wait_started():
            self._close()
            raise TrackingError(self._start_error or "the MLflow run was not started")
        reply = self._request(Finish(export))
        if isinstance(reply, Dead):
            return self._in_process().finish(export)
        self._close()
        if isinstance(reply, Refused):
            raise RegistrationRefused(reply.message, reply.diff)
        if not isinstance(reply, Ok) or reply.logged is None:
            raise TrackingError(_said(reply))
        return reply.logged

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.kill()
        self._close()

    def _disarm(self) -> None:
        if self._armed:
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            self._armed = False

    def _close(self) -> None:
        self._disarm()
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._proc.join(timeout=30)
            self._proc = None
            self._conn = None


def _said(reply: Reply) -> str:
    """The message of a reply that reports a failure."""
    return getattr(reply, "message", None) or f"the logging helper answered {reply!r}"


def _import_shared() -> None:
    """``SHARED_IMPORTS``, those that are installed. Two of them start threads: OpenBLAS
    (numpy's) and jemalloc's background thread (pyarrow's, through pandas). Both libraries take
    their locks in their own ``pthread_atfork`` handlers, so the forked helper starts with them
    consistent; TensorFlow's thread pools, which have no such handlers, are not started yet."""
    import importlib

    for name in SHARED_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _run_worker(
    conn: Any, inherited: Any, target: RunTarget, params: dict[str, str], tags: dict[str, str]
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the exporter says how it ended
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal hangs up the whole group too
    if inherited is not None:
        inherited.close()  # only the exporter may hold its end: its death must read as EOF here
    run = ExportRun(target)
    run.start(params, tags)
    if run.start_error is not None:
        with contextlib.suppress(OSError):
            conn.send(StartFailed(str(run.start_error), isinstance(run.start_error, TrackingConfigError)))
        return
    try:
        conn.send(Started(run.run_id))
        message: Request = conn.recv()
        while isinstance(message, Check):  # the registry guard, before the version is published
            try:
                run.check_registration(message.name, message.contract, message.allow_breaking)
                conn.send(Ok())
            except RegistrationRefused as err:
                conn.send(Refused(str(err), err.diff))
                if message.notify is not None:  # the exporter asked to be stopped at once
                    with contextlib.suppress(OSError):
                        os.kill(message.notify, signal.SIGUSR1)
            except TrackingError as err:
                conn.send(Failed(str(err)))
            message = conn.recv()
    except (EOFError, OSError):  # the exporter died (kill -9) before saying how the export ended
        run.fail(RuntimeError("the sigforge process died before the export finished"), "FAILED")
        return
    reply: Reply
    if isinstance(message, Fail):
        reply = Ended(run.fail(RuntimeError(message.error), message.status, message.refusal))
    else:
        try:
            reply = Ok(run.finish(message.export))
        except RegistrationRefused as err:
            reply = Refused(str(err), err.diff)
        except TrackingError as err:
            reply = Failed(str(err))
    with contextlib.suppress(OSError):
        conn.send(reply)
