"""``signature_card.html``: a self-contained page (no network resources) for MLflow's artifact viewer.

One table per signature (method, key, dtype, shape; outputs) and ready-to-copy requests: TF Serving
REST ``predict`` in its ``instances`` (row) and ``inputs`` (columnar) forms, with ``{"b64": ...}``
for string inputs that carry bytes, ``classify``/``regress`` bodies of tf.Example JSON, and the
``saved_model_cli run`` line. Built from the summary only, so any SavedModel gets the same card.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f24;max-width:1100px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px}
.method{font-family:monospace;background:#eef2f7;border-radius:4px;padding:2px 6px;font-size:13px}
table{border-collapse:collapse;margin:8px 0 12px} th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa} td.key{font-family:monospace;font-weight:600}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all;font-size:12.5px}
.muted{color:#57606a;font-size:13px}
"""


def _shape(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def _example_value(tensor: Mapping[str, Any] | None, *, binary: bool) -> Any:
    """One instance (no batch dimension) of the tensor, free dimensions 1."""
    if tensor is None:
        return 0
    dims = [1 if d is None else d for d in (tensor["shape"] or [None])[1:]]
    dtype = tensor["dtype"]
    if dtype == "string":
        leaf: Any = {"b64": "iVBORw0KGgo="} if binary else "some text"
    elif dtype == "bool":
        leaf = False
    elif dtype.startswith(("int", "uint")):
        leaf = 0
    else:
        leaf = 0.0
    for size in reversed(dims):
        leaf = [leaf] * size
    return leaf


def _is_binary(key: str) -> bool:
    """TF Serving's REST API takes binary strings as {"b64": ...}. Without a verification report
    (a SavedModel sigforge did not export), guess them from the key's name."""
    return any(word in key.lower() for word in ("image", "bytes", "jpeg", "png", "audio", "example"))


def requests_for(
    name: str,
    signature: Mapping[str, Any],
    model: str,
    example_features: Mapping[str, Any] | None = None,
    binary_keys: Collection[str] | None = None,
) -> dict[str, str]:
    """Ready-to-copy requests for one signature, as text, keyed by a label.

    ``binary_keys``: the string keys that carry bytes (from verification); None: guess from names.
    """
    base = f"http://localhost:8501/v1/models/{model}"
    method = signature["method_name"].rsplit("/", 1)[-1]
    out: dict[str, str] = {}
    if method in ("classify", "regress"):
        features = dict(example_features or {"feature": 0.0})
        body = {"signature_name": name, "examples": [features]}
        out[f"TF Serving REST {method}"] = f"curl -s -X POST {base}:{method} -d '{json.dumps(body)}'"
        out["saved_model_cli"] = (
            f"saved_model_cli run --dir EXPORT_DIR --tag_set serve --signature_def {name} "
            f"--input_examples 'inputs=[{json.dumps(features)}]'"
        )
        return out

    def binary(key: str) -> bool:
        return key in binary_keys if binary_keys is not None else _is_binary(key)

    instance = {key: _example_value(t, binary=binary(key)) for key, t in signature["inputs"].items()}
    rows = {"signature_name": name, "instances": [instance]}
    columns = {"signature_name": name, "inputs": {k: [v] for k, v in instance.items()}}
    out["TF Serving REST predict (instances: one object per example)"] = (
        f"curl -s -X POST {base}:predict -d '{json.dumps(rows)}'"
    )
    out["TF Serving REST predict (inputs: one list per key)"] = (
        f"curl -s -X POST {base}:predict -d '{json.dumps(columns)}'"
    )
    exprs = ";".join(
        f"{k}=np.zeros(({', '.join(str(1 if d is None else d) for d in (t['shape'] or [None]))},), "
        f"dtype=np.{'object_' if t['dtype'] == 'string' else t['dtype']})"
        for k, t in signature["inputs"].items()
        if t is not None
    )
    out["saved_model_cli"] = (
        f'saved_model_cli run --dir EXPORT_DIR --tag_set serve --signature_def {name} --input_exprs "{exprs}"'
    )
    return out


def render_card(
    summary: Mapping[str, Any], example_features: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """The HTML page. ``example_features`` maps a classify/regress signature to one example's features."""
    model = str(summary.get("model", "model"))
    version = summary.get("version")
    title = f"{model}" + (f" v{version}" if version is not None else "")
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)} signatures</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}: serving signatures</h1>",
    ]
    if summary.get("export_dir"):
        parts.append(f"<div class='muted'>{esc(str(summary['export_dir']))}</div>")
    for name, sig in summary["signatures"].items():
        parts.append(
            f"<h2 id='sig-{esc(name)}'>{esc(name)} <span class='method'>{esc(sig['method_name'])}</span></h2>"
        )
        parts.append("<table><tr><th></th><th>key</th><th>dtype</th><th>shape</th></tr>")
        for direction in ("inputs", "outputs"):
            for key, tensor in sig[direction].items():
                dtype = esc(tensor["dtype"]) if tensor else ""
                shape = esc(_shape(tensor["shape"])) if tensor else ""
                parts.append(
                    f"<tr><td>{direction[:-1]}</td><td class='key'>{esc(key)}</td><td>{dtype}</td><td>{shape}</td></tr>"
                )
        parts.append("</table>")
        features = (example_features or {}).get(name)
        binary_keys = summary["binary_inputs"].get(name, ()) if "binary_inputs" in summary else None
        for label, text in requests_for(name, sig, model, features, binary_keys).items():
            parts.append(f"<div class='muted'>{esc(label)}</div><pre>{esc(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
