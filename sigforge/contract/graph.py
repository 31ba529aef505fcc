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
each input key gets the features parsed from it alone. The graph itself is read by
``contract.graph_walk``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigforge.contract.graph_walk import (
    Scope,
    dtype_name,
    node_of,
    serving_graph,
    shape_of,
)


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


def _dense(
    keys: list[Any], types: list[int], shapes: list[Any], defaults: list[list[Any] | None]
) -> Features:
    out: Features = {}
    for i, key in enumerate(keys):
        shape = shape_of(shapes[i]) if i < len(shapes) else None
        dtype = dtype_name(types[i]) if i < len(types) else "?"
        default = defaults[i] if i < len(defaults) else None
        if shape is not None and shape and shape[0] is None:  # FixedLenSequenceFeature: any count
            out[str(key)] = FeatureContract(dtype, "varlen", None, None)
            continue
        out[str(key)] = FeatureContract(dtype, "fixed", shape, tuple(default) if default else None)
    return out


def _kinds(keys: list[Any], types: list[int], kind: str) -> Features:
    return {
        str(k): FeatureContract(dtype_name(t), kind, None, None) for k, t in zip(keys, types, strict=False)
    }


def op_features(scope: Scope, node: Any) -> Features:
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


def _sequence_features(scope: Scope, node: Any) -> Features:
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
    graph = serving_graph(data, tag)
    if graph is None:
        return {}
    found: dict[str, Features] = {}
    for key, tensor_name in inputs.items():
        start = node_of(tensor_name)
        if not start:
            continue
        ops = graph.parse_ops(graph.top, start)
        if ops:
            features: Features = {}
            for scope, node in ops:
                features.update(op_features(scope, node))
            found[key] = dict(sorted(features.items()))
    return found
