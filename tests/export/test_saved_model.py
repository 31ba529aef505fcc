"""``export.saved_model``: the SavedModel written into staging, with the method names TF Serving's
Classify and Regress APIs require (which ``tf.saved_model.save`` cannot write), and a fingerprint
that still matches the rewritten ``saved_model.pb``."""

from __future__ import annotations

import pytest
from conftest import census_example, inputs_of, saved_model_proto

from sigforge.errors import ExportError
from sigforge.export.saved_model import set_method_names, write_saved_model

tf = pytest.importorskip("tensorflow")


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
        inputs=tf.constant([census_example(30.0, 10, "farmer")] * 3)
    )
    assert out["outputs"].shape == (3,)


def test_method_names_survive_loading_and_fingerprint_matches(export):
    from tensorflow.python.saved_model import fingerprinting_utils

    export_dir = str(export("dnn_classifier").export_dir)
    assert tf.saved_model.load(export_dir).signatures["classification"] is not None
    assert fingerprinting_utils.singleprint_from_fingerprint_proto(export_dir) == (
        fingerprinting_utils.singleprint_from_saved_model_proto(export_dir)
    )


class Plan:
    """What ``write_saved_model`` takes: a module and its signature functions (a ServingPlan's part)."""

    def __init__(self):
        self.module = tf.Module()
        self.module.scale = tf.Variable(2.0)
        self.functions = {
            "doubled": tf.function(
                lambda x: {"outputs": x * self.module.scale},
                input_signature=[tf.TensorSpec([None], tf.float32, name="x")],
            ).get_concrete_function()
        }


def test_a_method_name_set_after_saving_is_what_both_views_read(tmp_path):
    path = tmp_path / "staged"
    write_saved_model(Plan(), path, {"doubled": "tensorflow/serving/predict"})
    assert saved_model_proto(path).signature_def["doubled"].method_name == "tensorflow/serving/predict"
    set_method_names(path, {"doubled": "tensorflow/serving/regress"})
    assert saved_model_proto(path).signature_def["doubled"].method_name == "tensorflow/serving/regress"
    doubled = tf.saved_model.load(str(path)).signatures["doubled"]
    assert doubled(x=tf.constant([1.5]))["outputs"].numpy().tolist() == [3.0]


def test_a_saved_model_that_cannot_be_written_is_refused_naming_export_base_dir(tmp_path):
    (tmp_path / "file").write_text("a file where the staging directory's parent would be")
    with pytest.raises(ExportError, match=r"writing the SavedModel under export.base_dir failed") as info:
        write_saved_model(Plan(), tmp_path / "file" / "staged", {"doubled": "tensorflow/serving/predict"})
    assert "check free space, file size limits and permissions" in str(info.value)
