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
