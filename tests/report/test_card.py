"""The signature card: self-contained, one table per signature, and lines that send the request files."""

from __future__ import annotations

import html
import re

import pytest

from sigforge.report.card import render_card
from sigforge.report.summary import client_files

tf = pytest.importorskip("tensorflow")


def pre_blocks(card: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<pre>(.*?)</pre>", card, re.S)]


def test_card_lines_point_at_files_that_exist(export):
    result = export("dnn_classifier")
    card = result.client_files["signature_card.html"].decode()
    assert "<link" not in card and "<script" not in card  # self-contained: nothing fetched
    lines = pre_blocks(card)
    assert (
        "curl -s -X POST http://localhost:8501/v1/models/dnn_classifier:classify -d @requests/classification.json"
        in lines
    )
    for line in lines:
        for path in re.findall(r"requests/[\w./-]+", line):
            assert path in result.client_files or path.rstrip(".") in result.client_files, path


def test_a_saved_model_without_verified_inputs_gets_tables_only(export):
    summary = export("multi_input").summary
    files = client_files(summary, {})
    assert list(files) == ["signature_card.html"]
    card = files["signature_card.html"].decode()
    assert "<td class='key'>image</td>" in card and "curl" not in card


def test_card_escapes_what_it_shows():
    summary = {
        "model": "<m>",
        "signatures": {
            "s": {"method_name": "tensorflow/serving/predict", "inputs": {"<x>": None}, "outputs": {}}
        },
    }
    card = render_card(summary)
    assert "<m>" not in card and "&lt;m&gt;" in card and "&lt;x&gt;" in card
