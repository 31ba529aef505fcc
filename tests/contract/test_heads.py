"""contract/heads: the tf.estimator canned heads' serving outputs by signature method, as the
estimator itself writes them (tests/fixtures/adopt: tf.estimator 2.15 exports, their signature_defs
read with TensorFlow into manifest.json). No TensorFlow here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigforge.contract.heads import HEADS, LOGITS, head_outputs, logits_dimension

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
HEAD_OF = {"binary": "binary_classifier", "multi_class": "multi_class_classifier", "regressor": "regressor"}
ESTIMATOR_EXPORTS = sorted(name for name, fixture in MANIFEST.items() if fixture["head"])
METHODS = ("classify", "regress", "predict")


def head_and_classes(fixture: dict) -> tuple[str, int]:
    return HEAD_OF[fixture["head"]["kind"]], fixture["head"]["n_classes"] or 1


def test_every_head_has_estimator_exports_to_check_against():
    assert {head_and_classes(MANIFEST[name])[0] for name in ESTIMATOR_EXPORTS} == set(HEADS)


@pytest.mark.parametrize("name", ESTIMATOR_EXPORTS)
def test_each_signature_returns_the_outputs_the_estimator_wrote(name):
    fixture = MANIFEST[name]
    head, n = head_and_classes(fixture)
    for signature, written in fixture["signatures"].items():
        method = written["method_name"].rsplit("/", 1)[-1]
        assert dict(head_outputs(head, method, n)) == {
            key: (t["dtype"], tuple(None if d == -1 else d for d in t["shape"]))
            for key, t in written["outputs"].items()
        }, signature


@pytest.mark.parametrize("name", [n for n in ESTIMATOR_EXPORTS if MANIFEST[n]["receiver"] == "parsing"])
def test_a_method_without_outputs_is_one_the_estimator_writes_no_signature_for(name):
    """A multi-class classifier writes no regress signature, a regressor no classify one."""
    fixture = MANIFEST[name]
    head, n = head_and_classes(fixture)
    written = {s["method_name"].rsplit("/", 1)[-1] for s in fixture["signatures"].values()}
    assert written == {method for method in METHODS if head_outputs(head, method, n)}


@pytest.mark.parametrize(
    ("head", "num_classes", "logits"),
    [("binary_classifier", 2, 1), ("multi_class_classifier", 5, 5), ("regressor", 1, 1)],
)
def test_the_model_returns_one_logit_per_example_except_a_multi_class_ones_per_class(
    head, num_classes, logits
):
    assert logits_dimension(head, num_classes) == logits
    if head != "regressor":
        assert head_outputs(head, "predict", num_classes)[LOGITS] == ("float32", (None, logits))


def test_the_outputs_cannot_be_changed_by_whoever_reads_them():
    outputs = head_outputs("binary_classifier", "classify", 2)
    with pytest.raises(TypeError):
        outputs["classes"] = ("int64", (None, 2))  # type: ignore[index]
    assert head_outputs("binary_classifier", "classify", 2)["classes"] == ("string", (None, 2))
