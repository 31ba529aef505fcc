"""What verification sends, and what it expects back: deterministic client batches of the
declared dtypes and shapes (free dimensions 2; real serialized tf.Examples for classify and
regress and an examples-taking predict; a preprocessor's own ``example_input`` where synthetic values mean nothing), and the
in-memory model's answers to them, computed before the SavedModel is reloaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from sigforge.errors import PluginError, one_line
from sigforge.spec import ExportSpec, SignatureSpec

SMOKE_BATCH = 2  # every free dimension of a synthetic input


@dataclass
class Reference:
    """What the in-memory signature returned for the synthetic inputs, computed before the reload."""

    inputs: dict[str, tf.Tensor]
    outputs: dict[str, np.ndarray]


def reference_calls(spec: ExportSpec, plan: Any) -> dict[str, Reference]:
    """Call every signature's Python function eagerly on synthetic inputs (the in-memory reference).

    Done before the SavedModel is reloaded so that the caller can drop the in-memory model first:
    verification then never holds two copies of the weights.
    """
    references = {}
    for sig in spec.signatures:
        args = synthetic_inputs(sig, spec, plan)
        try:
            outputs = plan.eager[sig.name](*args.values())
        except PluginError as err:
            raise _no_example_input(sig, spec, plan, args, err) or err from err
        references[sig.name] = Reference(args, {k: v.numpy() for k, v in outputs.items()})
    return references


def _no_example_input(
    sig: SignatureSpec, spec: ExportSpec, plan: Any, args: Mapping[str, tf.Tensor], err: PluginError
) -> PluginError | None:
    """Synthetic data (random values of the client dtype) mean nothing to a preprocessor that decodes
    or parses its input; one without ``example_input`` is told to add it, naming what it must return."""
    for name in sig.inputs:
        steps = spec.input[name].preprocess
        if not steps or name in plan.examples:
            continue
        step, value = steps[0], args[sig.keys[name]]
        cause = err.__cause__ or err
        reason = f"{type(cause).__name__}: {one_line(cause)}"
        shape = ", ".join(["batch", *(str(d) for d in value.shape[1:])])
        return PluginError(
            f"plugin '{step.provider.plugin}': preprocessor '{step.name}' on {spec.input[name].path} could not be "
            f"verified: it failed on synthetic client data ({value.dtype.name} {list(value.shape)}) and "
            "defines no example_input. Give the object its factory returns a method example_input(batch) "
            f"that returns a numpy array of `batch` real client values ({value.dtype.name}, shape "
            f"[{shape}]), such as encoded images or serialized records. The call failed with: {reason}"
        )
    return None


def synthetic_inputs(sig: SignatureSpec, spec: ExportSpec, plan: Any) -> dict[str, tf.Tensor]:
    """Deterministic inputs of the client's dtypes and shapes, keyed by client key, in signature order."""
    rng = np.random.default_rng(0)
    by_name = spec.input
    if sig.example_key is not None:
        examples = []
        for row in range(SMOKE_BATCH):
            feature = {}
            for name in sig.inputs:
                declared = by_name[name]
                if row == 1 and declared.default is not None:
                    continue  # the second Example leaves out what has a default: the graph fills it
                shape = declared.shape[1:]
                if declared.feature_kind != "fixed":  # any number of values: row + 1 of them
                    shape = (row + 1,)
                values = _values(declared.dtype, shape, declared.vocabulary, rng, row).reshape(-1)
                feature[name] = _feature(declared.dtype, values)
            examples.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
        return {sig.example_key: tf.constant(examples)}
    args = {}
    for name in sig.inputs:
        key = sig.keys[name]
        client = plan.client_specs[sig.name][key]
        declared = by_name[name]
        shape = tuple(SMOKE_BATCH if d is None else d for d in client.shape)
        if name in plan.examples:
            values = _example_input(plan.examples[name], declared, client, shape)
        elif declared.modality == "sequence_length":
            values = np.full(shape, SMOKE_BATCH, dtype=client.dtype)  # within the free time dimension
        else:
            values = _values(client.dtype, shape[1:], declared.vocabulary, rng, None, batch=shape[0])
        args[key] = tf.constant(values, dtype=client.dtype)
    return args


def _example_input(example_input: Any, declared: Any, client: Any, shape: tuple) -> np.ndarray:
    """A preprocessor's own client data for verification, checked at the plugin boundary."""
    step = declared.preprocess[0]
    where = f"plugin '{step.provider.plugin}': preprocessor '{step.name}'.example_input({shape[0]}) on {declared.path}"
    want = f"a numpy array of {client.dtype} with shape {list(shape)}"
    try:
        values = np.asarray(example_input(shape[0]))
    except (Exception, SystemExit) as err:
        raise PluginError(
            f"{where} raised {type(err).__name__}: {one_line(err)}; it must return {want}."
        ) from err
    kind_ok = (
        values.dtype == object or values.dtype.kind in "SU"
        if client.dtype == "string"
        else values.dtype.kind in "biuf"
    )
    if values.ndim == 0 or values.shape[0] != shape[0] or not kind_ok:
        raise PluginError(f"{where} returned {values.dtype} {list(values.shape)}; it must return {want}.")
    return values


def _values(
    dtype: str,
    shape: tuple,
    vocabulary: Any,
    rng: np.random.Generator,
    row: int | None,
    batch: int | None = None,
) -> np.ndarray:
    full = tuple(shape) if batch is None else (batch, *shape)
    full = tuple(SMOKE_BATCH if d is None else d for d in full)
    if dtype == "string":
        pool = list(vocabulary) if vocabulary else ["sigforge"]
        return rng.choice(np.array([p.encode() for p in pool], dtype=object), size=full)
    if dtype == "bool":
        return rng.integers(0, 2, size=full).astype(bool)
    if dtype.startswith(("int", "uint")):
        return rng.integers(0, 10, size=full).astype(dtype)
    return rng.standard_normal(size=full).astype("float32" if dtype == "bfloat16" else dtype)


def _feature(dtype: str, values: np.ndarray) -> tf.train.Feature:
    if dtype == "string":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))
    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))
