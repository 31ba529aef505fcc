"""Weights read from a Keras ``.weights.h5`` file into a built model a slice at a time.

Keras's ``load_weights`` reads each variable whole into NumPy, converts it to a tensor and assigns
that: beside the built model's own variable, three copies of the largest table at once, which
decides whether a 6 GiB embedding table fits the machine at all. Here each variable is filled in
place, ``CHUNK_BYTES`` of rows at a time, straight from the file's dataset: the peak is the model
plus one slice, and it is as fast as reading the file.

The file's layout is Keras 3's: a ``vars`` group per layer, its ``name`` attribute the layer's
name when it was saved, holding datasets ``0``, ``1``... in the layer's variable order (trainable,
then non-trainable), at a path Keras makes from the layer's place: ``layers/dense_1/vars`` for the
second ``Dense`` of the model's ``layers``, ``layers/sequential/layers/dense/vars`` inside a nested
model. Layers are matched by name first (a model built from the same code in a fresh process, or
from a ``.keras`` archive's config, has the names it was saved with), else by that path, as Keras's
own ``load_weights`` matches them (a model built twice in one process: ``dense_2``, ``dense_3``).
Only an exact match is loaded (every layer with variables has its one group, counts, shapes and
dtypes agree, no group is left over but a trained model's optimizer state); otherwise
``load_in_place`` changes nothing and returns False, and the caller uses Keras's ``load_weights``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK_BYTES = 8 * 2**20  # rows read and assigned at a time (small enough for malloc to reuse)


def load_in_place(model: Any, path: Path) -> bool:
    """Fill ``model``'s variables from ``path`` in place; False, with nothing assigned, if the layout differs."""
    return fill_in_place(model, path) is not None


def fill_in_place(model: Any, path: Path) -> list[Any] | None:
    """``load_in_place``, returning the tf.Variables it filled (every layer's weights), or None."""
    import h5py

    with h5py.File(path, "r") as weights:
        plan = _plan(model, weights)
        if plan is None:
            return None
        for variable, dataset in plan:
            _fill(variable, dataset)
    return [variable for variable, _ in plan]


def _plan(model: Any, weights: Any) -> list[tuple[Any, Any]] | None:
    """(tf.Variable, h5py dataset) pairs for every variable of ``model``, or None on any mismatch."""
    import h5py

    by_name: dict[str, list[Any]] = {}
    by_path: dict[str, list[Any]] = {}

    def collect(name: str, item: Any) -> None:
        # A trained model's file holds its optimizer's state too: not the model's to load (Keras
        # skips it for a model without that optimizer).
        if name.startswith("optimizer/"):
            return
        if isinstance(item, h5py.Group) and name.split("/")[-1] == "vars" and len(item):
            by_name.setdefault(str(item.attrs.get("name", "")), []).append(item)
            by_path[name] = [item]

    weights.visititems(collect)
    if "vars" in weights and len(weights["vars"]):  # the model's own variables: not a layout handled here
        return None
    layers = list(_layers(model))
    named = _matched([(layer, by_name.get(layer.name, [])) for layer, _ in layers], by_name)
    if named is not None:
        return named
    return _matched([(layer, by_path.get(path, [])) for layer, path in layers], by_path)


def _matched(
    found: list[tuple[Any, list[Any]]], groups: dict[str, list[Any]]
) -> list[tuple[Any, Any]] | None:
    """The plan when each layer with variables found exactly its one group, laid out as the layer
    is, and no group was left over; else None."""
    import h5py
    import tensorflow as tf

    plan: list[tuple[Any, Any]] = []
    claimed = 0
    for layer, candidates in found:
        own = list(layer.weights)
        if not own:
            continue
        if len(candidates) != 1 or len(candidates[0]) != len(own):
            return None
        claimed += 1
        for index, variable in enumerate(own):
            dataset = candidates[0].get(str(index))
            value = getattr(variable, "value", variable)
            if (
                not isinstance(dataset, h5py.Dataset)
                or not isinstance(value, tf.Variable)
                or tuple(dataset.shape) != tuple(value.shape)
                or dataset.dtype != value.dtype.as_numpy_dtype
                or "dtype" in dataset.attrs  # e.g. bfloat16 stored as another type
            ):
                return None
            plan.append((value, dataset))
    if claimed != sum(len(g) for g in groups.values()):
        return None
    return plan


def _layers(model: Any, prefix: str = "layers") -> Iterator[tuple[Any, str]]:
    """The layers that own variables directly, each with the path of its ``vars`` group as Keras
    saves it (``saving_lib``: a layer is named by its class in snake case, numbered from the second
    of a class within its container). Nested models are walked into; any other layer that contains
    layers makes the layout one this module does not handle (its weights are counted twice and
    ``_matched`` refuses it)."""
    used: dict[str, int] = {}
    for layer in getattr(model, "layers", []):
        name = _snake_case(type(layer).__name__)
        used[name] = used.get(name, -1) + 1
        path = f"{prefix}/{name}" + (f"_{used[name]}" if used[name] else "")
        if hasattr(layer, "layers"):
            yield from _layers(layer, f"{path}/layers")
        else:
            yield layer, f"{path}/vars"


def _snake_case(name: str) -> str:
    """A class name as Keras's saving names it (``GlobalAveragePooling1D`` ->
    ``global_average_pooling1d``, ``InputLayer`` -> ``input_layer``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _fill(variable: Any, dataset: Any) -> None:
    """Rows ``CHUNK_BYTES`` at a time, read into one reused buffer and scattered into the variable
    in place (``ResourceScatterUpdate``: slicing sugar would read the variable first and make the
    update copy all of it)."""
    import numpy as np
    import tensorflow as tf

    if dataset.ndim == 0 or dataset.nbytes <= CHUNK_BYTES:
        variable.assign(dataset[()])
        return
    rows = max(1, CHUNK_BYTES // (math.prod(dataset.shape[1:]) * dataset.dtype.itemsize))
    buffer = np.empty((rows, *dataset.shape[1:]), dataset.dtype)
    total = dataset.shape[0]
    for start in range(0, total, rows):
        stop = min(total, start + rows)
        dataset.read_direct(buffer, np.s_[start:stop], np.s_[0 : stop - start])
        tf.raw_ops.ResourceScatterUpdate(
            resource=variable.handle,
            indices=tf.range(start, stop, dtype=tf.int64),
            updates=buffer[: stop - start],
        )
