"""From a composed config to a validated ExportSpec: plain Python, no TensorFlow.

Everything that can be known about an export without building a graph is decided here: which
inputs exist, what each signature takes and returns, the key every client sends (through the
naming policy plugins), and whether TensorFlow and TF Serving would keep that contract exactly.
A wrong config is refused here, in about a second, with every problem listed.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sigforge.errors import ConfigError, PluginError
from sigforge.plugins import Plugins, call_hook
from sigforge.schema import InputConf

# TensorFlow keeps a signature key byte for byte, in both the MetaGraph's signature_def and the
# signatures tf.saved_model.load returns, only when it is a plain identifier that starts with a
# letter. Anything else is sanitized on load ('a-b' -> 'a_b', '1x' -> 'arg_1x') or refused at save.
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NAME_PATTERN = KEY_PATTERN
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")

# Config dtype name -> the DataType enum name written in saved_model.pb.
DTYPES: Mapping[str, str] = MappingProxyType(
    {
        "float16": "DT_HALF",
        "bfloat16": "DT_BFLOAT16",
        "float32": "DT_FLOAT",
        "float64": "DT_DOUBLE",
        "int8": "DT_INT8",
        "int16": "DT_INT16",
        "int32": "DT_INT32",
        "int64": "DT_INT64",
        "uint8": "DT_UINT8",
        "uint16": "DT_UINT16",
        "bool": "DT_BOOL",
        "string": "DT_STRING",
    }
)
ITEM_BYTES: Mapping[str, int] = MappingProxyType(
    {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8}
    | {"uint8": 1, "uint16": 2, "bool": 1}
)
EXAMPLE_DTYPES = ("float32", "int64", "string")  # what a tf.Example feature can carry
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
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
EXAMPLE_INPUT_KEY = "inputs"  # TF Serving's Classify and Regress APIs send serialized tf.Examples here
CLASSIFY_OUTPUTS = ("classes", "scores")
REGRESS_OUTPUTS = ("outputs",)


def tf_sanitized(key: str) -> str:
    """What TensorFlow makes of ``key`` as a function argument name (mirrors its sanitize_arg_name)."""
    if not key:
        return "a_0"
    swapped = "".join(c if c.isalnum() else "_" for c in key)
    return swapped if swapped[0].isalpha() else "arg_" + swapped


def key_problem(key: object, where: str, *, argument: bool = False) -> str | None:
    """Why ``key`` would not survive TensorFlow byte for byte, as a sentence naming ``where``; else None.

    ``argument``: the key is an input key, which TensorFlow makes a keyword argument of the signature
    function, so a Python keyword (``is``, ``None``) cannot be saved at all.
    """
    if not isinstance(key, str):
        return f"{where} = {key!r} is a {type(key).__name__}; a signature key must be a string."
    if KEY_PATTERN.match(key):
        if argument and keyword.iskeyword(key):
            return (
                f"{where} = {key!r} is a Python keyword: TensorFlow calls a signature with its input "
                f"keys as keyword arguments and cannot save this one; use {key + '_'!r}."
            )
        return None
    renamed = tf_sanitized(key)
    if not key.isascii():
        fix = re.sub(r"[^A-Za-z0-9_]", "_", key).lstrip("_") or "input"
        return (
            f"{where} = {key!r} is not a valid signature key: TensorFlow op names are ASCII, so saving "
            f"fails or the key is renamed; keys must match [A-Za-z][A-Za-z0-9_]*, e.g. {fix!r}."
        )
    match = re.match(r"^(.*):(\d+)$", key)
    if match and KEY_PATTERN.match(match.group(1)):
        base = match.group(1)
        return (
            f"{where} = {key!r} is not a valid signature key: TensorFlow would store it as {renamed!r}. "
            f"':{match.group(2)}' is the output index in a tensor's name "
            f"(serving_default_{base}:{match.group(2)}), not part of an input key; use {base!r}."
        )
    fix = renamed if KEY_PATTERN.match(renamed) else "x" + renamed
    return (
        f"{where} = {key!r} is not a valid signature key: TensorFlow would store it as {renamed!r} "
        f"(keys must match [A-Za-z][A-Za-z0-9_]*); use {fix!r}."
    )


@dataclass(frozen=True)
class PreprocessStep:
    """One preprocessor in an input's chain: its registered name, parameters and providing plugin."""

    name: str
    params: Mapping[str, Any]
    plugin: str


@dataclass(frozen=True)
class InputSpec:
    """One declared input, as the model receives it. Handed read-only to naming policies."""

    name: str
    modality: str
    dtype: str
    shape: tuple[int | None, ...]
    key: str | None = None
    preprocess: tuple[PreprocessStep, ...] = ()
    vocabulary: tuple[str, ...] | None = None
    length_input: str | None = None

    @property
    def path(self) -> str:
        return f"inputs.{self.name}"


@dataclass(frozen=True)
class SignatureSpec:
    """One signature: its method, the inputs it takes, its outputs and every client key.

    ``keys`` maps input name -> client key for predict signatures. Classify and regress signatures
    take one key, ``inputs`` (serialized tf.Example), whose features are named after the inputs.
    """

    name: str
    method: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    naming: Mapping[str, Any] = field(default_factory=dict)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    @property
    def takes_examples(self) -> bool:
        return self.method in ("classify", "regress")

    @property
    def client_keys(self) -> tuple[str, ...]:
        if self.takes_examples:
            return (EXAMPLE_INPUT_KEY,)
        return tuple(self.keys[name] for name in self.inputs)


@dataclass(frozen=True)
class ModelSpec:
    """What to build: a registered architecture and its hyperparameters."""

    architecture: str
    name: str
    weights: Path | None
    task: str
    num_classes: int
    class_names: tuple[str, ...]
    params: Mapping[str, Any]
    plugin: str
    source: Path | None = None  # a trained model exported instead of building `architecture`

    def __getattr__(self, item: str) -> Any:
        # Builders read hyperparameters as attributes: model_cfg.hidden_units.
        params = object.__getattribute__(self, "params")
        if item in params:
            return params[item]
        raise AttributeError(item)


@dataclass(frozen=True)
class MlflowSpec:
    enabled: bool
    tracking_uri: str | None
    experiment_name: str
    registered_model_name: str | None = None
    allow_breaking: bool = False
    http_timeout: int = 10
    http_retries: int = 2
    operation_timeout: int = 300


@dataclass(frozen=True)
class ExportSpec:
    """The validated export: everything later stages need, and nothing from Hydra."""

    model: ModelSpec
    inputs: tuple[InputSpec, ...]
    signatures: tuple[SignatureSpec, ...]
    naming_policy: str
    base_dir: Path
    version: int | None
    dry_run: bool
    summary_dir: Path | None
    mlflow: MlflowSpec
    warmup: bool
    allow_breaking: bool
    plugin_modules: tuple[str, ...]

    @cached_property
    def input(self) -> Mapping[str, InputSpec]:
        """Inputs by name (computed once: stages look inputs up in loops)."""
        return MappingProxyType({i.name: i for i in self.inputs})

    @property
    def model_dir(self) -> Path:
        return self.base_dir / self.model.name


class _Problems(list):
    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


MAX_EXPERIMENT_NAME_LENGTH = 500  # mlflow.utils.validation
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


def build_spec(cfg: Mapping[str, Any], plugins: Plugins, *, cwd: Path | None = None) -> ExportSpec:
    """Validate a composed config (a plain mapping) into an ExportSpec, or raise ConfigError."""
    cwd = Path(cwd or os.getcwd())
    problems = _Problems()
    model = _model(cfg.get("model") or {}, plugins, cwd, problems)
    inputs = _inputs(cfg.get("inputs") or {}, plugins, problems)
    naming = dict(cfg.get("naming") or {})
    policy_name = naming.get("policy", "identity")
    if policy_name not in plugins.naming_policies:
        problems.append(plugins.naming_policies.unknown(policy_name, "naming.policy"))
    signatures = _signatures(cfg.get("signatures") or {}, inputs, model, naming, problems)
    if problems:
        raise ConfigError(problems)

    signatures = tuple(_with_keys(s, inputs, plugins, policy_name, problems) for s in signatures)
    for signature in signatures:
        problems += plugins.validate_signature(signature)

    export = cfg.get("export") or {}
    base_dir = Path(os.path.expanduser(str(export.get("base_dir") or "outputs/exports")))
    base_dir = base_dir if base_dir.is_absolute() else cwd / base_dir
    version = export.get("version")
    if version is not None:
        problems.check(
            isinstance(version, int) and not isinstance(version, bool) and 0 < version <= MAX_VERSION,
            f"export.version = {version!r} must be a positive integer up to {MAX_VERSION} (TF Serving reads "
            "versions as int64), or null for the next free version.",
        )
    summary_dir = export.get("summary_dir")
    mlflow_cfg = cfg.get("mlflow") or {}
    tracking_uri = mlflow_cfg.get("tracking_uri")
    if tracking_uri is not None:
        problem = tracking_uri_problem(tracking_uri, "mlflow.tracking_uri")
        problems.check(problem is None, problem or "")
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        problem = tracking_uri_problem(os.environ["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI (environment)")
        problems.check(problem is None, problem or "")
    http_timeout, http_retries = mlflow_cfg.get("http_timeout", 10), mlflow_cfg.get("http_retries", 2)
    operation_timeout = mlflow_cfg.get("operation_timeout", 300)
    problems.check(
        isinstance(operation_timeout, int) and operation_timeout >= 1,
        f"mlflow.operation_timeout = {operation_timeout!r} must be an integer >= 1 (seconds).",
    )
    problems.check(
        isinstance(http_timeout, int) and http_timeout >= 1,
        f"mlflow.http_timeout = {http_timeout!r} must be an integer >= 1 (seconds).",
    )
    problems.check(
        isinstance(http_retries, int) and http_retries >= 0,
        f"mlflow.http_retries = {http_retries!r} must be an integer >= 0.",
    )
    experiment_key = "mlflow.experiment_name"
    experiment_name = mlflow_cfg.get("experiment_name")
    if experiment_name is None and os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        experiment_key, experiment_name = (
            "MLFLOW_EXPERIMENT_NAME (environment)",
            os.environ["MLFLOW_EXPERIMENT_NAME"],
        )
    problems.check(
        experiment_name is None or (isinstance(experiment_name, str) and experiment_name.strip() != ""),
        f"{experiment_key} = {experiment_name!r} must be a non-empty name, or null for model.name.",
    )
    problems.check(
        not isinstance(experiment_name, str) or len(experiment_name) <= MAX_EXPERIMENT_NAME_LENGTH,
        f"{experiment_key} is {len(str(experiment_name))} characters long; MLflow takes at most "
        f"{MAX_EXPERIMENT_NAME_LENGTH}: use a shorter name.",
    )
    registered = mlflow_cfg.get("registered_model_name")
    problems.check(
        registered is None
        or (
            isinstance(registered, str)
            and registered.strip() == registered
            and re.match(r"^[\w.\-]+( [\w.\-]+)*$", registered) is not None
        ),
        f"mlflow.registered_model_name = {registered!r} must be a plain name (letters, digits, '_', '-', '.', "
        "inner spaces), or null not to register.",
    )
    modules = tuple((cfg.get("plugins") or {}).get("modules") or ())
    if problems:
        raise ConfigError(problems)
    return ExportSpec(
        model=model,
        inputs=tuple(inputs.values()),
        signatures=signatures,
        naming_policy=policy_name,
        base_dir=base_dir,
        version=version,
        dry_run=bool(export.get("dry_run", False)),
        summary_dir=Path(summary_dir) if summary_dir else None,
        warmup=bool(export.get("warmup", True)),
        allow_breaking=bool(export.get("allow_breaking", False)),
        mlflow=MlflowSpec(
            enabled=bool(mlflow_cfg.get("enabled", True)),
            tracking_uri=tracking_uri,
            experiment_name=experiment_name or model.name,
            registered_model_name=registered,
            allow_breaking=bool(mlflow_cfg.get("allow_breaking", False)),
            http_timeout=http_timeout,
            http_retries=http_retries,
            operation_timeout=operation_timeout,
        ),
        plugin_modules=modules,
    )


_MODEL_FIELDS = ("architecture", "name", "weights", "source", "task", "num_classes", "class_names", "params")


def _model(cfg: Mapping[str, Any], plugins: Plugins, cwd: Path, problems: _Problems) -> ModelSpec:
    architecture = cfg.get("architecture")
    plugin = ""
    if not architecture:
        problems.append("model.architecture is not set; choose a model, e.g. model=image_cnn.")
    elif architecture not in plugins.models:
        problems.append(plugins.models.unknown(architecture, "model.architecture"))
    else:
        plugin = plugins.models.get(architecture, "model.architecture").plugin
    name = cfg.get("name") or architecture or "model"
    problems.check(
        not (isinstance(name, str) and name.isdigit()),
        f"model.name = {name!r} is all digits: TF Serving reads an all-digit directory as a version, so a "
        f"model directory must not look like one; use a name with a letter, e.g. 'model_{name}'.",
    )
    if not isinstance(name, str) or not MODEL_NAME_PATTERN.match(name) or name in (".", ".."):
        problems.append(
            f"model.name = {name!r} would leave export.base_dir or is not a plain directory name: "
            "use letters, digits, '.', '_' and '-' only, without '/', '..' or a leading '.'."
        )
    weights = cfg.get("weights")
    weights_path = None
    if weights:
        weights_path = Path(os.path.expanduser(str(weights)))
        weights_path = weights_path if weights_path.is_absolute() else cwd / weights_path
        if weights_path.is_dir():
            problems.append(
                f"model.weights = '{weights}' is a directory; give a weights file (.weights.h5 or .keras), or "
                "export a SavedModel directory as it is with model.source."
            )
        elif not weights_path.is_file():
            problems.append(
                f"model.weights = '{weights}' does not exist ({weights_path}); "
                "give the path of a Keras weights file (.weights.h5) or set model.weights=null."
            )
    task = cfg.get("task", "classification")
    problems.check(task in TASKS, f"model.task = {task!r} is not one of {', '.join(TASKS)}.")
    num_classes = cfg.get("num_classes", 10)
    problems.check(
        isinstance(num_classes, int) and num_classes >= 1,
        f"model.num_classes = {num_classes!r} must be a positive integer.",
    )
    problems.check(
        not (task == "classification" and num_classes == 1),
        "model.num_classes = 1 with model.task = classification: softmax over one class always answers 1.0. "
        "Give at least 2 classes, or use model.task=regression for a single score.",
    )
    class_names = cfg.get("class_names")
    if class_names is None:
        class_names = [str(i) for i in range(num_classes if isinstance(num_classes, int) else 0)]
    else:
        class_names = [str(c) for c in class_names]
        repeated = sorted({c for c in class_names if class_names.count(c) > 1})
        if repeated:
            problems.append(
                f"model.class_names repeats {', '.join(map(repr, repeated))}; a classify signature's `classes` "
                "names each class once: give distinct labels."
            )
        else:
            problems.check(
                len(class_names) == num_classes,
                f"model.class_names has {len(class_names)} labels but model.num_classes = {num_classes}; "
                "give one label per class.",
            )
    params = {k: v for k, v in cfg.items() if k not in _MODEL_FIELDS}
    own = cfg.get("params") or {}
    problems.check(
        isinstance(own, Mapping),
        f"model.params = {own!r} must be a mapping of hyperparameters, e.g. {{depth: 2, width: 64}}.",
    )
    if isinstance(own, Mapping):
        params.update(own)  # a plugin architecture's own settings: model_cfg.params["depth"]
    source_path = _source(cfg.get("source"), cwd, weights_path, problems)
    return ModelSpec(
        architecture=str(architecture),
        name=str(name),
        weights=weights_path,
        task=str(task),
        num_classes=num_classes if isinstance(num_classes, int) else 0,
        class_names=tuple(class_names),
        params=MappingProxyType(params),
        plugin=plugin,
        source=source_path,
    )


def _source(source: Any, cwd: Path, weights: Path | None, problems: _Problems) -> Path | None:
    """``model.source``: a trained ``.keras`` file or a SavedModel directory, exported as it is."""
    if not source:
        return None
    path = Path(os.path.expanduser(str(source)))
    path = path if path.is_absolute() else cwd / path
    if path.is_dir():
        ok = (path / "saved_model.pb").is_file()
        problems.check(
            ok,
            f"model.source = '{source}' is a directory without saved_model.pb; give a SavedModel directory "
            "or a .keras file.",
        )
    else:
        problems.check(
            path.is_file() and path.suffix == ".keras",
            f"model.source = '{source}' "
            + ("is not a .keras file" if path.exists() else f"does not exist ({path})")
            + "; give a model saved with model.save('x.keras') or a SavedModel directory.",
        )
    problems.check(
        weights is None,
        "model.source and model.weights are both set; a source model carries its own weights: drop model.weights.",
    )
    return path


INPUT_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        f.name: f.default_factory() if f.default_factory is not MISSING else f.default
        for f in fields(InputConf)
    }
)
"""Every input setting and its default: one home, the schema's InputConf."""


def _inputs(cfg: Mapping[str, Any], plugins: Plugins, problems: _Problems) -> dict[str, InputSpec]:
    if not cfg:
        problems.append("inputs is empty; declare at least one input, e.g. inputs=[image].")
    inputs: dict[str, InputSpec] = {}
    for name, icfg in cfg.items():
        path = f"inputs.{name}"
        icfg = icfg or {}
        if not isinstance(icfg, Mapping):
            problems.append(
                f"{path} = {icfg!r} must be a mapping such as {{modality: dense, shape: [null, 8]}}."
            )
            continue
        unknown = sorted(set(icfg) - set(INPUT_DEFAULTS))
        problems.check(
            not unknown,
            f"{path}: {', '.join(map(repr, unknown))} is not an input setting; the settings are "
            f"{', '.join(INPUT_DEFAULTS)}.",
        )
        icfg = {**INPUT_DEFAULTS, **icfg}
        problems.check(
            bool(NAME_PATTERN.match(str(name))),
            f"{path}: the input name {name!r} must match [A-Za-z][A-Za-z0-9_]* "
            "(it names a model input and a tf.Example feature); rename it.",
        )
        modality = icfg.get("modality", "dense")
        problems.check(
            modality in MODALITIES,
            f"{path}.modality = {modality!r} is not one of {', '.join(MODALITIES)}.",
        )
        dtype = icfg.get("dtype", "float32")
        problems.check(
            dtype in DTYPES,
            f"{path}.dtype = {dtype!r} is not a TensorFlow dtype sigforge knows; use one of {', '.join(DTYPES)}.",
        )
        shape = _shape(icfg.get("shape"), f"{path}.shape", problems)
        if dtype in ITEM_BYTES and shape and all(d is None or isinstance(d, int) for d in shape):
            size = ITEM_BYTES[dtype]
            for dim in shape[1:]:
                size *= dim or 1
            problems.check(
                size <= MAX_EXAMPLE_BYTES,
                f"{path}.shape = {shape_str(shape)}: one example of {dtype} is {size / 2**30:.1f} GiB, more than "
                f"sigforge accepts ({MAX_EXAMPLE_BYTES // 2**30} GiB; verification builds several). Check the "
                "dimensions, or use null for a free one.",
            )
        problems.check(
            not (modality == "image" and dtype in ("bool", "string")),
            f"{path}.dtype = {dtype!r}: an image input carries pixels (float32, uint8, ...), and the model takes "
            "the dtype after any preprocessors. For clients that send encoded images, keep a numeric dtype and "
            "add preprocess: [{name: decode_image}].",
        )
        key = icfg.get("key")
        if key is not None:
            problem = key_problem(key, f"{path}.key", argument=True)
            problems.check(problem is None, problem or "")
        vocabulary = icfg.get("vocabulary")
        if vocabulary is not None:
            vocabulary = tuple(str(v) for v in vocabulary)
            problems.check(
                dtype == "string" and len(vocabulary) > 0,
                f"{path}.vocabulary is set, so {path} is categorical: give it dtype string and "
                "at least one value.",
            )
        chain = icfg.get("preprocess") or []
        if modality == "tf_example" and not chain:
            chain = [{"name": TF_EXAMPLE_PREPROCESSOR, "feature": str(name)}]
        steps = tuple(_preprocess(chain, path, plugins, problems))
        inputs[str(name)] = InputSpec(
            name=str(name),
            modality=modality,
            dtype=dtype,
            shape=shape,
            key=key,
            preprocess=steps,
            vocabulary=vocabulary,
            length_input=icfg.get("length_input"),
        )
    for spec in inputs.values():
        if spec.length_input is None:
            continue
        other = inputs.get(spec.length_input)
        problems.check(
            other is not None
            and other.dtype in ("int32", "int64")
            and len(other.shape) == 1
            and len(spec.shape) >= 2,
            f"{spec.path}.length_input = {spec.length_input!r} must name a declared int32/int64 input of "
            f"shape [null] holding each example's length, and {spec.path} must have a time dimension.",
        )
    return inputs


def _shape(shape: Any, path: str, problems: _Problems) -> tuple[int | None, ...]:
    if not isinstance(shape, Sequence) or isinstance(shape, str) or len(shape) == 0:
        problems.append(
            f"{path} = {shape!r} must be a list of dimensions starting with the batch, e.g. [null, 28, 28, 1]."
        )
        return ()
    dims = tuple(shape)
    for i, dim in enumerate(dims):
        if dim is not None and not (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0):
            problems.append(f"{path}[{i}] = {dim!r} must be a positive integer or null (a free dimension).")
    if dims[0] is not None:
        problems.append(
            f"{path}[0] = {dims[0]!r}: the first dimension is the batch, which TF Serving varies; use null."
        )
    return dims


def _preprocess(steps: Any, path: str, plugins: Plugins, problems: _Problems) -> list[PreprocessStep]:
    out: list[PreprocessStep] = []
    for i, step in enumerate(steps):
        where = f"{path}.preprocess[{i}]"
        if isinstance(step, str):
            step = {"name": step}
        if not isinstance(step, Mapping) or "name" not in step:
            problems.append(f"{where} = {step!r} must be a mapping with a 'name', e.g. {{name: normalize}}.")
            continue
        name = step["name"]
        if name not in plugins.preprocessors:
            problems.append(plugins.preprocessors.unknown(name, f"{where}.name"))
            continue
        params = MappingProxyType({k: v for k, v in step.items() if k != "name"})
        out.append(PreprocessStep(name, params, plugins.preprocessors.get(name, where).plugin))
    return out


def _signatures(
    cfg: Mapping[str, Any],
    inputs: Mapping[str, InputSpec],
    model: ModelSpec,
    naming: Mapping[str, Any],
    problems: _Problems,
) -> list[SignatureSpec]:
    if not cfg:
        problems.append("signatures is empty; select some, e.g. signatures=predict.")
    out = []
    for name, scfg in cfg.items():
        path = f"signatures.{name}"
        scfg = scfg or {}
        problem = key_problem(name, f"{path} (the signature name)")
        problems.check(problem is None, problem or "")
        method = scfg.get("method", "predict")
        if not problems.check(
            method in METHOD_NAMES,
            f"{path}.method = {method!r} is not one of {', '.join(METHOD_NAMES)}.",
        ):
            continue
        names = scfg.get("inputs")
        names = list(inputs) if names is None else [str(n) for n in names]
        for n in names:
            problems.check(
                n in inputs,
                f"{path}.inputs names {n!r}, which is not a declared input (declared: {', '.join(inputs)}).",
            )
        missing = [n for n in inputs if n not in names]
        problems.check(
            not missing,
            f"{path}.inputs leaves out {', '.join(missing)}, which the model needs; "
            "list every input (or null for all).",
        )
        problems.check(len(set(names)) == len(names), f"{path}.inputs lists an input twice: {names}.")
        outputs = [str(o) for o in scfg.get("outputs") or []]
        problems.check(bool(outputs), f"{path}.outputs is empty; name at least one output, e.g. [scores].")
        repeated = sorted({o for o in outputs if outputs.count(o) > 1})
        problems.check(
            not repeated,
            f"{path}.outputs = {outputs} names {', '.join(repeated)} twice; a signature has each output key "
            "once: remove the repeat.",
        )
        for i, o in enumerate(outputs):
            problem = key_problem(o, f"{path}.outputs[{i}]")
            problems.check(problem is None, problem or "")
        if method == "classify":
            problems.check(
                model.task == "classification",
                f"{path}.method = classify needs a classification model, but model.task = {model.task!r}.",
            )
            problems.check(
                set(outputs) <= set(CLASSIFY_OUTPUTS),
                f"{path}.outputs = {outputs}: TF Serving's Classify API reads only 'classes' (string) and "
                "'scores' (float); use [classes, scores].",
            )
        if method == "regress":
            problems.check(
                model.task == "regression",
                f"{path}.method = regress needs a regression model (model.task=regression), "
                f"but model.task = {model.task!r}.",
            )
            problems.check(
                outputs == list(REGRESS_OUTPUTS),
                f"{path}.outputs = {outputs}: TF Serving's Regress API reads exactly one float output, "
                "'outputs'; use [outputs].",
            )
        if method in ("classify", "regress"):
            for n in names:
                spec = inputs.get(n)
                if spec is None:
                    continue
                problems.check(
                    spec.dtype in EXAMPLE_DTYPES and all(d is not None for d in spec.shape[1:]),
                    f"{path}.method = {method} parses {n!r} from a serialized tf.Example, which carries only "
                    f"{', '.join(EXAMPLE_DTYPES)} features of fixed shape; {spec.path} is {spec.dtype} "
                    f"{shape_str(spec.shape)}. Use a predict signature for it, or change its dtype/shape.",
                )
                problems.check(
                    not spec.preprocess,
                    f"{path}.method = {method} parses {n!r} from a tf.Example, so {spec.path}.preprocess must be "
                    "empty (the parsed feature is what the model takes).",
                )
        out.append(
            SignatureSpec(
                name=str(name),
                method=method,
                inputs=tuple(names),
                outputs=tuple(outputs),
                naming=MappingProxyType(dict(naming)),
            )
        )
    return out


def _with_keys(
    signature: SignatureSpec,
    inputs: Mapping[str, InputSpec],
    plugins: Plugins,
    policy_name: str,
    problems: _Problems,
) -> SignatureSpec:
    """Resolve each input's client key: an explicit ``inputs.<name>.key``, else the naming policy."""
    if signature.takes_examples:
        return signature
    policy = plugins.naming_policies.get(policy_name, "naming.policy")
    keys: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in signature.inputs:
        spec = inputs[name]
        if spec.key is not None:
            key, where = spec.key, f"{spec.path}.key"
        else:
            key = call_hook(policy.plugin, f"naming policy '{policy_name}'", policy.value, spec, signature)
            where = f"naming policy '{policy_name}' (plugin '{policy.plugin}') for {spec.path} in signatures.{signature.name}"
            if not isinstance(key, str):
                raise PluginError(
                    f"{where} returned {key!r} ({type(key).__name__}); a policy must return a str."
                )
            if key == spec.name:  # the policy kept the name: a bad key is the config's to fix
                problem = key_problem(
                    key, f"{spec.path} (the key under naming policy '{policy_name}')", argument=True
                )
                if problem:
                    problems.append(f"{problem} Set {spec.path}.key or rename the input.")
                    continue
            problem = key_problem(key, where, argument=True)
            if problem:
                raise PluginError(problem)
        # TensorFlow lower-cases argument names inside a signature function, so 'Image' and 'image'
        # collide there (saving fails); keys must differ in more than case.
        other = owner.get(key.lower())
        if other is not None:
            same = keys[other] == key
            problems.append(
                f"signatures.{signature.name}: inputs {other!r} and {name!r} both get the key {key!r}; "
                f"set inputs.{name}.key or choose another naming.policy."
                if same
                else f"signatures.{signature.name}: inputs {other!r} and {name!r} get the keys {keys[other]!r} and "
                f"{key!r}, which differ only in case: TensorFlow lower-cases argument names and cannot save "
                f"both; set inputs.{name}.key to a key that differs in more than case."
            )
        owner[key.lower()] = name
        keys[name] = key
    return replace(signature, keys=MappingProxyType(keys))


def shape_str(shape: Sequence[int | None]) -> str:
    """``[None, 28, 28, 1]``: how contracts print shapes."""
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"
