"""The tf.Example features a client must build: listed from the spec, and equal to what
verification really sent through the serving graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sigforge.config.validate import build_spec
from sigforge.contract.example import example_features as parsed_features
from sigforge.contract.features import example_features


def test_classify_signatures_list_one_feature_per_input_and_predict_lists_none(compose, plugins):
    found = example_features(build_spec(compose("+experiment=dnn_classifier"), plugins))
    assert sorted(found) == ["classification", "serving_default"]  # predict takes plain tensors
    assert found["serving_default"]["key"] == "inputs"
    assert [(f["feature"], f["dtype"], f["shape"], f["list"], f["default"]) for f in found["serving_default"]["features"]] == [
        ("age", "float32", [], "float_list", None),
        ("hours_per_week", "int64", [], "int64_list", None),
        ("occupation", "string", [], "bytes_list", None),
    ]  # fmt: skip


def test_a_tf_example_input_lists_the_feature_its_parser_reads(compose, plugins):
    found = example_features(build_spec(compose("+experiment=tf_example"), plugins))
    assert found == {
        "serving_default": {
            "key": "examples",
            "features": [
                {
                    "feature": "features",
                    "dtype": "float32",
                    "shape": [8],
                    "list": "float_list",
                    "default": None,
                }
            ],
        }
    }


def test_signatures_without_examples_list_nothing(compose, plugins):
    assert example_features(build_spec(compose("+experiment=multi_input"), plugins)) == {}


@pytest.mark.parametrize("experiment", ["dnn_classifier", "dnn_regressor", "tf_example"])
def test_listed_features_are_those_of_the_examples_verification_sent(export, experiment):
    """The serialized tf.Examples verification fed the C++ loader carry exactly the listed
    features, in the listed list kinds and lengths, and the request files say the same."""
    result = export(experiment)
    listed = result.summary["example_features"]
    assert listed
    for signature, entry in listed.items():
        examples = np.asarray(result.report.inputs[signature][entry["key"]]).reshape(-1)
        for serialized in examples:
            sent = parsed_features(bytes(serialized))
            assert {name: kind for name, (kind, _) in sent.items()} == {
                f["feature"]: f["list"] for f in entry["features"]
            }
            for f in entry["features"]:
                assert len(sent[f["feature"]][1]) == int(np.prod(f["shape"], dtype=int))
        written = json.loads(result.client_files[f"requests/{signature}.features.json"])
        assert written == entry
        card = result.client_files["signature_card.html"].decode()
        assert all(f"<td class='key'>{f['feature']}</td>" in card for f in entry["features"])
