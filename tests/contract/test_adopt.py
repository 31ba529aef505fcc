"""contract/adopt, without TensorFlow: the config it makes for every fixture another tool made, and
for every packaged experiment, composes back to the same contract (cli/adopt_command.reproduced:
Hydra composition, build_spec, then the contracts compared change by change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigforge.cli.adopt_command import render, reproduced
from sigforge.config.validate import build_spec
from sigforge.contract.adopt import adopt
from sigforge.contract.read import contract_to_dict, expected_contract, read_contract

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


@pytest.mark.parametrize("name", sorted(set(MANIFEST) - {"handwritten_examples"}))
def test_every_fixture_is_adopted_and_composes_back_to_its_contract(name):
    contract = contract_to_dict(read_contract(FIXTURES / MANIFEST[name]["path"]))
    adoption = adopt(contract, name, MANIFEST[name].get("class_labels"))
    assert adoption.problems == []
    assert reproduced(render(adoption.config, name, adoption.notes), contract) == []
    features = {f["name"] for f in MANIFEST[name]["features"] or []}
    assert features <= set(adoption.config["inputs"])  # each feature an input under its own name


@pytest.mark.parametrize(
    "experiment",
    ["image_classifier", "multi_input", "variable_length", "dnn_classifier", "dnn_regressor"],
)
def test_every_packaged_experiment_is_adopted_back(compose, plugins, experiment):
    """(tf_example, image_bytes and text_raw declare what the model takes; their client side comes
    from tracing, so they are adopted from real exports in tests/cli/test_adopt_command.py.)"""
    contract = contract_to_dict(expected_contract(build_spec(compose(f"experiment={experiment}"), plugins)))
    adoption = adopt(contract, experiment)
    assert adoption.problems == []
    assert reproduced(render(adoption.config, experiment, adoption.notes), contract) == []


def test_what_cannot_be_reproduced_is_named_not_guessed():
    contract = contract_to_dict(read_contract(FIXTURES / MANIFEST["handwritten_examples"]["path"]))
    problems = adopt(contract, "x").problems
    assert any("output 'history_sum' (int64 [None])" in p for p in problems)


def test_a_method_name_sigforge_does_not_write_is_a_problem():
    contract = {
        "s": {
            "method_name": "tensorflow/serving/multi_inference",
            "inputs": {"x": {"dtype": "float32", "shape": [None]}},
            "outputs": {"scores": {"dtype": "float32", "shape": [None, 2]}},
        }
    }
    problems = adopt(contract, "x").problems
    assert "signature 's' has method name 'tensorflow/serving/multi_inference'" in problems[0]
