"""The MLflow model's example and environment files, read back by MLflow's own public readers
(the end-to-end tests in test_sigforge_pyfunc.py also serve them with ``mlflow models serve``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sigforge.tracking.mlmodel import write_environment, write_input_example


def test_input_example_reads_back_through_mlflow_with_its_params(tmp_path: Path) -> None:
    from mlflow.models import Model

    example = {"image": np.zeros((1, 2, 2, 1), np.float32), "text": np.arange(3, dtype=np.int32)[None]}
    model = Model()
    model.saved_input_example_info = write_input_example(tmp_path, example, {"signature_name": "predict"})
    model.save(str(tmp_path / "MLmodel"))

    loaded = Model.load(str(tmp_path / "MLmodel"))
    read = loaded.load_input_example(str(tmp_path))
    assert set(read) == {"image", "text"}
    np.testing.assert_array_equal(np.asarray(read["image"]), example["image"])
    np.testing.assert_array_equal(np.asarray(read["text"]), example["text"])
    assert loaded.load_input_example_params(str(tmp_path)) == {"signature_name": "predict"}


def test_environment_files_are_what_mlflow_resolves_a_models_dependencies_from(tmp_path: Path) -> None:
    import mlflow.pyfunc
    from mlflow.models import Model

    requirements = ["tensorflow-cpu==2.21.0", "mlflow==3.17.2"]
    write_environment(tmp_path, requirements)
    model = Model()
    mlflow.pyfunc.add_to_model(
        model, loader_module="sigforge_pyfunc", conda_env="conda.yaml", python_env="python_env.yaml"
    )
    model.save(str(tmp_path / "MLmodel"))

    pip_file = mlflow.pyfunc.get_model_dependencies(str(tmp_path), format="pip")
    assert Path(pip_file).read_text().split() == requirements
    conda = yaml.safe_load(
        Path(mlflow.pyfunc.get_model_dependencies(str(tmp_path), format="conda")).read_text()
    )
    assert {"pip": requirements} in conda["dependencies"]
    python_env = yaml.safe_load((tmp_path / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]
    assert any(dep.startswith("pip==") for dep in python_env["build_dependencies"])
