"""The tf.Example features a client must build: listed from the spec, and equal to what
verification really sent through the serving graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sigforge.config.validate import build_spec
from sigforge.contract.example import example_features as parsed_features
from sigforge.contract.features import spec_examples, summary_features
from sigforge.contract.graph import FeatureContract
from sigforge.contract.read import contract_to_dict, expected_contract


def test_classify_signatures_parse_one_feature_per_input_and_predict_none(compose, plugins):
    found = spec_examples(build_spec(compose("+experiment=dnn_classifier"), plugins))
    assert sorted(found) == ["classification", "serving_default"]  # predict takes plain tensors
    assert found["serving_default"] == {
        "inputs": {
            "age": FeatureContract("float32", "fixed", (), None),
            "hours_per_week": FeatureContract("int64", "fixed", (), None),
            "occupation": FeatureContract("string", "fixed", (), None),
        }
    }


def test_a_tf_example_input_lists_the_feature_its_parser_reads(compose, plugins):
    spec = build_spec(compose("+experiment=tf_example"), plugins)
    assert summary_features(contract_to_dict(expected_contract(spec))) == {
        "serving_default": [
            {
                "key": "examples",
                "features": [
                    {
                        "feature": "features",
                        "dtype": "float32",
                        "kind": "fixed",
                        "shape": [8],
                        "list": "float_list",
                        "default": None,
                    }
                ],
            }
        ]
    }


def test_signatures_without_examples_list_nothing(compose, plugins):
    assert spec_examples(build_spec(compose("+experiment=multi_input"), plugins)) == {}


@pytest.mark.parametrize("experiment", ["dnn_classifier", "dnn_regressor", "tf_example"])
def test_listed_features_are_those_of_the_examples_verification_sent(export, experiment):
    """The serialized tf.Examples verification fed the C++ loader carry exactly the listed
    features, in the listed list kinds and lengths, and the request files say the same."""
    result = export(experiment)
    listed = result.summary["example_features"]
    assert listed
    for signature, entries in listed.items():
        (entry,) = entries
        examples = np.asarray(result.report.inputs[signature][entry["key"]]).reshape(-1)
        for serialized in examples:
            sent = parsed_features(bytes(serialized))
            assert {name: kind for name, (kind, _) in sent.items()} == {
                f["feature"]: f["list"] for f in entry["features"]
            }
            for f in entry["features"]:
                assert len(sent[f["feature"]][1]) == int(np.prod(f["shape"], dtype=int))
        written = json.loads(result.client_files[f"requests/{signature}.features.json"])
        assert written == entries
        card = result.client_files["signature_card.html"].decode()
        assert all(f"<td class='key'>{f['feature']}</td>" in card for f in entry["features"])
