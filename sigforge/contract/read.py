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

from google.protobuf.message import DecodeError

from sigforge.contract.bounded import read_saved_model_bytes
from sigforge.contract.features import spec_examples
from sigforge.contract.graph import Features, parsed_features
from sigforge.contract.heads import head_outputs
from sigforge.contract.protos import message_class
from sigforge.errors import UnreadableSavedModel
from sigforge.rules import DTYPE_BY_NUMBER, EXAMPLE_METHODS, shape_text
from sigforge.spec import ExportSpec, SignatureSpec

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
    # input key -> the tf.Example features parsed from it, for keys that carry serialized Examples
    # (Classify, Regress, an Example-taking Predict); None: not known (a contract loaded in TensorFlow)
    examples: Mapping[str, Features] | None = None

    def to_dict(self) -> dict[str, Any]:
        def tensor(t: TensorContract | None) -> dict[str, Any] | None:
            return (
                None if t is None else {"dtype": t.dtype, "shape": None if t.shape is None else list(t.shape)}
            )

        out: dict[str, Any] = {
            "method_name": self.method_name,
            "inputs": {k: tensor(v) for k, v in sorted(self.inputs.items())},
            "outputs": {k: tensor(v) for k, v in sorted(self.outputs.items())},
        }
        if self.examples:
            out["examples"] = {
                key: {name: f.to_dict() for name, f in sorted(features.items())}
                for key, features in sorted(self.examples.items())
            }
        return out


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
    examples = spec_examples(spec)
    for sig in spec.signatures:
        if sig.example_key is not None:
            inputs = {sig.example_key: TensorContract("string", (None,))}
        else:
            inputs = {}
            for name in sig.inputs:
                key = sig.keys[name]
                declared = by_name[name]
                inputs[key] = TensorContract(declared.dtype, declared.shape)
                if declared.preprocess and client_specs and key in client_specs.get(sig.name, {}):
                    inputs[key] = client_specs[sig.name][key]
        outputs = _expected_outputs(spec, sig)
        contract[sig.name] = SignatureContract(
            sig.name, sig.method_name, inputs, outputs, examples.get(sig.name)
        )
    return contract


def _expected_outputs(spec: ExportSpec, sig: SignatureSpec) -> dict[str, TensorContract | None]:
    """Output key -> dtype and shape where the config fixes them (TF Serving's Classify and Regress
    outputs, a head's outputs), else None (whatever the model returns)."""
    n = spec.model.num_classes
    if spec.model.head is not None:
        produced = head_outputs(spec.model.head, sig.method, n)
        known = {
            k: TensorContract(*produced[sig.source(k)]) for k in sig.outputs if sig.source(k) in produced
        }
        return {k: known.get(k) for k in sig.outputs}
    if sig.method in EXAMPLE_METHODS:
        fixed = {
            "classes": TensorContract("string", (None, n)),
            "scores": TensorContract("float32", (None, n)),
            "outputs": TensorContract("float32", (None,)),
        }
        return {k: fixed.get(k) for k in sig.outputs}
    return dict.fromkeys(sig.outputs)


# tensorflow/core/protobuf/{saved_model,meta_graph}.proto and framework/{tensor_shape,types}.proto:
# the fields a contract is made of, as a FileDescriptorProto in text form (dtype read as its number).
_PROTO = """
name: "sigforge/saved_model_subset.proto"
package: "sigforge_subset"
syntax: "proto3"
message_type {
  name: "Dim"
  field { name: "size" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "name" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "Shape"
  field { name: "dim" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".sigforge_subset.Dim" }
  field { name: "unknown_rank" number: 3 label: LABEL_OPTIONAL type: TYPE_BOOL }
}
message_type {
  name: "TensorInfo"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "dtype" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "tensor_shape" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.Shape" }
}
message_type {
  name: "SignatureDef"
  field { name: "inputs" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".sigforge_subset.SignatureDef.InputsEntry" }
  field { name: "outputs" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".sigforge_subset.SignatureDef.OutputsEntry" }
  field { name: "method_name" number: 3 label: LABEL_OPTIONAL type: TYPE_STRING }
  nested_type {
    name: "InputsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.TensorInfo" }
    options { map_entry: true }
  }
  nested_type {
    name: "OutputsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.TensorInfo" }
    options { map_entry: true }
  }
}
message_type {
  name: "MetaInfoDef"
  field { name: "tags" number: 4 label: LABEL_REPEATED type: TYPE_STRING }
}
message_type {
  name: "MetaGraphDef"
  field { name: "meta_info_def" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".sigforge_subset.MetaInfoDef" }
  field { name: "signature_def" number: 5 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".sigforge_subset.MetaGraphDef.SignatureDefEntry" }
  nested_type {
    name: "SignatureDefEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".sigforge_subset.SignatureDef" }
    options { map_entry: true }
  }
}
message_type {
  name: "SavedModel"
  field { name: "meta_graphs" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".sigforge_subset.MetaGraphDef" }
}
"""


@cache
def _saved_model_message() -> Any:
    return message_class(_PROTO, "sigforge_subset.SavedModel")


def _tensor(info: Any) -> TensorContract:
    dtype = DTYPE_BY_NUMBER.get(info.dtype, f"DT_{info.dtype}")
    shape = info.tensor_shape
    if not info.HasField("tensor_shape") or shape.unknown_rank:
        return TensorContract(dtype, None)
    return TensorContract(dtype, tuple(None if d.size < 0 else int(d.size) for d in shape.dim))


def signature_defs(export_dir: str | Path, tag: str = SERVING_TAG) -> tuple[bytes, Mapping[str, Any]]:
    """The bytes of ``export_dir/saved_model.pb`` (read within bounds) and the ``signature_def`` map
    of its MetaGraph tagged ``tag`` (else its first)."""
    path = Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not a SavedModel directory: it has no saved_model.pb")
    saved_model = _saved_model_message()()
    data = read_saved_model_bytes(path)
    try:
        saved_model.ParseFromString(data)
    except MemoryError:
        raise UnreadableSavedModel(
            f"{path} ({len(data)} bytes) does not fit in the memory this process may use once parsed; "
            "raise the memory limit (ulimit -v, the container's limit) to read it."
        ) from None
    except DecodeError as err:
        raise UnreadableSavedModel(
            f"{path} cannot be parsed as a SavedModel ({err}); it is truncated or not a SavedModel. "
            "Re-export it, or remove that version directory."
        ) from err
    metas = [m for m in saved_model.meta_graphs if tag in m.meta_info_def.tags] or list(
        saved_model.meta_graphs
    )
    if not metas:
        raise UnreadableSavedModel(f"{path} holds no MetaGraph; it is not a SavedModel TF Serving can load.")
    return data, metas[0].signature_def


def read_contract(export_dir: str | Path, tag: str = SERVING_TAG) -> Contract:
    """The contract written in ``export_dir/saved_model.pb`` for the MetaGraph tagged ``tag``."""
    data, defs = signature_defs(export_dir, tag)
    path = Path(export_dir) / "saved_model.pb"
    signatures = {n: s for n, s in sorted(defs.items()) if not n.startswith("__")}
    # Only a string input can carry serialized Examples: the graph is parsed when some signature has one.
    strings = {
        (name, key): info.name
        for name, sig in signatures.items()
        for key, info in sig.inputs.items()
        if _tensor(info).dtype == "string"
    }
    parsed = _parsed_examples(data, tag, strings, path) if strings else {}
    contract: Contract = {}
    for name, sig in signatures.items():  # __saved_model_init_op and the like are not served
        examples = {key: parsed[(name, key)] for key in sig.inputs if (name, key) in parsed}
        contract[name] = SignatureContract(
            name,
            sig.method_name,
            {k: _tensor(v) for k, v in sig.inputs.items()},
            {k: _tensor(v) for k, v in sig.outputs.items()},
            examples or None,
        )
    return contract


def _parsed_examples(
    data: bytes, tag: str, strings: Mapping[tuple[str, str], str], path: Path
) -> dict[tuple[str, str], Features]:
    """(signature, input key) -> the tf.Example features the graph parses from that input."""
    by_tensor = _graph_features(data, tag, sorted(set(strings.values())), path)
    return {where: by_tensor[tensor] for where, tensor in strings.items() if tensor in by_tensor}


def _graph_features(data: bytes, tag: str, tensors: list[str], path: Path) -> dict[str, Features]:
    try:
        return parsed_features(data, tag, {t: t for t in tensors})
    except DecodeError as err:
        raise UnreadableSavedModel(
            f"{path}: its graph cannot be parsed ({err}); it is truncated or not a SavedModel. "
            "Re-export it, or remove that version directory."
        ) from err


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
        problems += _example_mismatches(where, name, exp.examples, act.examples)
    return problems


def _example_mismatches(
    where: str, name: str, expected: Mapping[str, Features] | None, actual: Mapping[str, Features] | None
) -> list[str]:
    """The tf.Example features parsed from each key, where both sides know them."""
    if expected is None or actual is None:
        return []
    problems = []
    for key in sorted(set(expected) | set(actual)):
        exp, act = expected.get(key, {}), actual.get(key, {})
        if exp != act:
            described = {n: f.describe() for n, f in act.items()}
            wanted = {n: f.describe() for n, f in exp.items()}
            problems.append(
                f"{where}: signature '{name}' parses tf.Example features {described} from '{key}', "
                f"expected {wanted}"
            )
    return problems


def known_contract(spec: ExportSpec) -> Contract:
    """What the config alone fixes of the contract, before anything is traced: an input that has
    preprocessors (whose client side they decide) and every undeclared output are unknown (None),
    which ``compat.compare_contracts`` skips. Enough to refuse most breaking changes in a second."""
    contract = expected_contract(spec)
    for sig in spec.signatures:
        if sig.example_key is not None:
            continue
        for name in sig.inputs:
            if spec.input[name].preprocess:
                contract[sig.name].inputs[sig.keys[name]] = None
    return contract


def contract_to_dict(contract: Contract) -> dict[str, Any]:
    return {name: sig.to_dict() for name, sig in sorted(contract.items())}
