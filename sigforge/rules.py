"""What TensorFlow, TF Serving and MLflow accept: the rules a spec is checked against, as constants
and pure functions. No TensorFlow, no MLflow, no plugins: everything may import this.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

# TensorFlow keeps a signature key byte for byte, in both the MetaGraph's signature_def and the
# signatures tf.saved_model.load returns, only when it is a plain identifier that starts with a
# letter. Anything else is sanitized on load ('a-b' -> 'a_b', '1x' -> 'arg_1x') or refused at save.
# Name rules are whole-string rules: anchored with \A...\Z (``$`` also matches before a trailing
# newline, so "digits\n" would pass) and checked with ``fullmatch`` (``full_name``), never ``match``.
KEY_PATTERN = re.compile(r"\A[A-Za-z][A-Za-z0-9_]*\Z")
NAME_PATTERN = KEY_PATTERN
MODEL_NAME_PATTERN = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
REGISTERED_NAME_PATTERN = re.compile(r"\A[\w.\-]+( [\w.\-]+)*\Z")
MODULE_PATH_PATTERN = re.compile(r"\A[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")


def full_name(pattern: re.Pattern[str], text: object) -> bool:
    """Whether all of ``text`` (a string) follows a name rule: how every name rule is checked."""
    return isinstance(text, str) and pattern.fullmatch(text) is not None


@dataclass(frozen=True)
class Dtype:
    """What each consumer needs to know of one TensorFlow dtype, in one row."""

    enum: str  # the DataType enum name written in saved_model.pb (tensorflow/core/framework/types.proto)
    number: int  # its enum number
    item_bytes: int | None  # bytes per element (None: variable length or not a value)
    numpy: str  # the NumPy dtype MLflow's tensor schema declares for it
    rest: bool  # TF Serving's REST JSON reader converts it (util/json_tensor.cc); False: gRPC only
    config: bool = True  # accepted as an input's dtype in the config


DTYPE_TABLE: Mapping[str, Dtype] = MappingProxyType(
    {
        "float16": Dtype("DT_HALF", 19, 2, "float16", rest=False),
        "bfloat16": Dtype("DT_BFLOAT16", 14, 2, "float32", rest=False),
        "float32": Dtype("DT_FLOAT", 1, 4, "float32", rest=True),
        "float64": Dtype("DT_DOUBLE", 2, 8, "float64", rest=True),
        "int8": Dtype("DT_INT8", 6, 1, "int8", rest=True),
        "int16": Dtype("DT_INT16", 5, 2, "int16", rest=True),
        "int32": Dtype("DT_INT32", 3, 4, "int32", rest=True),
        "int64": Dtype("DT_INT64", 9, 8, "int64", rest=True),
        "uint8": Dtype("DT_UINT8", 4, 1, "uint8", rest=True),
        "uint16": Dtype("DT_UINT16", 17, 2, "uint16", rest=False),
        "bool": Dtype("DT_BOOL", 10, 1, "bool", rest=True),
        "string": Dtype("DT_STRING", 7, None, "object", rest=True),
        # Read in saved_model.pb files sigforge did not write; never an input's dtype in a config.
        "uint32": Dtype("DT_UINT32", 22, 4, "uint32", rest=True, config=False),
        "uint64": Dtype("DT_UINT64", 23, 8, "uint64", rest=True, config=False),
        "complex64": Dtype("DT_COMPLEX64", 8, 8, "complex64", rest=False, config=False),
        "complex128": Dtype("DT_COMPLEX128", 18, 16, "complex128", rest=False, config=False),
        "resource": Dtype("DT_RESOURCE", 20, None, "object", rest=False, config=False),
        "variant": Dtype("DT_VARIANT", 21, None, "object", rest=False, config=False),
    }
)
# Config dtype name -> the DataType enum name written in saved_model.pb.
DTYPES: Mapping[str, str] = MappingProxyType({n: d.enum for n, d in DTYPE_TABLE.items() if d.config})
ITEM_BYTES: Mapping[str, int] = MappingProxyType(
    {n: d.item_bytes for n, d in DTYPE_TABLE.items() if d.config and d.item_bytes is not None}
)
DTYPE_BY_NUMBER: Mapping[int, str] = MappingProxyType({d.number: n for n, d in DTYPE_TABLE.items()})


def rest_carries(dtype: str) -> bool:
    """Whether TF Serving's REST API can carry ``dtype`` (DT_HALF, DT_BFLOAT16, DT_UINT16: not)."""
    facts = DTYPE_TABLE.get(dtype)
    return facts is not None and facts.rest


EXAMPLE_DTYPES = ("float32", "int64", "string")  # what a tf.Example feature can carry
MODALITIES = ("image", "text", "sequence", "sequence_length", "tabular", "dense", "tf_example")
# A tf_example input reaches the client as serialized tf.Example protos ([None] string) and the model
# as the parsed feature; without an explicit chain it is parsed by this preprocessor, feature = its name.
TF_EXAMPLE_PREPROCESSOR = "parse_example"
TASKS = ("classification", "regression")

METHOD_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "predict": "tensorflow/serving/predict",
        "classify": "tensorflow/serving/classify",
        "regress": "tensorflow/serving/regress",
    }
)
# The methods whose one input is a batch of serialized tf.Examples (TF Serving's Classify and Regress APIs).
EXAMPLE_METHODS = frozenset({"classify", "regress"})
# Runtimes other than TensorFlow that convert SavedModels, and the ops none of them runs by default:
# in-graph string processing (TFLite needs its TF Select ops for these, tf2onnx's ONNX Runtime its
# extensions, TF.js has no kernel). A signature whose graph holds one of them serves in TF Serving only.
OTHER_RUNTIMES = ("TFLite", "ONNX Runtime (tf2onnx)", "TF.js")
VERIFIED_TARGETS = ("tflite", "onnx")  # export.targets: runtimes verification converts to and runs itself
STRING_OPS = frozenset(
    {
        "AsString", "DecodeBase64", "DecodeBmp", "DecodeCSV", "DecodeGif", "DecodeImage", "DecodeJSONExample",
        "DecodeJpeg", "DecodePng", "DecodeProtoV2", "DecodeRaw", "EncodeBase64", "EncodeJpeg", "EncodePng",
        "HashTableV2", "LookupTableFindV2", "LookupTableImportV2", "MutableHashTableV2", "ParseExample",
        "ParseExampleV2", "ParseSequenceExampleV2", "ParseSingleExample", "ReduceJoin", "RegexFullMatch",
        "RegexReplace", "StaticRegexFullMatch", "StaticRegexReplace", "StringFormat", "StringJoin",
        "StringLength", "StringLower", "StringSplit", "StringSplitV2", "StringStrip", "StringToHashBucket",
        "StringToHashBucketFast", "StringToHashBucketStrong", "StringToNumber", "StringUpper", "Substr",
        "UnicodeDecode", "UnicodeDecodeWithOffsets", "UnicodeEncode", "UnicodeTranscode",
    }
)  # fmt: skip
EXAMPLE_INPUT_KEY = "inputs"  # TF Serving's Classify and Regress APIs send serialized tf.Examples here
CLASSIFY_OUTPUTS = ("classes", "scores")
REGRESS_OUTPUTS = ("outputs",)


def tf_sanitized(key: str) -> str:
    """What TensorFlow makes of ``key`` as a function argument name (mirrors its sanitize_arg_name)."""
    if not key:
        return "a_0"
    swapped = "".join(c if c.isalnum() else "_" for c in key)
    return swapped if swapped[0].isalpha() else "arg_" + swapped


# Argument names TensorFlow's function wrapper takes itself (measured on TensorFlow 2.21: a signature
# input named so fails to trace with "got multiple values for argument").
RESERVED_ARGUMENTS = frozenset({"self"})


def key_problem(key: object, where: str, *, argument: bool = False) -> str | None:
    """Why ``key`` would not survive TensorFlow byte for byte, as a sentence naming ``where``; else None.

    ``argument``: the key is an input key, which TensorFlow makes a keyword argument of the signature
    function, so a Python keyword (``is``, ``None``) cannot be saved at all.
    """
    if not isinstance(key, str):
        return f"{where} = {key!r} is a {type(key).__name__}; a signature key must be a string."
    if full_name(KEY_PATTERN, key):
        if argument and keyword.iskeyword(key):
            return (
                f"{where} = {key!r} is a Python keyword: TensorFlow calls a signature with its input "
                f"keys as keyword arguments and cannot save this one; use {key + '_'!r}."
            )
        if argument and key in RESERVED_ARGUMENTS:
            return (
                f"{where} = {key!r} is reserved: TensorFlow's function wrapper takes {key!r} as its own "
                f"argument, so a signature with this input key cannot be traced or called; use {key + '_'!r}."
            )
        return None
    renamed = tf_sanitized(key)
    if not key.isascii():
        fix = re.sub(r"[^A-Za-z0-9_]", "_", key).lstrip("_") or "input"
        return (
            f"{where} = {key!r} is not a valid signature key: TensorFlow op names are ASCII, so saving "
            f"fails or the key is renamed; keys must match [A-Za-z][A-Za-z0-9_]*, e.g. {fix!r}."
        )
    match = re.fullmatch(r"(.*):(\d+)", key, re.DOTALL)
    if match and full_name(KEY_PATTERN, match.group(1)):
        base = match.group(1)
        return (
            f"{where} = {key!r} is not a valid signature key: TensorFlow would store it as {renamed!r}. "
            f"':{match.group(2)}' is the output index in a tensor's name "
            f"(serving_default_{base}:{match.group(2)}), not part of an input key; use {base!r}."
        )
    fix = renamed if full_name(KEY_PATTERN, renamed) else "x" + renamed
    return (
        f"{where} = {key!r} is not a valid signature key: TensorFlow would store it as {renamed!r} "
        f"(keys must match [A-Za-z][A-Za-z0-9_]*); use {fix!r}."
    )


MAX_EXPERIMENT_NAME_LENGTH = 500  # mlflow.utils.validation
MAX_NAME_BYTES = 255  # a directory name on Linux filesystems (NAME_MAX)
MAX_VERSION = 2**63 - 1  # TF Serving's version numbers are int64
MAX_EXAMPLE_BYTES = 2**30  # one example of one input; verification allocates a few of them
TRACKING_SCHEMES = (
    "http",
    "https",
    "sqlite",
    "file",
    "postgresql",
    "mysql",
    "mssql",
    "databricks",
    "databricks-uc",
)


def tracking_uri_problem(uri: Any, key: str) -> str | None:
    """Why ``uri`` cannot be an MLflow tracking URI, or None. Checked before the export, so a typo
    never surfaces after a version is published."""
    if isinstance(uri, str) and (uri in ("databricks", "databricks-uc") or uri.startswith("databricks://")):
        return None  # MLflow's own forms: "databricks", "databricks://<profile>"
    scheme, sep, rest = str(uri).partition("://") if isinstance(uri, str) else ("", "", "")
    scheme = scheme.split("+", 1)[0]  # postgresql+psycopg2://
    example = "http://127.0.0.1:5000 or sqlite:///outputs/mlflow.db"
    if not isinstance(uri, str) or not sep or scheme not in TRACKING_SCHEMES:
        return (
            f"{key} = {uri!r} is not a tracking URI MLflow understands: write <scheme>://..., with a scheme "
            f"among {', '.join(TRACKING_SCHEMES)}, e.g. {example} (or null for the default)."
        )
    if scheme in ("http", "https") and not rest.split("/", 1)[0]:
        return f"{key} = {uri!r} names no host; write e.g. http://127.0.0.1:5000."
    if scheme == "sqlite" and ":memory:" in rest:
        return (
            f"{key} = {uri!r} is an in-memory database: the run would vanish when the process ends. "
            "Use a file, e.g. sqlite:///outputs/mlflow.db."
        )
    return None


def shape_text(shape: Sequence[int | None] | None) -> str:
    """``[None, 28, 28, 1]``, or ``unknown rank``: how contracts, summaries and messages print a shape."""
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


# TF Serving's version rule (sources/storage_path/file_system_storage_path_source.cc): every child
# of a model's base path counts, files included, when absl::SimpleAtoi reads its name as an int64.
_ASCII_SPACE = " \t\n\v\f\r"


def serving_version(name: str) -> int | None:
    """The version TF Serving reads in a model directory's child ``name``, or None.

    ``absl::SimpleAtoi``: optional ASCII whitespace around, one optional sign, ASCII decimal digits,
    in int64 range. So ``7``, ``007``, ``+7`` and ``" 7 "`` are 7; ``²`` and ``٣`` are no version,
    though Python's ``str.isdigit`` says they are.
    """
    text = name.strip(_ASCII_SPACE)
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or any(not "0" <= c <= "9" for c in digits):
        return None
    value = int(text)
    return value if -(2**63) <= value <= MAX_VERSION else None


def version_name_problem(name: str) -> str | None:
    """Why a model directory's child ``name`` is one TF Serving and sigforge would read differently:
    a version not written as sigforge writes them (``1``, ``2``...), or digits TF Serving ignores."""
    number = serving_version(name)
    if number is not None and (name != str(number) or number < 0):
        return (
            f"TF Serving reads {name!r} as version {number}, but it is not written as a version is ({number})"
        )
    if number is None and name.strip(_ASCII_SPACE).lstrip("+-").isdigit():
        return f"{name!r} looks like a version number but is not one to TF Serving (only ASCII digits count)"
    return None


def served_versions(model_dir: Path) -> dict[int, Path]:
    """Every child of ``model_dir`` that TF Serving counts as a version, by number (files included).

    Two names with one number: TF Serving keeps the later one; sigforge refuses such directories
    before it gets here (``version_name_problem``), so the order does not matter.
    """
    if not model_dir.is_dir():
        return {}
    found: dict[int, Path] = {}
    for child in sorted(model_dir.iterdir()):
        number = serving_version(child.name)
        if number is not None:
            found[number] = child
    return found
