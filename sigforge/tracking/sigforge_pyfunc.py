"""MLflow's pyfunc entry for a sigforge export, copied into each logged model as ``code/sigforge_pyfunc.py``.

Self-contained on purpose (TensorFlow and NumPy only): it runs wherever the model is served,
``mlflow models serve`` or ``mlflow.pyfunc.load_model``, where sigforge need not be installed. It
calls any signature of the SavedModel beside it (``tfmodel/``) the way TF Serving's REST API would,
picked by the ``signature_name`` param (TF Serving's word; default ``serving_default``):

- a binary input (``binary_inputs`` in the signature summary: encoded images, serialized protos)
  arrives base64-encoded, as a plain string (how MLflow writes input examples) or as
  ``{"b64": "..."}`` (how TF Serving's REST clients send it), and is decoded before TensorFlow sees it;
- every other string input is text, encoded as UTF-8;
- outputs come back as NumPy arrays keyed by output name (string outputs as ``str``).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

CONFIG_FILE = "sigforge_pyfunc.json"


def _load_pyfunc(path: str) -> SignatureModel:
    """MLflow's loader hook: ``path`` is the model's ``data`` entry, this module's JSON config."""
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    saved_model_dir = os.path.normpath(os.path.join(os.path.dirname(path), config["saved_model_dir"]))
    return SignatureModel(saved_model_dir, config["default_signature"], config["signatures"])


class SignatureModel:
    """The serving signatures of a SavedModel, called with named inputs like TF Serving's REST API."""

    def __init__(
        self, saved_model_dir: str, default: str, signatures: dict[str, dict[str, dict[str, Any]]]
    ) -> None:
        import tensorflow as tf

        self._tf = tf
        self._loaded = tf.saved_model.load(saved_model_dir)  # keeps the signatures' variables alive
        self.default = default
        self.signatures = signatures  # signature -> client key -> {"dtype": "float32", "binary": false}

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
        name = str((params or {}).get("signature_name") or self.default)
        if name not in self.signatures:
            raise ValueError(
                f"signature_name {name!r} is not a signature of this model; it has {sorted(self.signatures)}."
            )
        inputs = self.signatures[name]
        columns = _columns(model_input, list(inputs))
        missing = sorted(set(inputs) - set(columns))
        if missing:
            raise ValueError(f"signature '{name}' takes {sorted(inputs)}; the request lacks {missing}.")
        feeds = {key: self._tensor(inputs[key], key, columns[key]) for key in inputs}
        function = self._loaded.signatures[name]
        return {key: _numpy(value) for key, value in function(**feeds).items()}

    def _tensor(self, spec: dict[str, Any], key: str, values: Any) -> Any:
        import numpy as np

        dtype = self._tf.as_dtype(spec["dtype"])
        if dtype == self._tf.string:
            decode = _binary if spec.get("binary") else _text
            array = np.asarray(values, dtype=object)
            flat = [decode(_scalar(v), key) for v in array.reshape(-1)]
            return self._tf.constant(np.array(flat, dtype=object).reshape(array.shape), dtype=dtype)
        array = np.asarray(values)
        if array.dtype == object:  # a DataFrame column of per-example arrays
            array = np.stack([np.asarray(v) for v in array])
        return (
            self._tf.cast(self._tf.constant(array), dtype) if array.dtype != dtype.as_numpy_dtype else array
        )


def _columns(model_input: Any, keys: list[str]) -> dict[str, Any]:
    """Named columns from what MLflow hands ``predict``: a dict, a DataFrame, or one array."""
    if isinstance(model_input, dict):
        return model_input
    if hasattr(model_input, "columns") and hasattr(model_input, "to_dict"):  # pandas, without importing it
        return {str(c): model_input[c].tolist() for c in model_input.columns}
    if len(keys) == 1:
        return {keys[0]: model_input}
    raise ValueError(f"pass a dict of the inputs {keys} (one array each).")


def _scalar(value: Any) -> Any:
    """MLflow's TF-Serving parser wraps each ``{"b64": ...}`` of an ``instances`` request in a 0-d array."""
    return value.item() if getattr(value, "ndim", None) == 0 else value


def _binary(value: Any, key: str) -> bytes:
    if isinstance(value, dict) and set(value) == {"b64"}:
        value = value["b64"]
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=False)
        except ValueError as err:
            raise ValueError(f"input '{key}' is binary: send it base64-encoded ({err}).") from None
    raise ValueError(
        f"input '{key}' is binary: send base64 text or {{'b64': ...}}, not {type(value).__name__}."
    )


def _text(value: Any, key: str) -> bytes:
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _numpy(tensor: Any) -> Any:
    import numpy as np

    array = tensor.numpy()
    if array.dtype == object:  # string outputs (classes): text, which JSON can carry
        text = [v.decode("utf-8", "replace") for v in array.reshape(-1)]
        return np.array(text, dtype=str).reshape(array.shape)
    return array
