"""Errors a user can act on.

Every refusal sigforge makes is one of these. The CLI prints ``str(error)`` prefixed with ``sigforge:``
and exits non-zero, without a traceback unless ``HYDRA_FULL_ERROR=1``. Messages say what is wrong,
where (config path or plugin) and what to do.
"""

from __future__ import annotations

import contextlib
import re
import sys
from dataclasses import dataclass
from typing import NoReturn


class SigforgeError(Exception):
    """Base class: an error whose message is meant for the user, not a bug report."""

    exit_code = 2


class ConfigError(SigforgeError):
    """The composed configuration cannot describe a valid export.

    Holds every problem found, so a user fixes them in one pass instead of one per run.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)  # a lone message is one
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems in the config:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)


class Problems(list):
    """Problems found while validating, collected so that a user sees all of them at once."""

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


class PluginError(SigforgeError):
    """A plugin failed to load, registered something invalid, or raised inside a hook."""


class ExportError(SigforgeError):
    """The SavedModel could not be built or written (model, weights, disk)."""


class UnreadableSavedModel(SigforgeError, ValueError):
    """A ``saved_model.pb`` that cannot be parsed (truncated, corrupt, not a SavedModel at all)."""


class VerificationError(SigforgeError):
    """The written SavedModel differs from the spec; it was not published."""

    exit_code = 3

    def __init__(self, problems: list[str], report: object | None = None) -> None:
        self.problems = list(problems)
        self.report = report
        super().__init__(
            "the written SavedModel failed verification, so no version was published:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


class TrackingError(SigforgeError):
    """MLflow could not be reached or refused the run; the verified export stays on disk."""

    exit_code = 4


class TrackingConfigError(TrackingError):
    """MLflow refused the run for a reason in the config (a deleted experiment, say): found before the
    version is published, so that nothing is published that cannot be logged."""


class ContractRefused(SigforgeError):
    """A contract refused because it breaks clients. ``diff`` (Markdown) is the evidence a reviewer
    needs; the refused export's MLflow run keeps it as ``contract_diff.md`` and as its description."""

    exit_code = 5

    def __init__(self, message: str, diff: str = "") -> None:
        super().__init__(message)
        self.diff = diff


class RegistrationRefused(ContractRefused):
    """The new contract breaks the latest registered version's and ``mlflow.allow_breaking`` is false."""


class BreakingChange(ContractRefused):
    """A new version would break the clients of the version served now; nothing was published."""


class LauncherError(SigforgeError):
    """A sweep's launcher cannot run its jobs as asked (no node fits them, results never came)."""

    exit_code = 2


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the export is so that the MLflow run can be marked KILLED."""

    signal_borne = True  # only a signal handler raises it (plugins.guard lets it through)

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


@dataclass
class SignalEnd:
    """A signal's exception (``Terminated``, ``KeyboardInterrupt``) and what became of the export's
    MLflow run when it ended the export: ``run_status`` is KILLED, the status the run had already
    ended with, or None where no run was marked (none was started)."""

    error: BaseException
    run_status: str | None = None


_SIGNAL_ENDS: list[SignalEnd] = []  # at most one: the last, until forget_signals()


def raise_for_signal(err: BaseException) -> NoReturn:
    """Raise ``err`` (Terminated, KeyboardInterrupt) from a signal handler, and remember it.

    Why: a handler raises wherever Python happens to be, and C code that calls back into Python
    (TensorFlow's ``nest.flatten`` importing a module while a signature is traced) can turn the
    exception into another one (SystemError, then TypeError), which would end the export FAILED
    with a tracing error instead of KILLED. ``raised_by_signal`` lets the run's owner see through it."""
    _SIGNAL_ENDS[:] = [SignalEnd(err)]
    raise err


def raised_by_signal() -> BaseException | None:
    """The exception a signal handler raised since ``forget_signals``, if any."""
    return _SIGNAL_ENDS[-1].error if _SIGNAL_ENDS else None


def forget_signals() -> None:
    _SIGNAL_ENDS.clear()


def reraise_swallowed_signal() -> None:
    """Raise the signal's exception again where C code swallowed it whole (TensorFlow's tracing can
    print the SystemError and go on): called at each stage's end, so the export stops before it
    publishes, KILLED, rather than finishing as if no signal had come."""
    signalled = raised_by_signal()
    if signalled is not None:
        raise signalled


def signal_ended_run(err: BaseException, run_status: str) -> None:
    """The run's owner (``tracking.lifecycle``) records what became of its run when the signal
    ``err`` ended the export, for ``run_outcome`` to say."""
    if not (_SIGNAL_ENDS and _SIGNAL_ENDS[-1].error is err):  # a Ctrl-C Python's own handler raised
        _SIGNAL_ENDS[:] = [SignalEnd(err)]
    _SIGNAL_ENDS[-1].run_status = run_status


def run_outcome(err: BaseException) -> str:
    """What became of the export's MLflow run when ``err`` (a signal) ended it, as its owner
    recorded it (``signal_ended_run``), so the console never claims a run it did not mark."""
    end = _SIGNAL_ENDS[-1] if _SIGNAL_ENDS and _SIGNAL_ENDS[-1].error is err else None
    status = end.run_status if end is not None else None
    if status == "KILLED":
        return "its MLflow run is marked KILLED"
    if status is not None:
        return f"its MLflow run had already ended {status}"
    return "no MLflow run was started"


def out_of_memory(where: str) -> str:
    """What to say when ``where`` (a stage, a file) ran out of the memory the process may use."""
    return (
        f"{where} ran out of memory (MemoryError): the model needs more than this process may use; "
        "raise the memory limit (ulimit -v, the container's or job's limit) or export a smaller model "
        "(model.* settings). Nothing was published."
    )


def io_reason(err: BaseException) -> str:
    """What an OSError or a TensorFlow OpError says went wrong, without its traceback text."""
    return str(getattr(err, "strerror", None) or getattr(err, "message", None) or err).strip()


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]+@")


def without_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URI in it replaced by ``***@``.

    Messages name tracking URIs (and libraries' own errors quote them); a password in one must not
    reach the console, a log file or an MLflow tag."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def one_line(err: BaseException) -> str:
    """An exception's message without the walls of text some libraries add (tensor values, frames)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if text.endswith(":") and len(lines) > 1:  # "... error message for object <Conv2D ...>:" + the message
        text = f"{text} {lines[1]}"
    return text if len(text) <= 400 else text[:400].rsplit(" ", 1)[0] + " ..."


def tell(message: str, prefix: str = "sigforge") -> None:
    """One ``<prefix>: message`` line on stderr, credentials redacted: how every entry point
    reports a refusal (a sweep's job reports and goes on; everything else then exits)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr gone too: nothing to tell
        print(f"{prefix}: {without_credentials(message)}", file=sys.stderr, flush=True)


def exit_with(message: str, code: int, prefix: str = "sigforge") -> NoReturn:
    """End the process as every sigforge entry point does: ``tell`` the message, exit ``code``.
    The one home of print-then-exit."""
    tell(message, prefix)
    sys.exit(code)


def exit_for(err: SigforgeError) -> NoReturn:
    """End the process on a refusal, with the error's message and exit status. For Hydra
    callbacks and the CLI alike."""
    exit_with(str(err), err.exit_code)


# -- Deprecations: one removal version, one warning class for the forms plugins and configs use.

REMOVAL_VERSION = "0.3.0"
"""The release that removes every form deprecated in 0.2 (CHANGELOG.md, "Deprecated")."""


class SigforgeDeprecationWarning(FutureWarning):
    """A plugin or config uses a form sigforge still accepts but stops accepting in ``REMOVAL_VERSION``.

    A ``FutureWarning``, so that users running the command see it (Python hides a plain
    ``DeprecationWarning`` outside ``__main__``). The 0.1 import paths (``sigforge._moved``) warn
    with ``DeprecationWarning``: they concern the code that imports them, not a user's config."""
