"""The model an export serves: a trained ``model.source`` as it is, or the registered builder's
model with ``model.weights`` loaded into it (random initialisation, said loudly, without them).

Keras is imported only here and below, after the spec is valid.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from sigforge.errors import ExportError, PluginError, one_line
from sigforge.plugins.manager import call_with_params
from sigforge.spec import ExportSpec

log = logging.getLogger("sigforge")


def weights_origin(spec: ExportSpec) -> str:
    """Where the exported weights come from: ``source:<path>``, ``file:<path>`` or ``random-init``."""
    if spec.model.source is not None:
        return f"source:{spec.model.source}"
    if spec.model.weights is not None:
        return f"file:{spec.model.weights}"
    return "random-init"


def build_model(spec: ExportSpec) -> Any:
    """The model to export: a trained `model.source`, or the registered builder's model with `model.weights`."""
    if spec.model.source is not None:
        from sigforge.export.source_model import load_source

        return load_source(spec)
    if spec.model.weights is None:
        log.warning(
            "model.weights is not set: %s is exported with untrained, randomly initialised weights "
            "(recorded as weights: random-init). Set model.weights=<file> or model.source=<trained model>.",
            spec.model.name,
        )
    builder = spec.model.builder
    assert builder is not None, "a spec without model.source has its builder resolved"
    from sigforge.export.lean_variables import lean_variables

    # With weights, no variable is drawn to be overwritten; without, large ones are drawn at one copy.
    with lean_variables(fill_later=spec.model.weights is not None) as pending:
        model = call_with_params(
            builder,
            f"model builder '{spec.model.architecture}'",
            spec.model,
            spec.inputs,
            params=spec.model.params,
            old_form="builder(model_cfg, inputs) reading model_cfg.<param>",
        )
    if not callable(model) or not hasattr(model, "variables"):
        raise PluginError(
            f"plugin '{builder.plugin}': model builder '{spec.model.architecture}' returned "
            f"{type(model).__name__}, not a model; return a keras.Model that takes a dict of the inputs by "
            "name and returns a dict of outputs."
        )
    if spec.model.weights is not None:
        _load_weights(model, spec, pending)
    return model


def _load_weights(model: Any, spec: ExportSpec, pending: Any) -> None:
    """``model.weights`` into the built model: in place, a slice at a time, where the file is a
    Keras 3 ``.weights.h5`` laid out as the model is (``export/lean_weights.py``), else by Keras.
    ``pending``: the variables built without a value (``export/lean_variables.py``); those the file
    does not fill are drawn from their initializers, before Keras's loader, which may skip some."""
    from sigforge.export.lean_weights import fill_in_place

    path = spec.model.weights
    assert path is not None
    filled = None
    try:
        if path.name.endswith(".weights.h5"):
            filled = fill_in_place(model, path)
    except Exception as err:
        raise _unloadable(spec, err) from err
    if filled is not None:
        pending.initialise(filled)  # e.g. a Dropout's seed state: not in a .weights.h5
        return
    pending.initialise()
    try:
        with warnings.catch_warnings():  # Keras warns per mismatched layer, with tensor values
            warnings.simplefilter("ignore")
            model.load_weights(str(path))
    except Exception as err:
        raise _unloadable(spec, err) from err


def _unloadable(spec: ExportSpec, err: Exception) -> ExportError:
    return ExportError(
        f"model.weights = '{spec.model.weights}' cannot be loaded into model "
        f"'{spec.model.architecture}': {type(err).__name__}: {one_line(err)}. Give weights saved from "
        "the same architecture and inputs (model.save_weights('x.weights.h5'))."
    )
