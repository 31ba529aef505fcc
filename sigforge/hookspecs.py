"""Every hook a sigforge plugin can implement, grouped by the phase in which it runs.

This module is the public plugin API. A plugin is any module or object with functions marked
``@sigforge.hookimpl`` whose names match these specifications; it is found through the ``sigforge``
entry-point group of an installed package, or named in config as ``plugins.modules=[pkg.module]``.
The built-in naming policies, models and checks are plugins of exactly this kind.
"""

from __future__ import annotations

import pluggy

from sigforge import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# -- Registration: called once when the plugin manager's registries are built, before any config is read.


@hookspec
def register_naming_policies(register):
    """Offer input-key naming policies.

    Called once per plugin when the registries are built. Call ``register(name, policy)`` for each
    policy this plugin offers; ``naming.policy=<name>`` selects one. ``policy(input, signature)``
    returns the key clients send for ``input`` in ``signature`` (a predict signature; classify and
    regress always take ``inputs``). ``input`` has ``name``, ``modality``, ``dtype`` and ``shape``;
    ``signature`` has ``name``, ``method`` and ``naming`` (the ``naming`` config as a read-only
    mapping: ``policy``, ``prefix``, ``template``). The key must be a valid signature key (``[A-Za-z][A-Za-z0-9_]*``)
    and unique within the signature, or the export stops naming this plugin.
    """


@hookspec
def register_preprocessors(register):
    """Offer preprocessors that are traced into the serving graph.

    Called once per plugin when the registries are built. Call ``register(name, factory)``;
    ``inputs.<name>.preprocess=[{name: <name>, <param>: <value>}]`` selects one. ``factory(**params)``
    returns an object with ``serving_spec(spec) -> tf.TensorSpec`` (what the client sends, given the
    ``tf.TensorSpec`` the next step takes) and ``__call__(tensor) -> tensor`` (traced in-graph).
    Import TensorFlow inside the factory, not at module level, so config validation stays fast.
    """


@hookspec
def register_models(register):
    """Offer model architectures.

    Called once per plugin when the registries are built. Call ``register(name, builder)``;
    ``model.architecture=<name>`` selects one. ``builder(model_cfg, inputs)`` returns a
    ``keras.Model`` that takes a dict keyed by input name (the model-side dtype and shape of each
    entry of ``inputs``) and returns a dict of named outputs: ``scores`` (float, ``[batch, classes]``)
    for a classification task, ``outputs`` (float, ``[batch]`` or ``[batch, 1]``) for regression,
    and any other outputs predict signatures may name.
    """


# -- Validation: called for every signature after the spec is built, before TensorFlow is imported.


@hookspec
def validate_signature(signature):
    """Check one signature of the resolved spec against a team's rules.

    Called once per signature per plugin, after naming policies ran and before anything is built
    or written. ``signature`` has ``name``, ``method``, ``method_name``, ``inputs`` (input names),
    ``outputs`` and ``keys`` (input name -> client key). Return a list of problems, each a sentence
    a user can act on; any problem stops the export. Return ``[]`` or ``None`` when all is well.
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
    """
