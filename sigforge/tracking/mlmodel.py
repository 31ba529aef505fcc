"""The MLflow model around a published SavedModel: ``MLmodel``, environment files, signature,
input example, and the pyfunc entry (``code/sigforge_pyfunc.py``) that serves it.

Written with MLflow's public ``mlflow.pyfunc.save_model`` (the pyfunc flavor, the environment, the
input example and its check against the signature), then given the ``tensorflow`` flavor. Both
flavors point at the same files in ``tfmodel/`` (the published version, not a re-save):
``mlflow.tensorflow.load_model`` returns the loaded SavedModel (``model_type: tf2-module``, what
it is), and ``python_function`` goes through sigforge's own small loader, which calls any
signature by name (``params={"signature_name": ...}``, TF Serving's word), decodes base64 binary
inputs and returns NumPy arrays.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge import __version__
from sigforge.rules import DTYPE_TABLE
from sigforge.tracking import sigforge_pyfunc
from sigforge.tracking.store import package_version

MODEL_ARTIFACT = "model"
SAVED_MODEL_SUBDIR = "tfmodel"
DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_PARAM = "signature_name"


def tensor_schema(tensors: Mapping[str, Any]) -> Any:
    """An MLflow tensor schema: one TensorSpec per key (-1 for a free dimension)."""
    import numpy as np
    from mlflow.types.schema import Schema, TensorSpec

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


def model_signature(signatures: Mapping[str, Any], default: str) -> Any:
    """The pyfunc signature: the ``signature_name`` param, and the tensors of the only signature.

    MLflow checks every request against one input schema and drops keys it does not list, so a
    model with several signatures (whose keys differ) declares none: each signature's own keys
    are checked by the loader instead, and listed in the run's and LoggedModel's description."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    params = ParamSchema([ParamSpec(SIGNATURE_PARAM, "string", default)])
    if len(signatures) > 1:
        return ModelSignature(params=params)
    sig = signatures[default]
    return ModelSignature(
        inputs=tensor_schema(sig["inputs"]), outputs=tensor_schema(sig["outputs"]), params=params
    )


def write_mlmodel(
    path: Path,
    export_dir: Path,
    summary: Mapping[str, Any],
    examples: Mapping[str, Any],
    *,
    run_id: str | None,
    model_id: str | None = None,
    artifact_path: str = MODEL_ARTIFACT,
) -> None:
    """An MLflow model directory at ``path`` (which must not exist yet) around a copy of the
    published SavedModel ``export_dir`` under ``tfmodel/``."""
    import mlflow
    from mlflow.models import Model

    signatures = summary["signatures"]
    default = DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in signatures else next(iter(signatures))
    model = Model(run_id=run_id, artifact_path=artifact_path, model_uuid=model_id, model_id=model_id)
    example = examples.get(default)
    with tempfile.TemporaryDirectory(prefix="sigforge-pyfunc-") as tmp:
        config = Path(tmp) / sigforge_pyfunc.CONFIG_FILE
        config.write_text(json.dumps(pyfunc_config(summary, examples, default), indent=2) + "\n")
        mlflow.pyfunc.save_model(
            str(path),
            loader_module=sigforge_pyfunc.__name__.rsplit(".", 1)[-1],
            data_path=str(config),
            code_paths=[sigforge_pyfunc.__file__],
            mlflow_model=model,
            signature=model_signature(signatures, default),
            input_example=(dict(example), {SIGNATURE_PARAM: default}) if example else None,
            pip_requirements=_requirements(),
            metadata={"sigforge_signature_def_key": default, "sigforge_version": __version__},
        )
    shutil.copytree(export_dir, path / SAVED_MODEL_SUBDIR)
    model = Model.load(str(path / "MLmodel"))
    model.model_size_bytes = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    model.add_flavor(
        "tensorflow",
        saved_model_dir=SAVED_MODEL_SUBDIR,
        meta_graph_tags=["serve"],
        signature_def_key=default,
        # mlflow.tensorflow.load_model returns tf.saved_model.load(tfmodel/): call .signatures[name].
        model_type="tf2-module",
        code=None,
    )
    model.save(str(path / "MLmodel"))


def pyfunc_config(summary: Mapping[str, Any], examples: Mapping[str, Any], default: str) -> dict[str, Any]:
    """``sigforge_pyfunc.json``: every signature's keys, dtypes and which are binary (base64 on the
    wire). It sits in the model's ``data/``, so the SavedModel is ``../tfmodel``."""
    from sigforge.report.requests import is_binary

    signatures = {}
    for name, sig in summary["signatures"].items():
        binary = set((summary.get("binary_inputs") or {}).get(name, ()))
        binary |= {key for key, value in (examples.get(name) or {}).items() if is_binary(value)}
        signatures[name] = {
            key: {"dtype": tensor["dtype"], "binary": key in binary}
            for key, tensor in sig["inputs"].items()
            if tensor is not None
        }
    return {
        "saved_model_dir": f"../{SAVED_MODEL_SUBDIR}",
        "default_signature": default,
        "signatures": signatures,
    }


def _requirements() -> list[str]:
    return [
        f"{name}=={v}" for name in ("tensorflow-cpu", "tensorflow", "mlflow") if (v := package_version(name))
    ]
