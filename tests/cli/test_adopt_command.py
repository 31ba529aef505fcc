"""``sigforge adopt`` end to end, and the seed case: a Classify-only feature dtype change.

Each adopted fixture was made by the real tool (tf.estimator 2.15, Keras 3 ``model.export``,
hand-written ``tf.saved_model.save``: tests/fixtures/adopt). The round trip exports the adopted
config into a copy of the fixture's model directory, then feeds the same requests to both versions
through TensorFlow's session loader (what TF Serving runs) and compares output keys, dtypes, shapes
and class labels."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import imported, session_run

from sigforge.cli import adopt_command

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
CLS_ONLY = ("experiment=dnn_classifier", "~signatures.predict", "model.name=cls_only", "mlflow.enabled=false")
ROUND_TRIPS = sorted(set(MANIFEST) - {"handwritten_examples"})


def sigforge(*args: str, cwd: Path, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python, "-m", "sigforge", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_classify_only_feature_dtype_change_is_refused_before_tensorflow_and_diff_breaks(run_cli, tmp_path):
    first = run_cli(*CLS_ONLY)
    assert first.returncode == 0, first.stderr[-2000:]
    second = sigforge(
        *CLS_ONLY, "inputs.hours_per_week.dtype=float32", cwd=tmp_path, python=("-X", "importtime")
    )
    assert second.returncode == 5, second.stderr[-2000:]
    assert (
        "serving_default  feature 'hours_per_week' (in 'inputs') dtype  int64 [] required  float32 [] required  BREAKING"
        in second.stderr
    )
    assert not imported(second.stderr, "tensorflow", "keras")
    assert sorted(p.name for p in (tmp_path / "outputs" / "exports" / "cls_only").iterdir()) == ["1"]
    third = run_cli(*CLS_ONLY, "inputs.hours_per_week.dtype=float32", "export.allow_breaking=true")
    assert third.returncode == 0, third.stderr[-2000:]
    exports = tmp_path / "outputs" / "exports" / "cls_only"
    diff = run_cli("diff", str(exports / "1"), str(exports / "2"))
    assert diff.returncode == 1
    assert "feature 'hours_per_week' (in 'inputs') dtype" in diff.stdout


def _requests(fixture: dict, signature: dict) -> dict[str, np.ndarray]:
    samples = fixture["samples"]
    keys = list(signature["inputs"])
    if len(keys) == 1 and signature["inputs"][keys[0]]["dtype"] == "string" and "examples_b64" in samples:
        return {keys[0]: np.array([base64.b64decode(e) for e in samples["examples_b64"]], dtype=object)}
    return {key: _array(samples["batch"][key], signature["inputs"][key]["dtype"]) for key in keys}


def _array(values: list, dtype: str) -> np.ndarray:
    if dtype == "string":
        return np.vectorize(lambda v: v.encode(), otypes=[object])(np.asarray(values, dtype=object))
    return np.asarray(values, dtype=dtype)


@pytest.mark.slow
@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_adopt_then_export_answers_the_same_requests(name, tmp_path):
    fixture = MANIFEST[name]
    source = FIXTURES / fixture["path"]
    adopted = sigforge("adopt", str(source), cwd=tmp_path, python=("-X", "importtime"))
    assert adopted.returncode == 0, adopted.stderr[-3000:]
    assert adopted.stdout.startswith("# @package _global_\n")
    assert not imported(adopted.stderr, "tensorflow", "keras")
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / f"{name}.yaml").write_text(adopted.stdout)
    shutil.copytree(FIXTURES / fixture["model_dir"], tmp_path / "exports" / fixture["model_dir"])
    exported = sigforge(
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"experiment={name}",
        f"export.base_dir={tmp_path / 'exports'}", "mlflow.enabled=false", cwd=tmp_path,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    new = Path(json.loads(exported.stdout.splitlines()[-1])["export_dir"])
    assert int(new.name) > int(fixture["version"])  # the version TF Serving serves next
    diff = sigforge("diff", str(source), str(new), cwd=tmp_path)
    assert diff.returncode == 0 and diff.stdout == "no differences: the contracts are identical\n", (
        diff.stdout
    )
    for sig_name, signature in fixture["signatures"].items():
        feeds = _requests(fixture, signature)
        old, answered = session_run(source, sig_name, feeds), session_run(new, sig_name, feeds)
        assert set(answered) == set(old) == set(signature["outputs"])
        for key, value in old.items():
            assert answered[key].dtype == value.dtype and answered[key].shape == value.shape, key
        if "all_classes" in old:
            np.testing.assert_array_equal(answered["all_classes"], old["all_classes"])
        if "classes" in old and old["classes"].shape[-1] > 1:  # classify: every label, in order
            np.testing.assert_array_equal(answered["classes"], old["classes"])
    refused = sigforge(
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"experiment={name}",
        f"export.base_dir={tmp_path / 'exports'}", "mlflow.enabled=false", _retyped(fixture), cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 5, refused.stderr[-3000:]
    assert "BREAKING" in refused.stderr and "no version was published" in refused.stderr


def _retyped(fixture: dict) -> str:
    """An override that changes the dtype of the first feature (or input) clients send."""
    if fixture["features"]:
        first = fixture["features"][0]
        return f"inputs.{first['name']}.dtype={'int64' if first['dtype'] != 'int64' else 'float32'}"
    (signature,) = list(fixture["signatures"].values())[:1]
    key, tensor = next(iter(signature["inputs"].items()))
    return f"inputs.{key}.dtype={'float64' if tensor['dtype'] != 'float64' else 'float32'}"


def test_adopt_refuses_what_it_cannot_reproduce_and_prints_no_config(capsys):
    """handwritten_examples returns outputs no sigforge model produces (`color_count`, ...)."""
    with pytest.raises(SystemExit) as ended:
        adopt_command.main([str(FIXTURES / "handwritten_examples")])
    assert ended.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"sigforge adopt: {FIXTURES / 'handwritten_examples'}'s contract cannot be reproduced"
    )
    assert "output 'color_count' (int64 [None])" in err


def test_adopt_names_what_it_cannot_read(tmp_path, capsys):
    with pytest.raises(SystemExit) as ended:
        adopt_command.main([str(tmp_path / "nowhere")])
    assert ended.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"sigforge adopt: cannot read a contract at {tmp_path / 'nowhere'}")
    assert len(err.splitlines()) == 1  # one line, no traceback
