"""Structured-config schemas: the type of every config key, checked by Hydra at composition.

A wrong type (``inputs.image.shape=[a]``, ``export.dry_run=maybe``) fails while composing, with the
key's full path, before sigforge's own validation (sigforge/config/validate.py) checks the values. This is
the one home of every default: ``with_defaults`` gives any config, partial or whole, the values
declared here.
Only Hydra and OmegaConf are imported here: this module is on the fast path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from omegaconf import MISSING


@dataclass
class ModelConf:
    architecture: str = MISSING  # a registered model builder: image_cnn, multi_input, dnn_classifier...
    name: str | None = None  # directory under export.base_dir; default: the architecture
    weights: str | None = (
        None  # Keras weights (.weights.h5 or a whole .keras file) loaded into the architecture
    )
    source: str | None = (
        None  # a trained model (.keras file or SavedModel directory) exported instead of building one
    )
    task: str = "classification"  # classification (output `scores`) or regression (output `outputs`)
    num_classes: int = 10
    class_names: list[str] | None = None  # labels for a classify signature's `classes`; default "0".."n-1"
    # a tf.estimator canned head's outputs, computed in the serving graph from the model's `logits`:
    # binary_classifier, multi_class_classifier or regressor; null: the model's own outputs
    head: str | None = None
    hidden_units: list[int] = field(default_factory=lambda: [32])
    filters: int = 8
    vocab_size: int = 1000
    embedding_dim: int = 16
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # a plugin architecture's own hyperparameters


@dataclass
class InputConf:
    modality: str = "dense"  # image, text, sequence, sequence_length, tabular, dense, tf_example
    dtype: str = "float32"
    shape: list[int | None] = field(default_factory=lambda: [None])  # null = free dimension; first = batch
    key: str | None = None  # the key clients send; default: what naming.policy makes of the name
    preprocess: list[Any] = field(default_factory=list)  # [{name: decode_image, ...}, ...]
    vocabulary: list[str] | None = None  # categorical tabular feature: its values
    length_input: str | None = None  # sequence: the input holding each example's length
    # how a signature that takes serialized tf.Examples parses it: fixed (FixedLenFeature), varlen
    # (VarLenFeature) or ragged (RaggedFeature); varlen/ragged reach the model densified, shape [null, null]
    feature_kind: str = "fixed"
    default: Any = None  # a fixed feature's value(s) when an Example lacks it; null = required


@dataclass
class SignatureConf:
    method: str = "predict"  # predict, classify or regress
    inputs: list[str] | None = None  # input names; null = every input
    outputs: list[str] = field(default_factory=lambda: ["scores"])
    # predict only: the key under which clients send serialized tf.Examples ([None] string); every
    # input is then parsed from it as a feature named after the input. null: one key per input
    examples: str | None = None
    # output key -> the model (or head) output it returns, e.g. {output_0: scores}; unlisted keys
    # return the output of their own name
    output_sources: dict[str, str] = field(default_factory=dict)


@dataclass
class NamingConf:
    policy: str = "identity"
    prefix: str = "input_"  # used by `prefixed`
    template: str = "{modality}_{name}"  # used by `template`


@dataclass
class ExportConf:
    base_dir: str = "outputs/exports"  # relative to the directory the command runs in
    version: int | None = None  # null = the next free integer
    dry_run: bool = False  # print the contract, import no TensorFlow, write nothing
    summary_dir: str | None = None  # where signature_summary.{json,md} go; null = Hydra's run dir
    allow_breaking: bool = False  # publish even if the contract breaks the newest version's clients
    warmup: bool = True  # write assets.extra/tf_serving_warmup_requests (one request per signature)
    # false: an export byte-identical to the newest version (graph, variables, assets) publishes
    # nothing and says which version it equals; TF Serving would roll an identical copy out as new
    publish_identical: bool = False
    # runtimes besides TF Serving that verification also converts the export to and runs, comparing
    # answers (a signature they cannot run is refused): tflite. [] = only report (other_runtimes).
    targets: list[str] = field(default_factory=list)


@dataclass
class MlflowConf:
    enabled: bool = True  # false: no run, and MLflow is not imported
    tracking_uri: str | None = None  # null = sqlite:///<cwd>/outputs/mlflow.db
    experiment_name: str | None = None  # null = model.name
    registered_model_name: str | None = None  # register the logged model under this name
    allow_breaking: bool = False  # register even if the contract breaks the latest registered version's
    http_timeout: int = 10  # seconds per request to a tracking server
    http_retries: int = 2  # retries per request; bounds what an unreachable server costs
    operation_timeout: int = (
        300  # seconds for any one MLflow operation in total (start, registry check, logging)
    )


@dataclass
class PluginsConf:
    modules: list[str] = field(default_factory=list)  # extra plugin modules, e.g. [team_pkg.plugin]


@dataclass
class SigforgeConfig:
    model: ModelConf = field(default_factory=ModelConf)
    # name -> the fields of InputConf. Untyped on purpose: OmegaConf cannot add a typed dict value from
    # an override, and a whole input must be declarable on the command line
    # ('+inputs.features={modality: dense, shape: [null, 8]}'); sigforge.config.inputs checks every
    # key against InputConf and takes InputConf's defaults.
    inputs: dict[str, Any] = field(default_factory=dict)
    # name -> the fields of SignatureConf. Untyped for the same reason as inputs
    # ('+signatures.regression={method: regress, outputs: [outputs]}', '+signatures.r.method=regress');
    # with_defaults checks every signature against SignatureConf and takes its defaults.
    signatures: dict[str, Any] = field(default_factory=dict)
    naming: NamingConf = field(default_factory=NamingConf)
    export: ExportConf = field(default_factory=ExportConf)
    mlflow: MlflowConf = field(default_factory=MlflowConf)
    plugins: PluginsConf = field(default_factory=PluginsConf)


def with_defaults(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with every key the schema defines, typed: a partial mapping (a library caller's, a
    test's) gets the schema's defaults, so that no later stage writes a default of its own.

    ``model.architecture`` comes back None when unset; a value of the wrong type raises ConfigError
    naming its key."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sigforge.errors import ConfigError

    known = {f.name for f in fields(SigforgeConfig)}
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(SigforgeConfig), {k: v for k, v in cfg.items() if k in known}
        )
        container: dict[str, Any] = OmegaConf.to_container(merged, resolve=True)  # type: ignore[assignment]
        container["signatures"] = {
            name: _entry(SignatureConf, f"signatures.{name}", value)
            for name, value in container["signatures"].items()
        }
        if OmegaConf.is_missing(merged.model, "architecture"):
            container["model"]["architecture"] = None
        return container
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "the config"
        reason = str(err).splitlines()[0]
        raise ConfigError(
            [f"{key}: {reason}; give a value of the type sigforge/config/schema.py declares."]
        ) from None


def _entry(node: type, path: str, value: Any) -> Any:
    """One entry of an open mapping (``signatures.<name>``) typed by ``node``, with its defaults; a
    wrong key or type raises ConfigError naming ``path.<key>``."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sigforge.errors import ConfigError

    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            [f"{path} = {value!r} must be a mapping of {node.__name__}'s settings, e.g. {{method: predict}}."]
        )
    try:
        return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(node), value), resolve=True)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None)
        reason = str(err).splitlines()[0].rstrip(".")
        for name in value if not key else ():  # a mapping merged over a list names no key: find it
            try:
                OmegaConf.merge(OmegaConf.structured(node), {name: value[name]})
            except OmegaConfBaseException:
                key = name
                break
        raise ConfigError(
            [
                f"{path}{'.' + key if key else ''}: {reason}; give a value of the type sigforge/config/schema.py declares."
            ]
        ) from None


SCHEMA_NAME = "sigforge_schema"
INPUT_SCHEMA_NAME = "sigforge_input"
SIGNATURE_SCHEMA_NAME = "sigforge_signature"


def register_schema() -> None:
    """Put the schema in Hydra's ConfigStore; ``conf/config.yaml`` lists it first in its defaults."""
    from hydra.core.config_store import ConfigStore

    from sigforge.config import yaml_guard

    yaml_guard.install()  # every config file Hydra reads from here on refuses alias bombs
    ConfigStore.instance().store(name=SCHEMA_NAME, node=SigforgeConfig)
    # Each input in conf/inputs/ starts from this (defaults: [/sigforge_input@<name>]): its settings
    # typed and overridable by name (inputs.image.key=x), while inputs itself stays an open mapping.
    ConfigStore.instance().store(name=INPUT_SCHEMA_NAME, node=InputConf)
    # The same for each signature in conf/signatures/ (defaults: [/sigforge_signature@<name>]).
    ConfigStore.instance().store(name=SIGNATURE_SCHEMA_NAME, node=SignatureConf)
