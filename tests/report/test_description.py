"""The Markdown description MLflow shows on a run, a LoggedModel and a registered version."""

from __future__ import annotations

import pytest

from sigforge.report.description import compatibility_lines, describe

tf = pytest.importorskip("tensorflow")


def test_the_description_holds_endpoints_warmup_features_and_every_signature(export):
    summary = export("dnn_classifier").summary
    text = describe(summary, registered="`models:/dnn/1` (alias `latest_export`): the first version.")
    assert text.startswith("# dnn_classifier v1\n")
    assert f"**TF Serving version directory:** `{summary['export_dir']}`" in text
    assert "`assets.extra/tf_serving_warmup_requests`" in text
    assert "- REST classify: `POST http://HOST:8501/v1/models/dnn_classifier/versions/1:classify`" in text
    assert "- REST predict: `POST http://HOST:8501/v1/models/dnn_classifier/versions/1:predict`" in text
    assert '`model_spec { name: "dnn_classifier" version: 1 signature_name: ... }`' in text
    assert "**Registry:** `models:/dnn/1`" in text
    for name in summary["signatures"]:
        assert f"### `{name}`" in text
    assert "| `hours_per_week` | int64 | [] | int64_list | request fails |" in text
    assert "| input | `occupation` | string | [None] |" in text  # the predict signature's own key


def test_a_description_longer_than_mlflow_keeps_is_cut_at_the_tables_with_a_pointer(export):
    summary = export("dnn_classifier").summary
    text = describe(summary, limit=900)
    assert len(text) <= 900 and "## Signatures" not in text
    assert "see the run's `signature_summary.md`" in text


@pytest.mark.parametrize(
    "verdict, expected",
    [
        (None, "the first version of this model"),
        ({"against": "/m/1", "changes": [], "breaking": []}, "the same contract as `/m/1`"),
        (
            {
                "against": "/m/1",
                "changes": [
                    {"signature": "s", "change": "signature added", "old": "-", "new": "p", "breaking": False}
                ],
                "breaking": [],
            },
            "compatible with the clients of `/m/1`",
        ),
        (
            {
                "against": "/m/1",
                "changes": [{"signature": "s", "change": "method", "old": "a", "new": "b", "breaking": True}],
                "breaking": [{}],
            },
            "BREAKS the clients of `/m/1`",
        ),
    ],
    ids=["first", "same", "compatible", "breaking"],
)
def test_compatibility_says_how_the_version_compares_with_the_one_before(verdict, expected):
    text = "\n".join(compatibility_lines(verdict))
    assert expected in text
    if verdict and verdict["changes"]:
        change = verdict["changes"][0]
        assert f"| {change['signature']} | {change['change']} | {change['old']} | {change['new']} |" in text
