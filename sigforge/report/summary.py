"""The signature summary: one JSON document and one Markdown table per export.

Built from a contract as read from ``saved_model.pb`` (not from the config), so the summary of a
sigforge export and ``sigforge inspect`` of any SavedModel are the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge.contract.features import summary_features
from sigforge.contract.tables import (
    FEATURE_HEADER,
    TENSOR_HEADER,
    feature_rows,
    markdown_table,
    tensor_rows,
)
from sigforge.report.requests import grpc_only_note, rest_blockers, runtimes_note

SUMMARY_JSON = "signature_summary.json"
SUMMARY_MD = "signature_summary.md"


def build_summary(contract: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """``{"signatures": contract, **extra}`` with extra fields such as model, version, export_dir,
    ``example_features`` (signature -> the tf.Example features each of its keys carries) and
    ``grpc_only`` (signature -> key -> dtype) for signatures TF Serving's REST API cannot carry."""
    summary = {**{k: v for k, v in extra.items() if v is not None}, "signatures": dict(contract)}
    features = summary_features(contract)
    if features:
        summary["example_features"] = features
    grpc_only = {name: blockers for name, sig in contract.items() if (blockers := rest_blockers(sig))}
    if grpc_only:
        summary["grpc_only"] = grpc_only
    return summary


def signature_markdown(summary: Mapping[str, Any], heading: str = "##") -> list[str]:
    """Each signature's section: its tensor table, its tf.Example features, its gRPC-only note."""
    lines = []
    features = summary.get("example_features") or {}
    for name, sig in summary["signatures"].items():
        lines.append(f"\n{heading} `{name}` ({sig['method_name']})\n")
        lines.append(markdown_table(TENSOR_HEADER, tensor_rows(sig)).rstrip("\n"))
        for entry in features.get(name, ()):
            lines.append(f"\nEach serialized tf.Example under `{entry['key']}` carries these features:\n")
            lines.append(
                markdown_table(FEATURE_HEADER, feature_rows(entry["features"]), code=(0,)).rstrip("\n")
            )
        blockers = (summary.get("grpc_only") or {}).get(name)
        if blockers:
            lines.append(f"\n{grpc_only_note(blockers)}.")
        runtimes = summary.get("other_runtimes") or {}
        if name in runtimes:
            lines.append(f"\n{runtimes_note(runtimes[name])}.")
    return lines


def to_markdown(summary: Mapping[str, Any]) -> str:
    title = summary.get("model", "SavedModel")
    version = summary.get("version")
    lines = [f"# {title}" + (f" v{version}" if version is not None else "")]
    if summary.get("export_dir"):
        lines.append(f"\n`{summary['export_dir']}`")
    lines += signature_markdown(summary)
    return "\n".join(lines) + "\n"


def client_files(summary: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
    """The files that travel beside the summary: request files for ``inputs`` and the signature card."""
    from sigforge.report.card import CARD_FILE, render_card
    from sigforge.report.requests import request_files

    model, signatures = str(summary.get("model", "model")), summary["signatures"]
    files = request_files(model, signatures, inputs, summary.get("example_features")) if inputs else {}
    return {**files, CARD_FILE: render_card(summary, files).encode()}


def write_summary(
    summary: Mapping[str, Any], directory: Path, files: Mapping[str, bytes] | None = None
) -> tuple[Path, ...]:
    """``signature_summary.{json,md}`` and ``files`` (relative path -> bytes) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / SUMMARY_JSON
    md_path = directory / SUMMARY_MD
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    md_path.write_text(to_markdown(summary))
    written = [json_path, md_path]
    for relative, data in (files or {}).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return tuple(written)
