"""Kind 7 of reliability round 4 and the exit-4 result line: how the export command ends.

With stdout closed the version was published and logged, then the command exited 1 with an
AttributeError; with a reader that had left (``| true``) the published version's run ended FAILED,
still named ``-pending``, exit 141, and stderr said nothing. A published version is now recorded
as published and the console problem is said on stderr. Exit 4 (the export kept, MLflow failed)
printed no JSON line, so a script reading the last stdout line read the summary's last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import QUIET_TF, run_statuses

from sigforge.cli.exits import STDOUT, write_out

pytestmark = pytest.mark.slow
IMAGE = "+experiment=image_classifier"


def sigforge(tmp_path, *args, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "sigforge", *args],
        cwd=tmp_path,
        env={**os.environ, **QUIET_TF},
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def published_and_finished(tmp_path, stderr: str) -> None:
    assert (tmp_path / "outputs" / "exports" / "image_classifier" / "1" / "saved_model.pb").is_file()
    assert "sigforge: exported image_classifier v1 to" in stderr
    assert "Traceback" not in stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "outputs" / "mlflow.db") as db:
        assert list(db.execute("select name, status from runs")) == [("image_classifier-v1", "FINISHED")]


def test_with_stdout_closed_the_export_is_published_logged_and_said_on_stderr(tmp_path):
    proc = sigforge(tmp_path, IMAGE, preexec_fn=lambda: os.close(1))
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    published_and_finished(tmp_path, stderr)
    assert "stdout was closed, so the signature summary and the result line were not printed" in stderr


def test_with_a_reader_that_left_the_export_is_published_logged_and_said_on_stderr(tmp_path):
    proc = sigforge(tmp_path, IMAGE, stdout=subprocess.PIPE)
    proc.stdout.close()  # the reader leaves before anything is printed (| true)
    stderr = proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    published_and_finished(tmp_path, stderr)
    assert "stdout lost its reader (a closed pipe)" in stderr


def test_exit_4_still_prints_the_result_line_last(tmp_path):
    proc = sigforge(
        tmp_path,
        IMAGE,
        "mlflow.tracking_uri=http://127.0.0.1:9/",
        "mlflow.http_timeout=1",
        "mlflow.http_retries=0",
        stdout=subprocess.PIPE,
    )
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 4, stderr[-2000:]
    line = json.loads(stdout.strip().splitlines()[-1])
    assert line["version"] == 1 and line["published"] is True
    assert line["export_dir"].endswith("outputs/exports/image_classifier/1")
    assert line["model_uri"] is None and "could not start a run" in line["mlflow_error"]
    assert run_statuses(tmp_path / "outputs" / "mlflow.db") == []


def test_write_out_never_raises_once_stdout_is_gone(monkeypatch):
    class Gone:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise ValueError("no descriptor")

    monkeypatch.setattr(sys, "stdout", Gone())
    monkeypatch.setattr(STDOUT, "lost", None)
    write_out("the summary")
    write_out("the result line")
    assert STDOUT.lost == "gone"
