"""``sigforge.cli.diff_command``: ``sigforge diff OLD NEW`` prints every difference between two
contracts and exits 1 when one breaks OLD's clients, 0 otherwise, 2 when a contract cannot be read.
On real SavedModels other tools wrote (tests/fixtures/adopt), read without TensorFlow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigforge.cli.diff_command import main
from sigforge.contract.read import _saved_model_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adopt"


def test_a_removed_input_breaks_old_clients_exit_1_naming_it(capsys):
    code = main([str(FIXTURES / "handwritten_multi" / "1"), str(FIXTURES / "handwritten_image")])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [
        "signature  change                old                new  breaking",
        "classify   input 'text' removed  int32 [None, 100]  -    BREAKING",
    ]
    assert err == "sigforge diff: 1 breaking change(s): clients of OLD would fail against NEW\n"


def test_a_new_required_input_breaks_old_clients_too(capsys):
    """Old clients do not send it."""
    assert main([str(FIXTURES / "handwritten_image"), str(FIXTURES / "handwritten_multi")]) == 1
    assert "input 'text' added" in capsys.readouterr().out


def test_the_same_contract_from_two_tools_is_no_difference(capsys):
    """A DNNClassifier and a LinearClassifier over the same features serve the same contract."""
    code = main([str(FIXTURES / "dnn_binary_parsing"), str(FIXTURES / "linear_binary_parsing")])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "no differences: the contracts are identical\n", "")


def test_a_new_signature_is_shown_but_breaks_no_one(tmp_path, capsys):
    old = tmp_path / "old" / "1"
    shutil.copytree(FIXTURES / "dnn_binary_parsing" / "1796604329", old)
    saved_model = _saved_model_message()()
    saved_model.ParseFromString((old / "saved_model.pb").read_bytes())
    signatures = saved_model.meta_graphs[0].signature_def
    assert "regression" in signatures
    del signatures["regression"]
    (old / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    code = main([str(old), str(FIXTURES / "dnn_binary_parsing")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "regression" in out and "BREAKING" not in out


def test_a_path_holding_no_contract_is_refused_in_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as ended:
        main([str(tmp_path / "nothing"), str(FIXTURES / "handwritten_image")])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sigforge diff: cannot read a contract: FileNotFoundError: {tmp_path / 'nothing'}")
    assert len(err.splitlines()) == 1
