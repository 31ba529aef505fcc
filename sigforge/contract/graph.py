"""The tf.Example features a SavedModel's graph parses, read from ``saved_model.pb`` without TensorFlow.

A Classify, Regress or Example-taking Predict signature shows one DT_STRING tensor in its
``signature_def``; the features its clients must put in each Example live in the graph: the
``ParseExample`` / ``ParseExampleV2`` / ``ParseSingleExample`` ops (and the context part of
``ParseSequenceExample``) that the string tensor flows into. Two places hold them:

- TF1 graphs (tf.estimator exports): the ops sit in ``graph_def.node``; the feature names are the
  values of ``Const`` nodes feeding the op's key inputs (``ParseSingleExample``: its attrs).
- TF2 SavedModels (``tf.saved_model.save``, Keras ``model.export``): the signature's placeholder
  feeds a ``StatefulPartitionedCall`` whose function (in ``graph_def.library``) may call others; the
  parse op sits in one of them.

The data flow is followed from each string input, through function calls argument by argument, so
each input key gets the features parsed from it alone. Declared as a protobuf subset like
``contract.read`` (``tensorflow/core/framework/{graph,node_def,function,attr_value,tensor,
tensor_shape,op_def}.proto``, same field numbers).
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FeatureContract:
    """One tf.Example feature a client puts in each Example.

    ``kind``: ``fixed`` (FixedLenFeature: exactly ``shape``'s number of values), ``varlen``
    (VarLenFeature / sparse: any number, may be missing), ``ragged`` (RaggedFeature: the same for a
    client). ``default``: a fixed feature's default values (the feature may then be missing); None:
    required.
    """

    dtype: str
    kind: str = "fixed"
    shape: tuple[int | None, ...] | None = ()
    default: tuple[Any, ...] | None = None

    def describe(self) -> str:
        if self.kind != "fixed":
            return f"{self.dtype} {self.kind}"
        from sigforge.rules import shape_text

        default = "required" if self.default is None else f"default {list(self.default)}"
        return f"{self.dtype} {shape_text(self.shape)} {default}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "kind": self.kind,
            "shape": None if self.shape is None else list(self.shape),
            "default": None if self.default is None else list(self.default),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureContract:
        shape, default = d.get("shape"), d.get("default")
        return cls(
            d["dtype"],
            d.get("kind", "fixed"),
            None if shape is None else tuple(shape),
            None if default is None else tuple(default),
        )


Features = dict[str, FeatureContract]
PARSE_OPS = (
    "ParseExample",
    "ParseExampleV2",
    "ParseSingleExample",
    "ParseSequenceExample",
    "ParseSequenceExampleV2",
)
_SHAPE_OPS = ("Shape", "ShapeN", "Size", "Rank")
# Ops whose first input holds the same values (a default value is often reshaped to its feature's shape).
_PASS_THROUGH = ("Identity", "IdentityN", "Snapshot", "StopGradient", "Reshape", "ExpandDims", "Squeeze")


def _base(name: str) -> str | None:
    """The node (or function argument) an input string names; None for a control input."""
    return None if name.startswith("^") else name.split(":")[0]


def _dtype(number: int) -> str:
    return DTYPE_BY_NUMBER.get(number, f"DT_{number}")


def _shape(shape: Any) -> tuple[int | None, ...] | None:
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


def _values(tensor: Any) -> list[Any]:
    """A Const tensor's values, flattened (a single stored value is repeated to the shape's size)."""
    dtype = _dtype(tensor.dtype)
    shape = _shape(tensor.tensor_shape) or ()
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


class _Scope:
    """One graph body: the top-level graph or a library function, its nodes by name."""

    def __init__(self, nodes: Iterable[Any], args: Iterable[str] = ()) -> None:
        self.nodes = {n.name: n for n in nodes}
        self.args = list(args)
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for node in self.nodes.values():
            for i, name in enumerate(node.input):
                base = _base(name)
                if base is not None:
                    self.consumers[base].append((node, i))

    def const(self, name: str) -> list[Any] | None:
        """The values of the Const ``name`` names (through Identity ops); None if not a constant."""
        base = _base(name)
        for _ in range(8):
            node = self.nodes.get(base or "")
            if node is None:
                return None
            if node.op == "Const":
                return _values(node.attr["value"].tensor)
            if node.op not in _PASS_THROUGH or not node.input:
                return None
            base = _base(node.input[0])
        return None


class _Graph:
    def __init__(self, graph_def: Any) -> None:
        self.top = _Scope(graph_def.node)
        self.functions = {f.signature.name: f for f in graph_def.library.function}
        self._scopes: dict[str, _Scope] = {}
        self._reached: dict[tuple[str, int], list[tuple[_Scope, Any]]] = {}

    def scope(self, name: str) -> _Scope | None:
        if name not in self._scopes:
            f = self.functions.get(name)
            if f is None:
                return None
            self._scopes[name] = _Scope(f.node_def, (a.name for a in f.signature.input_arg))
        return self._scopes[name]

    def parse_ops(self, scope: _Scope, start: str, depth: int = 0) -> list[tuple[_Scope, Any]]:
        """The parse ops whose serialized input flows from ``start`` (a node or argument of ``scope``)."""
        found: list[tuple[_Scope, Any]] = []
        seen = {start}
        todo = [start]
        while todo:
            for node, index in scope.consumers.get(todo.pop(), ()):
                if node.op in PARSE_OPS:
                    if index == 0:  # the serialized input, not a key or default
                        found.append((scope, node))
                    continue
                for callee, offset in self._callees(node):
                    if depth < 32 and index - offset >= 0:
                        found += self._in_function(callee, index - offset, depth + 1)
                if node.name not in seen:
                    seen.add(node.name)
                    todo.append(node.name)
        return found

    def _callees(self, node: Any) -> list[tuple[str, int]]:
        """Functions ``node`` calls, with the offset from its inputs to the callee's arguments."""
        if node.op in self.functions:  # a library function called as an op
            return [(node.op, 0)]
        callees = []
        for key, attr in node.attr.items():
            names = [attr.func.name] if attr.HasField("func") else [f.name for f in attr.list.func]
            offset = 1 if node.op in ("If", "StatelessIf", "Case", "StatelessCase") and key != "cond" else 0
            callees += [(n, offset) for n in names if n]
        return callees

    def _in_function(self, name: str, arg: int, depth: int) -> list[tuple[_Scope, Any]]:
        key = (name, arg)
        if key not in self._reached:
            self._reached[key] = []
            scope = self.scope(name)
            if scope is not None and arg < len(scope.args):
                self._reached[key] = self.parse_ops(scope, scope.args[arg], depth)
        return self._reached[key]


def _dense(
    keys: list[Any], types: list[int], shapes: list[Any], defaults: list[list[Any] | None]
) -> Features:
    out: Features = {}
    for i, key in enumerate(keys):
        shape = _shape(shapes[i]) if i < len(shapes) else None
        dtype = _dtype(types[i]) if i < len(types) else "?"
        default = defaults[i] if i < len(defaults) else None
        if shape is not None and shape and shape[0] is None:  # FixedLenSequenceFeature: any count
            out[str(key)] = FeatureContract(dtype, "varlen", None, None)
            continue
        out[str(key)] = FeatureContract(dtype, "fixed", shape, tuple(default) if default else None)
    return out


def _kinds(keys: list[Any], types: list[int], kind: str) -> Features:
    return {str(k): FeatureContract(_dtype(t), kind, None, None) for k, t in zip(keys, types, strict=False)}


def op_features(scope: _Scope, node: Any) -> Features:
    """The features one parse op reads (context features for the sequence parsers)."""
    attr = node.attr
    ins = list(node.input)

    def consts(names: list[str]) -> list[Any]:
        out: list[Any] = []
        for n in names:
            out += scope.const(n) or []
        return out

    def default_values(names: list[str]) -> list[list[Any] | None]:
        return [scope.const(n) or None for n in names]

    if node.op == "ParseExampleV2":
        n_sparse = int(attr["num_sparse"].i)
        n_dense = len(attr["Tdense"].list.type)
        sparse_keys, dense_keys, ragged_keys = consts([ins[2]]), consts([ins[3]]), consts([ins[4]])
        features = _kinds(sparse_keys[:n_sparse], list(attr["sparse_types"].list.type), "varlen")
        features.update(_kinds(ragged_keys, list(attr["ragged_value_types"].list.type), "ragged"))
        features.update(
            _dense(
                dense_keys,
                list(attr["Tdense"].list.type),
                list(attr["dense_shapes"].list.shape),
                default_values(ins[5 : 5 + n_dense]),
            )
        )
        return features
    if node.op == "ParseExample":
        n_sparse, n_dense = int(attr["Nsparse"].i), int(attr["Ndense"].i)
        sparse_keys = consts(ins[2 : 2 + n_sparse])
        dense_keys = consts(ins[2 + n_sparse : 2 + n_sparse + n_dense])
        features = _kinds(sparse_keys, list(attr["sparse_types"].list.type), "varlen")
        features.update(
            _dense(
                dense_keys,
                list(attr["Tdense"].list.type),
                list(attr["dense_shapes"].list.shape),
                default_values(ins[2 + n_sparse + n_dense : 2 + n_sparse + 2 * n_dense]),
            )
        )
        return features
    if node.op == "ParseSingleExample":
        sparse_keys = [bytes(s).decode() for s in attr["sparse_keys"].list.s]
        dense_keys = [bytes(s).decode() for s in attr["dense_keys"].list.s]
        features = _kinds(sparse_keys, list(attr["sparse_types"].list.type), "varlen")
        features.update(
            _dense(
                dense_keys,
                list(attr["Tdense"].list.type),
                list(attr["dense_shapes"].list.shape),
                default_values(ins[1 : 1 + len(dense_keys)]),
            )
        )
        return features
    # ParseSequenceExample(V2): the context part is an Example-like feature map; feature lists are
    # reported as one "sequence" entry each so that a comparison sees them.
    return _sequence_features(scope, node)


def _sequence_features(scope: _Scope, node: Any) -> Features:
    attr = node.attr
    features: Features = {}
    if node.op == "ParseSequenceExampleV2":
        ins = list(node.input)
        ctx_sparse, ctx_dense = scope.const(ins[2]) or [], scope.const(ins[3]) or []
        ctx_ragged = scope.const(ins[4]) or []
        fl_sparse, fl_dense = scope.const(ins[5]) or [], scope.const(ins[6]) or []
        fl_ragged = scope.const(ins[7]) or []
        features.update(_kinds(ctx_sparse, list(attr["context_sparse_types"].list.type), "varlen"))
        features.update(_kinds(ctx_ragged, list(attr["context_ragged_value_types"].list.type), "ragged"))
        features.update(_kinds(ctx_dense, list(attr["context_Tdense"].list.type), "fixed"))
        for keys, types in (
            (fl_sparse, attr["feature_list_sparse_types"].list.type),
            (fl_dense, attr["feature_list_dense_types"].list.type),
            (fl_ragged, attr["feature_list_ragged_value_types"].list.type),
        ):
            features.update(
                {f"{k} (feature list)": v for k, v in _kinds(keys, list(types), "sequence").items()}
            )
        return features
    for keys_attr, types_attr, kind in (
        ("context_sparse_keys", "context_sparse_types", "varlen"),
        ("context_dense_keys", "context_Tdense", "fixed"),
    ):
        keys = [bytes(s).decode() for s in attr[keys_attr].list.s]
        features.update(_kinds(keys, list(attr[types_attr].list.type), kind))
    for keys_attr, types_attr in (
        ("feature_list_sparse_keys", "feature_list_sparse_types"),
        ("feature_list_dense_keys", "feature_list_dense_types"),
    ):
        keys = [bytes(s).decode() for s in attr[keys_attr].list.s]
        features.update(
            {
                f"{k} (feature list)": v
                for k, v in _kinds(keys, list(attr[types_attr].list.type), "sequence").items()
            }
        )
    return features


def parsed_features(data: bytes, tag: str, inputs: Mapping[str, str]) -> dict[str, Features]:
    """Input key -> the features its Examples must carry, for each of ``inputs`` (key -> tensor name
    in the signature_def) that flows into a parse op; keys that flow into none are left out."""
    saved_model = _saved_model_message()()
    saved_model.ParseFromString(data)
    metas = [m for m in saved_model.meta_graphs if tag in m.meta_info_def.tags] or list(
        saved_model.meta_graphs
    )
    if not metas:
        return {}
    graph = _Graph(metas[0].graph_def)
    found: dict[str, Features] = {}
    for key, tensor_name in inputs.items():
        start = _base(tensor_name)
        if not start:
            continue
        ops = graph.parse_ops(graph.top, start)
        if ops:
            features: Features = {}
            for scope, node in ops:
                features.update(op_features(scope, node))
            found[key] = dict(sorted(features.items()))
    return found


def _output_index(name: str) -> int | None:
    """``node:2`` (a graph) or ``node:output:2`` (a function body) -> 2; ``node`` -> 0."""
    parts = name.split(":")
    return int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0


def label_constants(data: bytes, tag: str, tensor: str, size: int) -> list[tuple[str, ...]]:
    """The distinct values of the string ``Const``s of exactly ``size`` elements that ``tensor`` (an
    output's tensor name in the signature_def) is computed from: where a classifier's class labels
    are (sigforge's tiled ``model.class_names``, an estimator's label vocabulary and its lookup
    table). Followed backwards through function calls, output by output, and into the initializer
    of every lookup table on the way."""
    saved_model = _saved_model_message()()
    saved_model.ParseFromString(data)
    metas = [m for m in saved_model.meta_graphs if tag in m.meta_info_def.tags] or list(
        saved_model.meta_graphs
    )
    if not metas:
        return []
    graph = _Graph(metas[0].graph_def)
    found: dict[tuple[str, ...], None] = {}
    seen: set[tuple[int, str]] = set()
    todo: list[tuple[_Scope, str, int, int]] = [(graph.top, tensor, 0, 0)]
    while todo:
        scope, name, index, depth = todo.pop()
        base = _base(name)
        node = scope.nodes.get(base or "")
        if node is None or (id(scope), f"{base}:{index}") in seen or depth > 32:
            continue
        seen.add((id(scope), f"{base}:{index}"))
        if node.op == "Const" and _dtype(node.attr["value"].tensor.dtype) == "string":
            values = tuple(_values(node.attr["value"].tensor))
            if len(values) == size:
                found[values] = None
            continue
        if node.op in PARSE_OPS or node.op in _SHAPE_OPS:  # feature names; a shape, not values
            continue
        for callee, _ in graph._callees(node):
            body = graph.scope(callee)
            function = graph.functions.get(callee)
            if body is None or function is None:
                continue
            outputs = [a.name for a in function.signature.output_arg]
            ret = dict(function.ret)
            wanted = [outputs[index]] if index < len(outputs) else outputs
            todo += [(body, ret[o], _output_index(ret[o]) or 0, depth + 1) for o in wanted if o in ret]
        inputs = list(node.input)
        if node.op.endswith("TableV2"):  # a lookup table: its values come from its initializer
            inputs += [c.name for c, _ in scope.consumers.get(node.name, ()) if "Initialize" in c.op]
        for i in inputs:
            if not i.startswith("^"):
                todo.append((scope, i, _output_index(i) or 0, depth))
    return list(found)
