"""sigforge as users meet it: a wheel installed non-editable into a fresh venv, run from another
directory. The editable install every other test uses serves packages from the checkout, so it
cannot see a package missing from the wheel; these tests can."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, installed_env, saved_model_proto

# The wheel venv is built once per worker: its users share one pytest-xdist worker (tests/test_docs.py too).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel_venv")]


def run(
    wheel_venv: dict[str, Any], command: str, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``command`` in bash, as typed in a shell with the fresh venv activated."""
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{command}"],
        cwd=cwd,
        env=installed_env(wheel_venv),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory that is not the checkout."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def test_the_wheel_holds_every_package_and_the_config_tree(wheel_venv):
    names = set(zipfile.ZipFile(wheel_venv["wheel"]).namelist())
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "sigforge").rglob("__init__.py")}
    assert packages and all(f"{package}/__init__.py" in names for package in packages)
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "sigforge").rglob("*.py")}
    assert modules <= names
    configs = {
        "sigforge/conf/" + p.relative_to(REPO / "conf").as_posix() for p in (REPO / "conf").rglob("*.yaml")
    }
    assert configs <= names


def test_the_build_prints_no_warnings(wheel_venv):
    lines = [line for line in wheel_venv["build_output"].splitlines() if "warning" in line.lower()]
    # pip's notes about this machine's own index configuration are not the project's metadata
    assert [line for line in lines if "Location 'file:" not in line] == []


def test_version_help_and_completion_lines(wheel_venv, elsewhere):
    version = run(wheel_venv, "sigforge --version", elsewhere)
    assert version.returncode == 0 and version.stdout.startswith("sigforge 0.2.0, TensorFlow 2.")
    helped = run(wheel_venv, "sigforge --help", elsewhere)
    assert helped.stdout.startswith("sigforge: export TensorFlow SavedModels")
    assert "sigforge inspect PATH" in helped.stdout and "experiment: " in helped.stdout
    for command in ("sigforge", "python -m sigforge"):
        hydra_help = run(wheel_venv, f"{command} --hydra-help", elsewhere)
        install = sorted(
            {line.strip() for line in hydra_help.stdout.splitlines() if "-sc install=bash" in line}
        )
        assert len(install) == 1, hydra_help.stdout
        script = run(wheel_venv, install[0].removeprefix('eval "$(').removesuffix(')"'), elsewhere)
        assert script.returncode == 0, script.stderr
        assert "hydra_bash_completion" in script.stdout
        completed = run(wheel_venv, f"{script.stdout}\necho ok", elsewhere)
        assert completed.returncode == 0 and completed.stdout.strip().endswith("ok"), completed.stderr


def test_the_main_job_a_dry_run_and_the_readers_from_another_directory(wheel_venv, elsewhere):
    exported = run(wheel_venv, "sigforge experiment=multi_input", elsewhere)
    assert exported.returncode == 0, exported.stderr
    result = json.loads(exported.stdout.splitlines()[-1])
    export_dir = Path(result["export_dir"])
    assert export_dir == elsewhere / "outputs" / "exports" / "multi_input" / "1"
    assert result["version"] == 1 and result["mlflow_run_id"]
    assert "| input | `image` | float32 | [None, 28, 28, 1] |" in exported.stdout
    assert "stage build" in exported.stderr and "stage build" not in exported.stdout
    inputs = saved_model_proto(export_dir).signature_def["serving_default"].inputs
    assert sorted(inputs) == ["image", "text"]
    assert (next((elsewhere / "outputs" / "runs").glob("*/*")) / "sigforge.log").is_file()

    dry = run(wheel_venv, "python -m sigforge +experiment=variable_length export.dry_run=true", elsewhere)
    assert dry.returncode == 0, dry.stderr
    shape = json.loads(dry.stdout)["signatures"]["serving_default"]["inputs"]["input_sequence"]["shape"]
    assert shape == [None, None, 100]

    first = run(wheel_venv, "sigforge inspect outputs/exports/multi_input --json | head -1", elsewhere)
    # quietly: no traceback, and the status a shell gives a writer ended by SIGPIPE (or 0 if it finished)
    assert first.returncode in (0, 141) and first.stdout == "{\n" and first.stderr == ""
    same = run(
        wheel_venv, "sigforge diff outputs/exports/multi_input outputs/exports/multi_input/1", elsewhere
    )
    assert same.returncode == 0, same.stderr

    quiet = run(
        wheel_venv, "sigforge experiment=multi_input model.name=unlogged mlflow.enabled=false", elsewhere
    )
    assert quiet.returncode == 0, quiet.stderr
    logged = run(wheel_venv, "sigforge log outputs/exports/unlogged", elsewhere)
    assert logged.returncode == 0, logged.stderr

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{elsewhere / 'outputs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("unlogged")
    (run_info,) = client.search_runs([experiment.experiment_id])
    assert run_info.info.status == "FINISHED"


def test_a_two_job_sweep(wheel_venv, elsewhere):
    swept = run(
        wheel_venv,
        "sigforge -m experiment=multi_input naming=identity,prefixed 'model.name=sweep_${naming.policy}'",
        elsewhere,
    )
    assert swept.returncode == 0, swept.stderr
    keys = {
        name: sorted(
            saved_model_proto(elsewhere / "outputs" / "exports" / name / "1")
            .signature_def["serving_default"]
            .inputs
        )
        for name in ("sweep_identity", "sweep_prefixed")
    }
    assert keys == {"sweep_identity": ["image", "text"], "sweep_prefixed": ["input_image", "input_text"]}


def test_the_example_team_plugin_from_its_entry_point(wheel_venv, elsewhere):
    installed = run(wheel_venv, f"pip install --quiet --no-deps {wheel_venv['plugin_wheel']}", elsewhere)
    assert installed.returncode == 0, installed.stderr
    exported = run(
        wheel_venv,
        "sigforge experiment=variable_length naming.policy=camel model.name=camel_sequences",
        elsewhere,
    )
    assert exported.returncode == 0, exported.stderr
    export_dir = Path(json.loads(exported.stdout.splitlines()[-1])["export_dir"])
    inputs = saved_model_proto(export_dir).signature_def["serving_default"].inputs
    assert sorted(inputs) == ["inputSequence", "sequenceLength"]
