"""The signature card's ready-to-copy requests: well-formed for the exported signatures, with
``{"b64": ...}`` exactly where verification saw bytes that are not UTF-8."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from sigforge.card import render_card, requests_for

tf = pytest.importorskip("tensorflow")


def body(request: str) -> dict:
    """The JSON body of a ``curl ... -d '<json>'`` line."""
    return json.loads(re.search(r"-d '(.*)'$", request).group(1))


def predict_requests(summary: dict, signature: str = "serving_default") -> tuple[dict, dict]:
    requests = requests_for(
        signature,
        summary["signatures"][signature],
        summary["model"],
        binary_keys=summary["binary_inputs"].get(signature, ()),
    )
    rows = next(v for k, v in requests.items() if "instances" in k)
    columns = next(v for k, v in requests.items() if "inputs: one list per key" in k)
    return body(rows), body(columns)


def test_predict_requests_are_accepted_by_the_exported_signature(export):
    result = export("multi_input")
    rows, columns = predict_requests(result.summary)
    assert rows["signature_name"] == "serving_default" and set(rows["instances"][0]) == {"image", "text"}
    serve = tf.saved_model.load(str(result.export_dir)).signatures["serving_default"]
    out = serve(
        image=tf.constant(np.array(columns["inputs"]["image"], np.float32)),
        text=tf.constant(np.array(columns["inputs"]["text"], np.int32)),
    )
    assert out["scores"].shape == (1, 10)


def test_bytes_are_b64_by_what_verification_sent_not_by_the_key_name(export):
    photo = export("image_bytes", "inputs.image.key=photo")  # no 'image' in the key to guess from
    assert photo.summary["binary_inputs"] == {"serving_default": ["photo"]}
    rows, columns = predict_requests(photo.summary)
    assert set(rows["instances"][0]["photo"]) == {"b64"}
    assert set(columns["inputs"]["photo"][0]) == {"b64"}

    text = export("text_raw")  # a string input, but UTF-8 text: a plain JSON string
    assert text.summary["binary_inputs"] == {}
    rows, _ = predict_requests(text.summary)
    assert isinstance(rows["instances"][0]["text"], str)


def test_classify_request_is_tf_example_json(export):
    from sigforge.pipeline import example_features

    result = export("dnn_classifier")
    features = example_features(result.spec)["classification"]
    requests = requests_for(
        "classification", result.summary["signatures"]["classification"], "dnn_classifier", features
    )
    request = body(requests["TF Serving REST classify"])
    assert request == {"signature_name": "classification", "examples": [features]}
    assert set(features) == {"age", "hours_per_week", "occupation"}
    assert "--input_examples" in requests["saved_model_cli"]
    card = render_card(result.summary, example_features(result.spec))
    assert "localhost:8501/v1/models/dnn_classifier:classify" in card
    assert "<link" not in card and "<script" not in card  # self-contained: nothing fetched
