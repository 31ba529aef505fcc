"""The estimator's contracts, reproduced: canned heads computed from a Keras model's logits,
predict over serialized tf.Examples, features of every kind, output aliases. Checked against the
real tf.estimator / Keras exports in tests/fixtures/adopt: the head's values from the estimator's own
logits, and, exported as the next version of each fixture's model directory, no contract difference
(sigforge's reader) and the same output keys, dtypes, shapes and labels in TensorFlow's session loader."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HEAD_BINARY as BINARY
from conftest import HEAD_MULTI as MULTI
from conftest import HEAD_REGRESSOR as REGRESSOR
from conftest import REPO, saved_model_proto, session_run, with_plugin

from sigforge.config.validate import build_spec
from sigforge.contract.compat import compare_contracts
from sigforge.contract.features import spec_examples
from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.errors import BreakingChange

tf = pytest.importorskip("tensorflow")

FIXTURES = REPO / "tests" / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
ESTIMATOR_HEADS = {
    "binary": "binary_classifier",
    "multi_class": "multi_class_classifier",
    "regressor": "regressor",
}

RAW = ("~signatures.serving_default", "~signatures.regression", "signatures.predict.examples=null")
ADOPTED = {
    "dnn_binary_parsing": BINARY,
    "linear_binary_parsing": BINARY,
    "dnn_multiclass_vocab_parsing": MULTI,
    "dnn_regressor_parsing": REGRESSOR,
    "dnn_binary_raw": (*BINARY, "~inputs.bucket", "~inputs.color", "~signatures.classification", *RAW),
    "dnn_regressor_raw": (
        *REGRESSOR,
        *RAW,
        "inputs.bucket.shape=[null,1]",
        "inputs.bucket.feature_kind=fixed",
        "inputs.color.shape=[null,1]",
        "inputs.color.feature_kind=fixed",
    ),
    "keras_export": (  # Keras names its one output output_0; the image CNN returns `scores`
        "experiment=image_classifier",
        "signatures.serving_default.outputs=[output_0]",
        "+signatures.serving_default.output_sources={output_0: scores}",
        "+signatures.serve={outputs: [output_0], output_sources: {output_0: scores}}",
    ),
}


def sample_feeds(name: str, signature: str) -> dict[str, np.ndarray]:
    entry = MANIFEST[name]
    inputs = entry["signatures"][signature]["inputs"]
    if entry["features"]:
        (key,) = inputs
        return {key: np.array([base64.b64decode(s) for s in entry["samples"]["examples_b64"]], dtype=object)}
    batch = entry["samples"]["batch"]
    return {
        k: np.array(batch[k], dtype=v["dtype"] if v["dtype"] != "string" else object)
        for k, v in inputs.items()
    }


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if MANIFEST[n].get("head")))
def test_the_head_computes_the_estimator_s_outputs_from_its_logits(name):
    """Fed the logits the estimator computed for the samples, the head answers what it answered."""
    from sigforge.export.heads import head_tensors

    entry = MANIFEST[name]
    head = ESTIMATOR_HEADS[entry["head"]["kind"]]
    answers = entry["sample_outputs"]
    logits = np.array(answers["predict"]["logits" if head != "regressor" else "predictions"], dtype="float32")
    labels = entry["class_labels"] or []
    n = entry["head"]["n_classes"] or 1
    for signature, expected in answers.items():
        method = entry["signatures"][signature]["method_name"].rsplit("/", 1)[-1]
        got = head_tensors(head, method, tf.constant(logits), labels, n)
        assert sorted(got) == sorted(expected), (name, signature)
        for key, want in expected.items():
            value = got[key].numpy()
            if value.dtype == object:
                assert value.astype(str).tolist() == want, (name, signature, key)
            else:
                np.testing.assert_allclose(
                    value, np.array(want), rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}"
                )


def adopt_export(compose, plugins, tmp_path: Path, name: str, *extra: str):
    """Export the config that reproduces fixture ``name`` into a copy of its model directory."""
    from sigforge.pipeline import run_export

    entry = MANIFEST[name]
    base = tmp_path / "models"
    shutil.copytree(FIXTURES / entry["model_dir"], base / entry["model_dir"])
    cfg = compose(
        *ADOPTED[name],
        f"model.name={entry['model_dir']}",
        f"export.base_dir={base}",
        "mlflow.enabled=false",
        *extra,
    )
    result = run_export(build_spec(cfg, plugins), plugins, summary_dir=tmp_path / "summary")
    return FIXTURES / entry["path"], result.export_dir


def answers(export_dir: Path, name: str) -> dict[str, dict[str, tuple]]:
    """Per signature: output key -> (dtype, shape, and the labels where every example gets all of
    them: classify's `classes`, predict's `all_classes`); one label per example must be a label."""
    labels = set(MANIFEST[name]["class_labels"] or [])
    found = {}
    for signature in MANIFEST[name]["signatures"]:
        out = session_run(export_dir, signature, sample_feeds(name, signature))
        found[signature] = {}
        for key, value in out.items():
            strings = value.astype(str) if value.dtype == object else None
            if strings is not None and value.shape[-1] == 1:
                assert set(strings.reshape(-1)) <= labels, (signature, key)
                strings = None
            found[signature][key] = (value.dtype, value.shape, None if strings is None else strings.tolist())
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ADOPTED))
def test_an_adopted_contract_serves_the_old_clients(compose, plugins, tmp_path, name):
    old, new = adopt_export(compose, plugins, tmp_path, name)
    assert int(new.name) > int(old.name)  # TF Serving serves it next, beside the estimator's timestamp
    assert compare_contracts(contract_to_dict(read_contract(old)), contract_to_dict(read_contract(new))) == []
    assert answers(new, name) == answers(old, name)


@pytest.mark.slow
def test_a_feature_dtype_change_against_the_estimator_is_refused_naming_it(compose, plugins, tmp_path):
    with pytest.raises(BreakingChange) as refused:
        adopt_export(compose, plugins, tmp_path, "dnn_binary_parsing", "inputs.bucket.dtype=string")
    assert "feature 'bucket' (in 'inputs') dtype" in str(refused.value)
    assert sorted(p.name for p in (tmp_path / "models" / "dnn_binary_parsing").iterdir()) == [
        MANIFEST["dnn_binary_parsing"]["version"]
    ]


def example(**features) -> bytes:
    def feature(values):
        if isinstance(values[0], str):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
        if isinstance(values[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    return tf.train.Example(
        features=tf.train.Features(feature={k: feature(v) for k, v in features.items()})
    ).SerializeToString()


@pytest.mark.slow
def test_defaults_varlen_and_ragged_features_are_parsed_as_declared(export):
    result = export(
        "estimator_classifier",
        "inputs.measurements.default=[0.5, 0, 0.1]",
        "inputs.bucket.feature_kind=ragged",
        "+inputs.hours={modality: tabular, dtype: int64, default: 40}",
        "+inputs.tag={modality: tabular, dtype: string, shape: [null, 1], default: none}",
    )
    contract = read_contract(result.export_dir)
    assert {name: sig.examples for name, sig in contract.items()} == spec_examples(result.spec)
    meta = saved_model_proto(result.export_dir)
    assert {k: v.dtype for k, v in meta.signature_def["predict"].inputs.items()} == {
        "examples": tf.string.as_datatype_enum
    }
    defaults_left_out = example(age=[1.0], bucket=[3, 4, 5], color=["red"])
    defaults_given = example(
        age=[1.0], bucket=[3, 4, 5], color=["red"], measurements=[0.5, 0.0, 0.1], hours=[40], tag=["none"]
    )
    other = example(
        age=[2.0], bucket=[1], color=["blue", "green"], measurements=[1.0, 2.0, 3.0], hours=[1], tag=["x"]
    )
    for signature, key in (("serving_default", "inputs"), ("predict", "examples"), ("regression", "inputs")):
        out = session_run(
            result.export_dir,
            signature,
            {key: np.array([defaults_left_out, defaults_given, other], dtype=object)},
        )
        for value in out.values():
            if value.dtype != object:
                np.testing.assert_array_equal(value[0], value[1])  # the graph filled in the defaults


def logits_model(keras):
    image = keras.Input(shape=(28, 28, 1), name="image")
    logits = keras.layers.Dense(3, kernel_initializer="glorot_uniform")(keras.layers.Flatten()(image))
    return keras.Model({"image": image}, {"logits": logits})


HEAD_ON_IMAGES = (
    "+experiment=image_classifier",
    "model.head=multi_class_classifier",
    "model.num_classes=3",
    "model.class_names=[cat,dog,bird]",
    "signatures.serving_default.outputs=[probabilities,classes,class_ids]",
    "mlflow.enabled=false",
)


def check_head_answers(export_dir: Path, model, keras) -> None:
    images = np.random.default_rng(0).standard_normal((4, 28, 28, 1)).astype("float32")
    out = session_run(export_dir, "serving_default", {"image": images})
    logits = model({"image": images})["logits"].numpy()
    np.testing.assert_allclose(out["probabilities"], keras.ops.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["class_ids"][:, 0], logits.argmax(-1))
    assert out["classes"][:, 0].astype(str).tolist() == [["cat", "dog", "bird"][i] for i in logits.argmax(-1)]


@pytest.mark.slow
def test_a_plugin_model_that_returns_logits_gets_the_head(compose, tmp_path):
    import keras

    from sigforge import hookimpl
    from sigforge.pipeline import run_export

    built = {}

    class LogitsModel:
        @hookimpl
        def register_models(self, register):
            def build(model, inputs, **params):
                assert model.head == "multi_class_classifier"
                built["model"] = logits_model(keras)
                return built["model"]

            register("logits_model", build)

    plugins = with_plugin(LogitsModel())
    cfg = compose(*HEAD_ON_IMAGES, "model.architecture=logits_model", f"export.base_dir={tmp_path}")
    result = run_export(build_spec(cfg, plugins), plugins)
    check_head_answers(result.export_dir, built["model"], keras)


@pytest.mark.slow
def test_a_source_model_s_single_output_is_taken_as_the_logits(compose, plugins, tmp_path):
    import keras

    from sigforge.pipeline import run_export

    model = logits_model(keras)
    model.save(tmp_path / "trained.keras")
    cfg = compose(
        *HEAD_ON_IMAGES, f"model.source={tmp_path / 'trained.keras'}", f"export.base_dir={tmp_path}"
    )
    result = run_export(build_spec(cfg, plugins), plugins)
    check_head_answers(result.export_dir, model, keras)


def test_a_model_without_logits_is_refused_naming_the_head(compose, tmp_path):
    import keras

    from sigforge import hookimpl
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    class ScoresModel:
        @hookimpl
        def register_models(self, register):
            def build(model, inputs, **params):
                image = keras.Input(shape=(28, 28, 1), name="image")
                scores = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(image))
                return keras.Model({"image": image}, {"scores": scores})

            register("scores_model", build)

    plugins = with_plugin(ScoresModel())
    cfg = compose(*HEAD_ON_IMAGES, "model.architecture=scores_model", f"export.base_dir={tmp_path}")
    with pytest.raises(
        ExportError, match="model.head = multi_class_classifier computes the estimator's outputs"
    ):
        run_export(build_spec(cfg, plugins), plugins)
    assert list((tmp_path / "image_classifier").iterdir()) == []


@pytest.mark.slow
def test_a_predict_signature_over_examples_without_a_head(export):
    result = export("dnn_classifier", "signatures.predict.examples=examples", "mlflow.enabled=false")
    sig = saved_model_proto(result.export_dir).signature_def["predict"]
    assert (sig.method_name, list(sig.inputs), list(sig.outputs)) == (
        "tensorflow/serving/predict",
        ["examples"],
        ["scores"],
    )
    assert read_contract(result.export_dir)["predict"].examples == spec_examples(result.spec)["predict"]
    loaded = tf.saved_model.load(str(result.export_dir)).signatures["predict"]
    examples = tf.constant([example(age=[30.0], hours_per_week=[40], occupation=["nurse"])])
    scores = loaded(examples=examples)["scores"].numpy()
    classify = session_run(result.export_dir, "classification", {"inputs": examples.numpy()})["scores"]
    np.testing.assert_allclose(scores, classify, rtol=1e-6)  # the same features, the same model
