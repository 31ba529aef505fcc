"""``sigforge.cli.app``, the export command (Hydra's app): importing it changes nothing in the process;
running it gives TensorFlow its environment defaults (``sigforge.TENSORFLOW_ENV_DEFAULTS``) and Hydra
the schema. End to end: the real ``python -m sigforge`` in a subprocess, results read back
independently (an export, the refusals of a config and how they are told, a dry run, a multirun)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import saved_model_proto

from sigforge import TENSORFLOW_ENV_DEFAULTS

IMPORT_ONLY = """
import json, os
before = dict(os.environ)
import sigforge.cli.app
from hydra.core.config_store import ConfigStore
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"changed": changed, "stored": ConfigStore.instance().list("/")}))
"""

PROBE = """
import json, os
from pathlib import Path
Path("seen.json").write_text(json.dumps({k: os.environ.get(k) for k in NAMES}))
"""


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TENSORFLOW_ENV_DEFAULTS}
    return {**env, "PYTHONWARNINGS": "ignore", **values}


def test_importing_the_app_changes_no_environment_and_stores_no_schema():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["changed"] == []
    assert not [name for name in said["stored"] if name.startswith("sigforge_")]


def test_the_command_gives_tensorflow_its_defaults_where_the_user_set_none(tmp_path):
    """A plugin module, imported while the config is validated, sees what TensorFlow would."""
    (tmp_path / "envprobe.py").write_text(PROBE.replace("NAMES", repr(sorted(TENSORFLOW_ENV_DEFAULTS))))
    done = subprocess.run(
        [sys.executable, "-m", "sigforge", "experiment=image_classifier", "export.dry_run=true",
         "plugins.modules=[envprobe]"],
        cwd=tmp_path, env=clean_env(PYTHONPATH=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["signatures"]  # composed against the schema, as before
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {**TENSORFLOW_ENV_DEFAULTS, "TF_CPP_MIN_LOG_LEVEL": "3"}  # the user's value wins


@pytest.mark.slow
def test_multi_input_export_from_the_command_line(run_cli, tmp_path):
    tf = pytest.importorskip("tensorflow")
    result = run_cli("+experiment=multi_input")
    assert result.returncode == 0, result.stderr
    export_dir = tmp_path / "outputs" / "exports" / "multi_input" / "1"
    meta = saved_model_proto(export_dir)
    sig = meta.signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert {k: [d.size for d in v.tensor_shape.dim] for k, v in sig.inputs.items()} == {
        "image": [-1, 28, 28, 1],
        "text": [-1, 100],
    }
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    out = serve(image=tf.zeros([3, 28, 28, 1]), text=tf.ones([3, 100], dtype=tf.int32))
    assert out["scores"].shape == (3, 10)
    # The summary lands in Hydra's run directory, not in the version directory.
    summaries = list((tmp_path / "outputs" / "runs").glob("*/*/signature_summary.json"))
    assert len(summaries) == 1
    assert json.loads(summaries[0].read_text())["version"] == 1
    assert sorted(os.listdir(export_dir.parent)) == ["1"]


@pytest.mark.slow
def test_invalid_key_is_refused_before_anything_is_written(run_cli, tmp_path):
    result = run_cli("+experiment=image_classifier", "inputs.image.key=input_image:0")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "sigforge: inputs.image.key = 'input_image:0' is not a valid signature key"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "exports").exists()


@pytest.mark.slow
def test_full_error_shows_the_traceback(run_cli):
    result = run_cli(
        "+experiment=image_classifier", "inputs.image.dtype=floaty", env={"HYDRA_FULL_ERROR": "1"}
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


@pytest.mark.slow
def test_wrong_type_fails_at_composition_with_the_key_path(run_cli, tmp_path):
    result = run_cli("+experiment=image_classifier", "inputs.image.shape=[null,abc]")
    assert result.returncode == 1
    assert "inputs.image.shape" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "exports").exists()


@pytest.mark.slow
def test_unknown_experiment_is_refused(run_cli):
    result = run_cli("+experiment=nope")
    assert result.returncode == 1
    assert "experiment" in result.stderr and "nope" in result.stderr


@pytest.mark.slow
def test_dry_run_prints_the_contract_without_tensorflow(run_cli, tmp_path):
    result = run_cli(
        "+experiment=dnn_classifier", "export.dry_run=true", env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert result.returncode == 0, result.stderr
    contract = json.loads(result.stdout)
    assert contract["signatures"]["classification"]["method_name"] == "tensorflow/serving/classify"
    assert contract["signatures"]["classification"]["inputs"] == {
        "inputs": {"dtype": "string", "shape": [None]}
    }
    imported = {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")
    }
    assert "tensorflow" not in imported and "keras" not in imported
    assert not (tmp_path / "outputs" / "exports").exists()


@pytest.mark.slow
def test_multirun_sweeps_naming_policies_into_one_experiment(run_cli, tmp_path):
    result = run_cli(
        "-m",
        "+experiment=multi_input",
        "naming.policy=identity,prefixed",
        "export.allow_breaking=true",
        env={"MLFLOW_EXPERIMENT_NAME": "team-sweeps"},
    )
    assert result.returncode == 0, result.stderr
    # The sweep's parent run and its jobs' runs share the experiment that MLFLOW_EXPERIMENT_NAME names.
    with sqlite3.connect(tmp_path / "outputs" / "mlflow.db") as db:
        experiments = db.execute(
            "select e.name, count(*) from runs r join experiments e using (experiment_id) group by e.name"
        ).fetchall()
    assert experiments == [("team-sweeps", 3)]
    model_dir = tmp_path / "outputs" / "exports" / "multi_input"
    keys = {
        v: set(saved_model_proto(model_dir / v).signature_def["serving_default"].inputs) for v in ("1", "2")
    }
    assert sorted(keys.values(), key=sorted) == [{"image", "text"}, {"input_image", "input_text"}]
    summaries = sorted((tmp_path / "outputs" / "multirun").glob("*/*/*/signature_summary.json"))
    assert [p.parent.name for p in summaries] == ["0", "1"]
