"""An input's tf.Example side: how a signature that takes serialized Examples parses it
(``inputs.<name>.feature_kind``) and what a fixed-length feature takes when an Example lacks it
(``inputs.<name>.default``). What the graph stores for these is what ``contract.graph`` reads back,
so the values are kept in the form it reads them: flattened, float32 as its shortest decimal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sigforge.contract.graph_walk import float32_text
from sigforge.errors import Problems
from sigforge.rules import EXAMPLE_DTYPES, shape_text

FEATURE_KINDS = ("fixed", "varlen", "ragged")
FREE_SHAPE = (None, None)  # what the model takes of a varlen / ragged feature: [batch, values]


def check_feature_kind(path: str, kind: Any, dtype: Any, shape: Sequence[Any], problems: Problems) -> None:
    """``feature_kind``: fixed, or varlen / ragged of a tf.Example dtype with shape [null, null]."""
    if not problems.check(
        kind in FEATURE_KINDS,
        f"{path}.feature_kind = {kind!r} is not one of {', '.join(FEATURE_KINDS)}.",
    ):
        return
    if kind == "fixed":
        return
    problems.check(
        tuple(shape) == FREE_SHAPE,
        f"{path}.feature_kind = {kind}: each Example carries any number of values, which the model gets "
        f"densified (padded with 0 or ''), so {path}.shape must be [null, null]; it is {shape_text(shape)}.",
    )
    problems.check(
        dtype in EXAMPLE_DTYPES,
        f"{path}.feature_kind = {kind}: a tf.Example carries only {', '.join(EXAMPLE_DTYPES)} values; "
        f"{path}.dtype is {dtype!r}.",
    )


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [v for item in value for v in _flatten(item)]
    return [value]


def _typed(dtype: str, value: Any) -> Any:
    """``value`` as the graph stores it for ``dtype``; None when it is not of that kind."""
    if isinstance(value, bool):
        return None
    if dtype == "float32" and isinstance(value, (int, float)):
        try:
            return float32_text(float(value))  # as contract.graph reads a DT_FLOAT back
        except OverflowError:  # beyond float32's range
            return None
    if dtype == "int64" and isinstance(value, int):
        return value
    if dtype == "string" and isinstance(value, str):
        return value
    return None


def feature_default(
    path: str, value: Any, kind: Any, dtype: Any, shape: Sequence[Any], problems: Problems
) -> tuple[Any, ...] | None:
    """``default``: one value (repeated to the shape's size) or one per value of ``shape[1:]``,
    flattened; None for a required feature."""
    if value is None:
        return None
    if not problems.check(
        kind == "fixed",
        f"{path}.default is set, but {path}.feature_kind = {kind}: a variable-length feature may be "
        "missing anyway (the model gets no values); drop the default.",
    ):
        return None
    dims = list(shape[1:])
    if not problems.check(
        dtype in EXAMPLE_DTYPES and None not in dims,
        f"{path}.default is set, so {path} is a fixed-length tf.Example feature: give it a dtype of "
        f"{', '.join(EXAMPLE_DTYPES)} and a shape without free dimensions after the batch "
        f"(it is {dtype} {shape_text(shape)}).",
    ):
        return None
    count = math.prod(dims)
    values = _flatten(value)
    if len(values) == 1:
        values = values * count
    typed = [_typed(dtype, v) for v in values]
    if not problems.check(
        len(values) == count and None not in typed,
        f"{path}.default = {value!r} must be one {dtype} value or {count} of them "
        f"(one per value of shape {shape_text(shape)}).",
    ):
        return None
    return tuple(typed)
