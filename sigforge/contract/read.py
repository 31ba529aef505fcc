"""The serving contract: signatures, methods, input and output keys with dtypes and shapes.

Two sources produce the same structure: the spec (what the config asks for) and a written
``saved_model.pb`` (what TF Serving and ``saved_model_cli`` will read). Reading the file does not
import TensorFlow: a minimal protobuf schema of SavedModel -> MetaGraphDef -> SignatureDef ->
TensorInfo is declared below, and every other field of the file is skipped unparsed. That keeps
``sigforge inspect`` and verification's first check fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sigforge.rules import DTYPE_BY_NUMBER, EXAMPLE_INPUT_KEY, shape_text
from sigforge.spec import ExportSpec

SERVING_TAG = "serve"


@dataclass(frozen=True)
class TensorContract:
    dtype: str
    shape: tuple[int | None, ...] | None  # None: unknown rank (or not declared, for outputs of a spec)

    def describe(self) -> str:
        return f"{self.dtype} {shape_text(self.shape)}"


@dataclass(frozen=True)
class SignatureContract:
    name: str
    method_name: str
    inputs: Mapping[str, TensorContract]
    outputs: Mapping[str, TensorContract | None]  # None: the spec names the key but not its type

    def to_dict(self) -> dict[str, Any]:
        def tensor(t: TensorContract | None) -> dict[str, Any] | None:
            return (
                None if t is None else {"dtype": t.dtype, "shape": None if t.shape is None else list(t.shape)}
            )

        return {
            "method_name": self.method_name,
            "inputs": {k: tensor(v) for k, v in sorted(self.inputs.items())},
            "outputs": {k: tensor(v) for k, v in sorted(self.outputs.items())},
        }


Contract = dict[str, SignatureContract]


def expected_contract(
    spec: ExportSpec, client_specs: Mapping[str, Mapping[str, TensorContract]] | None = None
) -> Contract:
    """The contract the config asks for.

    ``client_specs`` (what the traced signatures take) stands in only for inputs with preprocessors,
    whose client side the preprocessors decide; every other input must be exactly as declared, so a
    dtype or shape that drifted while tracing is caught rather than taken as the expectation.
    """
    contract: Contract = {}
    by_name = spec.input
    for sig in spec.signatures:
        if sig.takes_examples:
            inputs = {EXAMPLE_INPUT_KEY: TensorContract("string", (None,))}
            outputs: dict[str, TensorContract | None] = {
                "classes": TensorContract("string", (None, spec.model.num_classes)),
                "scores": TensorContract("float32", (None, spec.model.num_classes)),
                "outputs": TensorContract("float32", (None,)),
            }
            outputs = {k: outputs[k] for k in sig.outputs}
        else:
            inputs = {}
            for name in sig.inputs:
                key = sig.keys[name]
                declared = by_name[name]
                inputs[key] = TensorContract(declared.dtype, declared.shape)
                if declared.preprocess and client_specs and key in client_specs.get(sig.name, {}):
                    inputs[key] = client_specs[sig.name][key]
            outputs = dict.fromkeys(sig.outputs)
        contract[sig.name] = SignatureContract(sig.name, sig.method_name, inputs, outputs)
    return contract


@cache
def _saved_model_message() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="sigforge_saved_model_subset.proto", package="sigforge_subset"
    )
    fdp.syntax = "proto3"

    def message(name: str, fields: list[tuple[str, int, int, int, str]], parent: Any = None) -> Any:
        msg = (parent.nested_type if parent is not None else fdp.message_type).add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return msg

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    p = ".sigforge_subset."
    message("Dim", [("size", 1, F.TYPE_INT64, opt, ""), ("name", 2, F.TYPE_STRING, opt, "")])
    message("Shape", [("dim", 2, F.TYPE_MESSAGE, rep, p + "Dim"), ("unknown_rank", 3, F.TYPE_BOOL, opt, "")])
    message(
        "TensorInfo",
        [
            ("name", 1, F.TYPE_STRING, opt, ""),
            ("dtype", 2, F.TYPE_INT32, opt, ""),
            ("tensor_shape", 3, F.TYPE_MESSAGE, opt, p + "Shape"),
        ],
    )
    sig = message("SignatureDef", [("method_name", 3, F.TYPE_STRING, opt, "")])
    for number, fname in ((1, "inputs"), (2, "outputs")):
        entry_name = fname.capitalize() + "Entry"
        entry = message(
            entry_name,
            [("key", 1, F.TYPE_STRING, opt, ""), ("value", 2, F.TYPE_MESSAGE, opt, p + "TensorInfo")],
            parent=sig,
        )
        entry.options.map_entry = True
        sig.field.add(
            name=fname,
            number=number,
            type=F.TYPE_MESSAGE,
            label=rep,
            type_name=p + "SignatureDef." + entry_name,
        )
    message("MetaInfoDef", [("tags", 4, F.TYPE_STRING, rep, "")])
    meta = message("MetaGraphDef", [("meta_info_def", 1, F.TYPE_MESSAGE, opt, p + "MetaInfoDef")])
    entry = message(
        "SignatureDefEntry",
        [("key", 1, F.TYPE_STRING, opt, ""), ("value", 2, F.TYPE_MESSAGE, opt, p + "SignatureDef")],
        parent=meta,
    )
    entry.options.map_entry = True
    meta.field.add(
        name="signature_def",
        number=5,
        type=F.TYPE_MESSAGE,
        label=rep,
        type_name=p + "MetaGraphDef.SignatureDefEntry",
    )
    message("SavedModel", [("meta_graphs", 2, F.TYPE_MESSAGE, rep, p + "MetaGraphDef")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("sigforge_subset.SavedModel"))


def _tensor(info: Any) -> TensorContract:
    dtype = DTYPE_BY_NUMBER.get(info.dtype, f"DT_{info.dtype}")
    shape = info.tensor_shape
    if not info.HasField("tensor_shape") or shape.unknown_rank:
        return TensorContract(dtype, None)
    return TensorContract(dtype, tuple(None if d.size < 0 else int(d.size) for d in shape.dim))


def read_contract(export_dir: str | Path, tag: str = SERVING_TAG) -> Contract:
    """The contract written in ``export_dir/saved_model.pb`` for the MetaGraph tagged ``tag``."""
    path = Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not a SavedModel directory: it has no saved_model.pb")
    saved_model = _saved_model_message()()
    saved_model.ParseFromString(path.read_bytes())
    metas = [m for m in saved_model.meta_graphs if tag in m.meta_info_def.tags] or list(
        saved_model.meta_graphs
    )
    if not metas:
        raise ValueError(f"{path} holds no MetaGraph")
    contract: Contract = {}
    for name, sig in sorted(metas[0].signature_def.items()):
        if name.startswith("__"):  # e.g. __saved_model_init_op: not a serving signature
            continue
        contract[name] = SignatureContract(
            name,
            sig.method_name,
            {k: _tensor(v) for k, v in sig.inputs.items()},
            {k: _tensor(v) for k, v in sig.outputs.items()},
        )
    return contract


def mismatches(expected: Contract, actual: Contract, where: str = "saved_model.pb") -> list[str]:
    """Every difference between the asked-for and the written contract, as sentences."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"{where}: signature '{name}' is missing")
            continue
        if name not in expected:
            problems.append(f"{where}: signature '{name}' was written but not asked for")
            continue
        exp, act = expected[name], actual[name]
        if exp.method_name != act.method_name:
            problems.append(
                f"{where}: signature '{name}' has method {act.method_name!r}, expected {exp.method_name!r}"
            )
        if set(exp.inputs) != set(act.inputs):
            problems.append(
                f"{where}: signature '{name}' takes keys {sorted(act.inputs)}, expected {sorted(exp.inputs)}"
            )
        for key in set(exp.inputs) & set(act.inputs):
            if exp.inputs[key] != act.inputs[key]:
                problems.append(
                    f"{where}: signature '{name}' input '{key}' is {act.inputs[key].describe()}, "
                    f"expected {exp.inputs[key].describe()}"
                )
        if set(exp.outputs) != set(act.outputs):
            problems.append(
                f"{where}: signature '{name}' returns keys {sorted(act.outputs)}, expected {sorted(exp.outputs)}"
            )
        for key in set(exp.outputs) & set(act.outputs):
            want, got = exp.outputs[key], act.outputs[key]
            if want is not None and got is not None and want != got:
                problems.append(
                    f"{where}: signature '{name}' output '{key}' is {got.describe()}, expected {want.describe()}"
                )
    return problems


def contract_to_dict(contract: Contract) -> dict[str, Any]:
    return {name: sig.to_dict() for name, sig in sorted(contract.items())}
