"""The feature rules of compat: what an old client's tf.Example does against the new parse spec
(shared/tf-serving-rules.md's table, measured with ParseExampleV2), one case per row."""

from __future__ import annotations

import pytest

from sigforge.contract.compat import breaking_changes, compare_contracts


def _contract(**features: dict) -> dict:
    return {
        "serving_default": {
            "method_name": "tensorflow/serving/classify",
            "inputs": {"inputs": {"dtype": "string", "shape": [None]}},
            "outputs": {"scores": {"dtype": "float32", "shape": [None, 2]}},
            "examples": {"inputs": features},
        }
    }


def fixed(dtype="float32", shape=(1,), default=None):
    return {"dtype": dtype, "kind": "fixed", "shape": list(shape), "default": default}


def varlen(dtype="string"):
    return {"dtype": dtype, "kind": "varlen", "shape": None, "default": None}


def ragged(dtype="int64"):
    return {"dtype": dtype, "kind": "ragged", "shape": None, "default": None}


@pytest.mark.parametrize(
    ("old", "new", "breaking"),
    [
        ({"x": fixed("int64")}, {"x": fixed("float32")}, True),  # retyped: type mismatch
        ({"x": fixed(shape=(1,))}, {"x": fixed(shape=(3,))}, True),  # number of values
        ({"x": fixed(shape=(1,))}, {"x": fixed(shape=())}, False),  # [] <-> [1]: one value either way
        ({"x": fixed()}, {"x": fixed(), "y": fixed()}, True),  # a new required feature
        ({"x": fixed()}, {"x": fixed(), "y": fixed(default=[0.0])}, False),  # new, with a default
        ({"x": fixed()}, {"x": fixed(), "y": varlen()}, False),  # new, VarLen: missing parses empty
        ({"x": fixed(), "y": fixed()}, {"x": fixed()}, False),  # no longer parsed: ignored
        ({"x": fixed(default=[1.0])}, {"x": fixed()}, True),  # default dropped: clients omitting it fail
        ({"x": fixed()}, {"x": fixed(default=[1.0])}, False),  # default added
        ({"x": fixed(default=[1.0])}, {"x": fixed(default=[2.0])}, False),  # default changed
        ({"x": varlen()}, {"x": fixed("string")}, True),  # VarLen clients send any number
        ({"x": fixed("string")}, {"x": varlen()}, False),  # any fixed count is a VarLen count
        ({"x": varlen("int64")}, {"x": ragged("int64")}, False),
        ({"x": varlen("int64")}, {"x": varlen("string")}, True),
    ],
)
def test_feature_change(old, new, breaking):
    changes = compare_contracts(_contract(**old), _contract(**new))
    assert len(changes) == 1
    assert changes[0].breaking is breaking
    assert "feature '" in changes[0].what


def test_a_refusal_names_the_signature_the_feature_and_the_change():
    (change,) = breaking_changes(
        _contract(hours_per_week=fixed("int64", ())), _contract(hours_per_week=fixed("float32", ()))
    )
    assert (change.signature, change.what) == (
        "serving_default",
        "feature 'hours_per_week' (in 'inputs') dtype",
    )
    assert (change.old, change.new) == ("int64 [] required", "float32 [] required")


def test_features_are_compared_only_where_both_contracts_know_them():
    old = _contract(x=fixed())
    del old["serving_default"]["examples"]  # e.g. a contract loaded in TensorFlow
    assert compare_contracts(old, _contract(x=fixed("int64"))) == []
