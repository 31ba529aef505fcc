"""The validated export as plain data: what every stage after the config reads, and nothing from Hydra.

``sigforge.config.validate.build_spec`` makes an ``ExportSpec`` from a composed config. Registry entries
(the model builder, each preprocessor) are resolved there once and travel in the spec, so later
stages never look a name up again. No TensorFlow and no pluggy here: the contract layer reads these.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sigforge.errors import REMOVAL_VERSION, SigforgeDeprecationWarning
from sigforge.rules import EXAMPLE_INPUT_KEY, EXAMPLE_METHODS, METHOD_NAMES


@dataclass(frozen=True)
class Registered:
    """One registered callable (naming policy, preprocessor factory, model builder) and its plugin."""

    name: str
    value: Callable[..., Any]
    plugin: str


@dataclass(frozen=True)
class PreprocessStep:
    """One preprocessor in an input's chain: its registered name, its parameters, and what provides it."""

    name: str
    params: Mapping[str, Any]
    provider: Registered


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
    # How a signature that takes serialized tf.Examples parses it: fixed, varlen or ragged; a fixed
    # feature's default values (flattened, one per value of shape[1:]); None: required.
    feature_kind: str = "fixed"
    default: tuple[Any, ...] | None = None

    @property
    def path(self) -> str:
        return f"inputs.{self.name}"


@dataclass(frozen=True)
class SignatureSpec:
    """One signature: its method, the inputs it takes, its outputs and every client key.

    ``keys`` maps input name -> client key for predict signatures. Classify and regress signatures
    take one key, ``inputs`` (serialized tf.Example), whose features are named after the inputs; so
    does a predict signature with ``examples`` set, under that key. ``output_sources`` maps an output
    key to the model (or head) output it returns, where the two differ.
    ``naming`` is the naming config, kept for naming policies written before they received their
    parameters as keyword arguments (deprecated).
    """

    name: str
    method: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    naming: Mapping[str, Any] = field(default_factory=dict)
    examples: str | None = None
    output_sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    @property
    def takes_examples(self) -> bool:
        """Whether clients send serialized tf.Examples, every input parsed from one key."""
        return self.method in EXAMPLE_METHODS or self.examples is not None

    @property
    def example_key(self) -> str | None:
        """The key that carries serialized tf.Examples (None: one key per input)."""
        if self.method in EXAMPLE_METHODS:
            return EXAMPLE_INPUT_KEY
        return self.examples

    @property
    def client_keys(self) -> tuple[str, ...]:
        if self.example_key is not None:
            return (self.example_key,)
        return tuple(self.keys[name] for name in self.inputs)

    def source(self, key: str) -> str:
        """The model (or head) output that output ``key`` returns."""
        return self.output_sources.get(key, key)


@dataclass(frozen=True)
class ModelSpec:
    """What to build: a registered architecture (``builder``) and its hyperparameters (``params``),
    or a trained ``source`` model exported as it is (then ``builder`` is None)."""

    architecture: str
    name: str
    weights: Path | None
    task: str
    num_classes: int
    class_names: tuple[str, ...]
    params: Mapping[str, Any]
    builder: Registered | None = None
    source: Path | None = None
    head: str | None = None  # a tf.estimator canned head computed from the model's logits

    def __getattr__(self, item: str) -> Any:
        # Deprecated: builders once read hyperparameters as attributes (model_cfg.hidden_units).
        params = object.__getattribute__(self, "params")
        if item in params:
            warnings.warn(
                f"model_cfg.{item} is deprecated and is removed in sigforge {REMOVAL_VERSION}; a model builder gets its "
                f"hyperparameters as keyword arguments: def builder(model, inputs, *, {item}, **params).",
                SigforgeDeprecationWarning,
                stacklevel=2,
            )
            return params[item]
        raise AttributeError(item)


@dataclass(frozen=True)
class MlflowSpec:
    enabled: bool
    tracking_uri: str | None
    experiment_name: str
    registered_model_name: str | None
    allow_breaking: bool
    http_timeout: int
    http_retries: int
    operation_timeout: int


@dataclass(frozen=True)
class ExportSpec:
    """The validated export: everything later stages need, and nothing from Hydra."""

    model: ModelSpec
    inputs: tuple[InputSpec, ...]
    signatures: tuple[SignatureSpec, ...]
    base_dir: Path
    version: int | None
    dry_run: bool
    summary_dir: Path | None
    mlflow: MlflowSpec
    warmup: bool
    allow_breaking: bool
    publish_identical: bool = False
    targets: tuple[str, ...] = ()  # export.targets: runtimes verification converts to and runs

    @property
    def model_dir(self) -> Path:
        """``<export.base_dir>/<model.name>``: the directory of numbered versions TF Serving watches."""
        return self.base_dir / self.model.name

    @cached_property
    def input(self) -> Mapping[str, InputSpec]:
        """Inputs by name (computed once: stages look inputs up in loops)."""
        return MappingProxyType({i.name: i for i in self.inputs})
