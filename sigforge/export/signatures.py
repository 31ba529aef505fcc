"""Signature functions: flat, named TensorSpecs in; preprocessors, the model and derived outputs traced.

Each signature is a ``tf.function`` over positional tensors whose ``TensorSpec`` names are the client
keys, never a dict argument (a dict loses its keys in the signature). Classify and regress
signatures take serialized tf.Examples under ``inputs`` and parse them with a spec built from the
declared features.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import tensorflow as tf

from sigforge.contract.heads import LOGITS, logits_dimension
from sigforge.contract.read import TensorContract
from sigforge.errors import REMOVAL_VERSION, ExportError, PluginError, SigforgeDeprecationWarning
from sigforge.export.example_parsing import dense_feature, parse_spec
from sigforge.export.heads import head_tensors
from sigforge.plugins.hookspecs import Preprocessor, PreprocessorWithExample
from sigforge.plugins.manager import call_hook
from sigforge.rules import shape_text
from sigforge.spec import ExportSpec, InputSpec, SignatureSpec


@dataclass
class ServingPlan:
    """What gets saved: a module tracking the model, and one concrete function per signature."""

    module: tf.Module
    functions: dict[str, Any]
    client_specs: dict[str, dict[str, TensorContract]]  # signature -> key -> what the client sends
    # input name -> callable(batch) giving real client data, from its first preprocessor
    examples: dict[str, Any]
    # signature -> the same Python function, run eagerly: verification's in-memory reference
    eager: dict[str, Any]


class _Chain:
    """An input's preprocessors, composed: client tensor in, model tensor out.

    Each step is handed the ``tf.TensorSpec`` it produces for (``__call__(tensor, spec)``,
    ``example_input(batch, spec)``) when it takes a ``spec`` argument, so no step needs to remember
    what its ``serving_spec`` saw. A step whose ``serving_spec`` stores state instead (0.1's form)
    still works, with a deprecation warning.
    """

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.steps: list[tuple[str, str, Any]] = [self._make(step) for step in spec.preprocess]
        self.produces: list[Any] = [None] * len(self.steps)  # the spec each step's output must have
        client = tf.TensorSpec(spec.shape, spec.dtype)
        for i in reversed(range(len(self.steps))):
            self.produces[i] = client
            client = self._serving_spec(*self.steps[i], client)
        self.client_spec = client

    def _make(self, step: Any) -> tuple[str, str, Any]:
        factory = step.provider
        obj = call_hook(factory.plugin, f"preprocessor '{step.name}' (factory)", factory.value, **step.params)
        if not isinstance(obj, Preprocessor):
            raise PluginError(
                f"plugin '{factory.plugin}': preprocessor '{step.name}' (factory) returned "
                f"{type(obj).__name__} for {self.spec.path}; it must return an object with serving_spec(spec) "
                "and __call__(tensor) (sigforge.plugins.hookspecs.Preprocessor)."
            )
        return step.name, factory.plugin, obj

    def _serving_spec(self, name: str, plugin: str, obj: Any, produces: Any) -> Any:
        before = _attributes(obj)
        client = call_hook(plugin, f"preprocessor '{name}'.serving_spec", obj.serving_spec, produces)
        if not isinstance(client, tf.TensorSpec):
            raise PluginError(
                f"plugin '{plugin}': preprocessor '{name}'.serving_spec returned {type(client).__name__} "
                f"for {self.spec.path}; it must return a tf.TensorSpec."
            )
        if before is not None and _attributes(obj) != before:
            warnings.warn(
                f"plugin '{plugin}': preprocessor '{name}'.serving_spec stores state on the object for "
                "__call__ or example_input to read, which only works when sigforge calls them in that order "
                f"(deprecated, removed in sigforge {REMOVAL_VERSION}); make serving_spec answer from its argument and "
                "take the spec as an argument instead: __call__(self, tensor, spec), example_input(self, batch, spec).",
                SigforgeDeprecationWarning,
                stacklevel=2,
            )
        return client

    def example(self) -> Any:
        """``callable(batch)`` giving real client data, from the first step's ``example_input``, or None."""
        if not self.steps or not isinstance(self.steps[0][2], PreprocessorWithExample):
            return None
        return _with_spec(self.steps[0][2].example_input, self.produces[0])

    def __call__(self, tensor: tf.Tensor) -> tf.Tensor:
        for (name, plugin, obj), produces in zip(self.steps, self.produces, strict=True):
            tensor = call_hook(plugin, f"preprocessor '{name}'", _with_spec(obj, produces), tensor)
            if not tf.is_tensor(tensor):
                raise PluginError(
                    f"plugin '{plugin}': preprocessor '{name}' on {self.spec.path} returned "
                    f"{type(tensor).__name__}; __call__(tensor) must return a tensor (TensorFlow ops only)."
                )
        if self.steps:
            want = tf.TensorSpec(self.spec.shape, self.spec.dtype)
            if tensor.dtype != want.dtype or not want.shape.is_compatible_with(tensor.shape):
                name, plugin, _ = self.steps[-1]
                raise PluginError(
                    f"plugin '{plugin}': preprocessor '{name}' on {self.spec.path} returns "
                    f"{tensor.dtype.name} {tensor.shape}, but the model takes {self.spec.dtype} "
                    f"{shape_text(self.spec.shape)}; fix the preprocessor's parameters or {self.spec.path}."
                )
        return tensor


def _attributes(obj: Any) -> dict[str, int] | None:
    """What an object holds, by identity (None for objects without a ``__dict__``)."""
    try:
        return {key: id(value) for key, value in vars(obj).items()}
    except TypeError:
        return None


def _with_spec(method: Any, spec: Any) -> Any:
    """``method`` with ``spec=spec`` bound when it takes a ``spec`` argument, else as it is."""
    try:
        takes = "spec" in inspect.signature(method).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to bind
        takes = False
    return functools.partial(method, spec=spec) if takes else method


def build_serving_plan(model: Any, spec: ExportSpec) -> ServingPlan:
    """Every signature traced as a concrete function over the model and its preprocessors, in one
    ``tf.Module`` that tracks what the SavedModel must hold."""
    module = tf.Module()
    _track_for_serving(module, model)
    chains = {i.name: _Chain(i) for i in spec.inputs}
    # Preprocessors are tf.Modules: tracking them saves what they own (lookup tables, vocabulary assets).
    module.preprocessors = [obj for chain in chains.values() for _, _, obj in chain.steps]
    select = partial(_select_outputs, spec=spec, labels=list(spec.model.class_names))
    functions: dict[str, Any] = {}
    eager: dict[str, Any] = {}
    client_specs: dict[str, dict[str, TensorContract]] = {}
    for sig in spec.signatures:
        if sig.takes_examples:
            fn, specs = _example_function(sig, spec, model, select)
        else:
            fn, specs = _predict_function(sig, chains, model, select)
        client_specs[sig.name] = {
            s.name: TensorContract(s.dtype.name, tuple(s.shape.as_list())) for s in specs
        }
        functions[sig.name] = _concrete(sig, fn, specs)
        eager[sig.name] = fn
    add_keras_endpoints(module, functions)
    examples = {name: example for name, chain in chains.items() if (example := chain.example()) is not None}
    return ServingPlan(module, functions, client_specs, examples, eager)


KERAS_ENDPOINT = "serve"  # keras.layers.TFSMLayer's default call_endpoint


def add_keras_endpoints(module: tf.Module, functions: Mapping[str, Any]) -> None:
    """Endpoints ``keras.layers.TFSMLayer`` can call: it calls one with a single positional
    argument, which a signature function refuses when it has more than one key. ``serve`` (its
    default) runs ``serving_default`` (else the first signature), and each signature whose name is
    a free attribute of the module gets an endpoint of its own name, which TFSMLayer prefers to the
    signature. A one-key signature's endpoint takes the tensor, a wider one a dict by client key,
    as Keras's own ``model.export`` does. Each wraps the traced signature (a call, not a re-trace),
    and TF Serving, which reads only the signature_defs, never sees them."""
    default = "serving_default" if "serving_default" in functions else next(iter(functions))
    endpoints = {KERAS_ENDPOINT: functions[default]}
    for name, concrete in functions.items():
        if (
            name.isidentifier()
            and not name.startswith("_")
            and not hasattr(module, name)
            and name != KERAS_ENDPOINT
        ):
            endpoints[name] = concrete
    for attribute, concrete in endpoints.items():
        setattr(module, attribute, _endpoint(concrete))


def _endpoint(concrete: Any) -> Any:
    """A tf.function over ``concrete``, whose positional arguments are TensorSpecs named by key."""
    specs = list(concrete.structured_input_signature[0])
    if len(specs) == 1:
        endpoint = tf.function(lambda x: concrete(x), input_signature=[specs[0]])
    else:
        by_key = {spec.name: spec for spec in specs}
        endpoint = tf.function(
            lambda inputs: concrete(*(inputs[spec.name] for spec in specs)), input_signature=[by_key]
        )
    endpoint.get_concrete_function()  # traced now, so that a failure names the export stage
    return endpoint


def _concrete(sig: SignatureSpec, fn: Any, specs: Any) -> Any:
    """``fn`` traced for the signature's input specs; a failure names the signature and its inputs."""
    try:
        return tf.function(fn, input_signature=specs).get_concrete_function()
    except (ExportError, PluginError) as err:
        raise type(err)(traced_error_message(err)) from err
    except Exception as err:
        raise ExportError(
            f"signatures.{sig.name}: tracing the signature failed: {traced_error_message(err)}. "
            f"Check the dtypes and shapes of its inputs ({', '.join(f'inputs.{n}' for n in sig.inputs)})."
        ) from err


def _select_outputs(
    sig: SignatureSpec, outputs: Any, *, spec: ExportSpec, labels: list[str]
) -> dict[str, tf.Tensor]:
    """The signature's outputs from the model's (or, with ``model.head``, from the head computed
    over the model's ``logits``), each under its key; ``classes`` and regress ``outputs`` are derived."""
    if not isinstance(outputs, Mapping):
        raise ExportError(
            f"model.architecture = '{spec.model.architecture}' returns a single tensor; sigforge needs a "
            "dict of named outputs (keras.Model(..., outputs={'scores': ...}))."
        )
    if spec.model.head is not None:
        outputs = _head_outputs(sig, outputs, spec, labels)
    selected = {}
    for key in sig.outputs:
        source = sig.source(key)
        if spec.model.head is not None:
            selected[key] = outputs[source]
        elif key == "outputs" and sig.method == "regress" and source in outputs:
            # TF Serving's Regress API reads one value per example: [batch].
            selected[key] = tf.reshape(outputs[source], [-1])
        elif source in outputs:
            selected[key] = outputs[source]
        elif source == "classes" and "scores" in outputs:
            batch = tf.shape(outputs["scores"])[0]
            selected[key] = tf.tile(tf.constant([labels], dtype=tf.string), [batch, 1])
        else:
            produced = sorted(set(outputs) | ({"classes"} if "scores" in outputs else set()))
            named = f"'{key}'" if source == key else f"'{key}' (output_sources: '{source}')"
            raise ExportError(
                f"signatures.{sig.name}.outputs names {named}, which model '{spec.model.architecture}' "
                f"does not produce (it produces: {', '.join(produced)}); name one of those."
            )
    return selected


def _head_outputs(sig: SignatureSpec, outputs: Mapping[str, Any], spec: ExportSpec, labels: list[str]) -> Any:
    """The head's outputs for ``sig``'s method, computed from the model's ``logits``."""
    model = spec.model
    assert model.head is not None
    if LOGITS not in outputs:
        raise ExportError(
            f"model.head = {model.head} computes the estimator's outputs from the model's '{LOGITS}' "
            f"output, but model '{model.architecture}' returns {', '.join(sorted(outputs))}; return "
            f"{{'{LOGITS}': <float [batch, {logits_dimension(model.head, model.num_classes)}] before any "
            "sigmoid/softmax>} (docs/config.md, model.head), or set model.head=null."
        )
    try:
        return head_tensors(model.head, sig.method, outputs[LOGITS], labels, model.num_classes)
    except ValueError as err:
        raise ExportError(f"signatures.{sig.name}: {err}.") from err


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def traced_error_message(err: BaseException) -> str:
    """The error raised while tracing, without the frames autograph adds ("in user code: File ...")
    and without Keras's colour codes and argument dumps: what went wrong, in a line or two."""
    text = _ANSI.sub("", str(err))
    lines = [line.rstrip() for line in text.splitlines()]
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith('File "')]
    if "in user code:" in text and frames:
        lines = lines[frames[-1] + 2 :]  # after the last frame and its source line
    kept = []
    for line in (line.strip() for line in lines):
        if not line or line.startswith(("Arguments received by", "•")):
            continue
        kept.append(line)
    message = " ".join(kept[:2]) if kept else type(err).__name__
    for name in (type(err).__name__, "PluginError", "ExportError"):
        message = message.removeprefix(f"{name}: ")
    return message if isinstance(err, (ExportError, PluginError)) else f"{type(err).__name__}: {message}"


def _track_for_serving(module: tf.Module, model: Any) -> None:
    """Track what the signatures capture (variables, lookup tables, assets), not the Keras object graph.

    ``tf.saved_model.save`` walks every attribute of every tracked object; a Keras model's graph of
    layers, ops and nodes makes that walk most of the save time, and TF Serving uses none of it.
    Like Keras's own ExportArchive, sigforge saves the variables plus the TF resources layers own
    (e.g. StringLookup's table), which is all the serving functions need.
    """
    restored = getattr(model, "trackable", None)  # model.source: a restored SavedModel, saved whole
    if restored is not None:
        module.source_model = restored
        return
    model = getattr(model, "keras_model", model)  # model.source: a .keras file
    # A Keras 3 variable is a wrapper: saving it exports a *copy* (``tf.Variable(object_map[value])``,
    # a new resource name) that the MetaGraph's restore op fills, while the traced signatures read the
    # original. tf.saved_model.load hides that (it restores through the object graph); TF Serving's
    # session loader does not ("Could not find variable scores/bias"). So track the tf.Variable itself.
    module.model_variables = [getattr(v, "value", v) for v in model.variables]
    # Lookup tables and files, wherever the model's object graph holds them (TensorFlow's public
    # view of a trackable's descendants: a StringLookup's table sits one level below its layer).
    owned = (tf.saved_model.experimental.TrackableResource, tf.saved_model.Asset)
    found = {id(t): t for t in tf.train.TrackableView(model).descendants() if isinstance(t, owned)}
    module.model_resources = list(found.values())


def _predict_function(sig: SignatureSpec, chains: Mapping[str, _Chain], model: Any, select: Any) -> Any:
    names = list(sig.inputs)
    specs = [
        tf.TensorSpec(chains[n].client_spec.shape, chains[n].client_spec.dtype, name=sig.keys[n])
        for n in names
    ]

    def serve(*tensors: tf.Tensor) -> dict[str, tf.Tensor]:
        features = {n: chains[n](t) for n, t in zip(names, tensors, strict=True)}
        return select(sig, model(features, training=False))

    return serve, specs


def _example_function(sig: SignatureSpec, spec: ExportSpec, model: Any, select: Any) -> Any:
    by_name = spec.input
    feature_spec = {n: parse_spec(by_name[n]) for n in sig.inputs}
    specs = [tf.TensorSpec([None], tf.string, name=sig.example_key)]

    def serve(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, feature_spec)
        features = {n: dense_feature(parsed[n]) for n in sig.inputs}
        return select(sig, model(features, training=False))

    return serve, specs
