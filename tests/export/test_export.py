"""In-process exports of every experiment, read back with TensorFlow and from saved_model.pb."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import saved_model_proto, with_plugin

tf = pytest.importorskip("tensorflow")


def inputs_of(signature_def):
    return {
        key: (tf.dtypes.as_dtype(info.dtype).name, [d.size for d in info.tensor_shape.dim])
        for key, info in signature_def.inputs.items()
    }


def test_image_classifier_exports_exactly(export):
    sig = saved_model_proto(export("image_classifier").export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"image": ("float32", [-1, 28, 28, 1])}
    assert set(sig.outputs) == {"scores"}


def test_multi_input_exports_exactly(export):
    sig = saved_model_proto(export("multi_input").export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"image": ("float32", [-1, 28, 28, 1]), "text": ("int32", [-1, 100])}


def test_variable_length_exports_exactly(export):
    sig = saved_model_proto(export("variable_length").export_dir).signature_def["serving_default"]
    assert inputs_of(sig) == {
        "input_sequence": ("float32", [-1, -1, 100]),
        "sequence_length": ("int32", [-1]),
    }


def test_variable_length_model_ignores_steps_past_the_length(export):
    serve = tf.saved_model.load(str(export("variable_length").export_dir)).signatures["serving_default"]
    rng = np.random.default_rng(1)
    sequence = rng.standard_normal((2, 5, 100)).astype("float32")
    padded = sequence.copy()
    padded[:, 3:] = 99.0  # garbage after the real steps
    lengths = tf.constant([3, 3], dtype=tf.int32)
    a = serve(input_sequence=tf.constant(sequence), sequence_length=lengths)["scores"].numpy()
    b = serve(input_sequence=tf.constant(padded), sequence_length=lengths)["scores"].numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    c = serve(input_sequence=tf.constant(padded), sequence_length=tf.constant([5, 5], dtype=tf.int32))[
        "scores"
    ]
    assert not np.allclose(a, c.numpy())


def test_classify_signature_takes_serialized_examples(export):
    meta = saved_model_proto(export("dnn_classifier").export_dir)
    for name in ("serving_default", "classification"):
        sig = meta.signature_def[name]
        assert sig.method_name == "tensorflow/serving/classify"
        assert inputs_of(sig) == {"inputs": ("string", [-1])}
        assert {k: tf.dtypes.as_dtype(v.dtype).name for k, v in sig.outputs.items()} == {
            "classes": "string",
            "scores": "float32",
        }
        assert tf.compat.v1.saved_model.signature_def_utils.is_valid_signature(sig)
    predict = meta.signature_def["predict"]
    assert predict.method_name == "tensorflow/serving/predict"
    assert inputs_of(predict) == {
        "age": ("float32", [-1]),
        "hours_per_week": ("int64", [-1]),
        "occupation": ("string", [-1]),
    }


def example(age: float, hours: int, occupation: str) -> bytes:
    feature = {
        "age": tf.train.Feature(float_list=tf.train.FloatList(value=[age])),
        "hours_per_week": tf.train.Feature(int64_list=tf.train.Int64List(value=[hours])),
        "occupation": tf.train.Feature(bytes_list=tf.train.BytesList(value=[occupation.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_classify_answers_tf_examples_like_predict_answers_features(export):
    loaded = tf.saved_model.load(str(export("dnn_classifier").export_dir))
    batch = tf.constant([example(41.0, 40, "nurse"), example(23.0, 12, "artist")])
    out = loaded.signatures["classification"](inputs=batch)
    assert out["classes"].numpy().tolist() == [[b"low", b"medium", b"high"]] * 2
    direct = loaded.signatures["predict"](
        age=tf.constant([41.0, 23.0]),
        hours_per_week=tf.constant([40, 12], dtype=tf.int64),
        occupation=tf.constant(["nurse", "artist"]),
    )
    np.testing.assert_allclose(out["scores"].numpy(), direct["scores"].numpy(), rtol=1e-6)


def test_regress_signature_follows_tf_serving_contract(export):
    result = export("dnn_regressor")
    meta = saved_model_proto(result.export_dir)
    for name in ("serving_default", "regression"):
        sig = meta.signature_def[name]
        assert sig.method_name == "tensorflow/serving/regress"
        assert inputs_of(sig) == {"inputs": ("string", [-1])}
        assert {k: tf.dtypes.as_dtype(v.dtype).name for k, v in sig.outputs.items()} == {"outputs": "float32"}
        assert tf.compat.v1.saved_model.signature_def_utils.is_valid_signature(sig)
    out = tf.saved_model.load(str(result.export_dir)).signatures["regression"](
        inputs=tf.constant([example(30.0, 10, "farmer")] * 3)
    )
    assert out["outputs"].shape == (3,)


def test_tf_example_predict_signature_parses_serialized_examples_in_graph(export):
    parsed = export("tf_example")
    sig = saved_model_proto(parsed.export_dir).signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert inputs_of(sig) == {"examples": ("string", [-1])}
    # The same model (same seed) taking the float features directly.
    direct = export("tf_example", "inputs.examples.modality=dense", "inputs.examples.preprocess=[]")
    assert inputs_of(saved_model_proto(direct.export_dir).signature_def["serving_default"]) == {
        "examples": ("float32", [-1, 8])
    }
    features = np.random.default_rng(3).standard_normal((3, 8)).astype("float32")
    serialized = [
        tf.train.Example(
            features=tf.train.Features(
                feature={"features": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
            )
        ).SerializeToString()
        for row in features
    ]
    from_examples = tf.saved_model.load(str(parsed.export_dir)).signatures["serving_default"](
        examples=tf.constant(serialized)
    )["scores"]
    from_floats = tf.saved_model.load(str(direct.export_dir)).signatures["serving_default"](
        examples=tf.constant(features)
    )["scores"]
    np.testing.assert_allclose(from_examples.numpy(), from_floats.numpy(), rtol=1e-6)
    assert not np.allclose(from_examples.numpy()[0], from_examples.numpy()[1])


def test_method_names_survive_loading_and_fingerprint_matches(export):
    from tensorflow.python.saved_model import fingerprinting_utils

    export_dir = str(export("dnn_classifier").export_dir)
    assert tf.saved_model.load(export_dir).signatures["classification"] is not None
    assert fingerprinting_utils.singleprint_from_fingerprint_proto(export_dir) == (
        fingerprinting_utils.singleprint_from_saved_model_proto(export_dir)
    )


def test_prefixed_naming_reaches_the_saved_model(export):
    sig = saved_model_proto(export("multi_input", "naming.policy=prefixed").export_dir).signature_def[
        "serving_default"
    ]
    assert set(sig.inputs) == {"input_image", "input_text"}
    loaded = tf.saved_model.load(str(export("multi_input", "naming.policy=prefixed").export_dir))
    assert set(loaded.signatures["serving_default"].structured_input_signature[1]) == {
        "input_image",
        "input_text",
    }


def test_verification_report_is_plain_data(export):
    report = export("multi_input").report
    data = json.loads(json.dumps(report.to_dict()))
    assert data["smoke"]["serving_default"]["batch"] == 2
    assert data["smoke"]["serving_default"]["finite"] is True
    assert data["contract"]["serving_default"]["inputs"]["text"] == {"dtype": "int32", "shape": [None, 100]}
    assert len(data["checks"]) == 5
    assert "C++ SavedModel loader" in data["checks"][-1] and "warmup" in data["checks"][-1]


def test_summary_files_are_written_outside_the_version(export):
    result = export("multi_input")
    assert [p.name for p in result.summary_files[:2]] == ["signature_summary.json", "signature_summary.md"]
    assert {"signature_card.html", "serving_default.json"} <= {p.name for p in result.summary_files}
    assert all(result.export_dir not in p.parents for p in result.summary_files)
    summary = json.loads(result.summary_files[0].read_text())
    assert summary["signatures"]["serving_default"]["outputs"]["scores"] == {
        "dtype": "float32",
        "shape": [None, 10],
    }
    assert "| input | `image` | float32 | [None, 28, 28, 1] |" in result.summary_files[1].read_text()
    assert os.listdir(result.export_dir) and not (result.export_dir / "signature_summary.json").exists()


def test_weights_file_is_loaded_before_export(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import build_model, run_export

    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}", "model.seed=1")
    trained = build_model(build_spec(cfg, plugins))
    trained.set_weights([w + 0.5 for w in trained.get_weights()])
    trained.save_weights(tmp_path / "trained.weights.h5")
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path}",
        f"model.weights={tmp_path / 'trained.weights.h5'}",
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    image = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(
        serve(image=tf.constant(image))["scores"].numpy(),
        trained({"image": image})["scores"].numpy(),
        rtol=1e-5,
    )


def test_incompatible_weights_are_refused_and_nothing_is_published(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import build_model, run_export

    other = build_model(build_spec(compose("+experiment=multi_input"), plugins))
    other.save_weights(tmp_path / "other.weights.h5")
    cfg = compose(
        "+experiment=image_classifier",
        f"export.base_dir={tmp_path / 'exports'}",
        f"model.weights={tmp_path / 'other.weights.h5'}",
    )
    with pytest.raises(ExportError, match="cannot be loaded into model 'image_cnn'"):
        run_export(build_spec(cfg, plugins), plugins)
    assert not any((tmp_path / "exports").rglob("saved_model.pb"))


def test_failed_verification_publishes_nothing(compose, tmp_path):
    """A model whose outputs are NaN passes tracing and saving; verification must stop it."""
    import keras

    from sigforge import hookimpl
    from sigforge.config.validate import build_spec
    from sigforge.errors import VerificationError
    from sigforge.pipeline import run_export

    class NanModel:
        @hookimpl
        def register_models(self, register):
            def build(model, inputs, **params):
                image = keras.Input(shape=(28, 28, 1), name="image")
                flat = keras.layers.Flatten()(image)
                scores = keras.layers.Dense(10)(flat) * float("nan")
                return keras.Model({"image": image}, {"scores": scores})

            register("nan_model", build)

    plugins = with_plugin(NanModel())
    cfg = compose(
        "+experiment=image_classifier", f"export.base_dir={tmp_path}", "model.architecture=nan_model"
    )
    with pytest.raises(VerificationError, match="NaN or infinite"):
        run_export(build_spec(cfg, plugins), plugins)
    assert os.listdir(tmp_path / "image_classifier") == []


def test_versions_count_up_and_are_never_overwritten(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    cfg = compose(
        "+experiment=image_classifier", f"export.base_dir={tmp_path}", "export.publish_identical=true"
    )
    spec = build_spec(cfg, plugins)
    assert [run_export(spec, plugins).version for _ in range(2)] == [1, 2]
    pinned = build_spec(
        compose("+experiment=image_classifier", f"export.base_dir={tmp_path}", "export.version=2"), plugins
    )
    with pytest.raises(ExportError, match="already exists; published versions are never overwritten"):
        run_export(pinned, plugins)
    assert sorted(os.listdir(tmp_path / "image_classifier")) == ["1", "2"]


def test_publish_takes_the_next_number_when_another_process_won(tmp_path):
    from sigforge.export.versions import publish

    model_dir = tmp_path / "m"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "1" / "saved_model.pb").write_bytes(b"x")
    staged = model_dir / ".sigforge-staging-1-a"
    staged.mkdir()
    (staged / "saved_model.pb").write_bytes(b"y")
    assert publish(staged, model_dir) == (2, model_dir / "2")
    assert (model_dir / "2" / "saved_model.pb").read_bytes() == b"y"


def test_staging_is_removed_only_when_its_writer_provably_died(tmp_path):
    """Liveness is the writer's lock on <staging>.lock, not a PID (which another namespace or host
    cannot see): a free lock means the writer is gone, a held one that it lives, wherever it runs."""
    import fcntl
    import time

    from sigforge.export.versions import STALE_WITHOUT_LOCK_SECONDS, remove_stale_staging

    dead, alive, legacy = (tmp_path / f".sigforge-staging-host-1-{n}" for n in ("dead", "alive", "legacy"))
    for path in (dead, alive, legacy):
        path.mkdir()
    (tmp_path / (dead.name + ".lock")).touch()  # its writer was killed: nobody holds the lock
    held = os.open(tmp_path / (alive.name + ".lock"), os.O_CREAT | os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # a live writer (another open file, as another process has)
    old = time.time() - STALE_WITHOUT_LOCK_SECONDS - 60
    os.utime(legacy, (old, old))  # no lock file at all (an older sigforge): a lease of a day
    orphan = tmp_path / ".sigforge-staging-host-1-published.lock"  # killed right after its rename
    orphan.touch()
    try:
        assert sorted(remove_stale_staging(tmp_path)) == sorted([dead, legacy])
        assert alive.exists() and not dead.exists() and not (tmp_path / (dead.name + ".lock")).exists()
        assert not orphan.exists() and (tmp_path / (alive.name + ".lock")).exists()
    finally:
        os.close(held)
    shutil.rmtree(alive)


def test_base_dir_that_cannot_be_created_is_refused(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cfg = compose("+experiment=image_classifier", f"export.base_dir={blocker / 'exports'}")
    with pytest.raises(ExportError, match="export.base_dir = .* cannot be created or written"):
        run_export(build_spec(cfg, plugins), plugins)


def test_model_dir_symlinked_out_of_base_dir_is_refused(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    (tmp_path / "base").mkdir()
    (tmp_path / "elsewhere").mkdir()
    Path(tmp_path / "base" / "image_classifier").symlink_to(tmp_path / "elsewhere")
    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path / 'base'}")
    with pytest.raises(ExportError, match="outside export.base_dir"):
        run_export(build_spec(cfg, plugins), plugins)
    assert os.listdir(tmp_path / "elsewhere") == []


def test_models_with_lookup_tables_keep_them_in_the_saved_model(compose, tmp_path):
    """Only variables and layer-owned TF resources are tracked; a StringLookup table must survive."""
    import keras

    from sigforge import hookimpl
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    class LookupModel:
        @hookimpl
        def register_models(self, register):
            def build(model, inputs, **params):
                occupation = keras.Input(shape=(), dtype="string", name="occupation")
                ids = keras.layers.StringLookup(
                    vocabulary=["engineer", "teacher", "nurse"], output_mode="one_hot"
                )(occupation)
                age = keras.Input(shape=(), name="age")
                hours = keras.Input(shape=(), dtype="int64", name="hours_per_week")
                merged = keras.layers.Concatenate()(
                    [
                        ids,
                        keras.layers.Reshape((1,))(age),
                        keras.layers.Reshape((1,))(keras.ops.cast(hours, "float32")),
                    ]
                )
                scores = keras.layers.Dense(model.num_classes, activation="softmax")(merged)
                return keras.Model(
                    {"occupation": occupation, "age": age, "hours_per_week": hours}, {"scores": scores}
                )

            register("lookup_model", build)

    plugins = with_plugin(LookupModel())
    cfg = compose(
        "+experiment=dnn_classifier", f"export.base_dir={tmp_path}", "model.architecture=lookup_model"
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    loaded = tf.saved_model.load(str(result.export_dir))
    a = loaded.signatures["predict"](
        age=tf.constant([1.0, 1.0]),
        hours_per_week=tf.constant([1, 1], tf.int64),
        occupation=tf.constant(["teacher", "nurse"]),
    )["scores"].numpy()
    assert not np.allclose(a[0], a[1])  # the table distinguishes the two occupations after reload


def test_verification_catches_a_dtype_that_drifted_while_tracing(compose, plugins, tmp_path):
    """The traced signature's own specs are no alibi: an input without preprocessors must be
    written exactly as declared, whatever the plan says the client sends."""
    from sigforge.config.validate import build_spec
    from sigforge.contract.read import TensorContract
    from sigforge.errors import VerificationError
    from sigforge.verify.checks import verify

    spec = build_spec(compose("+experiment=image_classifier", f"export.base_dir={tmp_path}"), plugins)
    drifted = tf.function(
        lambda image: {
            "scores": tf.reduce_sum(image, axis=[1, 2, 3])[:, None] * tf.ones([1, 10], tf.float64)
        },
        input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float64, name="image")],
    )
    tf.saved_model.save(tf.Module(), str(tmp_path / "staged"), signatures={"serving_default": drifted})
    plan_says = {"serving_default": {"image": TensorContract("float64", (None, 28, 28, 1))}}
    with pytest.raises(
        VerificationError, match=r"input 'image' is float64 \[None, 28, 28, 1\], expected float32"
    ):
        verify(tmp_path / "staged", spec, plan_says, references={})


STAGING_WRITER = """
import sys
from pathlib import Path
from sigforge.export.versions import publish, staging

model_dir = Path(sys.argv[1])
with staging(model_dir) as path:
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"from another namespace")
    print(path.name, flush=True)
    sys.stdin.readline()  # until the test says: publish
    print(publish(path, model_dir)[0], flush=True)
"""


def _can_unshare() -> bool:
    """Root, and a kernel/container that lets it make PID namespaces (some sandboxes do not)."""
    import subprocess

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


CAN_UNSHARE = _can_unshare()


def writer_in_another_pid_namespace(model_dir):
    """STAGING_WRITER in a PID namespace of its own (it dies with unshare: --kill-child)."""
    import subprocess
    import sys

    command = [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        sys.executable,
        "-c",
        STAGING_WRITER,
    ]
    return subprocess.Popen(
        [*command, str(model_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


@pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and unshare --pid (PID namespaces)")
def test_a_writer_in_another_pid_namespace_keeps_its_staging(compose, plugins, tmp_path):
    """Its PID means nothing here (it is 1 or 2 inside its namespace); its lock does."""

    from sigforge.config.validate import build_spec
    from sigforge.export.versions import remove_stale_staging
    from sigforge.pipeline import run_export

    model_dir = tmp_path / "image_classifier"
    model_dir.mkdir()
    writer = writer_in_another_pid_namespace(model_dir)
    try:
        staged = model_dir / writer.stdout.readline().strip()
        assert staged.is_dir() and staged.name.split("-")[-2] in ("1", "2")  # its PID inside its namespace
        assert remove_stale_staging(model_dir) == []
        cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}")
        ours = run_export(build_spec(cfg, plugins), plugins)  # a whole export beside it
        assert ours.version == 1 and staged.is_dir()
        writer.stdin.write("publish\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "2"
        assert writer.wait(timeout=30) == 0  # it leaves its staging block: the lock file goes
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert (model_dir / "2" / "saved_model.pb").read_bytes() == b"from another namespace"
    assert sorted(os.listdir(model_dir)) == ["1", "2"]


@pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and unshare --pid (PID namespaces)")
def test_a_killed_writer_in_another_namespace_leaves_staging_the_next_export_removes(tmp_path):
    import signal
    import time

    from sigforge.export.versions import remove_stale_staging

    writer = writer_in_another_pid_namespace(tmp_path)
    staged = tmp_path / writer.stdout.readline().strip()
    assert remove_stale_staging(tmp_path) == []
    writer.send_signal(signal.SIGKILL)  # unshare dies, and --kill-child takes the writer with it
    writer.wait()
    deadline = time.monotonic() + 30
    while remove_stale_staging(tmp_path) != [staged]:  # the kernel drops the lock as the writer dies
        assert time.monotonic() < deadline, "the dead writer's lock was never released"
    assert os.listdir(tmp_path) == []


def test_an_identical_re_export_publishes_nothing_and_says_which_version_it_equals(run_cli, tmp_path):
    """TF Serving would roll a byte-identical copy out as a new model; sigforge keeps the one it has."""
    import json

    first = run_cli("experiment=image_classifier")
    assert first.returncode == 0, first.stderr
    again = run_cli("experiment=image_classifier")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout.splitlines()[-1])
    assert result["version"] == 1 and result["published"] is False
    assert "image_classifier v1" in again.stderr and "nothing published" in again.stderr
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    assert sorted(os.listdir(model_dir)) == ["1"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("image_classifier").experiment_id])
    assert sorted(r.data.tags["sigforge.published"] for r in runs) == ["false", "true"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    forced = run_cli("experiment=image_classifier", "export.publish_identical=true", "mlflow.enabled=false")
    assert forced.returncode == 0 and sorted(os.listdir(model_dir)) == ["1", "2"]
