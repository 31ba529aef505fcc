"""contract/graph_walk: a SavedModel's graph read without TensorFlow: the parse ops a string input
flows into (TF1 graphs and, through function calls, TF2 function libraries), Const values decoded,
tensor names taken apart. Checked against real exports (tests/fixtures/adopt) whose parse specs
manifest.json records as the tools declared them."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from sigforge.contract.graph_walk import (
    PARSE_OPS,
    const_values,
    float32_text,
    node_of,
    output_index,
    serving_graph,
)
from sigforge.contract.read import SERVING_TAG, signature_defs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
PARSING = sorted(name for name, m in MANIFEST.items() if m.get("features"))
# ParseExampleV2's inputs: serialized, names, sparse_keys, dense_keys, ragged_keys, dense_defaults...
KEYS_INPUT = {"varlen": 2, "fixed": 3, "ragged": 4}
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_STRING, DT_INT64, DT_BOOL = 1, 2, 3, 7, 9, 10


def graph_of(name: str):
    data, defs = signature_defs(FIXTURES / MANIFEST[name]["path"])
    return serving_graph(data, SERVING_TAG), defs


@pytest.mark.parametrize("name", PARSING)
def test_each_string_input_flows_into_the_parse_op_with_the_declared_feature_keys(name):
    fixture = MANIFEST[name]
    graph, defs = graph_of(name)
    declared = {
        kind: sorted(f["name"] for f in fixture["features"] if f["kind"] == kind) for kind in KEYS_INPUT
    }
    strings = [i.name for sig in defs.values() for i in sig.inputs.values() if i.dtype == DT_STRING]
    assert strings
    for tensor in strings:
        ((scope, op),) = graph.parse_ops(graph.top, node_of(tensor))
        assert op.op in PARSE_OPS
        # An estimator parses in its TF1 graph; tf.saved_model.save inside a called library function.
        assert (scope is graph.top) == (fixture["tool"] == "tensorflow_estimator")
        for kind, index in KEYS_INPUT.items():
            assert sorted(scope.const(op.input[index])) == declared[kind], (tensor, kind)


@pytest.mark.parametrize("name", sorted(set(MANIFEST) - set(PARSING)))
def test_inputs_of_plain_tensors_flow_into_no_parse_op(name):
    graph, defs = graph_of(name)
    for sig in defs.values():
        for info in sig.inputs.values():
            assert graph.parse_ops(graph.top, node_of(info.name)) == []


def test_bytes_without_a_meta_graph_have_no_graph():
    assert serving_graph(b"", SERVING_TAG) is None


@pytest.fixture(scope="module")
def tensor():
    """An empty TensorProto of the subset the walk reads (the class of a real Const's value)."""
    graph, _ = graph_of("dnn_binary_parsing")
    const = next(n for n in graph.top.nodes.values() if n.op == "Const")
    kind = type(const.attr["value"].tensor)

    def make(dtype: int, shape: tuple[int, ...], **fields):
        t = kind(dtype=dtype, **fields)
        for size in shape:
            t.tensor_shape.dim.add().size = size
        return t

    return make


def test_const_values_decode_each_storage_form(tensor):
    assert const_values(tensor(DT_STRING, (2,), string_val=[b"cat", b"dog"])) == ["cat", "dog"]
    assert const_values(tensor(DT_INT64, (), int64_val=[40])) == [40]
    assert const_values(tensor(DT_INT32, (2,), int_val=[3, 4])) == [3, 4]
    assert const_values(tensor(DT_DOUBLE, (1,), double_val=[0.1])) == [0.1]
    packed = struct.pack("<3f", 0.5, 0.1, -2.0)
    assert const_values(tensor(DT_FLOAT, (3,), tensor_content=packed)) == [0.5, 0.1, -2.0]
    packed = struct.pack("<2q", 2**40, -1)
    assert const_values(tensor(DT_INT64, (2,), tensor_content=packed)) == [2**40, -1]


def test_one_stored_value_fills_the_shape_and_a_scalar_is_one_value(tensor):
    assert const_values(tensor(DT_FLOAT, (2, 2), float_val=[0.1])) == [0.1] * 4
    assert const_values(tensor(DT_INT64, (), int64_val=[7, 8])) == [7]


def test_packed_values_of_a_dtype_the_walk_does_not_decode_are_none(tensor):
    assert const_values(tensor(DT_BOOL, (2,), tensor_content=b"\x01\x00")) == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.1, 0.1), (1 / 3, 0.33333334), (16777217.0, 16777216.0), (-2.5, -2.5), (1e-45, 1e-45)],
)
def test_a_float32_reads_as_its_shortest_decimal(value, shown):
    assert float32_text(value) == shown


@pytest.mark.parametrize("value", [3.4028234663852886e38, -3.4028234663852886e38, 1.17549435e-38, 123.456])
def test_the_shortest_decimal_is_the_same_float32(value):
    stored = struct.unpack("<f", struct.pack("<f", value))[0]
    short = float32_text(value)
    assert struct.unpack("<f", struct.pack("<f", short))[0] == stored
    assert len(repr(short)) <= len(repr(stored))


@pytest.mark.parametrize(
    ("name", "node", "index"),
    [
        ("head/Tile:0", "head/Tile", 0),
        ("ParseExample/ParseExampleV2:2", "ParseExample/ParseExampleV2", 2),
        ("ParseExample/ParseExampleV2/dense_keys:output:0", "ParseExample/ParseExampleV2/dense_keys", 0),
        ("StatefulPartitionedCall:output:1", "StatefulPartitionedCall", 1),
        ("input_example_tensor", "input_example_tensor", 0),
        ("^init_all_tables", None, 0),
    ],
)
def test_a_tensor_name_gives_its_node_and_output_index(name, node, index):
    assert node_of(name) == node
    if node is not None:
        assert output_index(name) == index
