"""``sigforge.cli.dispatch``: the ``sigforge`` command. ``--version`` names sigforge and the libraries
an export depends on; a reader's name runs that reader and exits with its status; anything else is
the export app's (Hydra's overrides)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from conftest import QUIET_TF, imported

import sigforge
from sigforge.cli.dispatch import READERS, main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"


@pytest.fixture(autouse=True)
def own_argv(monkeypatch):
    """The command names itself in ``sys.argv[0]`` (``sigforge inspect``): keep pytest's."""
    monkeypatch.setattr(sys, "argv", ["sigforge"])


def installed(*dists: str) -> str | None:
    for dist in dists:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_names_sigforge_and_each_library_an_export_depends_on(flag, capsys):
    main([flag])
    expected = [f"sigforge {sigforge.__version__}"]
    for label, dists in (
        ("TensorFlow", ("tensorflow-cpu", "tensorflow")),
        ("Keras", ("keras",)),
        ("MLflow", ("mlflow",)),
        ("Hydra", ("hydra-core",)),
    ):
        found = installed(*dists)
        expected.append(f"{label} {found}" if found else f"{label} not installed")
    assert capsys.readouterr().out == ", ".join(expected) + "\n"


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_reader_is_a_sub_command_whose_help_names_it_as_typed(name, capsys):
    with pytest.raises(SystemExit) as ended:
        main([name, "--help"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: sigforge {name} ")


def test_a_reader_runs_with_the_remaining_arguments_and_the_command_exits_with_its_status(capsys):
    old, new = FIXTURES / "handwritten_multi", FIXTURES / "handwritten_image"
    with pytest.raises(SystemExit) as ended:
        main(["diff", str(old), str(new)])
    assert ended.value.code == 1  # a breaking change
    assert "input 'text' removed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as ended:
        main(["inspect", "--json", str(new)])
    assert ended.value.code == 0
    assert json.loads(capsys.readouterr().out)["export_dir"] == str(new / "1")


@pytest.mark.slow
def test_version_and_inspect_answer_without_hydra_tensorflow_or_mlflow(tmp_path):
    """They are the quick commands: nothing heavier than the standard library and protobuf."""
    for args in (["--version"], ["inspect", str(FIXTURES / "handwritten_image")]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "sigforge", *args], cwd=tmp_path,
            env={**os.environ, **QUIET_TF}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert imported(done.stderr, "hydra", "omegaconf", "tensorflow", "keras", "mlflow") == set(), args
