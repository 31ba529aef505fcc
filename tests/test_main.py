"""``sigforge.__main__``: ``python -m sigforge`` (and the file itself, as Hydra's completion line
runs it) hands its arguments to ``sigforge.cli.dispatch``."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import QUIET_TF

import sigforge

MAIN = Path(sigforge.__file__).with_name("__main__.py")


def test_python_dash_m_sigforge_answers_the_command_line(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "sigforge.__main__", raising=False)
    monkeypatch.setattr(sys, "argv", ["python -m sigforge", "--version"])
    runpy.run_module("sigforge", run_name="__main__", alter_sys=True)
    assert capsys.readouterr().out.startswith(f"sigforge {sigforge.__version__}, TensorFlow ")


def test_run_as_a_file_the_package_parent_replaces_the_package_on_the_path(monkeypatch, capsys):
    """Python puts a script's own directory first on ``sys.path``; ``sigforge/`` there would let its
    stage packages (``config``, ``export``, ...) shadow top-level modules of those names."""
    package, parent = str(MAIN.parent), str(MAIN.parent.parent)
    monkeypatch.setattr(sys, "path", [package, *sys.path])
    monkeypatch.setattr(sys, "argv", [str(MAIN), "--version"])
    runpy.run_path(str(MAIN), run_name="__main__")
    assert package not in [os.path.abspath(p or os.curdir) for p in sys.path]
    assert sys.path[0] == parent
    assert capsys.readouterr().out.startswith(f"sigforge {sigforge.__version__}, ")


@pytest.mark.slow
def test_python_dash_m_sigforge_help_exits_0_describing_the_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sigforge", "--help"], cwd=tmp_path, env={**os.environ, **QUIET_TF},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("sigforge: export TensorFlow SavedModels")
    assert "experiment: " in done.stdout  # Hydra's config groups, listed from the packaged tree
    assert not (tmp_path / "outputs").exists()  # help makes no run directory
