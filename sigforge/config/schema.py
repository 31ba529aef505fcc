"""Structured-config schemas: the type of every config key, checked by Hydra at composition.

A wrong type (``inputs.image.shape=[a]``, ``export.dry_run=maybe``) fails while composing, with the
key's full path, before sigforge's own validation (sigforge/validate.py) checks the values. This is
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


@dataclass
class SignatureConf:
    method: str = "predict"  # predict, classify or regress
    inputs: list[str] | None = None  # input names; null = every input
    outputs: list[str] = field(default_factory=lambda: ["scores"])


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
    signatures: dict[str, SignatureConf] = field(default_factory=dict)
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
        if OmegaConf.is_missing(merged.model, "architecture"):
            container["model"]["architecture"] = None
        return container
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "the config"
        reason = str(err).splitlines()[0]
        raise ConfigError(
            [f"{key}: {reason}; give a value of the type sigforge/schema.py declares."]
        ) from None


SCHEMA_NAME = "sigforge_schema"
INPUT_SCHEMA_NAME = "sigforge_input"


def register_schema() -> None:
    """Put the schema in Hydra's ConfigStore; ``conf/config.yaml`` lists it first in its defaults."""
    from hydra.core.config_store import ConfigStore

    from sigforge.config import yaml_guard

    yaml_guard.install()  # every config file Hydra reads from here on refuses alias bombs
    ConfigStore.instance().store(name=SCHEMA_NAME, node=SigforgeConfig)
    # Each input in conf/inputs/ starts from this (defaults: [/sigforge_input@<name>]): its settings
    # typed and overridable by name (inputs.image.key=x), while inputs itself stays an open mapping.
    ConfigStore.instance().store(name=INPUT_SCHEMA_NAME, node=InputConf)
