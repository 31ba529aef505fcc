"""The library entry point: ``sigforge.pipeline.export`` behaves as ``python -m sigforge`` does."""

from __future__ import annotations

import pytest

from sigforge.config.compose import compose
from sigforge.errors import ConfigError
from sigforge.pipeline import export


def test_a_dry_run_config_is_refused_by_the_library_call(tmp_path):
    with pytest.raises(ConfigError, match=r"export\.dry_run = true writes nothing"):
        export(compose("+experiment=image_classifier", "export.dry_run=true"), cwd=tmp_path)


@pytest.mark.slow
def test_a_library_export_is_logged_to_mlflow_like_the_command_line(tmp_path):
    from mlflow.tracking import MlflowClient

    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path / 'exports'}")
    result = export(cfg, cwd=tmp_path)
    assert result.version == 1 and (result.export_dir / "saved_model.pb").is_file()
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["sigforge.model_version"] == "1"
    models = client.search_logged_models([run.info.experiment_id])
    assert [m.source_run_id for m in models] == [run.info.run_id]
