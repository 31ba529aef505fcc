"""The signature summary: one JSON document and one Markdown table per export.

Built from a contract as read from ``saved_model.pb`` (not from the config), so the summary of a
sigforge export and ``python -m sigforge.inspect`` of any SavedModel are the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SUMMARY_JSON = "signature_summary.json"
SUMMARY_MD = "signature_summary.md"


def build_summary(contract: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """``{"signatures": contract, **extra}`` with extra fields such as model, version, export_dir."""
    return {**{k: v for k, v in extra.items() if v is not None}, "signatures": dict(contract)}


def _shape(shape: Any) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def to_markdown(summary: Mapping[str, Any]) -> str:
    lines = []
    title = summary.get("model", "SavedModel")
    version = summary.get("version")
    lines.append(f"# {title}" + (f" v{version}" if version is not None else ""))
    if summary.get("export_dir"):
        lines.append(f"\n`{summary['export_dir']}`")
    for name, sig in summary["signatures"].items():
        lines.append(f"\n## `{name}` ({sig['method_name']})\n")
        lines.append("| | key | dtype | shape |")
        lines.append("|---|---|---|---|")
        for direction in ("inputs", "outputs"):
            for key, tensor in sig[direction].items():
                dtype = tensor["dtype"] if tensor else ""
                shape = _shape(tensor["shape"]) if tensor else ""
                lines.append(f"| {direction[:-1]} | `{key}` | {dtype} | {shape} |")
    return "\n".join(lines) + "\n"


def write_summary(summary: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / SUMMARY_JSON
    md_path = directory / SUMMARY_MD
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    md_path.write_text(to_markdown(summary))
    return json_path, md_path
