"""``export.example_parsing``: how a signature over serialized tf.Examples parses each input, as its
``feature_kind`` and ``default`` say, and hands the model dense tensors."""

from __future__ import annotations

import pytest

from sigforge.config.validate import build_spec

tf = pytest.importorskip("tensorflow")

from sigforge.export.example_parsing import dense_feature, parse_spec  # noqa: E402


def inputs(compose, plugins, *overrides):
    """The estimator's features (fixed float, fixed float[3], varlen int64, varlen string), by name."""
    return build_spec(compose("+experiment=estimator_classifier", *overrides), plugins).input


def example(**features) -> bytes:
    def feature(values):
        if isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if isinstance(values[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    named = {name: feature(values) for name, values in features.items()}
    return tf.train.Example(features=tf.train.Features(feature=named)).SerializeToString()


def parsed(declared, *examples):
    specs = {name: parse_spec(spec) for name, spec in declared.items()}
    found = tf.io.parse_example(tf.constant(list(examples)), specs)
    return {name: dense_feature(value).numpy().tolist() for name, value in found.items()}


def test_each_feature_kind_gets_its_parser(compose, plugins):
    declared = inputs(compose, plugins, "inputs.bucket.feature_kind=ragged")
    assert parse_spec(declared["age"]) == tf.io.FixedLenFeature([1], tf.float32)
    assert parse_spec(declared["measurements"]) == tf.io.FixedLenFeature([3], tf.float32)
    assert parse_spec(declared["color"]) == tf.io.VarLenFeature(tf.string)
    assert parse_spec(declared["bucket"]) == tf.io.RaggedFeature(tf.int64)


@pytest.mark.parametrize("kind", ["varlen", "ragged"])
def test_variable_length_features_reach_the_model_padded_to_the_longest_list(compose, plugins, kind):
    declared = inputs(
        compose, plugins, f"inputs.bucket.feature_kind={kind}", f"inputs.color.feature_kind={kind}"
    )
    one = example(age=[30.0], measurements=[1.0, 2.0, 3.0], bucket=[4], color=[b"red", b"blue"])
    three = example(age=[40.0], measurements=[4.0, 5.0, 6.0], bucket=[7, 8, 9], color=[b"green"])
    got = parsed(declared, one, three)
    assert got["bucket"] == [[4, 0, 0], [7, 8, 9]]
    assert got["color"] == [[b"red", b"blue"], [b"green", b""]]
    assert got["measurements"] == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_a_fixed_feature_with_a_default_may_be_missing_and_one_without_may_not(compose, plugins):
    declared = inputs(
        compose, plugins, "inputs.measurements.default=[0.5,1.5,2.5]", "inputs.age.default=18.0"
    )
    assert parse_spec(declared["measurements"]).default_value == [0.5, 1.5, 2.5]
    assert parse_spec(declared["age"]).default_value == [18.0]
    got = parsed(declared, example(bucket=[1], color=[b"red"]))
    assert got["measurements"] == [[0.5, 1.5, 2.5]] and got["age"] == [[18.0]]
    required = inputs(compose, plugins)
    with pytest.raises(tf.errors.InvalidArgumentError, match="age"):
        parsed(required, example(measurements=[1.0, 2.0, 3.0], bucket=[1], color=[b"red"]))
