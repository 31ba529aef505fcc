"""How a signature that takes serialized tf.Examples parses each input, and hands it to the model.

``inputs.<name>.feature_kind`` picks the parser: ``fixed`` -> FixedLenFeature (with
``inputs.<name>.default`` as its default_value), ``varlen`` -> VarLenFeature, ``ragged`` ->
RaggedFeature. The model always gets dense tensors: VarLen and ragged values padded to the longest
list in the batch, shape [batch, None]. ``contract.features.spec_examples`` is what the graph must
then hold; verification compares the two.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from sigforge.spec import InputSpec


def parse_spec(declared: InputSpec) -> Any:
    """How the graph parses one input from a tf.Example (``inputs.<name>.feature_kind``, ``default``)."""
    dtype = tf.as_dtype(declared.dtype)
    if declared.feature_kind == "varlen":
        return tf.io.VarLenFeature(dtype)
    if declared.feature_kind == "ragged":
        return tf.io.RaggedFeature(dtype)
    shape = list(declared.shape[1:])
    default = None if declared.default is None else _shaped(list(declared.default), shape)
    return tf.io.FixedLenFeature(shape=shape, dtype=dtype, default_value=default)


def _shaped(values: list[Any], shape: list[int]) -> Any:
    """Flattened ``values`` nested to ``shape`` (a scalar for ``[]``)."""
    if not shape:
        return values[0]
    size = len(values) // shape[0]
    return [_shaped(values[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def dense_feature(parsed: Any) -> tf.Tensor:
    """A parsed feature as the model takes it: VarLen (sparse) and ragged values densified to
    [batch, longest], padded with 0 / ''."""
    if isinstance(parsed, tf.SparseTensor):
        return tf.sparse.to_dense(parsed)
    if isinstance(parsed, tf.RaggedTensor):
        return parsed.to_tensor()
    return parsed
