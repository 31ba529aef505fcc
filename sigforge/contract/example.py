"""``tensorflow.Example`` read without TensorFlow: a wire-compatible subset of
``tensorflow/core/example/{example,feature}.proto`` (same field numbers), in a pool of its own.

The request files are written in the report layer, which must not import TensorFlow; a serialized
tf.Example is all it needs to read.
"""

from __future__ import annotations

import functools
from typing import Any

from sigforge.contract.protos import message_class

_PROTO = """
name: "sigforge/example_subset.proto"
package: "sigforge_subset"
syntax: "proto3"
message_type { name: "BytesList" field { name: "value" number: 1 label: LABEL_REPEATED type: TYPE_BYTES } }
message_type { name: "FloatList" field { name: "value" number: 1 label: LABEL_REPEATED type: TYPE_FLOAT } }
message_type { name: "Int64List" field { name: "value" number: 1 label: LABEL_REPEATED type: TYPE_INT64 } }
message_type {
  name: "Feature"
  field { name: "bytes_list" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".sigforge_subset.BytesList" oneof_index: 0 }
  field { name: "float_list" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".sigforge_subset.FloatList" oneof_index: 0 }
  field { name: "int64_list" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".sigforge_subset.Int64List" oneof_index: 0 }
  oneof_decl { name: "kind" }
}
message_type {
  name: "Features"
  field { name: "feature" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".sigforge_subset.Features.FeatureEntry" }
  nested_type {
    name: "FeatureEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.Feature" }
    options { map_entry: true }
  }
}
message_type {
  name: "Example"
  field { name: "features" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.Features" }
}
"""


@functools.cache
def example_message() -> Any:
    """The ``Example`` message class (``Example.FromString(serialized).features.feature``)."""
    return message_class(_PROTO, "sigforge_subset.Example")


def example_features(serialized: bytes) -> dict[str, tuple[str | None, list[Any]]]:
    """Feature name -> (``bytes_list`` / ``float_list`` / ``int64_list`` or None, its values)."""
    features: dict[str, tuple[str | None, list[Any]]] = {}
    for name, feature in sorted(example_message().FromString(serialized).features.feature.items()):
        kind = feature.WhichOneof("kind")
        features[name] = (kind, list(getattr(feature, kind).value) if kind else [])
    return features
