"""TF Serving warmup: ``<version>/assets.extra/tf_serving_warmup_requests``.

TF Serving replays this TFRecord of ``tensorflow.serving.PredictionLog`` when it loads a version,
before the version takes traffic, so the first client request does not pay for graph
initialisation. sigforge writes one request per signature, from the inputs verification ran, and
verification replays the file it wrote through the serving loader before publishing.

The PredictionLog messages come from the ``tensorflow-serving-api`` wheel, which depends on the
full ``tensorflow`` package and would install it beside ``tensorflow-cpu``. sigforge instead
declares the few messages it writes, wire-compatible with TF Serving's own ``.proto`` files (same
package, names and field numbers; fields it never sets are left out), in a private descriptor pool,
so they never clash with ``tensorflow_serving.apis`` when both are imported. The test suite reads
the file back with the real ``tensorflow_serving.apis.prediction_log_pb2``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sigforge.contract.protos import message_class
from sigforge.rules import EXAMPLE_INPUT_KEY

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"

# tensorflow_serving/apis/{model,input,predict,classification,regression,prediction_log}.proto, the
# fields sigforge sets, as a FileDescriptorProto in text form.
_PROTO = """
name: "sigforge/tf_serving_warmup.proto"
package: "tensorflow.serving"
dependency: "tensorflow/core/framework/tensor.proto"
dependency: "tensorflow/core/example/example.proto"
syntax: "proto3"
message_type {
  name: "ModelSpec"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "signature_name" number: 3 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "ExampleList"
  field { name: "examples" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".tensorflow.Example" }
}
message_type {
  name: "Input"
  field { name: "example_list" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ExampleList" }
}
message_type {
  name: "PredictRequest"
  field { name: "model_spec" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelSpec" }
  field { name: "inputs" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.PredictRequest.InputsEntry" }
  nested_type {
    name: "InputsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".tensorflow.TensorProto" }
    options { map_entry: true }
  }
}
message_type {
  name: "ClassificationRequest"
  field { name: "model_spec" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelSpec" }
  field { name: "input" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".tensorflow.serving.Input" }
}
message_type {
  name: "RegressionRequest"
  field { name: "model_spec" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelSpec" }
  field { name: "input" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".tensorflow.serving.Input" }
}
message_type {
  name: "PredictLog"
  field { name: "request" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.PredictRequest" }
}
message_type {
  name: "ClassifyLog"
  field { name: "request" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ClassificationRequest" }
}
message_type {
  name: "RegressLog"
  field { name: "request" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.RegressionRequest" }
}
message_type {
  name: "PredictionLog"
  field { name: "classify_log" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ClassifyLog" oneof_index: 0 }
  field { name: "regress_log" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.RegressLog" oneof_index: 0 }
  field { name: "predict_log" number: 6 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.PredictLog" oneof_index: 0 }
  oneof_decl { name: "log_type" }
}
"""

_LOG_FIELD = {
    "tensorflow/serving/predict": "predict_log",
    "tensorflow/serving/classify": "classify_log",
    "tensorflow/serving/regress": "regress_log",
}


@cache
def prediction_log_class() -> Any:
    """``tensorflow.serving.PredictionLog``, built in a descriptor pool of its own."""
    from tensorflow.core.example import example_pb2
    from tensorflow.core.framework import tensor_pb2

    return message_class(
        _PROTO,
        "tensorflow.serving.PredictionLog",
        dependencies=(tensor_pb2.DESCRIPTOR, example_pb2.DESCRIPTOR),
    )


def prediction_log(model: str, signature: str, method_name: str, inputs: Mapping[str, np.ndarray]) -> Any:
    """One warmup record: a Predict request of tensors, or a Classify/Regress request of tf.Examples."""
    import tensorflow as tf

    record = prediction_log_class()()
    field = _LOG_FIELD[method_name]
    request = getattr(record, field).request
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if field == "predict_log":
        for key, value in inputs.items():
            request.inputs[key].ParseFromString(tf.make_tensor_proto(value).SerializeToString())
    else:
        (serialized,) = inputs.values()  # classify/regress: the one `inputs` key of tf.Examples
        for example in np.asarray(serialized).reshape(-1):
            request.input.example_list.examples.add().ParseFromString(example)
    return record


def write_warmup(
    export_dir: Path,
    model: str,
    method_names: Mapping[str, str],
    inputs: Mapping[str, Mapping[str, np.ndarray]],
) -> Path:
    """Write one record per signature into ``export_dir/assets.extra`` and return the file's path."""
    import tensorflow as tf

    from sigforge.errors import ExportError, io_reason

    path = export_dir / WARMUP_FILE
    try:
        path.parent.mkdir(exist_ok=True)
        with tf.io.TFRecordWriter(str(path)) as writer:
            for signature, args in inputs.items():
                record = prediction_log(model, signature, method_names[signature], args)
                writer.write(record.SerializeToString())
    except (OSError, tf.errors.OpError) as err:
        raise ExportError(
            f"writing the TF Serving warmup file {path} failed ({io_reason(err)[:200]}); check free space "
            "under export.base_dir, or set export.warmup=false."
        ) from err
    return path


# TF Serving replays at most this many records and refuses a version whose file holds more
# (saved_model_warmup_util.cc, kMaxNumRecords); each record is one protobuf message (2 GiB at most).
MAX_WARMUP_RECORDS = 1000
_FIX = (
    "TF Serving would refuse to load this version too: re-export it, or remove "
    f"{WARMUP_FILE} from the version directory."
)


def _check_framing(path: Path) -> None:
    """Walk the TFRecord framing (8-byte length, 4-byte CRC, data, 4-byte CRC) without reading the
    data: every record must end inside the file and there must be at most ``MAX_WARMUP_RECORDS``,
    so that no length header (a truncated, sparse or hostile file) makes a reader allocate more
    than the file holds."""
    import struct

    from sigforge.errors import UnreadableSavedModel

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        offset = records = 0
        while offset < size:
            handle.seek(offset)
            header = handle.read(12)
            length = struct.unpack("<Q", header[:8])[0] if len(header) == 12 else size
            end = offset + 12 + length + 4
            if end > size:
                raise UnreadableSavedModel(
                    f"the TF Serving warmup file {path} is truncated or corrupt: record {records + 1} "
                    f"at byte {offset} runs past the end of the file. {_FIX}"
                )
            records, offset = records + 1, end
            if records > MAX_WARMUP_RECORDS:
                raise UnreadableSavedModel(
                    f"the TF Serving warmup file {path} holds more than {MAX_WARMUP_RECORDS} records, "
                    f"which TF Serving refuses. {_FIX}"
                )


def read_warmup(export_dir: Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The requests in a warmup file, as TF Serving replays them: (signature, client key -> array).
    A file TF Serving would refuse (corrupt, truncated, too many records) is refused naming it."""
    from sigforge.errors import UnreadableSavedModel

    path = export_dir / WARMUP_FILE
    _check_framing(path)  # before TensorFlow reads a length header
    import tensorflow as tf

    try:
        return list(_records(path))
    except tf.errors.OpError as err:  # DataLossError: a CRC that does not match
        raise UnreadableSavedModel(
            f"the TF Serving warmup file {path} cannot be read ({type(err).__name__}: "
            f"{err.message.strip()[:200]}). {_FIX}"
        ) from None
    except MemoryError:
        raise UnreadableSavedModel(
            f"the TF Serving warmup file {path} does not fit in the memory this process may use; raise "
            "the memory limit (ulimit -v, the container's limit) to read it."
        ) from None


def _records(path: Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2

    log_class = prediction_log_class()
    for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        record = log_class.FromString(raw)
        field = record.WhichOneof("log_type")
        if field is None:  # TF Serving skips a record with no type
            continue
        request = getattr(record, field).request
        if field == "predict_log":
            feeds = {
                key: tf.make_ndarray(tensor_pb2.TensorProto.FromString(value.SerializeToString()))
                for key, value in request.inputs.items()
            }
        else:
            examples = [e.SerializeToString() for e in request.input.example_list.examples]
            feeds = {EXAMPLE_INPUT_KEY: np.array(examples, dtype=object)}
        yield request.model_spec.signature_name, feeds
