"""contract/example: serialized tf.Examples read without TensorFlow, wire-compatible with
``tensorflow/core/example/example.proto``: the samples in tests/fixtures/adopt were serialized by
TensorFlow's own ``tf.train.Example`` from the values manifest.json records beside them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigforge.contract.example import example_features, example_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
SAMPLED = sorted(name for name, fixture in MANIFEST.items() if fixture.get("samples", {}).get("examples_b64"))


def test_there_are_examples_tensorflow_serialized_to_read():
    assert len(SAMPLED) >= 2


def list_kind(values: list) -> str:
    """The list tf.train.Example stores ``values`` in, by their Python type."""
    return {str: "bytes_list", float: "float_list", int: "int64_list"}[type(values[0])]


@pytest.mark.parametrize("name", SAMPLED)
def test_each_feature_reads_back_with_its_list_kind_and_values(name):
    samples = MANIFEST[name]["samples"]
    for serialized, values in zip(samples["examples_b64"], samples["examples"], strict=True):
        features = example_features(base64.b64decode(serialized))
        assert list(features) == sorted(values)
        for feature, written in values.items():
            kind, read = features[feature]
            assert kind == list_kind(written), feature
            if kind == "bytes_list":
                assert read == [v.encode() for v in written], feature
            else:  # float32 stores these samples' values exactly
                assert read == written, feature


def test_a_feature_with_no_list_set_reads_as_no_kind_and_no_values():
    example = example_message()()
    example.features.feature["empty"].SetInParent()
    example.features.feature["age"].float_list.value.append(35.0)
    assert example_features(example.SerializeToString()) == {
        "age": ("float_list", [35.0]),
        "empty": (None, []),
    }


def test_an_empty_example_has_no_features():
    assert example_features(b"") == {}
