"""The MLflow model around a published SavedModel: ``MLmodel``, environment files, signature,
input example, and the pyfunc entry (``code/sigforge_pyfunc.py``) that serves it.

Assembled from MLflow's public pieces: ``mlflow.models.Model`` (signature, metadata),
``mlflow.pyfunc.add_to_model`` (the pyfunc flavor), ``convert_input_example_to_serving_input``
(MLflow's own encoding of the input example) and ``Model.save``. Not ``mlflow.pyfunc.save_model``:
it checks the pins against every installed distribution's file list (0.7 s of CPU per export,
``importlib.metadata.packages_distributions``), and sigforge's pins are the installed versions,
so that check can never warn. The environment files are written here, in the layout MLflow's
``--env-manager virtualenv|conda`` reads. Both flavors point at the same files in ``tfmodel/``
(the published version, not a re-save):
``mlflow.tensorflow.load_model`` returns the loaded SavedModel (``model_type: tf2-module``, what
it is), and ``python_function`` goes through sigforge's own small loader, which calls any
signature by name (``params={"signature_name": ...}``, TF Serving's word), decodes base64 binary
inputs and returns NumPy arrays.
"""

from __future__ import annotations

import json
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
DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_PARAM = "signature_name"
DATA_DIR = "data"
CODE_DIR = "code"
EXAMPLE_FILE = "input_example.json"
SERVING_EXAMPLE_FILE = "serving_input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"


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
    import mlflow.pyfunc
    from mlflow.models import Model

    signatures = summary["signatures"]
    default = DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in signatures else next(iter(signatures))
    model = Model(
        run_id=run_id,
        artifact_path=artifact_path,
        model_uuid=model_id,
        model_id=model_id,
        signature=model_signature(signatures, default),
        metadata={"sigforge_signature_def_key": default, "sigforge_version": __version__},
    )
    path.mkdir(parents=True)
    data = path / DATA_DIR / sigforge_pyfunc.CONFIG_FILE
    data.parent.mkdir()
    data.write_text(json.dumps(pyfunc_config(summary, examples, default), indent=2) + "\n")
    (path / CODE_DIR).mkdir()
    shutil.copy2(sigforge_pyfunc.__file__, path / CODE_DIR)
    if example := examples.get(default):
        model.saved_input_example_info = write_input_example(path, example, {SIGNATURE_PARAM: default})
    write_environment(path, _requirements())
    mlflow.pyfunc.add_to_model(
        model,
        loader_module=sigforge_pyfunc.__name__.rsplit(".", 1)[-1],
        data=data.relative_to(path).as_posix(),
        code=CODE_DIR,
        conda_env=CONDA_FILE,
        python_env=PYTHON_ENV_FILE,
        streamable=False,
    )
    shutil.copytree(export_dir, path / SAVED_MODEL_SUBDIR)
    model.add_flavor(
        "tensorflow",
        saved_model_dir=SAVED_MODEL_SUBDIR,
        meta_graph_tags=["serve"],
        signature_def_key=default,
        # mlflow.tensorflow.load_model returns tf.saved_model.load(tfmodel/): call .signatures[name].
        model_type="tf2-module",
        code=None,
    )
    model.model_size_bytes = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    model.save(str(path / "MLmodel"))


def write_input_example(path: Path, example: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str]:
    """``input_example.json`` (what ``Model.load_input_example`` reads) and
    ``serving_input_example.json`` (a request body for ``/invocations``), both in MLflow's own
    encoding of the arrays; returns the MLmodel's ``saved_input_example_info``.

    For a dict of arrays with params both files hold ``{"inputs": ..., "params": ...}``; only
    the indentation differs."""
    from mlflow.models import convert_input_example_to_serving_input

    serving = convert_input_example_to_serving_input((dict(example), dict(params)))
    (path / SERVING_EXAMPLE_FILE).write_text(serving)
    (path / EXAMPLE_FILE).write_text(json.dumps(json.loads(serving)))
    return {
        "artifact_path": EXAMPLE_FILE,
        "type": "ndarray",
        "params": "true",
        "serving_input_path": SERVING_EXAMPLE_FILE,
    }


def write_environment(path: Path, requirements: list[str]) -> None:
    """``requirements.txt``, ``python_env.yaml`` (``--env-manager virtualenv``) and ``conda.yaml``
    (``--env-manager conda``), as MLflow writes them: this Python, pip's version as the ceiling
    for conda (conda-forge lags PyPI), the build tools that are installed."""
    import platform

    import yaml

    python = platform.python_version()
    (path / REQUIREMENTS_FILE).write_text("\n".join(requirements))
    installed = {name: package_version(name) for name in ("pip", "setuptools", "wheel")}
    build = [f"{name}=={v}" for name, v in installed.items() if v]
    python_env = {"python": python, "build_dependencies": build, "dependencies": [f"-r {REQUIREMENTS_FILE}"]}
    (path / PYTHON_ENV_FILE).write_text(yaml.safe_dump(python_env, sort_keys=False))
    pip = installed["pip"]
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", f"pip<={pip}" if pip else "pip", {"pip": requirements}],
        "name": "mlflow-env",
    }
    (path / CONDA_FILE).write_text(yaml.safe_dump(conda, default_flow_style=False))


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
