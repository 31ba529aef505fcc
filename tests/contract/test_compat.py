"""Which contract changes break clients: the rules shared by `sigforge diff`, the version guard on disk,
the sweep guard and the registry guard; then the guards end to end."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from sigforge.contract.compat import breaking_changes, compare_contracts

BASE = {
    "serving_default": {
        "method_name": "tensorflow/serving/predict",
        "inputs": {
            "image": {"dtype": "float32", "shape": [None, 28, 28, 1]},
            "text": {"dtype": "int32", "shape": [None, 100]},
        },
        "outputs": {"scores": {"dtype": "float32", "shape": [None, 10]}},
    }
}


def changed(edit) -> dict:
    contract = copy.deepcopy(BASE)
    edit(contract["serving_default"])
    return contract


def _set(path, value):
    def edit(sig):
        node = sig
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


def _pop(path):
    def edit(sig):
        node = sig
        for part in path[:-1]:
            node = node[part]
        node.pop(path[-1])

    return edit


def _rename_input(sig):
    sig["inputs"]["input_image"] = sig["inputs"].pop("image")


RULES = [
    # (case, new contract, breaking?)
    ("identical", BASE, False),
    ("input removed", changed(_pop(["inputs", "text"])), True),
    ("input renamed", changed(_rename_input), True),
    ("input added", changed(_set(["inputs", "extra"], {"dtype": "float32", "shape": [None]})), True),
    ("input dtype changed", changed(_set(["inputs", "text", "dtype"], "int64")), True),
    ("input free dimension fixed", changed(_set(["inputs", "text", "shape"], [8, 100])), True),
    ("input size changed", changed(_set(["inputs", "text", "shape"], [None, 50])), True),
    ("input rank changed", changed(_set(["inputs", "text", "shape"], [None, 100, 1])), True),
    ("input dimension widened", changed(_set(["inputs", "text", "shape"], [None, None])), False),
    ("method changed", changed(_set(["method_name"], "tensorflow/serving/classify")), True),
    ("output removed", changed(_pop(["outputs", "scores"])), True),
    (
        "output added",
        changed(_set(["outputs", "embedding"], {"dtype": "float32", "shape": [None, 4]})),
        False,
    ),
    ("output dtype changed", changed(_set(["outputs", "scores", "dtype"], "float64")), True),
    ("signature removed", {}, True),
    ("signature added", {**BASE, "extra": BASE["serving_default"]}, False),
]


@pytest.mark.parametrize(("case", "new", "breaking"), RULES, ids=[r[0] for r in RULES])
def test_contract_rules(case, new, breaking):
    assert bool(breaking_changes(BASE, new)) is breaking
    if case != "identical":
        assert compare_contracts(BASE, new), "every difference is reported, breaking or not"


def test_a_widened_input_narrows_when_read_backwards():
    wide = changed(_set(["inputs", "text", "shape"], [None, None]))
    assert not breaking_changes(BASE, wide) and breaking_changes(wide, BASE)


# ---- the guards, end to end through the CLI -------------------------------------------------------


@pytest.mark.slow
def test_a_breaking_version_is_refused_on_disk_and_an_allowed_one_published(run_cli, tmp_path):
    first = run_cli("+experiment=multi_input", "mlflow.enabled=false")
    assert first.returncode == 0, first.stderr
    widened = run_cli("+experiment=multi_input", "mlflow.enabled=false", "inputs.text.shape=[null,null]")
    assert widened.returncode == 0, widened.stderr  # compatible: a widened dimension
    refused = run_cli("+experiment=multi_input", "mlflow.enabled=false", "naming.policy=prefixed")
    assert refused.returncode == 5
    assert "breaks the clients of" in refused.stderr and "multi_input/2" in refused.stderr
    assert "input 'image' removed" in refused.stderr and "export.allow_breaking=true" in refused.stderr
    assert "Traceback" not in refused.stderr
    model_dir = tmp_path / "outputs" / "exports" / "multi_input"
    assert sorted(os.listdir(model_dir)) == ["1", "2"]  # nothing published, no staging left
    allowed = run_cli(
        "+experiment=multi_input",
        "mlflow.enabled=false",
        "naming.policy=prefixed",
        "export.allow_breaking=true",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert sorted(os.listdir(model_dir)) == ["1", "2", "3"]


def test_a_refused_version_leaves_the_mlflow_run_failed_not_running(run_cli, tmp_path):
    from sigforge.tracking.store import DEFAULT_STORE

    assert run_cli("+experiment=image_classifier", "mlflow.enabled=false").returncode == 0
    refused = run_cli("+experiment=image_classifier", "naming.policy=prefixed")
    assert refused.returncode == 5, refused.stderr
    # Said once, before MLflow records the run (the process ends once it is recorded).
    assert refused.stderr.count("breaks the clients of") == 1
    told = refused.stderr.index("breaks the clients of")
    assert told < refused.stderr.index("recording the refused export's run in MLflow...")
    import sqlite3

    with sqlite3.connect(tmp_path / DEFAULT_STORE) as db:
        assert [s for (s,) in db.execute("select status from runs")] == ["FAILED"]
    assert sorted(os.listdir(tmp_path / "outputs" / "exports" / "image_classifier")) == ["1"]
    # The refused run keeps its evidence, named for the version it would have been.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / DEFAULT_STORE}")
    (run,) = client.search_runs([client.get_experiment_by_name("image_classifier").experiment_id])
    assert run.info.run_name == "image_classifier-v2" and run.data.tags["sigforge.refused"] == "true"
    diff = Path(client.download_artifacts(run.info.run_id, "contract_diff.md", str(tmp_path))).read_text()
    assert "| serving_default | input 'image' removed | float32 [None, 28, 28, 1] | - | BREAKING |" in diff
    assert "image_classifier/1`, the version TF Serving serves now" in diff
    assert "| serving_default | input 'image' removed |" in run.data.tags["mlflow.note.content"]


def test_a_sweep_with_clashing_contracts_is_refused_before_any_job(run_cli, tmp_path):
    refused = run_cli("-m", "+experiment=multi_input", "naming.policy=identity,prefixed")
    assert refused.returncode == 5, refused.stderr
    assert "clashing contracts under model.name = 'multi_input'" in refused.stderr
    assert "model.name=multi_input_${naming.policy}" in refused.stderr
    assert "No job was run" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "outputs" / "exports").exists()
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # not even a parent run


@pytest.mark.slow
def test_a_sweep_that_breaks_the_served_version_is_refused_before_any_job(run_cli, tmp_path):
    assert run_cli("+experiment=image_classifier", "mlflow.enabled=false").returncode == 0
    refused = run_cli("-m", "+experiment=image_classifier", "naming=prefixed", "model.hidden_units=[16],[32]")
    assert refused.returncode == 5, refused.stderr
    assert "job [experiment=image_classifier naming=prefixed model.hidden_units=[16]]" in refused.stderr
    assert "breaks the clients of" in refused.stderr and "No job was run." in refused.stderr
    assert sorted(os.listdir(tmp_path / "outputs" / "exports" / "image_classifier")) == ["1"]
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # not even a parent run


@pytest.mark.slow
def test_a_sweep_with_a_model_directory_per_contract_runs(run_cli, tmp_path):
    done = run_cli(
        "-m",
        "+experiment=image_classifier",
        "naming.policy=identity,prefixed",
        "model.name=image_${naming.policy}",
        "mlflow.enabled=false",
    )
    assert done.returncode == 0, done.stderr
    exports = tmp_path / "outputs" / "exports"
    assert sorted(os.listdir(exports)) == ["image_identity", "image_prefixed"]


def test_check_sweep_lets_compatible_jobs_share_a_directory(compose):
    """Jobs that differ in what the contract does not show (hidden units) share a model directory."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from sigforge.config.schema import register_schema
    from sigforge.sweeps.contract_guard import check_sweep, job_overrides

    assert len(job_overrides(["+experiment=multi_input", "model.hidden_units=[16],[32]", "a=1,2"])) == 4
    register_schema()  # as the app does before any callback runs
    GlobalHydra.instance().clear()
    with initialize_config_module("sigforge.conf", version_base="1.3"):
        check_sweep("config", ["+experiment=multi_input", "model.hidden_units=[16],[32]"])


def test_hydra_job_chdir_does_not_move_the_model_directory_past_the_guard(run_cli, tmp_path):
    """With hydra.job.chdir=true each job runs inside its own run directory; relative paths still
    resolve where the command ran, so the second export meets the first and is refused."""
    first = run_cli("+experiment=image_classifier", "hydra.job.chdir=true")
    assert first.returncode == 0, first.stderr
    refused = run_cli("+experiment=image_classifier", "hydra.job.chdir=true", "naming.policy=prefixed")
    assert refused.returncode == 5, refused.stderr
    assert sorted(os.listdir(tmp_path / "outputs" / "exports" / "image_classifier")) == ["1"]
    assert (tmp_path / "outputs" / "mlflow.db").is_file()
    assert not list((tmp_path / "outputs").glob("*/*/outputs"))  # nothing inside a run directory


def test_a_sweep_whose_jobs_parse_a_feature_differently_is_refused_naming_it(run_cli, tmp_path):
    """The jobs' Classify signatures show the same `inputs` tensor; only the parsed feature differs."""
    refused = run_cli("-m", "experiment=dnn_classifier", "inputs.hours_per_week.dtype=int64,float32")
    assert refused.returncode == 5, refused.stderr
    assert "clashing contracts under model.name = 'dnn_classifier'" in refused.stderr
    assert "feature 'hours_per_week' (in 'inputs') dtype" in refused.stderr
    assert not (tmp_path / "outputs" / "exports").exists()
