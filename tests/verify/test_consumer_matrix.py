"""The consumer matrix in docs/consumers.md, produced here: every experiment, every signature, in
every loader a user meets, each answer compared with ``tf.saved_model.load``'s.

``SIGFORGE_UPDATE_DOCS=1`` rewrites the document; otherwise it must equal what this run found.
"""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import EXPERIMENTS, REPO, saved_model_proto, session_run

from .test_serving import requests_dir, rest_feeds

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.slow

DOC = REPO / "docs" / "consumers.md"
CONSUMERS = (
    "TF Serving loader (session, tensors by name)",
    "TF Serving REST body",
    "TF Serving gRPC request",
    "tf.saved_model.load",
    "keras TFSMLayer",
    "MLflow tensorflow flavor",
    "MLflow pyfunc (signature_name)",
    "TFLite",
)


def _text(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values.reshape(-1)]


def _same(answer: dict[str, Any], expected: dict[str, Any]) -> bool:
    if sorted(answer) != sorted(expected):
        return False
    for key, want in expected.items():
        got, want = np.asarray(answer[key]), np.asarray(want)
        if want.dtype == object or got.dtype.kind in "OUS":  # strings: bytes from TF, str from pyfunc
            if _text(got) != _text(want):
                return False
        elif not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            return False
    return True


def _consumers(result: Any, mlflow_dir: Path) -> dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]]:
    import mlflow

    from sigforge.tracking.mlmodel import write_mlmodel

    export_dir = str(result.export_dir)
    examples = {name: {k: v[:1] for k, v in feeds.items()} for name, feeds in result.report.inputs.items()}
    write_mlmodel(mlflow_dir, result.export_dir, result.summary, examples, run_id=None)
    loaded = tf.saved_model.load(export_dir)
    pyfunc = mlflow.pyfunc.load_model(str(mlflow_dir))
    flavor = mlflow.tensorflow.load_model(str(mlflow_dir))
    folder = requests_dir(result)
    protos = saved_model_proto(result.export_dir)

    def rest(name: str, feeds: dict[str, Any]) -> dict[str, Any]:
        body = json.loads((folder / f"{name}.json").read_text())
        return session_run(result.export_dir, name, rest_feeds(body, protos.signature_def[name]))

    def grpc(name: str, feeds: dict[str, Any]) -> dict[str, Any]:
        request = runpy.run_path(str(folder / f"{name}.grpc.py"))["build_request"]()
        if hasattr(request, "inputs"):
            sent = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        else:
            sent = {
                "inputs": np.array(
                    [e.SerializeToString() for e in request.input.example_list.examples], object
                )
            }
        return session_run(result.export_dir, name, sent)

    def tfsm(name: str, feeds: dict[str, Any]) -> dict[str, Any]:
        layer = keras.layers.TFSMLayer(export_dir, call_endpoint=name)
        return layer(next(iter(feeds.values())) if len(feeds) == 1 else dict(feeds))

    def tflite(name: str, feeds: dict[str, Any]) -> dict[str, Any]:
        converter = tf.lite.TFLiteConverter.from_saved_model(export_dir, signature_keys=[name])
        return tf.lite.Interpreter(model_content=converter.convert()).get_signature_runner(name)(**feeds)

    def call(function: Any, feeds: dict[str, Any]) -> dict[str, Any]:
        return {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in feeds.items()}).items()}

    return dict(
        zip(
            CONSUMERS,
            (
                lambda name, feeds: session_run(result.export_dir, name, feeds),
                rest,
                grpc,
                lambda name, feeds: call(loaded.signatures[name], feeds),
                tfsm,
                lambda name, feeds: call(flavor.signatures[name], feeds),
                lambda name, feeds: pyfunc.predict(feeds, params={"signature_name": name}),
                tflite,
            ),
            strict=True,
        )
    )


def _cell(answered: list[str], signatures: list[str]) -> str:
    if len(answered) == len(signatures):
        return "all"
    if not answered:
        return "none"
    return f"{len(answered)} of {len(signatures)}: " + ", ".join(answered)


def test_the_consumer_matrix_is_what_every_loader_answers(export, tmp_path):
    rows = {}
    for experiment in EXPERIMENTS:
        result = export(experiment)
        consumers = _consumers(result, tmp_path / experiment)
        reference = tf.saved_model.load(str(result.export_dir))
        signatures = sorted(result.report.inputs)
        answered: dict[str, list[str]] = {c: [] for c in CONSUMERS}
        for name in signatures:
            feeds = result.report.inputs[name]
            expected = reference.signatures[name](**{k: tf.constant(v) for k, v in feeds.items()})
            expected = {k: v.numpy() for k, v in expected.items()}
            for consumer, answer in consumers.items():
                try:
                    ok = _same(answer(name, feeds), expected)
                except Exception as err:  # a consumer that cannot load or run the signature
                    ok = False
                    if consumer == "TFLite":  # it must stop at an op the summary names
                        blocking = result.summary["other_runtimes"][name]
                        assert any(op in str(err) for op in blocking), (experiment, name, str(err)[-300:])
                if ok:
                    answered[consumer].append(name)
        blocked = [s for s in signatures if result.summary["other_runtimes"][s]]
        assert answered["TFLite"] == [s for s in signatures if s not in blocked], experiment
        for consumer in CONSUMERS[:-1]:  # every loader but TFLite answers every signature
            assert answered[consumer] == signatures, (experiment, consumer)
        rows[experiment] = [_cell(answered[c], signatures) for c in CONSUMERS]
    header = "| experiment | " + " | ".join(CONSUMERS) + " |\n|---|" + "---|" * len(CONSUMERS) + "\n"
    table = header + "".join(f"| `{e}` | " + " | ".join(cells) + " |\n" for e, cells in rows.items())
    document = DOC.read_text() if DOC.exists() else ""
    start, end = (
        "<!-- matrix: generated by tests/verify/test_consumer_matrix.py -->\n",
        "<!-- end matrix -->\n",
    )
    if os.environ.get("SIGFORGE_UPDATE_DOCS") == "1":
        head, _, rest = document.partition(start)
        DOC.write_text(head + start + table + end + rest.partition(end)[2])
        document = DOC.read_text()
    assert start + table + end in document, f"docs/consumers.md differs from this run:\n{table}"
