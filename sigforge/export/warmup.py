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


def read_warmup(export_dir: Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """The requests in a warmup file, as TF Serving replays them: (signature, client key -> array)."""
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2

    log_class = prediction_log_class()
    for raw in tf.data.TFRecordDataset(str(export_dir / WARMUP_FILE)).as_numpy_iterator():
        record = log_class.FromString(raw)
        field = record.WhichOneof("log_type")
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
