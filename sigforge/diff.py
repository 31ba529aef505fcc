"""``python -m sigforge.diff OLD NEW``: is NEW's serving contract safe for OLD's clients?

OLD and NEW are export directories (a version, or a model directory meaning its latest version),
``runs:/<run_id>[/model]`` or ``models:/<name>/<version>`` URIs. Prints a table of differences and
exits 1 when any is breaking: a removed signature, a removed or renamed input or output key, a new
input key (old clients do not send it), a dtype change, a narrowed shape (a free dimension fixed,
a size changed, a rank changed), or a method change. Everything else (new signatures, new
outputs, widened shapes) exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigforge.contract import contract_to_dict, read_contract


@dataclass(frozen=True)
class Change:
    signature: str
    what: str
    old: str
    new: str
    breaking: bool


def _shape_narrowed(old: list[Any] | None, new: list[Any] | None) -> bool:
    """True when some input OLD's clients may send no longer fits NEW."""
    if old is None or new is None:
        return old is None and new is not None  # unknown rank -> a fixed rank narrows it
    if len(old) != len(new):
        return True
    return any(n is not None and o != n for o, n in zip(old, new, strict=True))


def _fmt(tensor: Mapping[str, Any] | None) -> str:
    if tensor is None:
        return "-"
    shape = tensor.get("shape")
    dims = "?" if shape is None else "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"
    return f"{tensor['dtype']} {dims}"


def compare_contracts(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Differences between two contracts (``contract_to_dict`` form), breaking ones flagged."""
    changes: list[Change] = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            changes.append(Change(name, "signature removed", old[name]["method_name"], "-", True))
            continue
        if name not in old:
            changes.append(Change(name, "signature added", "-", new[name]["method_name"], False))
            continue
        o, n = old[name], new[name]
        if o["method_name"] != n["method_name"]:
            changes.append(Change(name, "method", o["method_name"], n["method_name"], True))
        for direction in ("inputs", "outputs"):
            for key in sorted(set(o[direction]) | set(n[direction])):
                label = f"{direction[:-1]} '{key}'"
                ot, nt = o[direction].get(key), n[direction].get(key)
                if key not in n[direction]:
                    changes.append(Change(name, f"{label} removed", _fmt(ot), "-", True))
                elif key not in o[direction]:
                    # A new input is required of every client; a new output harms nobody.
                    changes.append(Change(name, f"{label} added", "-", _fmt(nt), direction == "inputs"))
                elif ot != nt:
                    if ot is None or nt is None:
                        continue
                    if ot["dtype"] != nt["dtype"]:
                        changes.append(Change(name, f"{label} dtype", _fmt(ot), _fmt(nt), True))
                    elif direction == "inputs":
                        narrowed = _shape_narrowed(ot["shape"], nt["shape"])
                        changes.append(
                            Change(
                                name,
                                f"{label} shape {'narrowed' if narrowed else 'widened'}",
                                _fmt(ot),
                                _fmt(nt),
                                narrowed,
                            )
                        )
                    else:
                        widened = _shape_narrowed(nt["shape"], ot["shape"])
                        changes.append(Change(name, f"{label} shape", _fmt(ot), _fmt(nt), widened))
    return changes


def render(changes: list[Change]) -> str:
    if not changes:
        return "no differences: the contracts are identical\n"
    rows = [("signature", "change", "old", "new", "breaking")] + [
        (c.signature, c.what, c.old, c.new, "BREAKING" if c.breaking else "ok") for c in changes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows
    )


def load_contract(location: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The contract at an export directory, a ``runs:/`` or a ``models:/`` URI."""
    if location.startswith(("runs:/", "models:/")):
        import mlflow

        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
        uri = location.rstrip("/")
        if uri.startswith("runs:/") and uri.count("/") == 1:
            uri += "/model"
        with tempfile.TemporaryDirectory(prefix="sigforge-diff-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/tfmodel/saved_model.pb", dst_path=tmp
            )
            return contract_to_dict(read_contract(Path(local).parent))
    from sigforge.inspect import resolve_export_dir

    return contract_to_dict(read_contract(resolve_export_dir(Path(location))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sigforge.diff", description=__doc__.splitlines()[0])
    parser.add_argument("old", help="export directory, runs:/<id>[/model] or models:/<name>/<version>")
    parser.add_argument("new", help="the same, for the candidate")
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI for runs:/ and models:/ (default: MLflow's)"
    )
    args = parser.parse_args(argv)
    try:
        old = load_contract(args.old, args.tracking_uri)
        new = load_contract(args.new, args.tracking_uri)
    except Exception as err:
        print(f"sigforge.diff: cannot read a contract: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    changes = compare_contracts(old, new)
    print(render(changes), end="")
    breaking = [c for c in changes if c.breaking]
    if breaking:
        print(
            f"sigforge.diff: {len(breaking)} breaking change(s): clients of OLD would fail against NEW",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
