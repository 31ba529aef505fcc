"""``sigforge serving-config`` on real exports registered in a real MLflow store: labels follow the
registry's aliases to the right TF Serving version directories, versions other tools published in
the same directory are left out of a labelled policy, ``-o`` replaces the file whole, and TF
Serving's own protos read what it writes."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import QUIET_TF
from google.protobuf import text_format

pytestmark = pytest.mark.xdist_group("serving_config_store")

MODEL = "dnn_classifier"


def serving_config(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigforge", "serving-config", *args],
        cwd=cwd,
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=120,
    )


def parse(text: str):
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def entry(text: str, name: str = MODEL):
    (found,) = [m for m in parse(text).model_config_list.config if m.name == name]
    return found


def test_without_a_tracking_store_neither_mlflow_nor_tensorflow_is_imported(tmp_path):
    for version in ("1", "2"):
        (tmp_path / "outputs" / "exports" / "plain" / version).mkdir(parents=True)
    probe = (
        "import sys; from sigforge.cli.serving_config_command import main; main([]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'tensorflow', 'keras'}), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert entry(done.stdout, "plain").base_path == str(tmp_path / "outputs" / "exports" / "plain")
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # asking created no store


def test_a_file_that_cannot_be_replaced_is_one_error_and_leaves_nothing(tmp_path):
    (tmp_path / "outputs" / "exports" / "plain" / "1").mkdir(parents=True)
    (tmp_path / "taken").mkdir()
    for target, said in ((tmp_path / "taken", "is a directory"), (tmp_path / "no" / "f", "does not exist")):
        done = serving_config(tmp_path, "-o", str(target))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("sigforge serving-config: ") and said in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs", "taken"]
    assert list((tmp_path / "taken").iterdir()) == []


@pytest.fixture(scope="module")
def store(compose, tmp_path_factory):
    """``outputs/exports/dnn_classifier`` with versions 1 (not registered), 2 and 3 (registry
    versions 1 and 2 of ``digits``), and 10, a SavedModel another tool wrote; the embedded store."""
    import tensorflow as tf

    from sigforge.pipeline import export

    cwd = tmp_path_factory.mktemp("serving-config")
    base = ("+experiment=dnn_classifier", "export.publish_identical=true", "export.warmup=false")
    export(compose(*base, "mlflow.enabled=false"), cwd=cwd)
    for _ in range(2):
        export(compose(*base, "mlflow.registered_model_name=digits"), cwd=cwd)

    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * 2.0}

    other = Other()
    tf.saved_model.save(
        other, str(cwd / "outputs/exports" / MODEL / "10"), signatures={"serving_default": other.serve}
    )
    return cwd


@pytest.fixture(scope="module")
def client(store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{store / 'outputs' / 'mlflow.db'}")


def aliases(client, **wanted: str) -> None:
    """The registry's aliases of `digits` exactly as ``wanted`` (besides latest_export): each test
    sets its own, so none depends on another having run first on the same store (xdist may run
    another module's tests between them, and then the module's store is made anew)."""
    for alias in set(client.get_registered_model("digits").aliases) - {"latest_export", *wanted}:
        client.delete_registered_model_alias("digits", alias)
    for alias, version in wanted.items():
        client.set_registered_model_alias("digits", alias, version)


@pytest.mark.slow
def test_without_aliases_the_default_policy_serves_the_newest_version(store, client):
    aliases(client)
    # latest_export, sigforge's bookkeeping alias, is not a label unless asked for
    assert client.get_registered_model("digits").aliases == {"latest_export": 2}
    done = serving_config(store)
    assert done.returncode == 0, done.stderr
    model = entry(done.stdout)
    assert model.base_path == str(store / "outputs" / "exports" / MODEL)
    assert model.model_platform == "tensorflow"
    assert not model.HasField("model_version_policy") and not model.version_labels
    assert "TF Serving's default policy serves the newest version (10)" in done.stderr
    asked = entry(serving_config(store, "--alias", "latest_export").stdout)
    assert dict(asked.version_labels) == {"latest_export": 3}  # registry version 2 is directory 3


@pytest.mark.slow
def test_aliases_become_labels_of_the_version_directories_and_follow_a_move(store, client, tmp_path):
    aliases(client, champion="1", challenger="2")  # directories 2 and 3
    out = tmp_path / "models.config"
    done = serving_config(store, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    model = entry(out.read_text())
    assert dict(model.version_labels) == {"champion": 2, "challenger": 3}
    assert list(model.model_version_policy.specific.versions) == [2, 3]  # not 1, nor another tool's 10
    assert "labels challenger -> 3 (models:/digits@challenger), champion -> 2 (models:/digits@champion)" in (
        done.stderr
    )
    # The alias moves to a version the running config serves: the label moves at once.
    client.set_registered_model_alias("digits", "champion", "2")
    assert serving_config(store, "-o", str(out)).returncode == 0
    model = entry(out.read_text())
    assert dict(model.version_labels) == {"champion": 3, "challenger": 3}
    assert list(model.model_version_policy.specific.versions) == [3]
    # To a version it does not serve: held one config, served beside, then moved.
    client.set_registered_model_alias("digits", "challenger", "1")
    held = serving_config(store, "-o", str(out))
    assert "label 'challenger' stays at version 3 and version 2 is served beside it" in held.stderr
    model = entry(out.read_text())
    assert dict(model.version_labels) == {"champion": 3, "challenger": 3}
    assert list(model.model_version_policy.specific.versions) == [2, 3]
    assert serving_config(store, "-o", str(out)).returncode == 0
    assert dict(entry(out.read_text()).version_labels) == {"champion": 3, "challenger": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.config"]  # no temporary left
    assert out.stat().st_mode & 0o777 == 0o644
    # Printed without a previous file, the config labels what the registry says.
    assert dict(entry(serving_config(store).stdout).version_labels) == {"champion": 3, "challenger": 2}


@pytest.mark.slow
def test_an_alias_on_a_version_gone_from_disk_is_refused_and_nothing_is_written(store, client, tmp_path):
    aliases(client, champion="2")  # directory 3
    out = tmp_path / "models.config"
    out.write_text("the config TF Serving runs now\n")
    # A version registered from directory 7, which was deleted since (its model: version 1's).
    first = client.get_model_version("digits", "1")
    version = client.create_model_version(
        "digits",
        source=first.source,
        model_id=first.model_id,
        tags={
            "sigforge.version_dir": str(store / "outputs/exports" / MODEL / "7"),
            "sigforge.model_version": "7",
        },
    )
    client.set_registered_model_alias("digits", "gone", version.version)
    try:
        done = serving_config(store, "-o", str(out), "--previous", os.devnull)
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(
            "sigforge serving-config: models:/digits@gone (registry version 3) is TF Serving version 7"
        )
        assert "which is not on disk" in line and "Traceback" not in done.stderr
        assert out.read_text() == "the config TF Serving runs now\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["models.config"]
        # --alias chooses the labels: without 'gone', the config is written.
        chosen = serving_config(store, "--alias", "champion")
        assert chosen.returncode == 0 and dict(entry(chosen.stdout).version_labels) == {"champion": 3}
    finally:
        client.delete_registered_model_alias("digits", "gone")


@pytest.mark.slow
def test_the_card_and_request_files_name_the_label_endpoints(store, client):
    aliases(client, champion="2", challenger="1")  # directories 3 and 2
    # breaking: version 10, the newest on disk, is another tool's with another contract
    done = subprocess.run(
        [sys.executable, "-m", "sigforge", "experiment=dnn_classifier", "export.allow_breaking=true",
         "export.warmup=false", "hydra.run.dir=outputs/card_run"],
        cwd=store, env={**os.environ, **QUIET_TF}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = store / "outputs" / "card_run"
    summary = json.loads((run_dir / "signature_summary.json").read_text())
    assert summary["labels"] == {"champion": 3, "challenger": 2}
    card = (run_dir / "signature_card.html").read_text()
    assert f"http://localhost:8501/v1/models/{MODEL}/labels/champion:classify" in card
    assert "TF Serving gRPC classify (Python), label challenger (version 2)" in card
    assert "python requests/serving_default.grpc.py localhost:8500 champion" in card
    request = runpy.run_path(str(run_dir / "requests" / "serving_default.grpc.py"))["build_request"](
        "champion"
    )
    assert request.model_spec.version_label == "champion" and request.model_spec.name == MODEL
