"""``export.warmup``: the TF Serving warmup file, ``<version>/assets.extra/tf_serving_warmup_requests``,
one PredictionLog per signature that TF Serving's own protos read and replay.

Kinds 2 and 3 of reliability round 4 for the file sigforge reads back (``sigforge log``,
verification): a file TF Serving would refuse (truncated, corrupt, a length header past its end,
more than 1000 records, a sparse giant) is refused in one sentence naming it, without allocating
what a length header claims and without a DataLossError traceback."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_same_feeds, session_run

from sigforge.errors import UnreadableSavedModel
from sigforge.export.warmup import MAX_WARMUP_RECORDS, WARMUP_FILE, read_warmup, write_warmup


def warmup(version: Path, data: bytes = b"", size: int | None = None) -> Path:
    path = version / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        if size is not None:
            handle.truncate(size)
    return path


@pytest.mark.parametrize(
    ("data", "size", "says"),
    [
        (struct.pack("<Q", 100) + b"\0" * 20, None, "runs past the end of the file"),  # truncated
        (b"\xff" * 12, None, "runs past the end of the file"),  # a 16 EiB length header
        (b"\x01\x02\x03", None, "runs past the end of the file"),  # not even a header
        (b"", 6 * 2**30, f"more than {MAX_WARMUP_RECORDS} records"),  # sparse: zero-length records
    ],
    ids=["truncated", "huge-length", "no-header", "sparse-6GB"],
)
def test_a_warmup_file_tf_serving_would_refuse_is_refused_naming_it(tmp_path, data, size, says):
    path = warmup(tmp_path / "1", data, size)
    with pytest.raises(UnreadableSavedModel, match=says) as info:
        read_warmup(tmp_path / "1")
    assert str(path) in str(info.value) and "TF Serving would refuse" in str(info.value)


def test_a_corrupt_record_is_refused_naming_the_file_not_a_data_loss_traceback(tmp_path):
    tf = pytest.importorskip("tensorflow")
    path = warmup(tmp_path / "1")
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(b"a request TF Serving would replay")
    raw = bytearray(path.read_bytes())
    raw[14] ^= 0xFF  # a byte of the record's data: its CRC no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(UnreadableSavedModel, match="DataLossError") as info:
        read_warmup(tmp_path / "1")
    assert str(path) in str(info.value)


def test_what_is_written_is_read_back_as_tf_serving_replays_it(tmp_path):
    tf = pytest.importorskip("tensorflow")
    feature = {"age": tf.train.Feature(float_list=tf.train.FloatList(value=[41.0]))}
    one = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    examples = np.array([one, tf.train.Example().SerializeToString()], dtype=object)
    requests = {
        "predict": {
            "image": np.arange(8, dtype=np.float32).reshape(2, 2, 2),
            "text": np.array([b"a", b"b"], object),
        },
        "classification": {"inputs": examples},
    }
    methods = {"predict": "tensorflow/serving/predict", "classification": "tensorflow/serving/classify"}
    path = write_warmup(tmp_path, "digits", methods, requests)
    assert path == tmp_path / WARMUP_FILE
    back = dict(read_warmup(tmp_path))
    assert list(back) == ["predict", "classification"]  # one record per signature, in order
    np.testing.assert_array_equal(back["predict"]["image"], requests["predict"]["image"])
    assert back["predict"]["text"].tolist() == [b"a", b"b"]
    assert back["classification"]["inputs"].tolist() == examples.tolist()


def test_warmup_file_is_tf_servings_prediction_log_and_replays(export):
    tf = pytest.importorskip("tensorflow")
    from tensorflow_serving.apis import prediction_log_pb2

    result = export("dnn_classifier")
    records = [
        prediction_log_pb2.PredictionLog.FromString(raw)
        for raw in tf.data.TFRecordDataset(
            str(result.export_dir / "assets.extra" / "tf_serving_warmup_requests")
        ).as_numpy_iterator()
    ]
    kinds = {}
    for record in records:
        kind = record.WhichOneof("log_type")
        request = getattr(record, kind).request
        assert request.model_spec.name == "dnn_classifier"
        kinds[request.model_spec.signature_name] = kind
        if kind == "predict_log":
            feeds = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        else:
            feeds = {
                "inputs": np.array(
                    [e.SerializeToString() for e in request.input.example_list.examples], object
                )
            }
        assert_same_feeds(
            feeds, result.report.inputs[request.model_spec.signature_name]
        )  # what verification ran
        outputs = session_run(result.export_dir, request.model_spec.signature_name, feeds)
        assert all(len(v) == 2 for v in outputs.values())
    assert kinds == {
        "serving_default": "classify_log",
        "classification": "classify_log",
        "predict": "predict_log",
    }


def test_warmup_can_be_turned_off(export):
    result = export("image_classifier", "export.warmup=false")
    assert not (result.export_dir / "assets.extra").exists()
    assert not any("warmup" in c for c in result.report.checks)
