"""What the exporter and its logging helper (``background``) say to each other over their pipe:
one dataclass per message, read by type, never by position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigforge.tracking.logged import Logged, LoggedExport, Refusal

__all__ = [
    "Check",
    "Dead",
    "Ended",
    "Fail",
    "Failed",
    "Finish",
    "Ok",
    "Refused",
    "Reply",
    "Request",
    "StartFailed",
    "Started",
]


# -- exporter -> helper


@dataclass(frozen=True)
class Check:
    """Judge ``contract`` against the registry's latest version of ``name``; ``notify``: a process
    to send SIGUSR1 to when it is refused (the exporter asked to be stopped at once)."""

    name: str
    contract: Mapping[str, Any]
    allow_breaking: bool
    notify: int | None = None


@dataclass(frozen=True)
class Fail:
    """End the run ``status`` (FAILED, KILLED) with the export's error, and a refusal's evidence."""

    error: str
    status: str
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Finish:
    """Log the published export and end the run FINISHED."""

    export: LoggedExport


Request = Check | Fail | Finish


# -- helper -> exporter


@dataclass(frozen=True)
class Started:
    run_id: str | None


@dataclass(frozen=True)
class StartFailed:
    message: str
    config_error: bool = False  # the store refused the config: the export stops


@dataclass(frozen=True)
class Ok:
    """A check passed (``logged`` None), or the export is logged (``logged``)."""

    logged: Logged | None = None


@dataclass(frozen=True)
class Refused:
    """The registry refused the contract: the gate's refusal, its message and its diff."""

    message: str
    diff: str = ""


@dataclass(frozen=True)
class Failed:
    """An operation failed (MLflow unreachable, a timeout): the message to report."""

    message: str


@dataclass(frozen=True)
class Ended:
    status: str  # how the run ended ("" when it could not be told)


@dataclass(frozen=True)
class Dead:
    """Not sent: what the exporter reads when the helper is gone (EOF, a broken pipe)."""

    why: str = field(default="the logging helper process exited unexpectedly")


Reply = Started | StartFailed | Ok | Refused | Failed | Ended | Dead
