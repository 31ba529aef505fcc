"""contract/labels: the class labels a classifier returns, found in its graph without TensorFlow
(what ``sigforge adopt`` writes as model.class_names), checked against real tf.estimator exports
whose label vocabulary manifest.json records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigforge.contract.labels import label_constants, output_tensors
from sigforge.contract.read import SERVING_TAG, signature_defs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
VOCAB = MANIFEST["dnn_multiclass_vocab_parsing"]


def labels_of(name: str, signature: str, key: str, size: int) -> list[tuple[str, ...]]:
    data, defs = signature_defs(FIXTURES / MANIFEST[name]["path"])
    return label_constants(data, SERVING_TAG, output_tensors(defs)[(signature, key)], size)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_output_of_every_signature_names_its_graph_tensor(name):
    _, defs = signature_defs(FIXTURES / MANIFEST[name]["path"])
    tensors = output_tensors(defs)
    served = {(n, k) for n, s in MANIFEST[name]["signatures"].items() for k in s["outputs"]}
    assert served <= set(tensors)
    assert all(":" in tensors[where] for where in served)  # a tensor, `node:index`; not an op


@pytest.mark.parametrize("signature", ["serving_default", "predict"])
def test_the_estimators_label_vocabulary_is_what_its_classes_come_from(signature):
    """Not the `color` vocabulary nor the feature names, both also three strings in the graph."""
    key = "classes" if signature == "serving_default" else "all_classes"
    assert labels_of("dnn_multiclass_vocab_parsing", signature, key, 3) == [tuple(VOCAB["class_labels"])]


def test_only_constants_of_the_asked_size_are_labels():
    assert labels_of("dnn_multiclass_vocab_parsing", "serving_default", "classes", 2) == []


@pytest.mark.parametrize("name", ["dnn_binary_parsing", "linear_binary_parsing"])
def test_labels_made_from_class_ids_are_not_constants_and_not_guessed(name):
    """Without a label vocabulary the estimator turns class ids into strings ('0', '1') in the graph:
    there is no constant to find, so none is returned (adopt then keeps the default labels)."""
    assert MANIFEST[name]["class_labels"] == ["0", "1"]
    assert labels_of(name, "serving_default", "classes", 2) == []


def test_an_output_computed_from_no_strings_has_no_labels():
    assert labels_of("dnn_regressor_parsing", "predict", "predictions", 1) == []


def test_bytes_without_a_meta_graph_have_no_labels():
    assert label_constants(b"", SERVING_TAG, "head/Tile:0", 3) == []


def test_labels_are_found_through_the_lookup_table_a_class_id_is_looked_up_in():
    assert labels_of("dnn_multiclass_vocab_parsing", "predict", "classes", 3) == [
        tuple(VOCAB["class_labels"])
    ]
