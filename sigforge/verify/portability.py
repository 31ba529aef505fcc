"""Which runtimes besides TensorFlow can run each signature: read from the graph in saved_model.pb.

TFLite, ONNX Runtime (through tf2onnx) and TF.js convert a SavedModel's pure-tensor graph, and stop
at in-graph string processing (``rules.STRING_OPS``: tf.Example parsing, image decoding, string
splitting, lookup tables). Users learn that here, per signature, with the ops named, instead of
from a converter's stack trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sigforge.rules import STRING_OPS


def _functions_of(attrs: Mapping[str, Any]) -> Iterator[str]:
    """The function names a node's attributes call (``f`` of a call op, branches, bodies...)."""
    for value in attrs.values():
        if value.HasField("func"):
            yield value.func.name
        yield from (f.name for f in value.list.func)


def signature_ops(export_dir: Path) -> dict[str, set[str]]:
    """Signature -> every op its outputs depend on, through the function calls in between."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    library = {f.signature.name: f for f in graph.library.function}
    nodes = {n.name: n for n in graph.node}
    found = {}
    for name, signature in saved.meta_graphs[0].signature_def.items():
        found[name] = _ops(
            [
                nodes[t.name.split(":")[0]]
                for t in signature.outputs.values()
                if t.name.split(":")[0] in nodes
            ],
            nodes,
            library,
        )
    return found


def _ops(start: Iterable[Any], nodes: Mapping[str, Any], library: Mapping[str, Any]) -> set[str]:
    ops: set[str] = set()
    pending, seen, called = list(start), set(), set()
    while pending:
        node = pending.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        ops.add(node.op)
        pending += [
            nodes[i.lstrip("^").split(":")[0]] for i in node.input if i.lstrip("^").split(":")[0] in nodes
        ]
        called.update(_functions_of(node.attr))
    done: set[str] = set()
    while called - done:
        function = library.get(name := (called - done).pop())
        done.add(name)
        if function is None:
            continue
        for node in function.node_def:
            ops.add(node.op)
            called.update(_functions_of(node.attr))
    return ops


def runtime_blockers(export_dir: Path) -> dict[str, list[str]]:
    """Signature -> the in-graph string ops that stop TFLite, ONNX Runtime and TF.js (none: [])."""
    return {
        name: sorted(ops & STRING_OPS)
        for name, ops in signature_ops(export_dir).items()
        if not name.startswith("__saved_model")  # the init op's entry, not a serving signature
    }
