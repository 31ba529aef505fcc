"""The tf.Example features read from saved_model.pb without TensorFlow equal what the tools that made
the exports declared (tests/fixtures/adopt/manifest.json, written by tf.estimator 2.15 and TF 2.21
scripts from their own parse specs), in TF1 graphs and TF2 function libraries alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigforge.contract.graph import FeatureContract
from sigforge.contract.read import read_contract

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
PARSING = sorted(name for name, m in MANIFEST.items() if m.get("features"))


def _expected(feature: dict) -> FeatureContract:
    shape, default = feature.get("shape"), feature.get("default")
    if feature["kind"] != "fixed":
        return FeatureContract(feature["dtype"], feature["kind"], None, None)
    flat = default if isinstance(default, list) else ([] if default is None else [default])
    return FeatureContract(feature["dtype"], "fixed", tuple(shape), tuple(flat) if flat else None)


@pytest.mark.parametrize("name", PARSING)
def test_every_example_taking_signature_parses_the_features_the_tool_declared(name):
    fixture = MANIFEST[name]
    contract = read_contract(FIXTURES / fixture["path"])
    expected = {f["name"]: _expected(f) for f in fixture["features"]}
    example_sigs = [s for s in contract.values() if any(t.dtype == "string" for t in s.inputs.values())]
    assert example_sigs
    for sig in example_sigs:
        ((key, features),) = sig.examples.items()
        assert key in sig.inputs
        assert features == expected, sig.name


@pytest.mark.parametrize("name", sorted(set(MANIFEST) - set(PARSING)))
def test_signatures_over_plain_tensors_parse_nothing(name):
    for sig in read_contract(FIXTURES / MANIFEST[name]["path"]).values():
        assert sig.examples is None
