"""Which signatures other runtimes can run: what the summary says is checked against TensorFlow's
own TFLite converter and interpreter (builtin ops only, its default)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXPERIMENTS

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow


def tflite_answers(export_dir, signature, feeds):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(export_dir), signature_keys=[signature])
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    return interpreter.get_signature_runner(signature)(**feeds)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_the_summary_says_which_signatures_tflite_runs_and_names_what_stops_it(export, experiment):
    result = export(experiment)
    runtimes = result.summary["other_runtimes"]
    assert sorted(runtimes) == sorted(result.summary["signatures"])
    loaded = tf.saved_model.load(str(result.export_dir))
    for signature, feeds in result.report.inputs.items():
        blocking = runtimes[signature]
        if blocking:
            with pytest.raises(Exception) as refused:  # ConverterError has no public import path
                tflite_answers(result.export_dir, signature, feeds)
            assert type(refused.value).__name__ == "ConverterError"
            assert any(op in str(refused.value) for op in blocking), (
                signature,
                blocking,
                str(refused.value)[-500:],
            )
            continue
        answered = tflite_answers(result.export_dir, signature, feeds)
        expected = loaded.signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
        for key, value in expected.items():
            np.testing.assert_allclose(answered[key], value.numpy(), rtol=1e-4, atol=1e-5, err_msg=signature)


def test_export_targets_tflite_verifies_the_conversion(export):
    result = export("multi_input", "export.targets=[tflite]", "model.name=multi_input_tflite")
    assert any("converts to TFLite" in check for check in result.report.checks)


def test_export_targets_tflite_refuses_a_signature_tflite_cannot_run(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import VerificationError
    from sigforge.pipeline import run_export

    cfg = compose("+experiment=tf_example", f"export.base_dir={tmp_path}", "export.targets=[tflite]")
    with pytest.raises(
        VerificationError,
        match=r"signatures.serving_default runs in-graph string ops TFLite lacks \(ParseExampleV2\)",
    ):
        run_export(build_spec(cfg, plugins), plugins)
    assert not [p for p in (tmp_path / "tf_example").iterdir() if p.name.isdigit()]


def test_export_targets_onnx_verifies_the_conversion_in_onnx_runtime(export):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    result = export("variable_length", "export.targets=[onnx]", "model.name=variable_length_onnx")
    assert any("ONNX Runtime" in check for check in result.report.checks)
