"""The SavedModel fixtures of tests/fixtures/adopt are what manifest.json says they are.

The fixtures were made by the real tools (tf.estimator 2.15, Keras 3 ``model.export``, hand-written
``tf.saved_model.save``; see tests/fixtures/adopt/README.md). This guards the fixtures themselves,
with TensorFlow's own readers only (no sigforge reader): each loads with ``tf.saved_model.load`` and
in TensorFlow's C++ loader as TF Serving loads it; its signature_def (TensorFlow's ``saved_model_pb2``)
has the manifest's names, methods, keys, dtypes and shapes; the ParseExampleV2 op in its graph or
function library parses exactly the manifest's features; and the manifest's samples answer with the
outputs the making TensorFlow computed.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
NAMES = sorted(MANIFEST)
PARSE_OPS = {
    "ParseExample",
    "ParseExampleV2",
    "ParseSingleExample",
    "ParseSequenceExample",
    "ParseSequenceExampleV2",
}
PARSE_EXAMPLE_V2_INPUTS = ("serialized", "names", "sparse_keys", "dense_keys", "ragged_keys")


def version_dir(name: str) -> Path:
    return FIXTURES / MANIFEST[name]["path"]


def meta_graph(name: str):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((version_dir(name) / "saved_model.pb").read_bytes())
    assert [sorted(m.meta_info_def.tags) for m in proto.meta_graphs] == [["serve"]]
    return proto.meta_graphs[0]


def shape_of(info) -> list[int] | None:
    return None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]


def feeds(name: str, signature: str) -> dict[str, np.ndarray]:
    """The manifest's sample request for one signature, as numpy arrays of the input's dtype."""
    entry, inputs = MANIFEST[name], MANIFEST[name]["signatures"][signature]["inputs"]
    samples = entry["samples"]
    if entry["features"]:  # a signature that takes serialized tf.Examples
        (key,) = inputs
        return {key: np.array([base64.b64decode(s) for s in samples["examples_b64"]], dtype=object)}
    batch = samples["batch"]
    return {
        key: np.array([[v.encode() for v in row] for row in batch[key]], dtype=object)
        if spec["dtype"] == "string"
        else np.array(batch[key], dtype=tf.as_dtype(spec["dtype"]).as_numpy_dtype)
        for key, spec in inputs.items()
    }


def assert_outputs(name: str, signature: str, answered: dict) -> None:
    """Same keys, dtypes, shapes and values (floats within 1e-5) as the making TensorFlow answered."""
    declared = MANIFEST[name]["signatures"][signature]["outputs"]
    expected = MANIFEST[name]["sample_outputs"][signature]
    assert sorted(answered) == sorted(declared) == sorted(expected)
    for key, value in answered.items():
        value = np.asarray(value)
        spec = declared[key]
        assert tf.as_dtype(value.dtype if value.dtype != object else tf.string).name == spec["dtype"], key
        assert value.shape[0] == 3 and len(value.shape) == len(spec["shape"]), (key, value.shape)
        assert all(d in (-1, n) for d, n in zip(spec["shape"], value.shape, strict=True)), (key, value.shape)
        if spec["dtype"] == "string":
            np.testing.assert_array_equal(
                np.vectorize(bytes.decode)(value), np.array(expected[key]), err_msg=key
            )
        elif spec["dtype"].startswith("float"):
            np.testing.assert_allclose(value, np.array(expected[key]), rtol=1e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(value, np.array(expected[key]), err_msg=key)


def test_the_manifest_names_every_fixture_and_its_version_directory():
    on_disk = sorted(p.parent.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*/saved_model.pb"))
    assert on_disk == sorted(entry["path"] for entry in MANIFEST.values())
    for name, entry in MANIFEST.items():
        # One version per model directory, named as its tool named it (estimator: Unix timestamp).
        assert [p.name for p in (FIXTURES / entry["model_dir"]).iterdir()] == [entry["version"]], name
        if entry["tool"] == "tensorflow_estimator":
            assert int(entry["version"]) > 1_500_000_000, name
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file()) < 3_000_000


@pytest.mark.parametrize("name", NAMES)
def test_signature_defs_are_the_manifests(name):
    found = {k: v for k, v in meta_graph(name).signature_def.items() if k != "__saved_model_init_op"}
    declared = MANIFEST[name]["signatures"]
    assert sorted(found) == sorted(declared)
    for signature, sig in found.items():
        spec = declared[signature]
        assert sig.method_name == spec["method_name"], signature
        for side, infos in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            assert {
                k: {"dtype": tf.as_dtype(v.dtype).name, "shape": shape_of(v)} for k, v in infos.items()
            } == spec[side], (signature, side)


def _parse_nodes(graph_def):
    """(node, that node's graph or function body) for every tf.Example parsing op."""
    bodies = [list(graph_def.node)] + [list(f.node_def) for f in graph_def.library.function]
    return [(n, {m.name: m for m in body}) for body in bodies for n in body if n.op in PARSE_OPS]


def _const(body: dict, tensor: str):
    """A Const's value, through Reshape / Identity (TF2 functions reshape a dense default)."""
    node = body[tensor.split(":")[0].lstrip("^")]
    while node.op in ("Reshape", "Identity"):
        node = body[node.input[0].split(":")[0]]
    assert node.op == "Const", node
    return tf.make_ndarray(node.attr["value"].tensor)


@pytest.mark.parametrize("name", NAMES)
def test_the_graph_parses_exactly_the_manifests_features(name):
    features = {f["name"]: f for f in MANIFEST[name]["features"]}
    nodes = _parse_nodes(meta_graph(name).graph_def)
    if not features:
        assert nodes == []
        return
    # Estimator (TF1 graph) and tf.function (library) exports alike write one ParseExampleV2; its keys
    # are Const inputs, its types and dense shapes attrs.
    ((node, body),) = nodes
    assert node.op == "ParseExampleV2"
    keys = {
        role: [k.decode() for k in _const(body, node.input[i]).tolist()]
        for i, role in enumerate(PARSE_EXAMPLE_V2_INPUTS)
        if role.endswith("_keys")
    }
    attr = node.attr
    dense = [
        {
            "name": key,
            "dtype": tf.as_dtype(dtype).name,
            "shape": [d.size for d in shape.dim],
            "kind": "fixed",
            "default": (lambda v: None if v.size == 0 else v.tolist())(_const(body, node.input[5 + i])),
        }
        for i, (key, dtype, shape) in enumerate(
            zip(keys["dense_keys"], attr["Tdense"].list.type, attr["dense_shapes"].list.shape, strict=True)
        )
    ]
    sparse = [
        {"name": key, "dtype": tf.as_dtype(dtype).name, "shape": None, "kind": "varlen", "default": None}
        for key, dtype in zip(keys["sparse_keys"], attr["sparse_types"].list.type, strict=True)
    ]
    ragged = [
        {"name": key, "dtype": tf.as_dtype(dtype).name, "shape": None, "kind": "ragged", "default": None}
        for key, dtype in zip(keys["ragged_keys"], attr["ragged_value_types"].list.type, strict=True)
    ]
    assert attr["num_sparse"].i == len(sparse)
    found = {f["name"]: f for f in dense + sparse + ragged}
    core = ("name", "dtype", "shape", "kind", "default")
    assert found == {key: {k: f[k] for k in core} for key, f in features.items()}


@pytest.mark.parametrize("name", NAMES)
def test_the_samples_answer_through_tf_saved_model_load_as_they_did_when_made(name):
    loaded = tf.saved_model.load(str(version_dir(name)))
    for signature in MANIFEST[name]["signatures"]:
        answered = loaded.signatures[signature](
            **{k: tf.constant(v) for k, v in feeds(name, signature).items()}
        )
        assert_outputs(name, signature, {k: v.numpy() for k, v in answered.items()})


@pytest.mark.parametrize("name", NAMES)
def test_the_samples_answer_in_tensorflows_cpp_loader_as_tf_serving_loads_them(name):
    from sigforge.verify.serving_loader import ServingSession

    # One signature a run: an estimator's signatures share one input tensor (input_example_tensor:0),
    # which one Session::Run cannot be fed twice.
    with ServingSession(version_dir(name)) as session:
        for signature in MANIFEST[name]["signatures"]:
            assert_outputs(name, signature, session.run(signature, feeds(name, signature)))
