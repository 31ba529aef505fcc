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


def _differing_outputs(
    runtime: str, signature: str, answered: Mapping[str, Any], expected: Mapping[str, Any]
) -> list[str]:
    """One problem per output another runtime answers differently from the in-memory model: another
    shape, or (numeric outputs) values beyond the tolerance verification uses."""
    import numpy as np

    problems = []
    for key, want in expected.items():
        got = np.asarray(answered.get(key))
        if got.shape != np.shape(want) or (
            got.dtype.kind in "fc" and not np.allclose(got, want, rtol=1e-4, atol=1e-5)
        ):
            problems.append(
                f"signatures.{signature}: {runtime} answers output '{key}' differently from the model"
            )
    return problems


def tflite_problems(
    export_dir: Path,
    blockers: Mapping[str, list[str]],
    references: Mapping[str, Any],
) -> list[str]:
    """``export.targets=[tflite]``: every signature converted with TensorFlow's TFLite converter
    (builtin ops, its default) and run in its interpreter on the inputs verification sent; each
    must answer like the in-memory model. A signature with in-graph string ops is refused naming
    them, before the converter is asked."""
    import tensorflow as tf

    problems = []
    for name, reference in references.items():
        if blockers.get(name):
            problems.append(
                f"export.targets includes tflite, but signatures.{name} runs in-graph string ops TFLite "
                f"lacks ({', '.join(blockers[name])}); take tflite out of export.targets, or move that "
                "preprocessing out of the serving graph."
            )
            continue
        try:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(export_dir), signature_keys=[name])
            runner = tf.lite.Interpreter(model_content=converter.convert()).get_signature_runner(name)
            answered = runner(**{k: v.numpy() for k, v in reference.inputs.items()})
        except Exception as err:  # the converter's and interpreter's own errors have no public types
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            problems.append(f"signatures.{name}: TFLite cannot convert or run it: {first[:300]}")
            continue
        problems += _differing_outputs("TFLite", name, answered, reference.outputs)
    return problems


def onnx_problems(
    export_dir: Path,
    blockers: Mapping[str, list[str]],
    references: Mapping[str, Any],
) -> list[str]:
    """``export.targets=[onnx]``: every signature converted by tf2onnx (its command line, the
    public interface) and run in ONNX Runtime on the inputs verification sent; each must answer
    like the in-memory model. Needs ``pip install 'sigforge[onnx]'``."""
    import importlib.util
    import os
    import subprocess
    import sys
    import tempfile

    missing = [m for m in ("tf2onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        return [
            f"export.targets includes onnx, but {' and '.join(missing)} is not installed: "
            "pip install 'sigforge[onnx]' (tf2onnx, onnxruntime), or take onnx out of export.targets."
        ]
    import onnxruntime

    problems = []
    for name, reference in references.items():
        if blockers.get(name):
            problems.append(
                f"export.targets includes onnx, but signatures.{name} runs in-graph string ops ONNX Runtime "
                f"lacks ({', '.join(blockers[name])}); take onnx out of export.targets, or move that "
                "preprocessing out of the serving graph."
            )
            continue
        with tempfile.TemporaryDirectory(prefix="sigforge-onnx-") as tmp:
            model = Path(tmp) / f"{name}.onnx"
            command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(export_dir)]
            command += ["--tag", "serve", "--signature_def", name, "--output", str(model)]
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)
            if done.returncode != 0 or not model.is_file():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                problems.append(f"signatures.{name}: tf2onnx cannot convert it: {last[:300]}")
                continue
            session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
            feeds = {i.name: reference.inputs[i.name].numpy() for i in session.get_inputs()}
            answered = dict(
                zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True)
            )
        problems += _differing_outputs("ONNX Runtime", name, answered, reference.outputs)
    return problems
