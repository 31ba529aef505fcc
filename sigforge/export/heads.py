"""The tf.estimator canned heads, computed in the serving graph from the model's logits.

Each op is the one tensorflow_estimator 2.15's head computes (``head/binary_class_head.py``,
``multi_class_head.py``, ``regression_head.py``, ``base_head.all_class_ids`` / ``all_classes``), so
the outputs have the estimator's keys, dtypes, shapes and values; ``contract.heads`` lists them.
The one difference: ``classes`` is looked up with a gather over the class labels rather than a
lookup table (no table resource to initialize; the same strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

from sigforge.contract.heads import LOGITS, head_outputs, logits_dimension


def _all(labels: Sequence[str], logits: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``all_class_ids`` (int32) and ``all_classes`` (string), [batch, n]: every class, per example."""
    batch = tf.shape(logits)[0]
    ids = tf.tile(tf.expand_dims(tf.range(len(labels)), 0), [batch, 1])
    classes = tf.tile(tf.constant([list(labels)], dtype=tf.string), [batch, 1])
    return ids, classes


def _classifier(logits: tf.Tensor, labels: Sequence[str], binary: bool) -> dict[str, tf.Tensor]:
    out = {LOGITS: logits}
    if binary:
        out["logistic"] = tf.math.sigmoid(logits)
        logits = tf.concat((tf.zeros_like(logits), logits), axis=-1)  # the estimator's two_class_logits
    out["probabilities"] = tf.nn.softmax(logits)
    class_ids = tf.expand_dims(tf.math.argmax(logits, axis=-1), -1)  # int64 [batch, 1]
    out["class_ids"] = class_ids
    out["classes"] = tf.gather(tf.constant(list(labels), dtype=tf.string), class_ids)
    out["all_class_ids"], out["all_classes"] = _all(labels, logits)
    return out


def head_tensors(
    head: str, method: str, logits: tf.Tensor, labels: Sequence[str], num_classes: int
) -> Mapping[str, tf.Tensor]:
    """What ``head`` returns for a ``method`` signature, from ``logits`` [batch, logits_dimension]."""
    logits = tf.cast(logits, tf.float32)
    want = logits_dimension(head, num_classes)
    if logits.shape.rank != 2 or logits.shape[-1] not in (None, want):
        raise ValueError(
            f"model.head = {head} needs the model's '{LOGITS}' output as float [batch, {want}]; "
            f"the model returns {logits.dtype.name} {logits.shape}"
        )
    logits = tf.ensure_shape(logits, [None, want])
    if head == "regressor":
        predict = {"predictions": logits}
        by_method = {"predict": predict, "regress": {"outputs": logits}, "classify": {}}
    else:
        predict = _classifier(logits, labels, binary=head == "binary_classifier")
        by_method = {
            "predict": predict,
            "classify": {"classes": predict["all_classes"], "scores": predict["probabilities"]},
            "regress": {"outputs": predict["logistic"]} if "logistic" in predict else {},
        }
    produced = head_outputs(head, method, num_classes)
    return {k: v for k, v in by_method[method].items() if k in produced}
