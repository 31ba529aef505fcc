"""``model.source``: a model trained elsewhere (a ``.keras`` file or a SavedModel directory), exported
with the inputs and signatures of the config instead of a built architecture.

The config still declares every input; the model's inputs are matched to them by name (a model
with one input and a config with one input are matched by position, whatever the names: Keras
names an unnamed input ``input_layer``), and a mismatch in names, dtypes or ranks is refused before
anything is written, naming both sides. The
source model is wrapped so that the rest of the pipeline sees what a builder returns: called with a
dict of model inputs, it returns a dict of named outputs (a model with a single unnamed output
gives ``scores`` for classification, ``outputs`` for regression, ``logits`` with a ``model.head``).
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge.errors import ExportError, one_line
from sigforge.rules import shape_text
from sigforge.spec import ExportSpec

log = logging.getLogger("sigforge")


def _describe(specs: Mapping[str, tuple[str, tuple[int | None, ...] | None]]) -> str:
    return ", ".join(f"{name}: {dtype} {shape_text(shape)}" for name, (dtype, shape) in sorted(specs.items()))


def by_position(
    model_inputs: Mapping[str, tuple[str, Any]], spec: ExportSpec
) -> tuple[dict[str, tuple[str, Any]], dict[str, str]]:
    """The model's inputs keyed by the config's names, and config name -> model name. One input on
    each side is matched by position, logged; otherwise names must match (``check_inputs``)."""
    declared = [i.name for i in spec.inputs]
    if len(model_inputs) == 1 and len(declared) == 1 and next(iter(model_inputs)) != declared[0]:
        ((model_name, value),) = model_inputs.items()
        log.info(
            "model.source's only input '%s' is matched to the config's only input, inputs.%s, by position",
            model_name,
            declared[0],
        )
        return {declared[0]: value}, {declared[0]: model_name}
    return dict(model_inputs), {name: name for name in model_inputs}


def check_inputs(source: Path, model_inputs: Mapping[str, tuple[str, Any]], spec: ExportSpec) -> None:
    """Refuse a source model whose inputs differ from the config's in names, dtypes or ranks."""
    declared = {i.name: (i.dtype, tuple(i.shape)) for i in spec.inputs}
    problems = []
    missing, extra = sorted(set(model_inputs) - set(declared)), sorted(set(declared) - set(model_inputs))
    if missing or extra:
        problems.append(
            "input names differ"
            + (
                f"; the model takes {', '.join(missing)}, which the config does not declare"
                if missing
                else ""
            )
            + (f"; the config declares {', '.join(extra)}, which the model does not take" if extra else "")
        )
    for name in sorted(set(model_inputs) & set(declared)):
        (dtype, shape), (want_dtype, want_shape) = model_inputs[name], declared[name]
        if dtype != want_dtype:
            problems.append(f"inputs.{name}: the model takes {dtype}, the config declares {want_dtype}")
        if shape is not None and len(shape) != len(want_shape):
            problems.append(
                f"inputs.{name}: the model takes rank {len(shape)} {shape_text(shape)}, the config declares "
                f"rank {len(want_shape)} {shape_text(want_shape)}"
            )
    if problems:
        raise ExportError(
            f"model.source = '{source}' does not fit the config's inputs: {'; '.join(problems)}. "
            f"The model takes {{{_describe(model_inputs)}}}; the config declares {{{_describe(declared)}}}. "
            "Declare inputs named, typed and shaped like the model's (inputs.<name>.dtype / .shape)."
        )


class SourceModel:
    """A loaded model behind the interface of a built one: ``model(features) -> {name: tensor}``."""

    def __init__(self, call: Any, variables: list[Any], default_output: str, trackable: Any = None) -> None:
        self._call = call
        self.variables = variables
        self.default_output = default_output
        # A restored SavedModel is saved as a whole (its variables, tables and assets come with it).
        self.trackable = trackable

    def __call__(self, features: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        outputs = self._call(dict(features))
        if isinstance(outputs, Mapping):
            return dict(outputs) if len(outputs) > 1 else {self.default_output: next(iter(outputs.values()))}
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ExportError(
                    f"model.source returns {len(outputs)} unnamed outputs; give the model named outputs "
                    "(a dict) so that signatures.<name>.outputs can name them."
                )
            (outputs,) = outputs
        return {self.default_output: outputs}

    def count_params(self) -> int:
        import numpy as np

        return int(sum(np.prod(v.shape) for v in self.variables))


def links_out_of(source: Path) -> list[Path]:
    """The symlinks under a SavedModel directory whose targets lie outside it: exporting would
    publish (and upload to MLflow) whatever file they point at."""
    root = source.resolve()
    found = []
    for path in sorted(source.rglob("*")):
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            found.append(path)
    return found


def _unloadable(source: Path, err: Exception) -> ExportError:
    """Why a source cannot be loaded. Keras's safe mode (on, since a .keras file can carry code)
    refuses Lambda layers and unregistered classes: that refusal is named, with its layer, and
    what to do, rather than cut off mid-sentence."""
    text = one_line(err)
    if "safe_mode" in text or "unsafe_deserialization" in text:
        layer = re.search(r"`(\w+)`", text)
        what = f"its {layer.group(1)} layer" if layer else "part of it"
        return ExportError(
            f"model.source = '{source}': Keras's safe mode refuses {what} ({text.split('. ')[0]}). "
            "sigforge loads sources with safe_mode=True, because a .keras file can carry code: replace "
            "Lambda layers with layer classes registered with keras.saving.register_keras_serializable, "
            "or export the model as a SavedModel (model.export(dir)) and give that directory."
        )
    return ExportError(
        f"model.source = '{source}' cannot be loaded: {type(err).__name__}: {text[:300]}. "
        "Give a model saved with model.save('x.keras') or a SavedModel directory."
    )


def load_source(spec: ExportSpec) -> SourceModel:
    """Load ``spec.model.source`` and check its inputs against the config (before any write)."""
    source = spec.model.source
    assert source is not None
    log.warning(
        "model.source = '%s' is code: its graph runs during verification and is republished in the "
        "serving graph. Export only models you trust.",
        source,
    )
    # A single unnamed output: the logits a model.head is computed from, else the task's output.
    default_output = "outputs" if spec.model.task == "regression" else "scores"
    if spec.model.head is not None:
        default_output = "logits"
    try:
        if source.is_dir():
            return _load_saved_model(source, spec, default_output)
        import keras

        import sigforge.plugins.builtin.keras_layers  # noqa: F401  (registers the built-ins' layers)

        model = _load_keras(source)
    except ExportError:
        raise
    except Exception as err:
        raise _unloadable(source, err) from err
    model_inputs, _ = by_position(
        {
            t.name.split(":")[0]: (keras.backend.standardize_dtype(t.dtype), tuple(t.shape))
            for t in model.inputs
        },
        spec,
    )
    check_inputs(source, model_inputs, spec)
    names = list(model_inputs)

    def call(features: dict[str, Any]) -> Any:
        # A functional model takes a dict matched to its input names; one with a single input, the tensor.
        return model(features if len(names) > 1 else features[names[0]], training=False)

    wrapped = SourceModel(call, list(model.variables), default_output)
    wrapped.keras_model = (
        model  # its layers own lookup tables and the like (see signatures._track_for_serving)
    )
    return wrapped


# A .keras archive of only these is a config and its weights: built from the config over unwritten
# buffers (export/lean_variables.py), then filled in place (export/lean_weights.py) instead of
# through Keras's whole-variable reads.
_CONFIG_AND_WEIGHTS = {"config.json", "metadata.json", "model.weights.h5"}


def _load_keras(source: Path) -> Any:
    """A ``.keras`` model as ``keras.saving.load_model(source, compile=False)`` gives it, at the
    memory of one copy of its weights where the archive allows (see ``_CONFIG_AND_WEIGHTS``)."""
    import tempfile
    import zipfile

    import keras

    from sigforge.export.lean_variables import lean_variables
    from sigforge.export.lean_weights import fill_in_place

    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive, tempfile.TemporaryDirectory(prefix="sigforge-") as tmp:
            if set(archive.namelist()) == _CONFIG_AND_WEIGHTS:
                with lean_variables(fill_later=True) as pending:  # nothing drawn: the file holds every weight
                    model = keras.models.model_from_json(
                        archive.read("config.json").decode()
                    )  # safe mode, as load_model
                # HDF5 reads a file on disk many times faster than through the archive's file object.
                filled = fill_in_place(model, Path(archive.extract("model.weights.h5", tmp)))
                if filled is not None:
                    pending.initialise(filled)  # e.g. a Dropout's seed state
                    return model
                del model, pending
                gc.collect()
    return keras.saving.load_model(str(source), compile=False)


def _load_saved_model(source: Path, spec: ExportSpec, default_output: str) -> SourceModel:
    """A SavedModel directory as the source: its ``serving_default`` is what gets exported."""
    import tensorflow as tf

    outside = links_out_of(source)
    if outside:
        raise ExportError(
            f"model.source = '{source}' holds links to files outside it "
            f"({', '.join(str(p.relative_to(source)) for p in outside[:5])}): exporting would publish "
            "and upload whatever they point at. Copy the files into the SavedModel instead of linking them."
        )
    loaded = tf.saved_model.load(str(source))
    if "serving_default" not in loaded.signatures:
        raise ExportError(
            f"model.source = '{source}' has no serving_default signature to call; sigforge exports a "
            f"SavedModel's serving_default (it has: {', '.join(loaded.signatures) or 'none'})."
        )
    function = loaded.signatures["serving_default"]
    _, kwargs = function.structured_input_signature
    model_inputs, names = by_position(
        {k: (s.dtype.name, tuple(s.shape.as_list())) for k, s in kwargs.items()}, spec
    )
    check_inputs(source, model_inputs, spec)
    variables = list(getattr(loaded, "variables", []))

    def call_signature(features: Mapping[str, Any]) -> Any:
        return function(**{names.get(k, k): v for k, v in features.items()})

    return SourceModel(call_signature, variables, default_output, loaded)
