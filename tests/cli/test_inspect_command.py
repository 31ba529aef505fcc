"""``sigforge.cli.inspect_command``: ``sigforge inspect PATH [--json]``, the signature summary of any
SavedModel, read without TensorFlow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sigforge.cli.inspect_command import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


def as_made(fixture: str) -> dict:
    """The signatures the tool that made ``fixture`` reported (manifest.json), -1 read as None."""

    def tensors(specs: dict) -> dict:
        return {
            key: {"dtype": spec["dtype"], "shape": [None if d == -1 else d for d in spec["shape"]]}
            for key, spec in specs.items()
        }

    return {
        name: {
            "method_name": sig["method_name"],
            "inputs": tensors(sig["inputs"]),
            "outputs": tensors(sig["outputs"]),
        }
        for name, sig in MANIFEST[fixture]["signatures"].items()
    }


def test_a_model_directory_shows_its_highest_numbered_version_as_its_maker_saw_it(tmp_path, capsys):
    model_dir = tmp_path / "digits"
    shutil.copytree(FIXTURES / "handwritten_image" / "1", model_dir / "9")
    shutil.copytree(FIXTURES / "keras_export" / "1", model_dir / "10")  # 10 > 9, though "10" < "9"
    assert main([str(model_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["export_dir"] == str(model_dir / "10")
    assert summary["signatures"] == as_made("keras_export")


def test_without_json_it_prints_a_table_per_signature(capsys):
    assert main([str(FIXTURES / "handwritten_multi" / "1")]) == 0
    out = capsys.readouterr().out
    assert "| input | `image` | float32 | [None, 28, 28, 1] |" in out
    assert "| input | `text` | int32 | [None, 100] |" in out
    assert "| output | `scores` | float32 | [None, 10] |" in out


def test_a_directory_without_a_saved_model_is_refused_in_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as ended:
        main([str(tmp_path)])
    assert ended.value.code == 2
    assert capsys.readouterr().err == (
        f"sigforge inspect: {tmp_path} holds no saved_model.pb and no numbered version directory\n"
    )


@pytest.mark.slow
def test_inspect_prints_the_summary_of_any_saved_model(run_cli, tmp_path):
    tf = pytest.importorskip("tensorflow")
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    fn = tf.function(
        lambda x: {"y": x * module.scale}, input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")]
    )
    tf.saved_model.save(
        module, str(tmp_path / "hand" / "7"), signatures={"serving_default": fn.get_concrete_function()}
    )
    result = run_cli("inspect", "--json", str(tmp_path / "hand"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["export_dir"].endswith("hand/7")
    assert summary["signatures"]["serving_default"] == {
        "method_name": "tensorflow/serving/predict",
        "inputs": {"x": {"dtype": "float32", "shape": [None, 3]}},
        "outputs": {"y": {"dtype": "float32", "shape": [None, 3]}},
    }
    table = run_cli("inspect", str(tmp_path / "hand" / "7"))
    assert "| input | `x` | float32 | [None, 3] |" in table.stdout
    missing = run_cli("inspect", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no saved_model.pb" in missing.stderr
