"""Contract tables: one set of rows, three renderings that agree and escape what they show."""

from __future__ import annotations

from sigforge.contract.tables import TENSOR_HEADER, html_table, markdown_table, tensor_rows, text_table

SIGNATURE = {
    "method_name": "tensorflow/serving/predict",
    "inputs": {"a|b": {"dtype": "float32", "shape": [None, 3]}, "<x>": None},
    "outputs": {"scores": {"dtype": "float32", "shape": None}},
}


def test_rows_list_inputs_then_outputs_with_shapes_as_tf_prints_them():
    assert tensor_rows(SIGNATURE) == [
        ("input", "a|b", "float32", "[None, 3]"),
        ("input", "<x>", "", ""),
        ("output", "scores", "float32", "unknown rank"),
    ]


def test_each_rendering_escapes_its_own_syntax():
    rows = tensor_rows(SIGNATURE)
    md = markdown_table(TENSOR_HEADER, rows)
    assert "| input | `a|b` | float32 | [None, 3] |" in md  # inside a code span a pipe needs no escape
    assert markdown_table(("k",), [("a|b",)], code=()).splitlines()[-1] == "| a\\|b |"
    page = html_table(TENSOR_HEADER, rows)
    assert "<td class='key'>&lt;x&gt;</td>" in page and "<x>" not in page
    lines = text_table(TENSOR_HEADER, rows).splitlines()
    assert len({line.index("float32") for line in lines if "float32" in line}) == 1  # aligned
