"""``verify.serving_loader``: a SavedModel loaded as TF Serving loads it, by TensorFlow's C++ loader
through the C API (restore op, init op, tensors by name), answering as TensorFlow's Python
session loader does and naming the op that fails."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from conftest import session_run

from .test_serving import assert_same_outputs, npy_feeds

tf = pytest.importorskip("tensorflow")


def test_serving_session_names_the_failing_op_and_loads_what_tf_serving_loads(export):
    from sigforge.verify.serving_loader import ServingLoadError, ServingSession

    result = export("dnn_classifier")
    with ServingSession(result.export_dir) as session:
        assert session.signature_def["classification"].method_name == "tensorflow/serving/classify"
        feeds = npy_feeds(result, "classification")
        assert_same_outputs(
            session.run("classification", feeds), session_run(result.export_dir, "classification", feeds)
        )
        with pytest.raises(ServingLoadError) as caught:
            session.run("classification", {"inputs": np.array([b"not a tf.Example"], dtype=object)})
        assert caught.value.op  # the node TensorFlow names in its error


def test_the_loader_refuses_what_is_not_a_saved_model_and_a_request_missing_a_key(export, tmp_path):
    from sigforge.verify.serving_loader import ServingLoadError, ServingSession

    (tmp_path / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(ServingLoadError, match="loading the SavedModel"):
        ServingSession(tmp_path)
    result = export("multi_input")
    with ServingSession(result.export_dir) as session:
        feeds = npy_feeds(result, "serving_default")
        with pytest.raises(ServingLoadError, match=r"signature 'serving_default' needs inputs \['text'\]"):
            session.run("serving_default", {"image": feeds["image"]})
        both = session.run_all({"serving_default": feeds})  # the session still answers after a refusal
        assert both["serving_default"]["scores"].shape == (len(feeds["image"]), 10)


def test_a_saved_model_written_the_old_way_is_refused_and_not_published(
    compose, plugins, tmp_path, monkeypatch
):
    """Tracking Keras 3's variable wrappers (as sigforge did before) saves a SavedModel that
    tf.saved_model.load runs but TF Serving's loader cannot: the restore op fills copies."""
    from sigforge.config.validate import build_spec
    from sigforge.errors import VerificationError
    from sigforge.export import signatures
    from sigforge.pipeline import run_export

    def old_track(module, model):
        module.model_variables = list(model.variables)

    monkeypatch.setattr(signatures, "_track_for_serving", old_track)
    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path}")
    with pytest.raises(VerificationError) as caught:
        run_export(build_spec(cfg, plugins), plugins)
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "C++ SavedModel loader" in message  # the loader
    assert "signature 'serving_default'" in message  # the signature
    assert re.search(r"first failing op: \S+/ReadVariableOp", message)  # the op
    assert os.listdir(tmp_path / "image_classifier") == []
