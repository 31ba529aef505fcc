"""The ``signatures`` group -> SignatureSpecs: each signature's method, inputs and outputs, checked
against what TF Serving's Predict, Classify and Regress APIs accept. Keys come later (``naming``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sigforge.errors import Problems
from sigforge.rules import (
    CLASSIFY_OUTPUTS,
    EXAMPLE_DTYPES,
    EXAMPLE_METHODS,
    METHOD_NAMES,
    REGRESS_OUTPUTS,
    key_problem,
    shape_text,
)
from sigforge.spec import InputSpec, ModelSpec, SignatureSpec


def signature_specs(
    cfg: Mapping[str, Any],
    inputs: Mapping[str, InputSpec],
    model: ModelSpec,
    naming: Mapping[str, Any],
    problems: Problems,
) -> list[SignatureSpec]:
    """Every selected signature, checked against TF Serving's APIs; problems are collected."""
    if not cfg:
        problems.append("signatures is empty; select some, e.g. signatures=predict.")
    out = []
    for name, scfg in cfg.items():
        path = f"signatures.{name}"
        problem = key_problem(name, f"{path} (the signature name)")
        problems.check(problem is None, problem or "")
        method = scfg["method"]
        if not problems.check(
            method in METHOD_NAMES,
            f"{path}.method = {method!r} is not one of {', '.join(METHOD_NAMES)}.",
        ):
            continue
        names = _input_names(path, scfg["inputs"], inputs, problems)
        outputs = _outputs(path, scfg["outputs"], problems)
        if method == "classify":
            _check_classify(path, outputs, model, problems)
        if method == "regress":
            _check_regress(path, outputs, model, problems)
        if method in EXAMPLE_METHODS:
            _check_example_inputs(path, method, names, inputs, problems)
        out.append(
            SignatureSpec(
                name=str(name),
                method=method,
                inputs=tuple(names),
                outputs=tuple(outputs),
                naming=MappingProxyType(dict(naming)),
            )
        )
    return out


def _input_names(path: str, listed: Any, inputs: Mapping[str, InputSpec], problems: Problems) -> list[str]:
    """The signature's inputs (null: all), each declared, none left out, none twice."""
    names = list(inputs) if listed is None else [str(n) for n in listed]
    for n in names:
        problems.check(
            n in inputs,
            f"{path}.inputs names {n!r}, which is not a declared input (declared: {', '.join(inputs)}).",
        )
    missing = [n for n in inputs if n not in names]
    problems.check(
        not missing,
        f"{path}.inputs leaves out {', '.join(missing)}, which the model needs; "
        "list every input (or null for all).",
    )
    problems.check(len(set(names)) == len(names), f"{path}.inputs lists an input twice: {names}.")
    return names


def _outputs(path: str, listed: Any, problems: Problems) -> list[str]:
    """The signature's output keys: at least one, none twice, each a key TensorFlow keeps."""
    outputs = [str(o) for o in listed]
    problems.check(bool(outputs), f"{path}.outputs is empty; name at least one output, e.g. [scores].")
    repeated = sorted({o for o in outputs if outputs.count(o) > 1})
    problems.check(
        not repeated,
        f"{path}.outputs = {outputs} names {', '.join(repeated)} twice; a signature has each output key "
        "once: remove the repeat.",
    )
    for i, o in enumerate(outputs):
        problem = key_problem(o, f"{path}.outputs[{i}]")
        problems.check(problem is None, problem or "")
    return outputs


def _check_classify(path: str, outputs: list[str], model: ModelSpec, problems: Problems) -> None:
    problems.check(
        model.task == "classification",
        f"{path}.method = classify needs a classification model, but model.task = {model.task!r}.",
    )
    problems.check(
        set(outputs) <= set(CLASSIFY_OUTPUTS),
        f"{path}.outputs = {outputs}: TF Serving's Classify API reads only 'classes' (string) and "
        "'scores' (float); use [classes, scores].",
    )


def _check_regress(path: str, outputs: list[str], model: ModelSpec, problems: Problems) -> None:
    problems.check(
        model.task == "regression",
        f"{path}.method = regress needs a regression model (model.task=regression), "
        f"but model.task = {model.task!r}.",
    )
    problems.check(
        outputs == list(REGRESS_OUTPUTS),
        f"{path}.outputs = {outputs}: TF Serving's Regress API reads exactly one float output, "
        "'outputs'; use [outputs].",
    )


def _check_example_inputs(
    path: str, method: str, names: list[str], inputs: Mapping[str, InputSpec], problems: Problems
) -> None:
    """Classify and Regress parse each input from a tf.Example: fixed-shape float/int64/string only."""
    for n in names:
        spec = inputs.get(n)
        if spec is None:
            continue
        problems.check(
            spec.dtype in EXAMPLE_DTYPES and all(d is not None for d in spec.shape[1:]),
            f"{path}.method = {method} parses {n!r} from a serialized tf.Example, which carries only "
            f"{', '.join(EXAMPLE_DTYPES)} features of fixed shape; {spec.path} is {spec.dtype} "
            f"{shape_text(spec.shape)}. Use a predict signature for it, or change its dtype/shape.",
        )
        problems.check(
            not spec.preprocess,
            f"{path}.method = {method} parses {n!r} from a tf.Example, so {spec.path}.preprocess must be "
            "empty (the parsed feature is what the model takes).",
        )
