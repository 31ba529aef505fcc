"""The tf.Example features a signature's clients must build: from the spec, and as rows to show.

A signature_def says only that a classify, regress or tf.Example signature takes a string tensor
of serialized protos; which features go inside, with which dtypes and shapes, lives in the graph's
parse op. ``spec_examples`` is what the config asks the graph to parse (the same
``FeatureContract``s ``contract.graph`` reads back from any ``saved_model.pb``);
``summary_features`` turns a contract's features into the summary's rows, so the summary, card,
request files, ``inspect`` and MLflow show what the graph parses, for any SavedModel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigforge.contract.graph import FeatureContract, Features
from sigforge.rules import TF_EXAMPLE_PREPROCESSOR
from sigforge.spec import ExportSpec, InputSpec

# tf.Example stores three kinds of list; the parser casts nothing, so the client's kind is the dtype's.
LIST_KIND = {"float32": "float_list", "int64": "int64_list", "string": "bytes_list"}


def _feature(declared: InputSpec) -> FeatureContract:
    """What the graph's parse op stores for one input: a VarLen / Ragged feature's dtype, or a
    FixedLenFeature's dtype, shape and default (flattened; None: every Example must carry it)."""
    if declared.feature_kind != "fixed":
        return FeatureContract(declared.dtype, declared.feature_kind, None, None)
    return FeatureContract(declared.dtype, "fixed", tuple(declared.shape[1:]), declared.default)


def spec_examples(spec: ExportSpec) -> dict[str, dict[str, Features]]:
    """Signature -> client key -> the features the config has the graph parse from that key, for
    every signature whose clients send serialized tf.Examples."""
    found: dict[str, dict[str, Features]] = {}
    for sig in spec.signatures:
        if sig.example_key is not None:  # Classify/Regress/examples: each input a feature named after it
            found[sig.name] = {sig.example_key: {n: _feature(spec.input[n]) for n in sig.inputs}}
            continue
        for name in sig.inputs:
            declared = spec.input[name]
            parse = [s for s in declared.preprocess if s.name == TF_EXAMPLE_PREPROCESSOR]
            if declared.modality == "tf_example" and parse:
                feature = str(parse[0].params.get("feature") or declared.name)
                found.setdefault(sig.name, {})[sig.keys[name]] = {feature: _feature(declared)}
    return found


def _row(name: str, f: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "feature": name,
        "dtype": f["dtype"],
        "kind": f.get("kind", "fixed"),
        "shape": f.get("shape"),
        "list": LIST_KIND.get(f["dtype"], "?"),
        "default": f.get("default"),
    }


def summary_features(contract: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Signature -> one ``{"key": client key, "features": [feature, dtype, kind, shape, list,
    default]}`` per key that carries serialized Examples, from a contract in ``contract_to_dict`` form."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, sig in contract.items():
        for key, features in (sig.get("examples") or {}).items():
            rows = [_row(feature, f) for feature, f in features.items()]
            found.setdefault(name, []).append({"key": key, "features": rows})
    return found
