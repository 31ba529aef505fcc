"""``verify.checks``: a written SavedModel checked in staging before it is published: its
signature_def against the spec, TF Serving's validity rules, ``tf.saved_model.load``'s view and
answers, the warmup file read back, TensorFlow's C++ loader (``test_serving_loader.py``); any
difference stops the export, and the report is plain data."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import with_plugin

tf = pytest.importorskip("tensorflow")

from sigforge.verify.checks import VerificationReport  # noqa: E402


def test_verification_report_is_plain_data(export):
    report = export("multi_input").report
    data = json.loads(json.dumps(report.to_dict()))
    assert data["smoke"]["serving_default"]["batch"] == 2
    assert data["smoke"]["serving_default"]["finite"] is True
    assert data["contract"]["serving_default"]["inputs"]["text"] == {"dtype": "int32", "shape": [None, 100]}
    assert len(data["checks"]) == 5
    assert "C++ SavedModel loader" in data["checks"][-1] and "warmup" in data["checks"][-1]


def test_the_report_names_the_inputs_rest_must_carry_as_b64():
    report = VerificationReport("/staging", {})
    report.inputs = {
        "serving_default": {
            "image": np.array([b"\x89PNG\r\n\x1a\n\xff"], dtype=object),  # not UTF-8: base64 in JSON
            "text": np.array([b"the quick fox"], dtype=object),
            "age": np.array([41.0], dtype=np.float32),
        },
        "predict": {"age": np.array([41.0], dtype=np.float32)},
    }
    assert report.binary_inputs() == {"serving_default": ["image"]}
    assert "inputs" not in report.to_dict()  # the arrays are not part of the plain data


def test_serving_loader_stage_is_part_of_verification(export):
    checks = export("multi_input").report.checks
    assert any("C++ SavedModel loader" in c and "warmup" in c for c in checks)


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


def test_a_corrupt_warmup_file_stops_the_export(compose, plugins, tmp_path, monkeypatch):
    """The warmup file is read back and replayed before publishing, not just written."""
    from sigforge.config.validate import build_spec
    from sigforge.errors import VerificationError
    from sigforge.export import warmup
    from sigforge.pipeline import run_export

    real_write = warmup.write_warmup

    def write_one_signature_only(export_dir, model, methods, inputs):
        return real_write(export_dir, model, methods, dict(list(inputs.items())[:1]))

    monkeypatch.setattr(warmup, "write_warmup", write_one_signature_only)
    cfg = compose("+experiment=dnn_classifier", f"export.base_dir={tmp_path}")
    with pytest.raises(VerificationError, match="holds no request for signature"):
        run_export(build_spec(cfg, plugins), plugins)
    assert os.listdir(tmp_path / "dnn_classifier") == []
