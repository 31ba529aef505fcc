"""Other runtimes on request: ``export.targets`` makes verification convert and run each signature
(TFLite, ONNX Runtime). Which signatures TFLite runs at all, against the summary's word, is checked
for every experiment by ``test_consumer_matrix.py``."""

from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")


def test_the_string_ops_that_stop_other_runtimes_are_read_from_each_signatures_graph(export):
    from sigforge.verify.portability import runtime_blockers

    plain, parsed = export("image_classifier"), export("tf_example")
    assert runtime_blockers(plain.export_dir) == {"serving_default": []}
    assert "ParseExampleV2" in runtime_blockers(parsed.export_dir)["serving_default"]
    assert parsed.report.runtime_blockers == runtime_blockers(parsed.export_dir)  # what the summary says
    blocked = runtime_blockers(export("dnn_classifier").export_dir)
    assert blocked["predict"] == [] and "ParseExampleV2" in blocked["classification"]


@pytest.mark.slow
def test_export_targets_tflite_verifies_the_conversion(export):
    result = export("multi_input", "export.targets=[tflite]", "model.name=multi_input_tflite")
    assert any("converts to TFLite" in check for check in result.report.checks)


@pytest.mark.slow
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


@pytest.mark.slow
def test_export_targets_onnx_verifies_the_conversion_in_onnx_runtime(export):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    result = export("variable_length", "export.targets=[onnx]", "model.name=variable_length_onnx")
    assert any("ONNX Runtime" in check for check in result.report.checks)
