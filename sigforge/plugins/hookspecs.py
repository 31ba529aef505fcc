"""Every hook a sigforge plugin can implement, grouped by the phase in which it runs.

This module is the public plugin API. A plugin is any module or object with functions marked
``@sigforge.hookimpl`` whose names match these specifications; it is found through the ``sigforge``
entry-point group of an installed package, or named in config as ``plugins.modules=[pkg.module]``.
The built-in naming policies, models and checks are plugins of exactly this kind.

Every hook is called through pluggy's own caller, with its documented semantics:

- **order**: ``@hookimpl(tryfirst=True)`` implementations first, ``trylast=True`` last, the others
  in between, the most recently registered first (built-ins are registered first, then installed
  entry points, then ``plugins.modules`` in the order listed);
- **hook wrappers**: ``@hookimpl(wrapper=True)`` (a generator: ``result = yield``, then return
  the result, changed or not) and the older ``@hookimpl(hookwrapper=True)`` (``outcome = yield``,
  ``outcome.force_result(...)``) run around the implementations and see what they return or raise;
- **firstresult**: a hook whose specification says ``firstresult=True`` stops at the first
  implementation that returns something other than ``None`` (none of sigforge's hooks does today).

Any exception a plugin's implementation or wrapper raises is reported naming the plugin and the hook
(``plugin 'team' failed in hook validate_signature: ...``); a wrapper sees an inner failure as that
already-named ``PluginError``. ``SIGFORGE_TRACE_PLUGINS=1`` prints each hook call, the plugins in
the order they are called, each one's time and the outcome, on stderr. Each hook below says when it is
called and what its return value means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pluggy

from sigforge import PROJECT_NAME

if TYPE_CHECKING:  # for the annotations only: this module is on the fast, TensorFlow-free path
    from sigforge.spec import InputSpec, ModelSpec, SignatureSpec

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# -- What plugins register. Every plugin gets its config parameters the same way: as keyword
# arguments (``**params``), each with its default in the config schema.


class NamingPolicy(Protocol):
    """``policy(input, signature, **params) -> key``: the key clients send for ``input``.

    ``params`` are the ``naming`` settings other than ``policy`` (``prefix``, ``template``); take the
    ones you use by name and accept the rest with ``**params``. Deprecated, until sigforge 0.3.0:
    ``policy(input, signature)`` reading ``signature.naming``.
    """

    def __call__(self, input: InputSpec, signature: SignatureSpec, **params: Any) -> str: ...


@runtime_checkable
class Preprocessor(Protocol):
    """What a preprocessor factory returns: traced into the serving graph, in front of the model.

    sigforge calls these in no promised order and any number of times, so each answers from its
    arguments: ``serving_spec(spec)`` must not store what it saw for the others to read (0.1's form,
    deprecated until sigforge 0.3.0, warns). A step that needs the spec it produces for takes it:
    ``__call__(self, tensor, spec)``; one that does not may leave it out: ``__call__(self, tensor)``.
    """

    def serving_spec(self, spec: Any) -> Any:
        """The ``tf.TensorSpec`` clients send, given the ``tf.TensorSpec`` the next step takes."""

    def __call__(self, tensor: Any) -> Any:
        """Client tensor in, model tensor out (traced, so TensorFlow ops only). Declare a ``spec``
        parameter to be handed the ``tf.TensorSpec`` the output must have."""


@runtime_checkable
class PreprocessorWithExample(Preprocessor, Protocol):
    """A preprocessor whose client data synthetic values can't stand in for (encoded images,
    serialized protos): verification and the warmup requests use what it returns."""

    def example_input(self, batch: int) -> Any:
        """``batch`` real client values, e.g. a NumPy array of PNG-encoded bytes, shaped like
        ``serving_spec`` says. Declare a ``spec`` parameter (``example_input(self, batch, spec)``) to
        be handed the ``tf.TensorSpec`` this step produces for."""


PreprocessorFactory = Callable[..., Preprocessor]
"""``factory(**params) -> Preprocessor``: ``params`` are the step's settings other than ``name``."""


class ModelBuilder(Protocol):
    """``builder(model, inputs, **params) -> keras.Model``.

    ``model`` has ``architecture``, ``name``, ``task``, ``num_classes``, ``class_names`` and ``head``
    (a tf.estimator canned head, or None; when set, the model returns ``{"logits": ...}``, float
    [batch, 1] for a binary classifier or a regressor, [batch, num_classes] for a multi-class one,
    from which sigforge computes the head's outputs); ``params`` are its hyperparameters: the ``model.*`` settings sigforge does not read itself
    (``hidden_units``, ``filters``, ``vocab_size``, ``embedding_dim``, ``seed``) and the entries of
    ``model.params``. Deprecated, until sigforge 0.3.0: ``builder(model_cfg, inputs)`` reading
    ``model_cfg.<param>``.
    """

    def __call__(self, model: ModelSpec, inputs: Sequence[InputSpec], **params: Any) -> Any: ...


# -- Registration: each called once when the plugin manager's registries are built, which happens
# after the config's ``plugins.modules`` are known and before any other config value is read. Every
# implementation runs, in the order above; the return value is ignored. ``register`` is each
# plugin's own: what a plugin registers is reported under its name.


@hookspec
def register_naming_policies(register):
    """Offer input-key naming policies.

    Call ``register(name, policy)`` for each policy this plugin offers (a ``NamingPolicy``);
    ``naming.policy=<name>`` selects one. ``policy(input, signature, **params)`` returns the key
    clients send for ``input`` in ``signature`` (a predict signature; classify and regress always
    take ``inputs``). ``input`` has ``name``, ``modality``, ``dtype`` and ``shape``; ``signature``
    has ``name`` and ``method``. The key must be a valid signature key (``[A-Za-z][A-Za-z0-9_]*``)
    and unique within the signature, or the export stops naming this plugin.

    Call semantics: called once, every implementation in the order of the module docstring; the
    return value is ignored; a name two plugins register is refused naming both.
    """


@hookspec
def register_preprocessors(register):
    """Offer preprocessors that are traced into the serving graph.

    Call ``register(name, factory)`` (a ``PreprocessorFactory``);
    ``inputs.<name>.preprocess=[{name: <name>, <param>: <value>}]`` selects one. ``factory(**params)``
    returns a ``Preprocessor``: ``serving_spec(spec)`` and ``__call__(tensor[, spec])``, and optionally
    ``example_input(batch[, spec])`` (``PreprocessorWithExample``) when synthetic client data would
    not do; each is handed what it needs, so none relies on another having run first.
    Import TensorFlow inside the factory, not at module level, so config validation stays fast.

    Call semantics: called once, every implementation in the order of the module docstring; the
    return value is ignored; a name two plugins register is refused naming both.
    """


@hookspec
def register_models(register):
    """Offer model architectures.

    Call ``register(name, builder)`` (a ``ModelBuilder``); ``model.architecture=<name>`` selects one.
    ``builder(model, inputs, **params)`` returns a ``keras.Model`` that takes a dict keyed by input
    name (the model-side dtype and shape of each entry of ``inputs``) and returns a dict of named
    outputs: ``scores`` (float, ``[batch, classes]``) for a classification task, ``outputs`` (float,
    ``[batch]`` or ``[batch, 1]``) for regression, and any other outputs predict signatures may name;
    with ``model.head`` set, ``logits`` (see ``ModelBuilder``), from which the head's outputs come.

    Call semantics: called once, every implementation in the order of the module docstring; the
    return value is ignored; a name two plugins register is refused naming both.
    """


# -- Validation: called for every signature after the spec is built, before TensorFlow is imported.


@hookspec
def validate_signature(signature):
    """Check one signature of the resolved spec against a team's rules.

    Called once per signature per plugin, after naming policies ran and before anything is built
    or written. ``signature`` has ``name``, ``method``, ``method_name``, ``inputs`` (input names),
    ``outputs`` and ``keys`` (input name -> client key). Return a list of problems, each a sentence
    a user can act on; any problem stops the export. Return ``[]`` or ``None`` when all is well.

    Call semantics: every implementation runs, in the order of the module docstring; the hook's
    result is the list of each plugin's list, in call order, each problem already prefixed with
    ``plugin '<name>': ``. A hook wrapper receives that list and may return it changed (waive a
    problem, add one); what it returns is what stops the export. A result that is not a list of
    strings is reported naming the plugin.
    """


# -- Completion: called after the version directory is published.


@hookspec
def export_finished(result):
    """React to a finished export (notify, copy, register elsewhere).

    Called once per plugin after the SavedModel was written, verified and renamed into its
    numbered version directory. ``result`` has ``export_dir`` (the version directory), ``version``,
    ``spec``, ``report`` (the verification report), ``summary`` and ``mlflow_run_id`` (the MLflow
    run that logs this export, which finishes after the hooks; None without MLflow). The return
    value is ignored; an exception is reported naming the plugin, but the published version stays.

    Call semantics: every implementation runs, in the order of the module docstring, even after
    one has failed (each failure is logged as a warning naming its plugin); a hook wrapper's own
    failure is logged the same way.
    """
