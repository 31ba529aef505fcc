"""The sweep's parent run (``sweeps.parent_run``): which (signature, key) rows differ between a sweep's
jobs, the verdict in words, the progress line after each job, and the parent run that holds every
job and the comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigforge.sweeps.parent_run import (
    compare_children,
    comparison_markdown,
    comparison_verdict,
    render_comparison,
)

PREDICT = "tensorflow/serving/predict"


def child(run_id, inputs, outputs=None, method=PREDICT, status="FINISHED", experiment="exp"):
    return {
        "run_id": run_id,
        "run_name": f"run-{run_id}",
        "status": status,
        "experiment": experiment,
        "overrides": f"job={run_id}",
        "signatures": {
            "serving_default": {
                "method_name": method,
                "inputs": inputs,
                "outputs": outputs or {"scores": {"dtype": "float32", "shape": [None, 10]}},
            }
        },
    }


IMAGE = {"image": {"dtype": "float32", "shape": [None, 28, 28, 1]}}


@pytest.mark.parametrize(
    "children, differing",
    [
        ([child("a", IMAGE), child("b", IMAGE)], []),
        (
            [child("a", IMAGE), child("b", {"image": {"dtype": "uint8", "shape": [None, 28, 28, 1]}})],
            ["serving_default / input image"],
        ),
        (
            [child("a", IMAGE), child("b", {"input_image": IMAGE["image"]})],
            ["serving_default / input image", "serving_default / input input_image"],
        ),
        (
            [child("a", IMAGE), child("b", IMAGE, method="tensorflow/serving/classify")],
            ["serving_default / method"],
        ),
        (
            [child("a", {"x": {"dtype": "string", "shape": None}}), child("b", {"x": None})],
            ["serving_default / input x"],
        ),
    ],
    ids=["identical", "dtype", "renamed key", "method", "unknown rank vs absent"],
)
def test_compare_children_marks_exactly_the_rows_that_differ(children, differing):
    comparison = compare_children(children)
    assert [r["row"] for r in comparison["rows"] if r["differs"]] == differing
    assert comparison["identical"] is (not differing)
    assert [c["run_id"] for c in comparison["children"]] == [c["run_id"] for c in children]


def test_a_missing_key_shows_as_a_dash_and_the_page_escapes_names():
    comparison = compare_children([child("a", IMAGE), child("<b>", {})])
    row = next(r for r in comparison["rows"] if r["row"] == "serving_default / input image")
    assert row["values"] == ["float32 [None, 28, 28, 1]", "-"]
    page = render_comparison(comparison)
    assert "run-&lt;b&gt;" in page and "<b>" not in page.replace("<br>", "")


def test_failed_and_missing_jobs_are_listed_and_never_called_identical():
    children = [child("a", IMAGE), child("b", {}, status="FAILED"), child("c", IMAGE, experiment="mine")]
    comparison = compare_children(children, expected=4, experiment="exp")
    assert comparison["missing"] == 1 and comparison["compared"] == ["run-a", "run-c"]
    assert not comparison["identical"]  # two finished jobs agree, but not every job finished
    verdict = comparison_verdict(comparison)
    assert verdict.startswith("3 of 4 jobs reported a run, 2 finished; 1 did not (run-b); 1 never started")
    assert "jobs that named their own experiment are in mine" in verdict
    assert "The finished jobs export the same contract." in verdict
    page, text = render_comparison(comparison), comparison_markdown(comparison)
    for name in ("run-a", "run-b", "run-c"):
        assert name in page and name in text
    assert "All jobs export the same contract" not in page


def test_a_sweep_where_every_job_agrees_says_so():
    comparison = compare_children([child("a", IMAGE), child("b", IMAGE)], expected=2, experiment="exp")
    assert comparison["identical"]
    assert (
        comparison_verdict(comparison)
        == "2 of 2 jobs reported a run, 2 finished. All jobs export the same contract."
    )


def test_each_finished_job_says_how_many_of_the_sweeps_jobs_are_done(tmp_path, caplog):
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sigforge.sweeps.parent_run import SweepProgressCallback

    task = ["experiment=multi_input", "naming.policy=identity,prefixed", "export.version=range(1,3)"]
    config = OmegaConf.create(
        {"hydra": {"mode": RunMode.MULTIRUN, "sweep": {"dir": str(tmp_path)}, "overrides": {"task": task}}}
    )
    callback = SweepProgressCallback()
    callback.on_multirun_start(config)
    with caplog.at_level("INFO", logger="sigforge"):
        for _ in range(2):
            callback.on_job_end(config, None)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep:")]
    assert said == ["sweep: 1/4 jobs done", "sweep: 2/4 jobs done"]


@pytest.mark.slow
def test_the_readme_sweep_puts_every_job_in_one_experiment_and_compares_them_all(run_cli, tmp_path):
    """The README's sweep as printed: each job has its own model.name, and no MLFLOW_EXPERIMENT_NAME."""
    import json
    import sqlite3

    done = run_cli(
        "-m", "experiment=multi_input", "naming=identity,prefixed", "model.name=multi_input_${naming.policy}"
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    db = tmp_path / "outputs" / "mlflow.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select e.name, r.name, r.status from runs r join experiments e using (experiment_id)"
        ).fetchall()
    assert len({name for name, _, _ in rows}) == 1, rows  # parent and both jobs in one experiment
    assert sorted(run for _, run, _ in rows if not run.startswith("sweep-")) == [
        "multi_input_identity-v1", "multi_input_prefixed-v1"
    ]  # fmt: skip
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    (parent,) = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "tags.sigforge.sweeps.parent_run = 'true'"
    )
    path = client.download_artifacts(parent.info.run_id, "sweep_comparison.json", str(tmp_path))
    comparison = json.loads(Path(path).read_text())
    assert comparison["expected"] == 2 and comparison["missing"] == 0 and not comparison["identical"]
    assert sorted(comparison["compared"]) == ["multi_input_identity-v1", "multi_input_prefixed-v1"]
    assert any(r["differs"] for r in comparison["rows"])
    description = parent.data.tags["mlflow.note.content"]
    assert "2 of 2 jobs reported a run, 2 finished" in description and "differ" in description
