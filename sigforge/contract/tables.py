"""Contract tables, written once: the rows of a signature and of its tf.Example features, and the
three ways they are printed (aligned text for terminals, Markdown for MLflow descriptions and
``signature_summary.md``, HTML for the signature card and the sweep comparison).

Every place that shows a contract builds its rows here, so a terminal, a card and an MLflow page
never disagree about what a key's dtype or shape is.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sigforge.rules import shape_text

TENSOR_HEADER = ("", "key", "dtype", "shape")
FEATURE_HEADER = ("feature", "dtype", "values", "tf.Example list", "if missing")

Row = Sequence[str]


def tensor_rows(signature: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(input|output, key, dtype, shape)`` for every tensor of one signature, inputs first."""
    rows = []
    for direction in ("inputs", "outputs"):
        for key, tensor in signature[direction].items():
            dtype = tensor["dtype"] if tensor else ""
            shape = shape_text(tensor["shape"]) if tensor else ""
            rows.append((direction[:-1], key, dtype, shape))
    return rows


def _values(f: Mapping[str, Any]) -> str:
    kind = f.get("kind", "fixed")
    if kind == "fixed":
        return shape_text(f["shape"])
    return "any number" if kind in ("varlen", "ragged") else f"{kind} (feature list)"


def _if_missing(f: Mapping[str, Any]) -> str:
    if f.get("kind", "fixed") != "fixed":
        return "empty"
    return "request fails" if f.get("default") is None else f"default {f['default']!r}"


def feature_rows(features: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    """``(feature, dtype, values, list kind, if missing)`` for the tf.Example features a client
    builds: ``[3]`` for a fixed-length feature (exactly 3 values), ``any number`` for a VarLen or
    ragged one; what the parser does when an Example leaves the feature out."""
    return [(f["feature"], f["dtype"], _values(f), f["list"], _if_missing(f)) for f in features]


def text_table(header: Row, rows: Iterable[Row]) -> str:
    """Columns padded to line up in a terminal, one line per row, header first."""
    table = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in table
    )


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_table(header: Row, rows: Iterable[Row], code: Sequence[int] = (1,)) -> str:
    """A GitHub-flavoured Markdown table (MLflow renders it); columns in ``code`` as code spans."""
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"`{c}`" if i in code and c else _md(c) for i, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def html_table(header: Row, rows: Iterable[Row], key: int = 1, classes: Sequence[str] = ()) -> str:
    """An HTML table; the ``key`` column is marked ``class='key'``, ``classes[i]`` names row i."""
    esc = html.escape
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f" class='{esc(classes[i])}'" if i < len(classes) and classes[i] else ""
        cells = "".join(
            f"<td class='key'>{esc(c)}</td>" if j == key else f"<td>{esc(c)}</td>" for j, c in enumerate(row)
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "".join(out)
