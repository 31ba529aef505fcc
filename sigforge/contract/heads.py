"""The tf.estimator canned heads' serving outputs: which keys each signature method returns, with
their dtypes and shapes, computed from the model's logits (``model.head``).

The table is tensorflow_estimator 2.15's ``head/{binary_class,multi_class,regression}_head.py``
(``predictions`` and ``export_outputs``) and ``head/base_head.py`` (``all_class_ids``,
``all_classes``, ``classification_output``), checked against real estimator exports in
``tests/fixtures/adopt``. No TensorFlow here: the config layer checks output keys against it, and
``contract.read`` expects exactly these dtypes and shapes. ``export.heads`` computes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

HEADS = ("binary_classifier", "multi_class_classifier", "regressor")
LOGITS = "logits"  # the model output a head is computed from

Output = tuple[str, tuple[int | None, ...]]  # (dtype, shape); None: the batch


def logits_dimension(head: str, num_classes: int) -> int:
    """How many logits the model returns per example: 1, except a multi-class head's one per class."""
    return num_classes if head == "multi_class_classifier" else 1


def head_outputs(head: str, method: str, num_classes: int) -> Mapping[str, Output]:
    """The outputs ``head`` gives a ``method`` signature ({} where the estimator has no such
    signature: a multi-class classifier's regress, a regressor's classify)."""
    n = 2 if head == "binary_classifier" else num_classes
    if head == "regressor":
        table = {
            "classify": {},
            "regress": {"outputs": ("float32", (None, 1))},
            "predict": {"predictions": ("float32", (None, 1))},
        }
    else:
        predict = {
            "all_class_ids": ("int32", (None, n)),
            "all_classes": ("string", (None, n)),
            "class_ids": ("int64", (None, 1)),
            "classes": ("string", (None, 1)),
            LOGITS: ("float32", (None, logits_dimension(head, n))),
            "probabilities": ("float32", (None, n)),
        }
        regress = {}
        if head == "binary_classifier":
            predict["logistic"] = ("float32", (None, 1))
            regress = {"outputs": ("float32", (None, 1))}  # the logistic
        table = {
            "classify": {"classes": ("string", (None, n)), "scores": ("float32", (None, n))},
            "regress": regress,
            "predict": dict(sorted(predict.items())),
        }
    return MappingProxyType(table[method])
