"""The class labels a classifier returns, found in its graph without TensorFlow: the string
constants its ``classes`` output is computed from (``sigforge adopt``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigforge.contract.graph_walk import (
    PARSE_OPS,
    SHAPE_OPS,
    Scope,
    const_values,
    dtype_name,
    node_of,
    output_index,
    serving_graph,
)


def label_constants(data: bytes, tag: str, tensor: str, size: int) -> list[tuple[str, ...]]:
    """The distinct values of the string ``Const``s of exactly ``size`` elements that ``tensor`` (an
    output's tensor name in the signature_def) is computed from: where a classifier's class labels
    are (sigforge's tiled ``model.class_names``, an estimator's label vocabulary and its lookup
    table). Followed backwards through function calls, output by output, into what fills every
    lookup table on the way, and from a lookup into its table and default, not its keys."""
    graph = serving_graph(data, tag)
    if graph is None:
        return []
    found: dict[tuple[str, ...], None] = {}
    seen: set[tuple[int, str]] = set()
    todo: list[tuple[Scope, str, int, int]] = [(graph.top, tensor, 0, 0)]
    while todo:
        scope, name, index, depth = todo.pop()
        base = node_of(name)
        node = scope.nodes.get(base or "")
        if node is None or (id(scope), f"{base}:{index}") in seen or depth > 32:
            continue
        seen.add((id(scope), f"{base}:{index}"))
        if node.op == "Const" and dtype_name(node.attr["value"].tensor.dtype) == "string":
            values = tuple(const_values(node.attr["value"].tensor))
            if len(values) == size:
                found[values] = None
            continue
        if node.op in PARSE_OPS or node.op in SHAPE_OPS:  # feature names; a shape, not values
            continue
        for callee, _ in graph.callees(node):
            body = graph.scope(callee)
            function = graph.functions.get(callee)
            if body is None or function is None:
                continue
            outputs = [a.name for a in function.signature.output_arg]
            ret = dict(function.ret)
            wanted = [outputs[index]] if index < len(outputs) else outputs
            todo += [(body, ret[o], output_index(ret[o]), depth + 1) for o in wanted if o in ret]
        inputs = list(node.input)
        if node.op.startswith("LookupTableFind"):  # a looked-up value is the table's or the default,
            inputs = [inputs[0], *inputs[2:]]  # whatever the keys were computed from
        if node.op.endswith("TableV2"):  # a lookup table: its values come from what fills it
            inputs += [c.name for c, _ in scope.consumers.get(node.name, ()) if fills_table(c.op)]
        for i in inputs:
            if not i.startswith("^"):
                todo.append((scope, i, output_index(i), depth))
    return list(found)


def fills_table(op: str) -> bool:
    """Whether an op writes a lookup table's keys and values: its initializer (``InitializeTableV2``,
    ``InitializeTableFromTextFileV2``) or an import or insert (tf.estimator fills its class table
    with ``LookupTableImportV2``)."""
    return "Initialize" in op or op.startswith(("LookupTableImport", "LookupTableInsert"))


def output_tensors(signature_defs: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(signature, output key) -> the graph tensor that output is fetched from, given a
    ``signature_def`` map (``contract.read.signature_defs``)."""
    return {
        (name, key): info.name for name, sig in signature_defs.items() for key, info in sig.outputs.items()
    }
