"""An experiment config that reproduces a contract made elsewhere (``sigforge adopt``), no TensorFlow.

A contract read from any SavedModel (a tf.estimator export, a Keras ``model.export``, a hand-written
``tf.saved_model.save``) becomes the sigforge config that exports the same contract: every signature
with its method name, keys and outputs; every tf.Example feature declared as an input under its own
feature name; the estimator's output sets through ``model.head``; the class labels. What cannot be
reproduced is collected as problems, never guessed: ``cli/adopt_command`` checks the result once
more by composing it and comparing the contract it asks for with the source's, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigforge.contract.heads import head_outputs
from sigforge.rules import METHOD_NAMES, shape_text

METHODS = {name: method for method, name in METHOD_NAMES.items()}


@dataclass
class Adoption:
    """The config (a ``# @package _global_`` experiment), what it cannot reproduce, and notes."""

    config: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _shape(t: Mapping[str, Any] | None) -> list[Any] | None:
    return None if t is None else t.get("shape")


def _describe(t: Mapping[str, Any] | None) -> str:
    return "unknown" if t is None else f"{t['dtype']} {shape_text(t.get('shape'))}"


class _Inputs:
    """The inputs the config declares, by name; a second use must agree with the first."""

    def __init__(self, problems: list[str]) -> None:
        self.declared: dict[str, dict[str, Any]] = {}
        self.problems = problems

    def add(self, name: str, conf: dict[str, Any], where: str) -> None:
        known = self.declared.get(name)
        if known is None:
            self.declared[name] = conf
        elif known != conf:
            self.problems.append(
                f"{where}: input '{name}' is {conf}, but another signature takes it as {known}; one sigforge "
                "input has one dtype and shape in every signature."
            )


def _modality(dtype: str, shape: list[Any] | None) -> str:
    """``tabular`` for one value per example (or a string of any shape), ``dense`` otherwise; the
    architecture may set image, text or sequence later."""
    return "tabular" if dtype == "string" or shape in ([None], [None, 1]) else "dense"


def _feature_input(f: Mapping[str, Any]) -> dict[str, Any]:
    kind = f.get("kind", "fixed")
    shape = [None, *(f.get("shape") or [])] if kind == "fixed" else [None, None]
    conf: dict[str, Any] = {"modality": _modality(f["dtype"], shape), "dtype": f["dtype"], "shape": shape}
    if kind != "fixed":
        conf["feature_kind"] = kind
    elif f.get("default") is not None:
        default = list(f["default"])
        conf["default"] = default[0] if len(default) == 1 and not f.get("shape") else default
    return conf


def _tensor_input(t: Mapping[str, Any]) -> dict[str, Any]:
    return {"modality": _modality(t["dtype"], t.get("shape")), "dtype": t["dtype"], "shape": t.get("shape")}


def _head(contract: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The estimator head whose outputs the contract returns, and its number of classes."""
    keys = {k for sig in contract.values() for k in sig["outputs"]}
    if "predictions" in keys and not keys & {"classes", "scores", "probabilities"}:
        return "regressor", 1
    if "logistic" in keys:
        return "binary_classifier", 2
    if keys & {"probabilities", "all_class_ids", "class_ids", "all_classes"}:
        for sig in contract.values():
            t = sig["outputs"].get("probabilities") or sig["outputs"].get("all_class_ids")
            if t and t.get("shape") and len(t["shape"]) == 2 and t["shape"][1]:
                return "multi_class_classifier", int(t["shape"][1])
        return "multi_class_classifier", None
    return None, None


def _classes(contract: Mapping[str, Any]) -> int | None:
    for sig in contract.values():
        for key in ("scores", "classes"):
            t = sig["outputs"].get(key)
            shape = _shape(t)
            if shape and len(shape) == 2 and shape[1] and METHODS.get(sig["method_name"]) == "classify":
                return int(shape[1])
    for sig in contract.values():
        # a predict signature's scores, or its one output under another key (Keras's `output_0`)
        outputs = sig["outputs"]
        t = outputs.get("scores") or (next(iter(outputs.values())) if len(outputs) == 1 else None)
        shape = _shape(t)
        if t and t["dtype"] == "float32" and shape and len(shape) == 2 and shape[1]:
            return int(shape[1])
    return None


def _architecture(inputs: Mapping[str, Mapping[str, Any]], task: str) -> tuple[str | None, dict[str, Any]]:
    """A built-in architecture that takes these inputs, the modalities it needs set on them."""
    shapes = {n: (c["dtype"], c.get("shape") or []) for n, c in inputs.items()}
    images = [n for n, (d, s) in shapes.items() if d == "float32" and len(s) == 4]
    texts = [n for n, (d, s) in shapes.items() if d == "int32" and len(s) == 2 and s[1]]
    sequences = [n for n, (d, s) in shapes.items() if d == "float32" and len(s) == 3 and s[1] is None]
    lengths = [n for n, (d, s) in shapes.items() if d == "int32" and len(s) == 1]
    modalities: dict[str, Any] = {}
    if len(images) == 1 and len(shapes) == 1:
        return "image_cnn", {images[0]: {"modality": "image"}}
    if len(images) == 1 and len(texts) == 1 and len(shapes) == 2:
        return "multi_input", {images[0]: {"modality": "image"}, texts[0]: {"modality": "text"}}
    if len(sequences) == 1 and len(lengths) == 1 and len(shapes) == 2:
        return "sequence_classifier", {
            sequences[0]: {"modality": "sequence", "length_input": lengths[0]},
            lengths[0]: {"modality": "sequence_length"},
        }
    tabular = all(len(s) <= 2 or d == "string" for d, s in shapes.values())
    if tabular and shapes:
        return ("dnn_regressor" if task == "regression" else "dnn_classifier"), modalities
    return None, {}


def adopt(contract: Mapping[str, Any], name: str, labels: list[str] | None = None) -> Adoption:
    """The experiment config reproducing ``contract`` (``contract_to_dict`` form) as model ``name``."""
    problems: list[str] = []
    notes: list[str] = []
    inputs = _Inputs(problems)
    head, n = _head(contract)
    methods = {METHODS.get(s["method_name"]) for s in contract.values()}
    num_classes = n or _classes(contract)
    if head:
        task = "regression" if head == "regressor" else "classification"
    elif "classify" in methods:
        task = "classification"
    elif "regress" in methods or num_classes == 1:  # one float per example: a regressor's `outputs`
        task = "regression"
    else:
        task = "classification"
    if task == "regression" and not head:
        num_classes = 1
    signatures: dict[str, Any] = {}
    for sig_name, sig in contract.items():
        where = f"signature '{sig_name}'"
        method = METHODS.get(sig["method_name"])
        if method is None:
            problems.append(
                f"{where} has method name {sig['method_name']!r}; sigforge writes only "
                f"{', '.join(METHOD_NAMES.values())}."
            )
            continue
        conf: dict[str, Any] = {"method": method}
        examples = sig.get("examples") or {}
        plain = [k for k in sig["inputs"] if k not in examples]
        if examples and (len(examples) > 1 or plain):
            problems.append(
                f"{where} takes serialized tf.Examples under {sorted(examples)} and tensors under {plain}; "
                "sigforge parses the Examples of a signature from one key, with no other input."
            )
            continue
        if examples:
            ((key, features),) = examples.items()
            if method == "predict":
                conf["examples"] = key
            elif key != "inputs":
                problems.append(
                    f"{where}: a {method} signature takes its Examples under 'inputs', not {key!r}."
                )
            for feature, f in features.items():
                if "(feature list)" in feature or f.get("kind") == "sequence":
                    problems.append(
                        f"{where} parses tf.SequenceExample feature lists ({feature}); sigforge parses "
                        "tf.Example features only."
                    )
                    continue
                inputs.add(feature, _feature_input(f), where)
            conf["inputs"] = sorted(features)
        elif method != "predict":
            problems.append(f"{where} is {method} but parses no tf.Example features from 'inputs'.")
            continue
        else:
            for key, t in sig["inputs"].items():
                if t is None or t.get("shape") is None:
                    problems.append(
                        f"{where}: input '{key}' has an unknown rank; sigforge declares every shape."
                    )
                    continue
                inputs.add(key, _tensor_input(t), where)
            conf["inputs"] = sorted(sig["inputs"])
        conf["outputs"] = sorted(sig["outputs"])
        sources = _outputs(where, method, sig["outputs"], head, task, num_classes, problems)
        if sources:
            conf["output_sources"] = sources
        signatures[sig_name] = conf
    architecture, modalities = _architecture(inputs.declared, task)
    if architecture is None:
        problems.append(
            "no built-in architecture takes these inputs ("
            + ", ".join(f"{k}: {_describe(v)}" for k, v in inputs.declared.items())
            + "); export your trained model with model.source=<.keras or SavedModel>, or register a builder."
        )
        architecture = "dnn_classifier"
    for input_name, extra in modalities.items():
        inputs.declared[input_name].update(extra)
    model: dict[str, Any] = {"name": name, "architecture": architecture, "task": task}
    if head:
        model["head"] = head
    if task == "classification" and num_classes:
        model["num_classes"] = num_classes
        model["class_names"] = list(labels) if labels else [str(i) for i in range(num_classes)]
        if not labels and _returns_labels(contract):
            notes.append(
                "the class labels were not found in the graph: sigforge's default labels "
                f"'0'..'{num_classes - 1}' are used (a tf.estimator without label_vocabulary returns "
                "those too); set model.class_names if the source returns others"
            )
    elif task == "regression":
        model["num_classes"] = 1
    config = {
        # No model group: the model is the schema's defaults and what is set below, nothing more.
        "defaults": [{"override /inputs": []}, {"override /signatures": None}],
        "model": model,
        "inputs": inputs.declared,
        "signatures": signatures,
    }
    return Adoption(config, problems, notes)


def _returns_labels(contract: Mapping[str, Any]) -> bool:
    return any("classes" in sig["outputs"] or "all_classes" in sig["outputs"] for sig in contract.values())


def _outputs(
    where: str,
    method: str,
    outputs: Mapping[str, Any],
    head: str | None,
    task: str,
    n: int | None,
    problems: list[str],
) -> dict[str, str]:
    """Checks each output against what the config will produce; returns output_sources (aliases)."""
    sources: dict[str, str] = {}
    expected: dict[str, tuple[str, tuple[Any, ...]]]
    if head:  # the estimator's outputs, as contract.heads (and so the export) gives them
        expected = dict(head_outputs(head, method, n or 2))
    elif method == "classify":
        expected = {"classes": ("string", (None, n)), "scores": ("float32", (None, n))}
    elif method == "regress":
        expected = {"outputs": ("float32", (None,))}  # TF Serving's Regress: one value per example
    elif task == "regression":
        expected = {"outputs": ("float32", (None, 1))}
    else:
        expected = {"scores": ("float32", (None, n))}
    for key, t in outputs.items():
        want = expected.get(key)
        if want is None and not head and method == "predict" and len(outputs) == 1:
            ((produced, want),) = expected.items()
            sources[key] = produced
        if want is not None and t is None:
            continue  # a contract from a spec, whose output the model decides when traced
        if want is None:
            problems.append(
                f"{where}: output '{key}' ({_describe(t)}) is not one sigforge produces for a {method} "
                f"signature{f' with model.head={head}' if head else ''} (it produces: {', '.join(sorted(expected))})."
            )
            continue
        got = (t["dtype"], tuple(t["shape"])) if t and t.get("shape") is not None else None
        if got != want:
            problems.append(
                f"{where}: output '{key}' is {_describe(t)}; sigforge would produce {want[0]} "
                f"{shape_text(list(want[1]))}."
            )
    return sources
