"""A SavedModel's graph read without TensorFlow: a protobuf subset of ``tensorflow/core/framework/
{graph,node_def,function,attr_value,tensor,tensor_shape,op_def}.proto`` (same field numbers), and
the walks over it that ``contract.graph`` (the tf.Example features parsed from an input) and
``contract.labels`` (the class labels an output is computed from) share: bodies by name, function
calls followed argument by argument and output by output, Const values decoded.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any

from sigforge.rules import DTYPE_BY_NUMBER

_PROTO = """
name: "sigforge/graph_subset.proto"
package: "sigforge_graph"
syntax: "proto3"
message_type {
  name: "Dim"
  field { name: "size" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 }
}
message_type {
  name: "Shape"
  field { name: "dim" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.Dim" }
  field { name: "unknown_rank" number: 3 label: LABEL_OPTIONAL type: TYPE_BOOL }
}
message_type {
  name: "Tensor"
  field { name: "dtype" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "tensor_shape" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.Shape" }
  field { name: "tensor_content" number: 4 label: LABEL_OPTIONAL type: TYPE_BYTES }
  field { name: "float_val" number: 5 label: LABEL_REPEATED type: TYPE_FLOAT }
  field { name: "double_val" number: 6 label: LABEL_REPEATED type: TYPE_DOUBLE }
  field { name: "int_val" number: 7 label: LABEL_REPEATED type: TYPE_INT32 }
  field { name: "string_val" number: 8 label: LABEL_REPEATED type: TYPE_BYTES }
  field { name: "int64_val" number: 10 label: LABEL_REPEATED type: TYPE_INT64 }
}
message_type {
  name: "NameAttrList"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "ListValue"
  field { name: "s" number: 2 label: LABEL_REPEATED type: TYPE_BYTES }
  field { name: "i" number: 3 label: LABEL_REPEATED type: TYPE_INT64 }
  field { name: "type" number: 6 label: LABEL_REPEATED type: TYPE_INT32 }
  field { name: "shape" number: 7 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.Shape" }
  field { name: "func" number: 9 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.NameAttrList" }
}
message_type {
  name: "AttrValue"
  field { name: "list" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.ListValue" }
  field { name: "s" number: 2 label: LABEL_OPTIONAL type: TYPE_BYTES }
  field { name: "i" number: 3 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "type" number: 6 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "tensor" number: 8 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.Tensor" }
  field { name: "func" number: 10 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.NameAttrList" }
}
message_type {
  name: "NodeDef"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "op" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "input" number: 3 label: LABEL_REPEATED type: TYPE_STRING }
  field { name: "attr" number: 5 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.NodeDef.AttrEntry" }
  nested_type {
    name: "AttrEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.AttrValue" }
    options { map_entry: true }
  }
}
message_type {
  name: "ArgDef"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "OpDef"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "input_arg" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.ArgDef" }
  field { name: "output_arg" number: 3 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.ArgDef" }
}
message_type {
  name: "FunctionDef"
  field { name: "signature" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.OpDef" }
  field { name: "node_def" number: 3 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.NodeDef" }
  field { name: "ret" number: 4 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.FunctionDef.RetEntry" }
  nested_type {
    name: "RetEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
    options { map_entry: true }
  }
}
message_type {
  name: "Library"
  field { name: "function" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.FunctionDef" }
}
message_type {
  name: "GraphDef"
  field { name: "node" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.NodeDef" }
  field { name: "library" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.Library" }
}
message_type {
  name: "MetaInfoDef"
  field { name: "tags" number: 4 label: LABEL_REPEATED type: TYPE_STRING }
}
message_type {
  name: "MetaGraphDef"
  field { name: "meta_info_def" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.MetaInfoDef" }
  field { name: "graph_def" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_graph.GraphDef" }
}
message_type {
  name: "SavedModel"
  field { name: "meta_graphs" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_graph.MetaGraphDef" }
}
"""


@cache
def _saved_model_message() -> Any:
    from sigforge.contract.protos import message_class

    return message_class(_PROTO, "sigforge_graph.SavedModel")


def serving_graph(data: bytes, tag: str) -> Graph | None:
    """The graph of the MetaGraph tagged ``tag`` (else the first) in a ``saved_model.pb``'s bytes."""
    saved_model = _saved_model_message()()
    saved_model.ParseFromString(data)
    metas = [m for m in saved_model.meta_graphs if tag in m.meta_info_def.tags] or list(
        saved_model.meta_graphs
    )
    return Graph(metas[0].graph_def) if metas else None


PARSE_OPS = (
    "ParseExample",
    "ParseExampleV2",
    "ParseSingleExample",
    "ParseSequenceExample",
    "ParseSequenceExampleV2",
)
SHAPE_OPS = ("Shape", "ShapeN", "Size", "Rank")
# Ops whose first input holds the same values (a default value is often reshaped to its feature's shape).
_PASS_THROUGH = ("Identity", "IdentityN", "Snapshot", "StopGradient", "Reshape", "ExpandDims", "Squeeze")


def node_of(name: str) -> str | None:
    """The node (or function argument) an input string names; None for a control input."""
    return None if name.startswith("^") else name.split(":")[0]


def dtype_name(number: int) -> str:
    return DTYPE_BY_NUMBER.get(number, f"DT_{number}")


def shape_of(shape: Any) -> tuple[int | None, ...] | None:
    if shape.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in shape.dim)


def float32_text(value: float) -> float:
    """The shortest decimal that is the same float32 as ``value`` (0.1, not 0.10000000149011612): a
    default reads as it was written, and a config's value compares equal to the graph's."""
    stored = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(1, 10):
        short = float(f"{stored:.{digits}g}")
        try:
            if struct.unpack("<f", struct.pack("<f", short))[0] == stored:
                return short
        except OverflowError:  # rounded past float32's largest value
            continue
    return stored


def const_values(tensor: Any) -> list[Any]:
    """A Const tensor's values, flattened (a single stored value is repeated to the shape's size)."""
    dtype = dtype_name(tensor.dtype)
    shape = shape_of(tensor.tensor_shape) or ()
    size = 1
    for d in shape:
        size *= d or 0
    if dtype == "string":
        vals: list[Any] = [bytes(s).decode("utf-8", "replace") for s in tensor.string_val]
    elif tensor.tensor_content:
        fmt = {"float32": "f", "float64": "d", "int32": "i", "int64": "q"}.get(dtype)
        if fmt is None:
            return []
        content = bytes(tensor.tensor_content)
        vals = list(struct.unpack(f"<{len(content) // struct.calcsize(fmt)}{fmt}", content))
    else:
        vals = list(
            {"float32": tensor.float_val, "float64": tensor.double_val, "int64": tensor.int64_val}.get(
                dtype, tensor.int_val
            )
        )
    if dtype == "float32":
        vals = [float32_text(v) for v in vals]
    if len(vals) == 1 and size > 1:
        vals = vals * size
    return vals if shape else vals[:1]


class Scope:
    """One graph body: the top-level graph or a library function, its nodes by name."""

    def __init__(self, nodes: Iterable[Any], args: Iterable[str] = ()) -> None:
        self.nodes = {n.name: n for n in nodes}
        self.args = list(args)
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for node in self.nodes.values():
            for i, name in enumerate(node.input):
                base = node_of(name)
                if base is not None:
                    self.consumers[base].append((node, i))

    def const(self, name: str) -> list[Any] | None:
        """The values of the Const ``name`` names (through Identity ops); None if not a constant."""
        base = node_of(name)
        for _ in range(8):
            node = self.nodes.get(base or "")
            if node is None:
                return None
            if node.op == "Const":
                return const_values(node.attr["value"].tensor)
            if node.op not in _PASS_THROUGH or not node.input:
                return None
            base = node_of(node.input[0])
        return None


class Graph:
    def __init__(self, graph_def: Any) -> None:
        self.top = Scope(graph_def.node)
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        self._scopes: dict[str, Scope] = {}
        self._reached: dict[tuple[str, int], list[tuple[Scope, Any]]] = {}

    def scope(self, name: str) -> Scope | None:
        if name not in self._scopes:
            f = self.functions.get(name)
            if f is None:
                return None
            self._scopes[name] = Scope(f.node_def, (a.name for a in f.signature.input_arg))
        return self._scopes[name]

    def parse_ops(self, scope: Scope, start: str, depth: int = 0) -> list[tuple[Scope, Any]]:
        """The parse ops whose serialized input flows from ``start`` (a node or argument of ``scope``)."""
        found: list[tuple[Scope, Any]] = []
        seen = {start}
        todo = [start]
        while todo:
            for node, index in scope.consumers.get(todo.pop(), ()):
                if node.op in PARSE_OPS:
                    if index == 0:  # the serialized input, not a key or default
                        found.append((scope, node))
                    continue
                for callee, offset in self.callees(node):
                    if depth < 32 and index - offset >= 0:
                        found += self._in_function(callee, index - offset, depth + 1)
                if node.name not in seen:
                    seen.add(node.name)
                    todo.append(node.name)
        return found

    def callees(self, node: Any) -> list[tuple[str, int]]:
        """Functions ``node`` calls, with the offset from its inputs to the callee's arguments."""
        if node.op in self.functions:  # a library function called as an op
            return [(node.op, 0)]
        callees = []
        for key, attr in node.attr.items():
            names = [attr.func.name] if attr.HasField("func") else [f.name for f in attr.list.func]
            offset = 1 if node.op in ("If", "StatelessIf", "Case", "StatelessCase") and key != "cond" else 0
            callees += [(n, offset) for n in names if n]
        return callees

    def _in_function(self, name: str, arg: int, depth: int) -> list[tuple[Scope, Any]]:
        key = (name, arg)
        if key not in self._reached:
            self._reached[key] = []
            scope = self.scope(name)
            if scope is not None and arg < len(scope.args):
                self._reached[key] = self.parse_ops(scope, scope.args[arg], depth)
        return self._reached[key]


def output_index(name: str) -> int:
    """``node:2`` (a graph) or ``node:output:2`` (a function body) -> 2; ``node`` -> 0."""
    parts = name.split(":")
    return int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0
