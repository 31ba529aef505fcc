"""The lifecycle against the registry (``tracking.lifecycle``, with ``mlflow.registered_model_name``):
a contract that breaks the registered version's clients is refused before anything is published, its
run ends FAILED keeping the diff, and two exports racing to register one name publish only the one
registered. The registry's refusal by both kinds of run is in test_lifecycle.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import QUIET_TF, run_statuses, start_cli

from .test_tracking import client_for, sqlite_uri

pytestmark = pytest.mark.slow


def statuses(cwd: Path) -> list[str]:
    """Every run's status in the embedded store, read with SQLite (not through sigforge)."""
    return run_statuses(cwd / "outputs" / "mlflow.db")


def test_registration_refuses_a_breaking_contract_unless_allowed(run_cli, tmp_path):
    first = run_cli("experiment=image_classifier", "mlflow.registered_model_name=digits")
    assert first.returncode == 0, first.stderr
    clash = ("experiment=image_classifier", "model.name=digits_v2", "naming=prefixed")
    dry = run_cli(*clash, "mlflow.registered_model_name=digits", "export.dry_run=true")
    registry = json.loads(dry.stdout)["registry"]
    assert registry["against"] == "models:/digits/1" and registry["allowed"] is False
    assert [c["change"] for c in registry["breaking"]] == [
        "input 'image' removed",
        "input 'input_image' added",
    ]
    refused = run_cli(*clash, "mlflow.registered_model_name=digits")
    assert refused.returncode == 5, refused.stderr
    # The config alone shows the renamed key: the helper refuses it while TensorFlow is imported.
    assert "stage verify" not in refused.stderr and "Nothing was published." in refused.stderr
    assert not (tmp_path / "outputs" / "exports" / "digits_v2" / "1").exists()
    assert "RUNNING" not in statuses(tmp_path)
    client = client_for(sqlite_uri(tmp_path))
    (failed,) = client.search_runs([client.get_experiment_by_name("digits_v2").experiment_id])
    assert failed.info.run_name == "digits_v2-v1" and failed.info.status == "FAILED"
    diff = Path(client.download_artifacts(failed.info.run_id, "contract_diff.md", str(tmp_path))).read_text()
    assert "Compared with registered model `digits` version 1" in diff
    assert "| serving_default | input 'image' removed |" in diff
    allowed = run_cli(*clash, "mlflow.registered_model_name=digits", "mlflow.allow_breaking=true")
    assert allowed.returncode == 0, allowed.stderr
    assert "registered models:/digits/2 (alias latest_export)" in allowed.stderr
    assert json.loads(allowed.stdout.strip().splitlines()[-1])["registered"] == "models:/digits/2"
    versions = client.search_model_versions("name='digits'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    second = client.get_model_version("digits", "2")
    assert (
        "breaks the clients of version 1 (registered with `mlflow.allow_breaking=true`)" in second.description
    )
    assert "| input | `input_image` | float32 | [None, 28, 28, 1] |" in second.description


def refused_in_process(
    cwd: Path, first: tuple[str, ...], second: tuple[str, ...], error: str
) -> tuple[list, str]:
    """Export ``first``, then ``second``, in one process that imported TensorFlow first, as a library
    caller does (so the run is logged in this process): the stages ``second`` ran before ``error``
    refused it, and the first line of its message."""
    script = (
        "import tensorflow, contextlib, json\n"
        "from sigforge.config.compose import compose\n"
        f"from sigforge.errors import {error}\n"
        "from sigforge.pipeline import export\n"
        "from sigforge.report.progress import Silent\n"
        "class Stages(Silent):\n"
        "    seen = []\n"
        "    @contextlib.contextmanager\n"
        "    def stage(self, name):\n"
        "        self.seen.append(name)\n"
        "        yield\n"
        f"export(compose(*{first!r}))\n"
        "try:\n"
        f"    export(compose(*{second!r}), progress=Stages())\n"
        f"except {error} as err:\n"
        "    print(json.dumps([Stages.seen, str(err).splitlines()[0]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    stages, line = json.loads(done.stdout.strip().splitlines()[-1])
    return stages, line


def test_an_export_logged_in_process_is_refused_by_the_registry_before_it_builds(tmp_path):
    """A library caller who imported TensorFlow first logs in this process: the registry judges
    what the config fixes as the run starts, so not one stage runs."""
    first = ("experiment=image_classifier", "mlflow.registered_model_name=digits")
    second = (
        "experiment=image_classifier",
        "model.name=other",
        "naming=prefixed",
        "mlflow.registered_model_name=digits",
    )
    assert refused_in_process(tmp_path, first, second, "RegistrationRefused") == (
        [],
        "mlflow.registered_model_name = 'digits': this contract breaks version 1's clients, so it was not registered:",
    )
    assert not (tmp_path / "outputs" / "exports" / "other").exists() or not list(
        (tmp_path / "outputs" / "exports" / "other").glob("[0-9]*")
    )
    assert "RUNNING" not in statuses(tmp_path)


def test_an_export_logged_in_process_is_refused_on_disk_before_it_builds_and_its_run_records_it(tmp_path):
    """The disk guard's refusal is decided before the run starts; the run (in this process, as
    TensorFlow is already imported) starts, records it FAILED, and not one stage runs."""
    first = ("experiment=image_classifier",)
    stages, line = refused_in_process(tmp_path, first, (*first, "naming=prefixed"), "BreakingChange")
    assert (stages, line.split(":")[0]) == ([], "export.allow_breaking = false")
    assert sorted(p.name for p in (tmp_path / "outputs" / "exports" / "image_classifier").iterdir()) == ["1"]
    assert statuses(tmp_path) == ["FINISHED", "FAILED"]


def test_two_exports_registering_one_name_with_clashing_contracts_publish_only_the_registered(tmp_path):
    """Both pass the registry check if it is not held through publishing and registering; the one
    refused must be refused before its version is on disk, where TF Serving would serve it."""
    procs = {
        name: start_cli(
            tmp_path,
            "experiment=image_classifier",
            f"model.name={name}",
            f"naming={policy}",
            "mlflow.registered_model_name=digits",
        )
        for name, policy in (("a", "identity"), ("b", "prefixed"))
    }
    codes = {}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=300)
        codes[name] = proc.returncode
        assert "Traceback" not in stderr, stderr
    assert sorted(codes.values()) == [0, 5], codes
    refused = next(name for name, code in codes.items() if code == 5)
    exports = tmp_path / "outputs" / "exports"
    assert not [p for p in (exports / refused).glob("*") if p.name.isdigit()]
    versions = client_for(sqlite_uri(tmp_path)).search_model_versions("name='digits'")
    assert [v.tags["sigforge.model_version"] for v in versions] == ["1"]
