"""MLflow end to end: what an export's run records in the embedded SQLite store (params, tags,
artifacts, the LoggedModel and its description), read back as users read it. The store helpers
below (``client_for``, ``sqlite_uri``, ``only_run``, ``model_uri``) are imported by the other
tracking tests; each module's own behaviour is tested in tests/tracking/test_<module>.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import QUIET_TF, REPO

pytestmark = pytest.mark.slow


def client_for(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def sqlite_uri(cwd: Path) -> str:
    return f"sqlite:///{(cwd / 'outputs' / 'mlflow.db').resolve()}"


def only_run(client, experiment: str):
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def test_export_is_an_mlflow_run_in_the_embedded_sqlite_store(run_cli, tmp_path):
    import mlflow
    import numpy as np

    result = run_cli("+experiment=multi_input")
    assert result.returncode == 0, result.stderr
    client = client_for(sqlite_uri(tmp_path))
    run = only_run(client, "multi_input")
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "multi_input-v1"
    assert run.data.params["inputs.image.shape"] == "[null, 28, 28, 1]"
    assert run.data.params["naming.policy"] == "identity"
    assert {"sigforge.version", "tensorflow.version", "python.version", "sigforge.contract_digest"} <= set(
        run.data.tags
    )
    assert {
        "build_seconds",
        "trace_seconds",
        "write_seconds",
        "verify_seconds",
        "logging_seconds",
        "saved_model_bytes",
        "parameter_count",
    } <= set(run.data.metrics)
    assert run.data.metrics["parameter_count"] > 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "config.yaml",
        "signature_summary.json",
        "signature_summary.md",
        "signature_card.html",
        "requests",
    } <= artifacts
    import mlflow.artifacts

    mlflow.set_tracking_uri(sqlite_uri(tmp_path))  # a run's model resolves through the tracking store
    model_files = {
        a.path
        for a in mlflow.artifacts.list_artifacts(
            artifact_uri=f"runs:/{run.info.run_id}/multi_input-v1", tracking_uri=sqlite_uri(tmp_path)
        )
    }
    assert {
        "multi_input-v1/MLmodel",
        "multi_input-v1/tfmodel",
        "multi_input-v1/input_example.json",
    } <= model_files
    line = json.loads(result.stdout.strip().splitlines()[-1])
    (output,) = run.outputs.model_outputs
    assert line["model_uri"] == f"models:/{output.model_id}"
    logged = client.get_logged_model(output.model_id)
    assert logged.name == "multi_input-v1"
    for description in (run.data.tags["mlflow.note.content"], logged.tags["mlflow.note.content"]):
        assert "| input | `image` | float32 | [None, 28, 28, 1] |" in description
        assert "| input | `text` | int32 | [None, 100] |" in description
        assert "`POST http://HOST:8501/v1/models/multi_input/versions/1:predict`" in description
        assert "the first version of this model" in description

    model = mlflow.pyfunc.load_model(line["model_uri"])
    inputs = model.metadata.signature.inputs.to_dict()
    assert {i["name"]: (i["tensor-spec"]["dtype"], list(i["tensor-spec"]["shape"])) for i in inputs} == {
        "image": ("float32", [-1, 28, 28, 1]),
        "text": ("int32", [-1, 100]),
    }
    out = model.predict({"image": np.zeros((3, 28, 28, 1), np.float32), "text": np.ones((3, 100), np.int32)})
    assert np.asarray(out["scores"]).shape == (3, 10)
    card = (tmp_path / "outputs" / "mlartifacts").rglob("signature_card.html").__next__().read_text()
    assert "<td class='key'>image</td>" in card and "http" not in card.split("<body>")[0]


def test_logged_model_is_the_published_saved_model(run_cli, tmp_path):
    result = run_cli("+experiment=image_classifier")
    assert result.returncode == 0, result.stderr
    published = tmp_path / "outputs" / "exports" / "image_classifier" / "1"
    logged = next((tmp_path / "outputs" / "mlartifacts").rglob("tfmodel"))
    for name in ("saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"):
        assert (logged / name).read_bytes() == (published / name).read_bytes()


def model_uri(run: Any) -> str:
    """``models:/<model_id>``: the run's LoggedModel, as the export's result line prints it."""
    (output,) = run.outputs.model_outputs
    return f"models:/{output.model_id}"


def test_the_mlflow_docs_python_snippet_runs_as_written(run_cli, tmp_path):
    import re

    snippet = re.search(r"```python\n(.*?)```", (REPO / "docs" / "mlflow.md").read_text(), re.S).group(1)
    assert run_cli("+experiment=multi_input").returncode == 0
    run = only_run(client_for(sqlite_uri(tmp_path)), "multi_input")
    code = (
        snippet.replace("models:/<model_id>", model_uri(run))
        + "\nprint(sorted(model.metadata.signature.inputs.input_names()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_TF},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['image', 'text']" in done.stdout


def test_export_finished_hooks_learn_the_mlflow_run(run_cli, tmp_path):
    (tmp_path / "team_notify.py").write_text(
        "from pathlib import Path\nfrom sigforge import hookimpl\n\n"
        "@hookimpl\ndef export_finished(result):\n"
        "    Path('notified.txt').write_text(str(result.mlflow_run_id))\n"
    )
    done = run_cli(
        "+experiment=image_classifier", "plugins.modules=[team_notify]", env={"PYTHONPATH": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr
    run = only_run(client_for(sqlite_uri(tmp_path)), "image_classifier")
    assert (tmp_path / "notified.txt").read_text() == run.info.run_id


def test_a_registered_model_sigforge_did_not_make_is_named_not_a_traceback(run_cli, tmp_path):
    import mlflow

    (tmp_path / "outputs").mkdir()
    uri = sqlite_uri(tmp_path)
    client = client_for(uri)
    client.create_registered_model("foreign")
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        mlflow.log_text("not a model", "notes/readme.txt")
    client.create_model_version("foreign", source=f"runs:/{run.info.run_id}/notes", run_id=run.info.run_id)
    refused = run_cli("experiment=image_classifier", "mlflow.registered_model_name=foreign")
    assert refused.returncode == 5 and "Traceback" not in refused.stderr
    assert "its latest version, 1, holds no SavedModel sigforge can read" in refused.stderr
    assert not list((tmp_path / "outputs" / "exports" / "image_classifier").glob("[0-9]*"))
    allowed = run_cli(
        "experiment=image_classifier", "mlflow.registered_model_name=foreign", "mlflow.allow_breaking=true"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "not compared with version 1" in client.get_model_version("foreign", "2").description
