"""The ``model`` group -> ModelSpec: the architecture's builder (resolved once, here), its
hyperparameters, weights or a trained source model, the task and the class labels."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sigforge.contract.heads import HEADS
from sigforge.errors import Problems
from sigforge.plugins.manager import Plugins
from sigforge.rules import MAX_NAME_BYTES, MODEL_NAME_PATTERN, TASKS, full_name, serving_version
from sigforge.spec import ModelSpec

# The model settings sigforge reads itself; every other key of the group is a hyperparameter that
# the builder gets as a keyword argument, together with the entries of ``model.params``.
MODEL_FIELDS = (
    "architecture", "name", "weights", "source", "task", "num_classes", "class_names", "params", "head",
)  # fmt: skip


def model_name(cfg: Mapping[str, Any]) -> str:
    """The model's name: the export's directory, and MLflow's experiment unless one is configured."""
    return cfg["name"] or cfg["architecture"] or "model"


def model_spec(cfg: Mapping[str, Any], plugins: Plugins, cwd: Path, problems: Problems) -> ModelSpec:
    """The model to export, checked: its architecture's builder, name, weights or source, task."""
    architecture = cfg["architecture"]
    builder = _builder(architecture, plugins, problems)
    name = model_name(cfg)
    _check_name(name, problems)
    weights = _weights(cfg["weights"], cwd, problems)
    task, num_classes, head = cfg["task"], cfg["num_classes"], cfg["head"]
    task = _check_head(head, num_classes, problems) or task
    _check_task(task, num_classes, problems)
    params = {k: v for k, v in cfg.items() if k not in MODEL_FIELDS}
    params.update(cfg["params"])  # a plugin architecture's own settings
    source = _source(cfg["source"], cwd, problems)
    problems.check(
        source is None or weights is None,
        "model.source and model.weights are both set; a source model carries its own weights: drop model.weights.",
    )
    return ModelSpec(
        architecture=str(architecture),
        name=name,
        weights=weights,
        task=task,
        num_classes=max(num_classes, 0),
        class_names=_class_names(cfg["class_names"], num_classes, problems),
        params=MappingProxyType(params),
        builder=None if source is not None else builder,
        source=source,
        head=head,
    )


def _builder(architecture: Any, plugins: Plugins, problems: Problems) -> Any:
    if not architecture:
        problems.append("model.architecture is not set; choose a model, e.g. model=image_cnn.")
    elif architecture not in plugins.models:
        problems.append(plugins.models.unknown(architecture, "model.architecture"))
    else:
        return plugins.models.get(architecture, "model.architecture")
    return None


def _check_name(name: str, problems: Problems) -> None:
    """A model name is a directory under export.base_dir that TF Serving must not take for a version."""
    problems.check(
        len(name.encode()) <= MAX_NAME_BYTES,
        f"model.name is {len(name.encode())} bytes long; it names a directory, and filesystems take at most "
        f"{MAX_NAME_BYTES}: shorten it.",
    )
    problems.check(
        serving_version(name) is None,
        f"model.name = {name!r} reads as a number: TF Serving would take its directory for a version, so a "
        f"model directory must not look like one; use a name with a letter, e.g. 'model_{name}'.",
    )
    problems.check(
        full_name(MODEL_NAME_PATTERN, name) and name not in (".", ".."),
        f"model.name = {name!r} would leave export.base_dir or is not a plain directory name: "
        "use letters, digits, '.', '_' and '-' only, without '/', '..' or a leading '.'.",
    )


def _check_head(head: Any, num_classes: Any, problems: Problems) -> str | None:
    """``model.head``: a tf.estimator canned head; it decides the task (returned), and a binary one
    has two classes, a multi-class one more."""
    if head is None:
        return None
    if not problems.check(
        head in HEADS,
        f"model.head = {head!r} is not one of {', '.join(HEADS)}; or null for the model's own outputs.",
    ):
        return None
    problems.check(
        head != "binary_classifier" or num_classes == 2,
        f"model.head = binary_classifier has two classes (the estimator's n_classes=2), but "
        f"model.num_classes = {num_classes!r}: set model.num_classes=2.",
    )
    problems.check(
        head != "multi_class_classifier" or num_classes > 2,
        f"model.head = multi_class_classifier needs model.num_classes > 2 (the estimator's n_classes), "
        f"but it is {num_classes!r}; for two classes use model.head=binary_classifier.",
    )
    return "regression" if head == "regressor" else "classification"


def _check_task(task: Any, num_classes: Any, problems: Problems) -> None:
    problems.check(task in TASKS, f"model.task = {task!r} is not one of {', '.join(TASKS)}.")
    problems.check(num_classes >= 1, f"model.num_classes = {num_classes!r} must be a positive integer.")
    problems.check(
        not (task == "classification" and num_classes == 1),
        "model.num_classes = 1 with model.task = classification: softmax over one class always answers 1.0. "
        "Give at least 2 classes, or use model.task=regression for a single score.",
    )


def _class_names(names: list[str] | None, num_classes: int, problems: Problems) -> tuple[str, ...]:
    if names is None:
        return tuple(str(i) for i in range(max(num_classes, 0)))
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        problems.append(
            f"model.class_names repeats {', '.join(map(repr, repeated))}; a classify signature's `classes` "
            "names each class once: give distinct labels."
        )
    else:
        problems.check(
            len(names) == num_classes,
            f"model.class_names has {len(names)} labels but model.num_classes = {num_classes}; "
            "give one label per class.",
        )
    return tuple(names)


def _path(value: str, cwd: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else cwd / path


def _weights(weights: str | None, cwd: Path, problems: Problems) -> Path | None:
    if not weights:
        return None
    path = _path(weights, cwd)
    if path.is_dir():
        problems.append(
            f"model.weights = '{weights}' is a directory; give a weights file (.weights.h5 or .keras), or "
            "export a SavedModel directory as it is with model.source."
        )
    elif not path.is_file():
        problems.append(
            f"model.weights = '{weights}' does not exist ({path}); "
            "give the path of a Keras weights file (.weights.h5) or set model.weights=null."
        )
    return path


def _source(source: str | None, cwd: Path, problems: Problems) -> Path | None:
    """``model.source``: a trained ``.keras`` file or a SavedModel directory, exported as it is."""
    if not source:
        return None
    path = _path(source, cwd)
    if path.is_dir():
        problems.check(
            (path / "saved_model.pb").is_file(),
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
    return path
