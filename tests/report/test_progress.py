"""Progress: every stage of an export with its elapsed time, live on a terminal, as log records otherwise."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from conftest import QUIET_TF

pytestmark = pytest.mark.slow

STAGES = ("compose", "build", "trace", "write", "verify", "publish", "log")


def test_stages_are_log_records_with_elapsed_time_when_not_a_terminal(run_cli):
    result = run_cli("+experiment=image_classifier")
    assert result.returncode == 0, result.stderr
    for stage in STAGES:
        assert re.search(rf"stage {stage} done in \d+\.\d\ds", result.stdout + result.stderr), stage
    assert "\x1b[" not in result.stderr  # no terminal control codes in logs


def test_a_terminal_shows_every_stage_with_elapsed_time(tmp_path):
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sigforge", "+experiment=image_classifier"],
        cwd=tmp_path,
        env={**os.environ, **QUIET_TF, "TERM": "xterm", "COLUMNS": "100"},
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert proc.wait(timeout=300) == 0, screen.decode(errors="replace")[-2000:]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    for stage in STAGES:
        assert re.search(rf"✓ {stage}\s+\d+\.\d\ds", text), (stage, text[-2000:])
