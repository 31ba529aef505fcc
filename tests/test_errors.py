"""``sigforge.errors``: every refusal's class and exit status, its message, how an entry point ends
on one, and the record of a signal that ended an export (what the console may say of its run)."""

from __future__ import annotations

import contextlib
import io
import signal

import pytest

from sigforge import errors
from sigforge.errors import (
    BreakingChange,
    ConfigError,
    ContractRefused,
    ExportError,
    LauncherError,
    PluginError,
    Problems,
    RegistrationRefused,
    SigforgeDeprecationWarning,
    SigforgeError,
    Terminated,
    TrackingConfigError,
    TrackingError,
    UnreadableSavedModel,
    VerificationError,
)


@pytest.fixture(autouse=True)
def no_signal_remembered():
    errors.forget_signals()
    yield
    errors.forget_signals()


# -- Exit statuses and messages


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConfigError(["x"]), 2),
        (PluginError("x"), 2),
        (ExportError("x"), 2),
        (UnreadableSavedModel("x"), 2),
        (LauncherError("x"), 2),
        (VerificationError(["x"]), 3),
        (TrackingError("x"), 4),
        (TrackingConfigError("x"), 4),
        (ContractRefused("x"), 5),
        (BreakingChange("x"), 5),
        (RegistrationRefused("x"), 5),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_each_refusal_is_a_sigforge_error_with_its_documented_exit_status(error, status):
    assert isinstance(error, SigforgeError)
    assert error.exit_code == status


def test_one_config_problem_is_the_message_and_several_are_listed():
    assert str(ConfigError(["inputs.image.dtype = 'floaty' is not a dtype"])) == (
        "inputs.image.dtype = 'floaty' is not a dtype"
    )
    both = ConfigError(["first problem", "second problem"])
    assert str(both) == "2 problems in the config:\n  - first problem\n  - second problem"
    assert both.problems == ["first problem", "second problem"]
    lone = ConfigError("a whole message, not a list of its characters")
    assert lone.problems == ["a whole message, not a list of its characters"]
    assert str(lone) == "a whole message, not a list of its characters"


def test_problems_collect_every_failed_check_so_all_are_told_at_once():
    problems = Problems()
    assert problems.check(True, "never said") is True
    assert problems.check(False, "a is wrong") is False
    assert problems.check(False, "b is wrong") is False
    assert problems == ["a is wrong", "b is wrong"]


def test_a_verification_error_lists_each_problem_and_says_nothing_was_published():
    error = VerificationError(["signature 'x' is missing", "output 'y' is NaN"], report={"r": 1})
    assert str(error) == (
        "the written SavedModel failed verification, so no version was published:\n"
        "  - signature 'x' is missing\n  - output 'y' is NaN"
    )
    assert error.report == {"r": 1}


def test_a_contract_refusal_carries_its_evidence_for_the_reviewer():
    refused = BreakingChange("breaks clients", diff="| change |")
    assert isinstance(refused, ContractRefused) and refused.diff == "| change |"
    assert ContractRefused("no diff given").diff == ""


def test_an_unreadable_saved_model_is_also_a_value_error_for_readers_that_catch_those():
    with pytest.raises(ValueError, match="truncated"):
        raise UnreadableSavedModel("saved_model.pb is truncated")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_terminated_exits_as_a_shell_reports_the_signal_and_escapes_except_exception(signum, status):
    ended = Terminated(signum)
    assert ended.exit_code == status
    assert str(ended) == f"terminated by {signal.Signals(signum).name}"
    assert not isinstance(ended, Exception)  # a plugin's ``except Exception`` cannot swallow it


def test_out_of_memory_names_the_place_what_to_do_and_that_nothing_was_published():
    said = errors.out_of_memory("the build stage")
    assert said.startswith("the build stage ran out of memory (MemoryError)")
    assert "raise the memory limit" in said and said.endswith("Nothing was published.")


def test_io_reason_is_the_reason_without_the_exception_around_it():
    assert errors.io_reason(OSError(28, "No space left on device")) == "No space left on device"

    class OpError(Exception):
        message = " file is corrupt \n"

    assert errors.io_reason(OpError("ignored")) == "file is corrupt"
    assert errors.io_reason(RuntimeError("plain")) == "plain"


def test_one_line_keeps_the_first_line_joins_a_colon_line_to_its_message_and_bounds_the_length():
    assert errors.one_line(ValueError("bad value\n  tensor([1, 2, 3])\n  more")) == "bad value"
    assert errors.one_line(ValueError("error message for object <Dense>:\nshape mismatch")) == (
        "error message for object <Dense>: shape mismatch"
    )
    long = errors.one_line(ValueError("word " * 200))
    assert len(long) <= 404 and long.endswith("word ...")
    assert errors.one_line(ValueError("")) == ""


# -- How an entry point ends


def test_exit_for_tells_the_message_on_stderr_and_exits_with_the_errors_status(capsys):
    with pytest.raises(SystemExit) as ended:
        errors.exit_for(BreakingChange("this contract breaks version 1's clients"))
    assert ended.value.code == 5
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "sigforge: this contract breaks version 1's clients\n")


def test_exit_with_uses_the_readers_prefix_and_never_prints_a_password(capsys):
    with pytest.raises(SystemExit) as ended:
        errors.exit_with("cannot reach https://me:secret@mlflow.example:5000/", 2, prefix="sigforge log")
    assert ended.value.code == 2
    assert capsys.readouterr().err == "sigforge log: cannot reach https://***@mlflow.example:5000/\n"


def test_telling_with_stderr_closed_raises_nothing(monkeypatch):
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr("sys.stderr", closed)
    errors.tell("nobody hears this")  # a refusal is still a refusal: the caller exits as it would


# -- Signals: what ended the export, and what became of its run


def test_a_signal_raised_through_raise_for_signal_is_remembered_until_forgotten():
    ended = Terminated(signal.SIGTERM)
    with pytest.raises(Terminated) as raised:
        errors.raise_for_signal(ended)
    assert raised.value is ended and errors.raised_by_signal() is ended
    errors.forget_signals()
    assert errors.raised_by_signal() is None


def test_a_signal_that_c_code_swallowed_is_raised_again_at_the_stages_end():
    ended = Terminated(signal.SIGHUP)
    with contextlib.suppress(Terminated):  # TensorFlow's tracing printed the SystemError, carried on
        errors.raise_for_signal(ended)
    with pytest.raises(Terminated) as again:
        errors.reraise_swallowed_signal()
    assert again.value is ended


def test_without_a_signal_the_stages_end_raises_nothing():
    errors.reraise_swallowed_signal()


def test_the_outcome_says_killed_only_when_the_runs_owner_marked_it_so():
    ended = Terminated(signal.SIGTERM)
    with pytest.raises(Terminated):
        errors.raise_for_signal(ended)
    assert errors.run_outcome(ended) == "no MLflow run was started"  # nobody recorded a run yet
    errors.signal_ended_run(ended, "KILLED")
    assert errors.run_outcome(ended) == "its MLflow run is marked KILLED"
    errors.signal_ended_run(ended, "FINISHED")  # the signal came after the run had ended
    assert errors.run_outcome(ended) == "its MLflow run had already ended FINISHED"
    assert errors.run_outcome(Terminated(signal.SIGTERM)) == "no MLflow run was started"


def test_a_ctrl_c_that_python_raised_itself_is_recorded_by_the_runs_owner_too():
    interrupted = KeyboardInterrupt()  # Python's own SIGINT handler: raise_for_signal never saw it
    errors.signal_ended_run(interrupted, "KILLED")
    assert errors.run_outcome(interrupted) == "its MLflow run is marked KILLED"


# -- Deprecations


def test_deprecations_name_a_later_release_and_reach_users_running_the_command():
    """Python hides a DeprecationWarning outside ``__main__``, never a FutureWarning: a user whose
    config or plugin uses a deprecated form sees it."""
    from sigforge import __version__

    def release(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    assert release(errors.REMOVAL_VERSION) > release(__version__)
    assert issubclass(SigforgeDeprecationWarning, FutureWarning)
