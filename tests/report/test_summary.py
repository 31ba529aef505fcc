"""The export summary (``report.summary``): the JSON document and the Markdown page of a contract,
with the tf.Example features each key parses and the signatures only gRPC can carry, written beside
the request files. Built in-process from composed configs' contracts, without TensorFlow."""

from __future__ import annotations

import json

from sigforge.config.validate import build_spec
from sigforge.contract.read import contract_to_dict, expected_contract
from sigforge.report.summary import (
    SUMMARY_JSON,
    SUMMARY_MD,
    build_summary,
    client_files,
    to_markdown,
    write_summary,
)


def contract(compose, plugins, experiment: str, *overrides: str) -> dict:
    return contract_to_dict(
        expected_contract(build_spec(compose(f"+experiment={experiment}", *overrides), plugins))
    )


def test_the_summary_holds_the_contract_and_the_fields_given_leaving_out_the_unknown(compose, plugins):
    signatures = contract(compose, plugins, "multi_input")
    summary = build_summary(signatures, model="multi_input", version=3, export_dir=None)
    assert summary == {
        "model": "multi_input",
        "version": 3,
        "signatures": signatures,
    }  # no example rows, no gRPC-only


def test_a_tf_example_signature_lists_the_features_each_example_carries(compose, plugins):
    summary = build_summary(contract(compose, plugins, "dnn_classifier"), model="dnn_classifier")
    assert sorted(summary["example_features"]) == ["classification", "serving_default"]
    (entry,) = summary["example_features"]["classification"]
    assert entry["key"] == "inputs"
    assert [row["feature"] for row in entry["features"]] == ["age", "hours_per_week", "occupation"]
    assert {row["feature"]: row["list"] for row in entry["features"]} == {
        "age": "float_list",
        "hours_per_week": "int64_list",
        "occupation": "bytes_list",
    }
    page = to_markdown(summary)
    assert "Each serialized tf.Example under `inputs` carries these features:" in page
    assert "`hours_per_week`" in page


def test_a_half_precision_input_is_marked_grpc_only_in_the_json_and_the_page(compose, plugins):
    summary = build_summary(
        contract(compose, plugins, "image_classifier", "inputs.image.dtype=float16"), model="m"
    )
    assert summary["grpc_only"] == {"serving_default": {"image": "float16"}}
    assert "gRPC only: TF Serving's REST API cannot carry image (float16)." in to_markdown(summary)


def test_the_page_is_titled_by_model_and_version_with_one_table_per_signature(compose, plugins):
    summary = build_summary(
        contract(compose, plugins, "dnn_classifier"), model="census", version=7, export_dir="/e/census/7"
    )
    page = to_markdown(summary)
    assert page.startswith("# census v7\n\n`/e/census/7`\n")
    for heading in (
        "## `classification` (tensorflow/serving/classify)",
        "## `predict` (tensorflow/serving/predict)",
        "## `serving_default` (tensorflow/serving/classify)",
    ):
        assert heading in page
    assert to_markdown({"signatures": {}}) == "# SavedModel\n"


def test_written_summary_reads_back_equal_and_its_files_land_under_the_directory(compose, plugins, tmp_path):
    summary = build_summary(contract(compose, plugins, "multi_input"), model="multi_input", version=1)
    files = client_files(summary, {})  # no verified inputs: the card alone
    written = write_summary(summary, tmp_path / "new" / "summary", {**files, "requests/a/b.npy": b"x"})
    directory = tmp_path / "new" / "summary"
    assert written == (
        directory / SUMMARY_JSON,
        directory / SUMMARY_MD,
        directory / "signature_card.html",
        directory / "requests" / "a" / "b.npy",
    )
    assert json.loads((directory / SUMMARY_JSON).read_text()) == summary
    assert (directory / SUMMARY_MD).read_text() == to_markdown(summary)
    assert (directory / "requests" / "a" / "b.npy").read_bytes() == b"x"
