"""The Markdown description MLflow shows on an export's run, its LoggedModel and its registered
version (``mlflow.note.content`` and the version's description): the contract on the page people
open, not two clicks deep in an artifact.

What it holds: where TF Serving finds the version and how to call it (REST and gRPC), whether it
carries warmup requests, how its contract compares with the version served before it and with the
registry's latest, and every signature's table with the tf.Example features its clients build.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigforge.contract.compat import CHANGE_HEADER
from sigforge.contract.tables import markdown_table
from sigforge.report.requests import GRPC_PORT, REST_PORT
from sigforge.report.summary import signature_markdown

# MLflow keeps a run or LoggedModel tag up to 8000 characters and a version's description up to 5000.
TAG_LIMIT, REGISTRY_LIMIT = 8000, 5000
_KINDS = {"tensorflow/serving/classify": "classify", "tensorflow/serving/regress": "regress"}


def compatibility_lines(verdict: Mapping[str, Any] | None) -> list[str]:
    """How this version compares with the one TF Serving served before it."""
    if not verdict or verdict.get("against") is None:
        return ["**Compatibility:** the first version of this model."]
    changes = verdict.get("changes") or []
    against = f"`{verdict['against']}`"
    if not changes:
        return [f"**Compatibility:** the same contract as {against}."]
    if verdict.get("breaking"):
        head = (
            f"**Compatibility:** BREAKS the clients of {against} "
            "(published with `export.allow_breaking=true`):"
        )
    else:
        head = f"**Compatibility:** compatible with the clients of {against}:"
    rows = [
        (c["signature"], c["change"], c["old"], c["new"], "BREAKING" if c["breaking"] else "ok")
        for c in changes
    ]
    return [head, "", markdown_table(CHANGE_HEADER, rows, code=()).rstrip("\n")]


def endpoint_lines(summary: Mapping[str, Any]) -> list[str]:
    """TF Serving's REST and gRPC addresses of this version, one line per API the signatures use."""
    model, version = summary.get("model", "model"), summary.get("version")
    base = f"http://HOST:{REST_PORT}/v1/models/{model}" + (f"/versions/{version}" if version else "")
    kinds = sorted({_KINDS.get(s["method_name"], "predict") for s in summary["signatures"].values()})
    lines = ["**TF Serving endpoints** (`signature_name` picks the signature):", ""]
    lines += [f"- REST {kind}: `POST {base}:{kind}`" for kind in kinds]
    lines.append(f"- REST metadata: `GET {base}/metadata`")
    spec = f'name: "{model}"' + (f" version: {version}" if version else "")
    lines.append(f"- gRPC: `HOST:{GRPC_PORT}`, `model_spec {{ {spec} signature_name: ... }}`")
    return lines


def describe(
    summary: Mapping[str, Any],
    *,
    registered: str | None = None,
    limit: int = TAG_LIMIT,
) -> str:
    """The description of one export. ``registered``: a line about its registry version, if any."""
    version = summary.get("version")
    title = f"# {summary.get('model', 'SavedModel')}" + (f" v{version}" if version is not None else "")
    lines = [title, ""]
    if summary.get("export_dir"):
        published = summary.get("published", True)
        what = "TF Serving version directory" if published else "identical to the newest version, kept at"
        lines.append(f"**{what}:** `{summary['export_dir']}`  ")
    if "warmup" in summary:
        lines.append(
            "**Warmup:** "
            + (
                "`assets.extra/tf_serving_warmup_requests` holds one request per signature  "
                if summary["warmup"]
                else "none (`export.warmup=false`)  "
            )
        )
    if summary.get("weights"):
        lines.append(f"**Weights:** `{summary['weights']}`")
    lines += ["", *compatibility_lines(summary.get("compatibility"))]
    if registered:
        lines += ["", f"**Registry:** {registered}"]
    lines += ["", *endpoint_lines(summary)]
    head = "\n".join(lines) + "\n"
    body = "\n".join(signature_markdown(summary, heading="###")) + "\n"
    text = head + "\n## Signatures\n" + body
    if len(text) <= limit:
        return text
    note = "\n_The contract is longer than MLflow keeps here: see the run's `signature_summary.md`._\n"
    return (head + note)[:limit]
