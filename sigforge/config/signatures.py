"""The ``signatures`` group -> SignatureSpecs: each signature's method, inputs and outputs, checked
against what TF Serving's Predict, Classify and Regress APIs accept. Keys come later (``naming``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sigforge.contract.heads import head_outputs
from sigforge.errors import Problems
from sigforge.rules import (
    CLASSIFY_OUTPUTS,
    EXAMPLE_DTYPES,
    EXAMPLE_INPUT_KEY,
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
        sources = _output_sources(path, scfg["output_sources"], outputs, problems)
        examples = _examples_key(path, method, scfg["examples"], problems)
        if method == "classify":
            _check_classify(path, outputs, model, problems)
        if method == "regress":
            _check_regress(path, outputs, model, problems)
        if model.head is not None:
            _check_head_outputs(path, method, outputs, sources, model, problems)
        if method in EXAMPLE_METHODS or examples is not None:
            _check_example_inputs(path, method, names, inputs, problems)
        out.append(
            SignatureSpec(
                name=str(name),
                method=method,
                inputs=tuple(names),
                outputs=tuple(outputs),
                naming=MappingProxyType(dict(naming)),
                examples=examples if method == "predict" else None,
                output_sources=MappingProxyType(sources),
            )
        )
    return out


def _examples_key(path: str, method: str, key: Any, problems: Problems) -> str | None:
    """``examples``: the key a predict signature's clients send serialized tf.Examples under."""
    if key is None:
        return None
    key = str(key)
    if method != "predict":
        problems.check(
            key == EXAMPLE_INPUT_KEY,
            f"{path}.examples = {key!r}: TF Serving's {method.capitalize()} API sends serialized tf.Examples "
            f"under '{EXAMPLE_INPUT_KEY}' always; drop {path}.examples (or set it to '{EXAMPLE_INPUT_KEY}').",
        )
        return None
    problem = key_problem(key, f"{path}.examples", argument=True)
    problems.check(problem is None, problem or "")
    return key


def _output_sources(path: str, sources: Any, outputs: list[str], problems: Problems) -> dict[str, str]:
    """``output_sources``: output key -> the model (or head) output it returns; keys among ``outputs``."""
    found = {str(k): str(v) for k, v in (sources or {}).items()}
    for key in found:
        problems.check(
            key in outputs,
            f"{path}.output_sources names {key!r}, which is not one of {path}.outputs ({', '.join(outputs)}); "
            "list the key in outputs too, or drop it from output_sources.",
        )
    return found


def _check_head_outputs(
    path: str,
    method: str,
    outputs: list[str],
    sources: Mapping[str, str],
    model: ModelSpec,
    problems: Problems,
) -> None:
    """With ``model.head``, every output is one the head gives a signature of this method."""
    assert model.head is not None
    produced = head_outputs(model.head, method, model.num_classes)
    if not produced:
        problems.append(
            f"{path}.method = {method}: model.head = {model.head} gives no {method} signature (the estimator "
            f"writes none); use {', '.join(m for m in METHOD_NAMES if head_outputs(model.head, m, model.num_classes))}."
        )
        return
    for key in outputs:
        source = sources.get(key, key)
        named = f"'{key}'" if source == key else f"'{key}' (output_sources: '{source}')"
        problems.check(
            source in produced,
            f"{path}.outputs names {named}, which model.head = {model.head} does not give a {method} "
            f"signature; it gives: {', '.join(produced)}.",
        )


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
        model.task == "classification" or model.head is not None,
        f"{path}.method = classify needs a classification model, but model.task = {model.task!r}.",
    )
    problems.check(
        set(outputs) <= set(CLASSIFY_OUTPUTS),
        f"{path}.outputs = {outputs}: TF Serving's Classify API reads only 'classes' (string) and "
        "'scores' (float); use [classes, scores].",
    )


def _check_regress(path: str, outputs: list[str], model: ModelSpec, problems: Problems) -> None:
    problems.check(
        model.task == "regression" or model.head is not None,  # a head says itself (binary: the logistic)
        f"{path}.method = regress needs a regression model (model.task=regression), "
        f"but model.task = {model.task!r}; a binary classifier's regress signature (the estimator's: the "
        "logistic as `outputs`) comes with model.head=binary_classifier.",
    )
    problems.check(
        outputs == list(REGRESS_OUTPUTS),
        f"{path}.outputs = {outputs}: TF Serving's Regress API reads exactly one float output, "
        "'outputs'; use [outputs].",
    )


def _check_example_inputs(
    path: str, method: str, names: list[str], inputs: Mapping[str, InputSpec], problems: Problems
) -> None:
    """Classify, Regress and an examples-taking Predict parse each input from a tf.Example:
    float32/int64/string only, of fixed shape unless the input is a varlen / ragged feature."""
    what = f"{path}.method = {method}" if method != "predict" else f"{path}.examples (predict)"
    for n in names:
        spec = inputs.get(n)
        if spec is None:
            continue
        problems.check(
            spec.dtype in EXAMPLE_DTYPES
            and (spec.feature_kind != "fixed" or all(d is not None for d in spec.shape[1:])),
            f"{what} parses {n!r} from a serialized tf.Example, which carries only "
            f"{', '.join(EXAMPLE_DTYPES)} features; {spec.path} is {spec.dtype} {shape_text(spec.shape)}, "
            f"and a free dimension needs {spec.path}.feature_kind=varlen (or ragged) with shape [null, null]. "
            "Use a predict signature over tensors for it, or change its dtype/shape.",
        )
        problems.check(
            not spec.preprocess,
            f"{what} parses {n!r} from a tf.Example, so {spec.path}.preprocess must be "
            "empty (the parsed feature is what the model takes).",
        )
