"""The ``inputs`` group -> InputSpecs: each input's modality, dtype, shape, key and preprocessor
chain (each preprocessor resolved once, here).

``inputs`` is an open mapping in the schema, so that a whole input can be declared on the command
line; each input's settings are checked here against ``InputConf`` and take its defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from types import MappingProxyType
from typing import Any

from sigforge.config.feature_settings import check_feature_kind, feature_default
from sigforge.config.schema import InputConf
from sigforge.errors import Problems
from sigforge.plugins.manager import Plugins
from sigforge.rules import (
    DTYPES,
    ITEM_BYTES,
    MAX_EXAMPLE_BYTES,
    MODALITIES,
    NAME_PATTERN,
    TF_EXAMPLE_PREPROCESSOR,
    full_name,
    key_problem,
    shape_text,
)
from sigforge.spec import InputSpec, PreprocessStep

INPUT_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        f.name: f.default_factory() if f.default_factory is not MISSING else f.default
        for f in fields(InputConf)
    }
)
"""Every input setting and its default: one home, the schema's InputConf."""


def inputs_spec(cfg: Mapping[str, Any], plugins: Plugins, problems: Problems) -> dict[str, InputSpec]:
    """Every declared input, checked; problems are collected, not raised, so all show at once."""
    if not cfg:
        problems.append("inputs is empty; declare at least one input, e.g. inputs=[image].")
    inputs: dict[str, InputSpec] = {}
    for name, icfg in cfg.items():
        spec = _input_spec(str(name), icfg or {}, plugins, problems)
        if spec is not None:
            inputs[spec.name] = spec
    for spec in inputs.values():
        _check_length_input(spec, inputs, problems)
    return inputs


def _input_spec(name: str, icfg: Any, plugins: Plugins, problems: Problems) -> InputSpec | None:
    """One input: its settings, name, modality, dtype, shape, key, vocabulary and preprocessors."""
    path = f"inputs.{name}"
    if not isinstance(icfg, Mapping):
        problems.append(f"{path} = {icfg!r} must be a mapping such as {{modality: dense, shape: [null, 8]}}.")
        return None
    unknown = sorted(set(icfg) - set(INPUT_DEFAULTS))
    problems.check(
        not unknown,
        f"{path}: {', '.join(map(repr, unknown))} is not an input setting; the settings are "
        f"{', '.join(INPUT_DEFAULTS)}.",
    )
    icfg = {**INPUT_DEFAULTS, **icfg}
    problems.check(
        full_name(NAME_PATTERN, name),
        f"{path}: the input name {name!r} must match [A-Za-z][A-Za-z0-9_]* "
        "(it names a model input and a tf.Example feature); rename it.",
    )
    modality, dtype = icfg["modality"], icfg["dtype"]
    _check_modality_and_dtype(path, modality, dtype, problems)
    shape = _shape(icfg["shape"], f"{path}.shape", problems)
    _check_example_size(path, dtype, shape, problems)
    _check_image_dtype(path, modality, dtype, problems)
    key = icfg["key"]
    if key is not None:
        problem = key_problem(key, f"{path}.key", argument=True)
        problems.check(problem is None, problem or "")
    chain = icfg["preprocess"] or []
    if modality == "tf_example" and not chain:
        chain = [{"name": TF_EXAMPLE_PREPROCESSOR, "feature": name}]
    kind = icfg["feature_kind"]
    check_feature_kind(path, kind, dtype, shape, problems)
    problems.check(
        not chain or (kind == "fixed" and icfg["default"] is None),
        f"{path}.feature_kind and {path}.default say how a classify, regress or examples-taking predict "
        f"signature parses {name!r} from a tf.Example, which takes no preprocessors; {path} has a "
        "preprocess chain (a tf_example input's parse_example reads one fixed-length, required feature): "
        "drop feature_kind/default, or the preprocessors.",
    )
    return InputSpec(
        name=name,
        modality=modality,
        dtype=dtype,
        shape=shape,
        key=key,
        preprocess=tuple(_preprocess(chain, path, plugins, problems)),
        vocabulary=_vocabulary(path, icfg["vocabulary"], dtype, problems),
        length_input=icfg["length_input"],
        feature_kind=kind,
        default=feature_default(path, icfg["default"], kind, dtype, shape, problems),
    )


def _check_modality_and_dtype(path: str, modality: Any, dtype: Any, problems: Problems) -> None:
    problems.check(
        modality in MODALITIES,
        f"{path}.modality = {modality!r} is not one of {', '.join(MODALITIES)}.",
    )
    problems.check(
        dtype in DTYPES,
        f"{path}.dtype = {dtype!r} is not a TensorFlow dtype sigforge knows; use one of {', '.join(DTYPES)}.",
    )


def _check_image_dtype(path: str, modality: Any, dtype: Any, problems: Problems) -> None:
    problems.check(
        not (modality == "image" and dtype in ("bool", "string")),
        f"{path}.dtype = {dtype!r}: an image input carries pixels (float32, uint8, ...), and the model takes "
        "the dtype after any preprocessors. For clients that send encoded images, keep a numeric dtype and "
        "add preprocess: [{name: decode_image}].",
    )


def _check_example_size(path: str, dtype: Any, shape: Any, problems: Problems) -> None:
    """One example must fit in memory several times over: verification builds a batch of them."""
    if dtype not in ITEM_BYTES or not shape or not all(d is None or isinstance(d, int) for d in shape):
        return
    size = ITEM_BYTES[dtype]
    for dim in shape[1:]:
        size *= dim or 1
    problems.check(
        size <= MAX_EXAMPLE_BYTES,
        f"{path}.shape = {shape_text(shape)}: one example of {dtype} is {size / 2**30:.1f} GiB, more than "
        f"sigforge accepts ({MAX_EXAMPLE_BYTES // 2**30} GiB; verification builds several). Check the "
        "dimensions, or use null for a free one.",
    )


def _vocabulary(path: str, vocabulary: Any, dtype: Any, problems: Problems) -> tuple[str, ...] | None:
    if vocabulary is None:
        return None
    vocabulary = tuple(str(v) for v in vocabulary)
    problems.check(
        dtype == "string" and len(vocabulary) > 0,
        f"{path}.vocabulary is set, so {path} is categorical: give it dtype string and at least one value.",
    )
    return vocabulary


def _check_length_input(spec: InputSpec, inputs: Mapping[str, InputSpec], problems: Problems) -> None:
    if spec.length_input is None:
        return
    other = inputs.get(spec.length_input)
    problems.check(
        other is not None
        and other.dtype in ("int32", "int64")
        and len(other.shape) == 1
        and len(spec.shape) >= 2,
        f"{spec.path}.length_input = {spec.length_input!r} must name a declared int32/int64 input of "
        f"shape [null] holding each example's length, and {spec.path} must have a time dimension.",
    )


def _shape(shape: Any, path: str, problems: Problems) -> tuple[int | None, ...]:
    if not isinstance(shape, Sequence) or isinstance(shape, str) or len(shape) == 0:
        problems.append(
            f"{path} = {shape!r} must be a list of dimensions starting with the batch, e.g. [null, 28, 28, 1]."
        )
        return ()
    dims = tuple(shape)
    for i, dim in enumerate(dims):
        if dim is not None and not (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0):
            problems.append(f"{path}[{i}] = {dim!r} must be a positive integer or null (a free dimension).")
    if dims[0] is not None:
        problems.append(
            f"{path}[0] = {dims[0]!r}: the first dimension is the batch, which TF Serving varies; use null."
        )
    return dims


def _preprocess(steps: Any, path: str, plugins: Plugins, problems: Problems) -> list[PreprocessStep]:
    out: list[PreprocessStep] = []
    for i, step in enumerate(steps):
        where = f"{path}.preprocess[{i}]"
        if isinstance(step, str):
            step = {"name": step}
        if not isinstance(step, Mapping) or "name" not in step:
            problems.append(f"{where} = {step!r} must be a mapping with a 'name', e.g. {{name: normalize}}.")
            continue
        name = step["name"]
        if name not in plugins.preprocessors:
            problems.append(plugins.preprocessors.unknown(name, f"{where}.name"))
            continue
        params = MappingProxyType({k: v for k, v in step.items() if k != "name"})
        out.append(PreprocessStep(name, params, plugins.preprocessors.get(name, where)))
    return out
