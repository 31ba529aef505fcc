"""The tf.Example features a signature's clients must build, from the spec (no TensorFlow).

A signature_def says only that a classify, regress or tf.Example signature takes a string tensor
of serialized protos; which features go inside, with which dtypes and shapes, lives in the graph's
ParseExample op. Clients need that list, so the summary, the card, the request files and MLflow
carry it, built from the same spec the serving graph was traced from.
"""

from __future__ import annotations

from typing import Any

from sigforge.rules import EXAMPLE_INPUT_KEY, TF_EXAMPLE_PREPROCESSOR
from sigforge.spec import ExportSpec, InputSpec

# tf.Example stores three kinds of list; the parser casts nothing, so the client's kind is the dtype's.
LIST_KIND = {"float32": "float_list", "int64": "int64_list", "string": "bytes_list"}


def _feature(name: str, declared: InputSpec) -> dict[str, Any]:
    return {
        "feature": name,
        "dtype": declared.dtype,
        "shape": list(declared.shape[1:]),
        "list": LIST_KIND.get(declared.dtype, "?"),
        "default": None,  # FixedLenFeature without default_value: every example must carry it
    }


def example_features(spec: ExportSpec) -> dict[str, dict[str, Any]]:
    """Signature -> ``{"key": client key, "features": [feature, dtype, shape, list, default]}`` for
    every signature whose clients send serialized tf.Examples."""
    found: dict[str, dict[str, Any]] = {}
    for sig in spec.signatures:
        if sig.takes_examples:  # Classify/Regress: each input is a feature named after it
            features = [_feature(name, spec.input[name]) for name in sig.inputs]
            found[sig.name] = {"key": EXAMPLE_INPUT_KEY, "features": features}
            continue
        for name in sig.inputs:
            declared = spec.input[name]
            parse = [s for s in declared.preprocess if s.name == TF_EXAMPLE_PREPROCESSOR]
            if declared.modality == "tf_example" and parse:
                feature = str(parse[0].params.get("feature") or declared.name)
                entry = found.setdefault(sig.name, {"key": sig.keys[name], "features": []})
                entry["features"].append(_feature(feature, declared))
    return found
