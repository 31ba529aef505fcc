"""The exporter and its logging helper talk in dataclasses: each message crosses a real process
pipe (as ``tracking.background`` uses it) whole, and is read by its type and field names."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from sigforge.tracking.logged import Logged, LoggedExport, Refusal
from sigforge.tracking.messages import Check, Ended, Fail, Failed, Finish, Ok, Refused, Started, StartFailed


def _echo(conn) -> None:
    """A helper that sends back whatever it is sent, until the pipe closes."""
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass


def test_every_message_crosses_a_process_pipe_whole():
    context = multiprocessing.get_context("spawn")  # nothing inherited: the message carries it all
    ours, theirs = context.Pipe()
    helper = context.Process(target=_echo, args=(theirs,), daemon=True)
    helper.start()
    theirs.close()
    export = LoggedExport(
        export_dir=Path("/exports/digits/3"),
        version=3,
        summary={"signatures": {"serving_default": {"inputs": {}}}},
        examples={"serving_default": {"image": np.zeros((1, 2), "float32")}},
        register_as="digits",
    )
    messages = [
        Check("digits", {"serving_default": {"inputs": {}}}, False, notify=1234),
        Fail("KeyboardInterrupt", "KILLED", Refusal("digits-v3", "refused", "| diff |")),
        Finish(export),
        Started("run-1"),
        StartFailed("experiment 'x' is deleted", config_error=True),
        Ok(Logged("m-1", "models:/digits/2")),
        Refused("breaks version 1's clients", "| diff |"),
        Failed("MLflow did not finish within 5 s"),
        Ended("KILLED"),
    ]
    try:
        for message in messages:
            ours.send(message)
            back = ours.recv()
            assert type(back) is type(message)
            if isinstance(message, Finish):
                assert back.export.examples["serving_default"]["image"].shape == (1, 2)
                assert back.export.register_as == "digits" and back.export.version == 3
            else:
                assert back == message
    finally:
        ours.close()
        helper.join(timeout=30)
    assert Ok(Logged("m-1")).logged.model_uri == "models:/m-1"
