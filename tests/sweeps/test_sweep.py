"""The sweep comparison: which (signature, key) rows differ between a sweep's jobs."""

from __future__ import annotations

import pytest

from sigforge.sweeps.parent_run import compare_children, render_comparison

PREDICT = "tensorflow/serving/predict"


def child(run_id, inputs, outputs=None, method=PREDICT):
    return {
        "run_id": run_id,
        "run_name": f"run-{run_id}",
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


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_a_failing_job_does_not_stop_the_sweep_which_ends_with_its_status(run_cli, tmp_path, launcher):
    """Job 1 asks for version 1, which job 0 just published: refused (exit 2). Job 2 still runs, no
    run is left RUNNING, and the sweep exits 2 naming job 1."""
    import sqlite3

    done = run_cli(
        "-m", "experiment=image_classifier", "export.version=1,1,2", f"hydra/launcher={launcher}",
        *(["hydra.launcher.n_jobs=1"] if launcher == "joblib" else []),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert "1 job(s) of the sweep failed" in done.stderr and "job 1 [" in done.stderr
    assert "Traceback" not in done.stderr
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    assert sorted(p.name for p in model_dir.iterdir()) == ["1", "2"]
    with sqlite3.connect(tmp_path / "outputs" / "mlflow.db") as db:
        statuses = sorted(s for (s,) in db.execute("select status from runs"))
    assert statuses == ["FAILED", "FAILED", "FINISHED", "FINISHED"]  # the parent fails with its job
