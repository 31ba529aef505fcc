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


def test_a_breaking_change_is_refused_before_tensorflow_is_imported(run_cli, tmp_path):
    """The config alone shows a renamed key: the newest version's saved_model.pb is read without
    TensorFlow and the export refused in about a second, the dry run reporting the same verdict."""
    import json
    import subprocess
    import sys

    assert run_cli("experiment=image_classifier", "mlflow.enabled=false").returncode == 0
    dry = run_cli("experiment=image_classifier", "naming=prefixed", "export.dry_run=true")
    verdict = json.loads(dry.stdout)["compatibility"]
    assert verdict["against"].endswith("exports/image_classifier/1") and verdict["allowed"] is False
    assert [c["change"] for c in verdict["breaking"]] == [
        "input 'image' removed",
        "input 'input_image' added",
    ]
    script = (
        "import sys\n"
        "from sigforge.config.compose import compose\n"
        "from sigforge.errors import BreakingChange\n"
        "from sigforge.pipeline import export\n"
        "try:\n"
        "    export(compose('experiment=image_classifier', 'naming=prefixed', 'mlflow.enabled=false'))\n"
        "except BreakingChange as err:\n"
        "    print('refused' if 'tensorflow' not in sys.modules else 'refused after importing TensorFlow')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "refused", done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "outputs" / "exports" / "image_classifier").iterdir()) == ["1"]
