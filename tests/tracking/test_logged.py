"""What one export's run records, as plain data (``tracking.logged``): the name a run and its
LoggedModel take, the URI a logged model is loaded by, and records that cannot change once made
(they cross to the logging helper; tests/tracking/test_messages.py sends them through a real pipe)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sigforge.tracking.logged import Logged, LoggedExport, Refusal, export_name


def test_a_run_and_its_logged_model_are_named_for_the_model_and_its_version():
    assert export_name("digits", 3) == "digits-v3"
    assert export_name("digits", "3") == "digits-v3"


def test_a_logged_model_is_loaded_by_its_model_id_and_says_what_was_registered():
    logged = Logged("m-0123abcd", registered="models:/digits/2")
    assert logged.model_uri == "models:/m-0123abcd"
    assert Logged("m-1").registered is None


def test_an_export_to_log_defaults_to_a_new_published_version_registered_nowhere():
    export = LoggedExport(export_dir=Path("/e/m/1"), version=1, summary={"signatures": {}})
    assert export.published and export.register_as is None and not export.allow_breaking
    assert (export.config_yaml, dict(export.client_files), dict(export.examples), dict(export.metrics)) == (
        "",
        {},
        {},
        {},
    )


@pytest.mark.parametrize(
    "record",
    [
        Refusal("m-v2", "refused", "| diff |"),
        Logged("m-1"),
        LoggedExport(export_dir=Path("/e/m/1"), version=1, summary={}),
    ],
)
def test_what_was_recorded_cannot_be_changed_afterwards(record):
    field = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, "other")
