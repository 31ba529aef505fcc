"""The MLflow model around a published SavedModel: ``MLmodel``, environment files, signature,
input example, and the pyfunc entry (``code/sigforge_pyfunc.py``) that serves it.

Two flavors point at the same files in ``tfmodel/`` (the published version, not a re-save):
``tensorflow`` for ``mlflow.tensorflow.load_model``, and ``python_function`` through sigforge's own
small loader, which decodes base64 binary inputs and returns NumPy arrays, so ``mlflow models
serve`` answers the model's own ``serving_input_example.json`` and TF Serving's ``{"b64": ...}``.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge import __version__
from sigforge.rules import DTYPE_TABLE
from sigforge.tracking import sigforge_pyfunc
from sigforge.tracking.store import package_version

MODEL_ARTIFACT = "model"
SAVED_MODEL_SUBDIR = "tfmodel"
CODE_SUBDIR = "code"


def model_signature(signature: Mapping[str, Any]) -> Any:
    """An MLflow tensor signature for one sigforge signature: one TensorSpec per key."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    def schema(tensors: Mapping[str, Any]) -> Any:
        return Schema(
            [
                TensorSpec(
                    np.dtype(DTYPE_TABLE[t["dtype"]].numpy if t["dtype"] in DTYPE_TABLE else t["dtype"]),
                    tuple(-1 if d is None else d for d in (t["shape"] or [-1])),
                    name=key,
                )
                for key, t in tensors.items()
                if t is not None
            ]
        )

    return ModelSignature(inputs=schema(signature["inputs"]), outputs=schema(signature["outputs"]))


def write_mlmodel(
    path: Path,
    summary: Mapping[str, Any],
    examples: Mapping[str, Any],
    *,
    run_id: str | None,
    model_id: str | None = None,
    artifact_path: str = MODEL_ARTIFACT,
    signature_key: str = "serving_default",
) -> None:
    """An MLflow model directory around a SavedModel logged beside it under ``tfmodel/``."""
    import mlflow
    from mlflow.models import Model
    from mlflow.models.utils import (
        _save_example,  # no public writer; guarded in tests/test_dependency_guards.py
    )

    signatures = summary["signatures"]
    if signature_key not in signatures:
        signature_key = next(iter(signatures))
    path.mkdir(parents=True, exist_ok=True)
    model = Model(run_id=run_id, artifact_path=artifact_path, model_uuid=model_id, model_id=model_id)
    model.add_flavor(
        "tensorflow",
        saved_model_dir=SAVED_MODEL_SUBDIR,
        meta_graph_tags=["serve"],
        signature_def_key=signature_key,
        # mlflow.tensorflow loads this model type with tf.saved_model.load and calls
        # signatures[signature_def_key] with a dict keyed by the signature's keys.
        model_type="tf1-estimator",
        code=None,
    )
    requirements = _requirements()
    (path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (path / "python_env.yaml").write_text(
        f"python: {platform.python_version()}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
    )
    (path / "conda.yaml").write_text(
        "channels:\n- conda-forge\ndependencies:\n"
        f"- python={platform.python_version()}\n- pip\n- pip:\n" + "".join(f"  - {r}\n" for r in requirements)
    )
    example = examples.get(signature_key)
    _write_pyfunc_entry(path, signature_key, signatures[signature_key], summary, example)
    mlflow.pyfunc.add_to_model(
        model,
        loader_module=sigforge_pyfunc.__name__.rsplit(".", 1)[-1],
        data=sigforge_pyfunc.CONFIG_FILE,
        code=CODE_SUBDIR,
        conda_env="conda.yaml",
        python_env="python_env.yaml",
    )
    model.signature = model_signature(signatures[signature_key])
    if example is not None:
        _save_example(model, dict(example), str(path))
    model.metadata = {"sigforge_signature_def_key": signature_key, "sigforge_version": __version__}
    model.save(str(path / "MLmodel"))


def _write_pyfunc_entry(
    path: Path, signature_key: str, signature: Mapping[str, Any], summary: Mapping[str, Any], example: Any
) -> None:
    """``code/sigforge_pyfunc.py`` and its config: which keys are binary (base64 on the wire)."""
    from sigforge.report.requests import is_binary

    binary = set((summary.get("binary_inputs") or {}).get(signature_key, ()))
    binary |= {key for key, value in (example or {}).items() if is_binary(value)}
    inputs = {
        key: {"dtype": tensor["dtype"], "binary": key in binary}
        for key, tensor in signature["inputs"].items()
        if tensor is not None
    }
    config = {"saved_model_dir": SAVED_MODEL_SUBDIR, "signature": signature_key, "inputs": inputs}
    (path / sigforge_pyfunc.CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (path / CODE_SUBDIR).mkdir(exist_ok=True)
    shutil.copyfile(sigforge_pyfunc.__file__, path / CODE_SUBDIR / Path(sigforge_pyfunc.__file__).name)


def _requirements() -> list[str]:
    return [
        f"{name}=={v}" for name in ("tensorflow-cpu", "tensorflow", "mlflow") if (v := package_version(name))
    ]
