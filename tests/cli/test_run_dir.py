"""Kind 2 of reliability round 4: paths that cannot be made end in one ``sigforge:`` line, not a
traceback. Hydra makes ``hydra.run.dir`` before any sigforge code runs; ``cli.run_dir``'s callback
checks it first, with the composed config (defaults and interpolations included). A run directory
inside the model directory is refused too (TF Serving would read a numbered one as a version)."""

from __future__ import annotations

import pytest

from sigforge.cli.run_dir import inside_model_dir, output_dir_problem

IMAGE = "+experiment=image_classifier"


def test_a_directory_under_a_file_or_unwritable_is_a_problem_naming_the_key(tmp_path):
    (tmp_path / "outputs").write_text("a file")
    assert "outputs is a file" in output_dir_problem(
        "hydra.run.dir", str(tmp_path / "outputs" / "runs" / "x")
    )
    assert "cannot be written" in output_dir_problem("hydra.sweep.dir", "/proc/1/runs")
    assert output_dir_problem("hydra.run.dir", str(tmp_path / "fine" / "runs")) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ([], "hydra.run.dir = 'outputs/runs/"),  # the default, under a file named outputs
        (["hydra.run.dir=outputs/deeper/run"], "hydra.run.dir = 'outputs/deeper/run'"),
        (["hydra.run.dir=/proc/1/sigforge-run"], "cannot be written by this user"),
        (["-m", "hydra.sweep.dir=outputs/sweep"], "hydra.sweep.dir = 'outputs/sweep'"),
    ],
    ids=["default-under-a-file", "override-under-a-file", "read-only", "sweep-under-a-file"],
)
def test_a_run_directory_that_cannot_be_made_is_refused_in_one_line(run_cli, tmp_path, overrides, says):
    (tmp_path / "outputs").write_text("a file where the run directories go")
    flags = [o for o in overrides if o.startswith("-")]
    rest = [o for o in overrides if not o.startswith("-")]
    done = run_cli(*flags, IMAGE, "mlflow.enabled=false", *rest, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("sigforge: ") and says in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_run_directory_inside_the_model_directory_is_refused_before_hydra_makes_it(run_cli, tmp_path):
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    done = run_cli(IMAGE, f"hydra.run.dir={model_dir}/9", timeout=120)
    assert done.returncode == 2 and "is inside the model directory" in done.stderr, done.stderr[-2000:]
    assert not (model_dir / "9").exists()


@pytest.mark.slow
def test_a_default_store_under_a_file_named_outputs_is_refused_before_exporting(run_cli, tmp_path):
    (tmp_path / "outputs").write_text("a file")
    done = run_cli(IMAGE, f"hydra.run.dir={tmp_path}/run", f"export.base_dir={tmp_path}/exports", timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "mlflow.tracking_uri is not set" in done.stderr and "set mlflow.tracking_uri" in done.stderr
    assert not (tmp_path / "exports" / "image_classifier" / "1").exists()


def test_unit_inside_model_dir_reads_the_composed_config(tmp_path):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"export": {"base_dir": str(tmp_path / "ex")}, "model": {"name": "m"}})
    assert "inside the model directory" in inside_model_dir("hydra.run.dir", str(tmp_path / "ex/m/3"), cfg)
    assert inside_model_dir("hydra.run.dir", str(tmp_path / "ex/m_runs/3"), cfg) is None
