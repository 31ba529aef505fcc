"""An in-process export as the pipeline lays it out: the version directory holds what TF Serving
loads, and the summary files are written beside it, never into it. (The pipeline's behaviour, not
one export module's: each of those has its own ``test_<module>.py`` beside this file.)"""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("tensorflow")


def test_summary_files_are_written_outside_the_version(export):
    result = export("multi_input")
    assert [p.name for p in result.summary_files[:2]] == ["signature_summary.json", "signature_summary.md"]
    assert {"signature_card.html", "serving_default.json"} <= {p.name for p in result.summary_files}
    assert all(result.export_dir not in p.parents for p in result.summary_files)
    summary = json.loads(result.summary_files[0].read_text())
    assert summary["signatures"]["serving_default"]["outputs"]["scores"] == {
        "dtype": "float32",
        "shape": [None, 10],
    }
    assert "| input | `image` | float32 | [None, 28, 28, 1] |" in result.summary_files[1].read_text()
    assert os.listdir(result.export_dir) and not (result.export_dir / "signature_summary.json").exists()
