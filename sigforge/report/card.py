"""``signature_card.html``: a self-contained page (no network resources) for MLflow's artifact viewer.

One table per signature (method, key, dtype, shape; outputs) and the lines that send its request
files (``sigforge.report.requests``): TF Serving REST with ``curl -d @requests/<signature>.json``,
``saved_model_cli run --inputs key=file.npy`` and a gRPC client. Every line points at data
verification really ran; a signature without request files (a SavedModel sigforge did not export
and that carries no warmup requests) gets its table only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from sigforge.contract.tables import FEATURE_HEADER, TENSOR_HEADER, feature_rows, html_table, tensor_rows
from sigforge.report.requests import REQUESTS_DIR, command_lines, grpc_only_note, rest_blockers, runtimes_note

CARD_FILE = "signature_card.html"

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f24;max-width:1100px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px}
.method{font-family:monospace;background:#eef2f7;border-radius:4px;padding:2px 6px;font-size:13px}
table{border-collapse:collapse;margin:8px 0 12px} th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa} td.key{font-family:monospace;font-weight:600}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px;white-space:pre-wrap;word-break:break-all;font-size:12.5px}
.muted{color:#57606a;font-size:13px}
"""


def render_card(summary: Mapping[str, Any], files: Mapping[str, bytes] | None = None) -> str:
    """The HTML page. ``files``: the request files written beside it (``requests/...``)."""
    model = str(summary.get("model", "model"))
    version = summary.get("version")
    export_dir = str(summary.get("export_dir", "EXPORT_DIR"))
    files = files or {}
    title = f"{model}" + (f" v{version}" if version is not None else "")
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)} signatures</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}: serving signatures</h1>",
        f"<div class='muted'>{esc(export_dir)}</div>",
    ]
    if files:
        parts.append(
            f"<p class='muted'>Run the lines below from the directory that holds this card and its "
            f"<code>{REQUESTS_DIR}/</code> folder (in MLflow: download the run's artifacts). The request "
            "files hold the inputs verification sent to this export.</p>"
        )
    labels = summary.get("labels") or {}
    if labels:
        named = ", ".join(
            f"<code>{esc(label)}</code> (version {version})" for label, version in sorted(labels.items())
        )
        parts.append(
            f"<p class='muted'>TF Serving version labels of {esc(model)}: {named}, from the MLflow registry's "
            "aliases (<code>sigforge serving-config</code> writes them into TF Serving's model config). Each "
            "label's lines below send this version's requests to the version the label names.</p>"
        )
    for name, sig in summary["signatures"].items():
        parts += _signature_section(summary, name, sig, files, model, export_dir)
    parts.append("</body></html>")
    return "\n".join(parts)


def _signature_section(
    summary: Mapping[str, Any],
    name: str,
    sig: Mapping[str, Any],
    files: Mapping[str, bytes],
    model: str,
    export_dir: str,
) -> list[str]:
    """One signature: its table, its tf.Example features, and the lines that send its request files."""
    esc = html.escape
    parts = [
        f"<h2 id='sig-{esc(name)}'>{esc(name)} <span class='method'>{esc(sig['method_name'])}</span></h2>",
        html_table(TENSOR_HEADER, tensor_rows(sig)),
    ]
    for entry in (summary.get("example_features") or {}).get(name, ()):
        parts.append(
            f"<p class='muted'>Each serialized tf.Example under <code>{esc(entry['key'])}</code> "
            "carries these features:</p>"
        )
        parts.append(html_table(FEATURE_HEADER, feature_rows(entry["features"]), key=0))
    blockers = rest_blockers(sig)
    if blockers:
        parts.append(f"<p class='muted'>{esc(grpc_only_note(blockers))}.</p>")
    runtimes = summary.get("other_runtimes") or {}
    if name in runtimes:
        parts.append(f"<p class='muted'>{esc(runtimes_note(runtimes[name]))}.</p>")
    script = files.get(f"{REQUESTS_DIR}/{name}.grpc.py")
    if script is None:
        return parts
    lines = command_lines(
        model,
        export_dir,
        name,
        sig["method_name"],
        list(sig["inputs"]),
        rest=not blockers,
        labels=summary.get("labels"),
    )
    parts += [f"<div class='muted'>{esc(label)}</div><pre>{esc(text)}</pre>" for label, text in lines.items()]
    parts.append(
        f"<details><summary class='muted'>{esc(REQUESTS_DIR)}/{esc(name)}.grpc.py</summary>"
        f"<pre>{esc(script.decode())}</pre></details>"
    )
    return parts
