"""Which contract changes break clients: one set of rules for ``sigforge diff`` and for the publish
decision (``contract.gate``: the newest version on disk, the registry's latest, a sweep's jobs).

Breaking: a removed signature, a removed or renamed input or output key, a new input key (old
clients do not send it), a dtype change, a narrowed input shape (a free dimension fixed, a size
changed, a rank changed), a widened output shape, or a method change. Compatible: a new signature, a
new output, a widened input dimension. Contracts are in ``contract_to_dict`` form; nothing here
imports TensorFlow, MLflow or the config layer.

For a key that carries serialized tf.Examples, the features parsed from it are compared too, by
what TensorFlow's ParseExampleV2 does with an Example an old client still sends
(``shared/tf-serving-rules.md``, docs/serving.md): breaking are a retyped feature, a changed number
of values of a fixed-length one, a new required feature (fixed-length, no default), a default
dropped, and a VarLen/ragged feature made fixed-length (its clients send any number of values).
Compatible: a feature no longer parsed (the parser ignores extra features), a new feature with a
default or of variable length, a default added or changed, ``[]`` <-> ``[1]`` (one value either way),
a fixed-length feature made VarLen/ragged, VarLen <-> ragged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigforge.contract.tables import markdown_table, text_table
from sigforge.rules import shape_text


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
    return f"{tensor['dtype']} {shape_text(tensor.get('shape'))}"


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
        changes += _example_changes(name, o.get("examples"), n.get("examples"))
    return changes


def _count(shape: list[Any] | None) -> int | None:
    """How many values a fixed-length feature of ``shape`` takes (None: not a fixed number)."""
    return None if shape is None or None in shape else math.prod(shape)


def _fmt_feature(f: Mapping[str, Any] | None) -> str:
    if f is None:
        return "-"
    kind = f.get("kind", "fixed")
    if kind != "fixed":
        return f"{f['dtype']} {kind}"
    default = "required" if f.get("default") is None else f"default {f['default']}"
    return f"{f['dtype']} {shape_text(f.get('shape'))} {default}"


def _feature_change(of: Mapping[str, Any], nf: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(what changed, whether an old client's Example now fails to parse), or None if nothing did."""
    if of["dtype"] != nf["dtype"]:
        return "dtype", True
    okind, nkind = of.get("kind", "fixed"), nf.get("kind", "fixed")
    if okind != nkind:
        # A VarLen/ragged feature's clients send any number of values, or none: a fixed length
        # refuses both. The other way, any fixed count is accepted.
        return f"{okind} -> {nkind}", nkind == "fixed"
    if nkind != "fixed":
        return None
    if _count(of.get("shape")) != _count(nf.get("shape")):
        return "number of values", True
    if of.get("default") != nf.get("default"):
        return "default", of.get("default") is not None and nf.get("default") is None
    if of.get("shape") != nf.get("shape"):
        return "shape", False  # [] <-> [1]: the same one value
    return None


def _example_changes(name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    """The tf.Example features parsed from each key both contracts give (``None``: not known)."""
    if not old or not new:
        return []
    changes = []
    for key in sorted(set(old) & set(new)):
        ofs, nfs = old[key], new[key]
        for feature in sorted(set(ofs) | set(nfs)):
            label = f"feature '{feature}' (in '{key}')"
            of, nf = ofs.get(feature), nfs.get(feature)
            if nf is None:  # the parser ignores a feature it does not name
                changes.append(Change(name, f"{label} no longer parsed", _fmt_feature(of), "-", False))
            elif of is None:
                required = nf.get("kind", "fixed") == "fixed" and nf.get("default") is None
                what = "added, required" if required else "added"
                changes.append(Change(name, f"{label} {what}", "-", _fmt_feature(nf), required))
            elif (found := _feature_change(of, nf)) is not None:
                what, breaking = found
                changes.append(Change(name, f"{label} {what}", _fmt_feature(of), _fmt_feature(nf), breaking))
    return changes


CHANGE_HEADER = ("signature", "change", "old", "new", "breaking")


def _change_rows(changes: list[Change]) -> list[tuple[str, ...]]:
    return [(c.signature, c.what, c.old, c.new, "BREAKING" if c.breaking else "ok") for c in changes]


def render(changes: list[Change]) -> str:
    """The changes as an aligned text table (terminals, error messages)."""
    if not changes:
        return "no differences: the contracts are identical\n"
    return text_table(CHANGE_HEADER, _change_rows(changes))


def render_markdown(changes: list[Change]) -> str:
    """The changes as a Markdown table (MLflow descriptions, the refused run's ``contract_diff.md``)."""
    if not changes:
        return "No differences: the contracts are identical.\n"
    return markdown_table(CHANGE_HEADER, _change_rows(changes), code=())


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    return [c for c in compare_contracts(old, new) if c.breaking]
