"""An input's tf.Example side (feature_kind, default): checked in the config, and what the spec asks
the graph to parse (spec_examples) is what contract.graph reads back from a real export."""

from __future__ import annotations

import pytest
from conftest import REPO

from sigforge.config.validate import build_spec
from sigforge.contract.features import spec_examples
from sigforge.contract.graph import FeatureContract
from sigforge.contract.read import expected_contract, read_contract

from .test_validate import refusal

FIXTURES = REPO / "tests" / "fixtures" / "adopt"


def test_features_of_every_kind_are_what_the_graph_stores(compose, plugins):
    spec = build_spec(
        compose(
            "experiment=estimator_classifier",
            "inputs.measurements.default=[1, 2.5, 0.1]",
            "inputs.bucket.feature_kind=ragged",
            "+inputs.hours={modality: tabular, dtype: int64, default: 40}",
            "+inputs.tag={modality: tabular, dtype: string, shape: [null, 2], default: none}",
        ),
        plugins,
    )
    found = spec_examples(spec)
    assert sorted(found) == ["classification", "predict", "regression", "serving_default"]
    assert found["predict"] == {
        "examples": {
            "age": FeatureContract("float32", "fixed", (1,), None),
            "measurements": FeatureContract("float32", "fixed", (3,), (1.0, 2.5, 0.1)),
            "bucket": FeatureContract("int64", "ragged", None, None),
            "color": FeatureContract("string", "varlen", None, None),
            "hours": FeatureContract("int64", "fixed", (), (40,)),
            "tag": FeatureContract("string", "fixed", (2,), ("none", "none")),  # one value, repeated
        }
    }
    assert found["serving_default"] == {"inputs": found["predict"]["examples"]}


def test_a_hand_written_examples_contract_is_reproduced_feature_for_feature(compose, plugins):
    """handwritten_examples parses a default, a VarLen and a RaggedFeature inside a TF2 function."""
    spec = build_spec(
        compose(
            "experiment=tf_example",
            "inputs=[]",
            "+inputs.age={modality: tabular, shape: [null, 1]}",
            "+inputs.hours_per_week={modality: tabular, dtype: int64, default: 40}",
            "+inputs.measurements={modality: tabular, shape: [null, 3]}",
            "+inputs.color={modality: tabular, dtype: string, shape: [null, null], feature_kind: varlen}",
            "+inputs.history={modality: tabular, dtype: int64, shape: [null, null], feature_kind: ragged}",
            "signatures.serving_default.examples=examples",
        ),
        plugins,
    )
    written = read_contract(FIXTURES / "handwritten_examples" / "1")["serving_default"]
    assert expected_contract(spec)["serving_default"].examples == written.examples
    assert expected_contract(spec)["serving_default"].inputs == written.inputs


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (
            ["inputs.bucket.feature_kind=sparse"],
            "inputs.bucket.feature_kind = 'sparse' is not one of fixed, varlen",
        ),
        (["inputs.bucket.shape=[null]"], "inputs.bucket.shape must be [null, null]; it is [None]"),
        (["inputs.color.default=red"], "inputs.color.default is set, but inputs.color.feature_kind = varlen"),
        (
            ["inputs.measurements.default=[1, 2]"],
            "inputs.measurements.default = [1, 2] must be one float32 value or 3",
        ),
        (["inputs.measurements.default=[a, b, c]"], "must be one float32 value or 3 of them"),
        (["inputs.measurements.default=true"], "must be one float32 value or 3 of them"),
        (["inputs.age.default=1e39"], "inputs.age.default = 1e+39 must be one float32 value or 1"),
        (
            ["+inputs.v={modality: tabular, shape: [null, null], default: 0}"],
            "inputs.v.default is set, so inputs.v is",
        ),
        (
            ["+inputs.x={modality: tabular, dtype: float64, shape: [null, null], feature_kind: ragged}"],
            "a tf.Example carries only float32, int64, string values; inputs.x.dtype is 'float64'",
        ),
        (
            ["+inputs.free={modality: tabular, shape: [null, null]}"],
            "a free dimension needs inputs.free.feature_kind=varlen (or ragged) with shape [null, null]",
        ),
    ],
)
def test_feature_settings_are_refused_naming_the_key(compose, plugins, overrides, expected):
    assert expected in refusal(compose, plugins, "experiment=estimator_classifier", *overrides)


def test_a_preprocessed_input_takes_no_feature_settings(compose, plugins):
    message = refusal(compose, plugins, "experiment=tf_example", "inputs.examples.default=0")
    assert "inputs.examples has a preprocess chain" in message
