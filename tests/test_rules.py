"""The shared rules as TF Serving and TensorFlow apply them (../shared/tf-serving-rules.md)."""

from __future__ import annotations

import re

import pytest

from sigforge.errors import ExportError
from sigforge.export.versions import check_version_names, prepare_model_dir, publish, versions
from sigforge.rules import DTYPE_TABLE, DTYPES, rest_carries, serving_version, version_name_problem


@pytest.mark.parametrize(
    ("name", "number"),
    [("7", 7), ("007", 7), ("+7", 7), (" 7 ", 7), ("\t7\n", 7), ("-7", -7), ("0", 0),
     ("9223372036854775807", 2**63 - 1), ("9223372036854775808", None), ("²", None), ("٣", None),
     ("7a", None), ("+", None), ("", None), (".sigforge-staging-h-1-x", None), ("1.5", None)],
)  # fmt: skip
def test_a_child_is_a_version_when_simple_atoi_reads_it_as_an_int64(name, number):
    assert serving_version(name) == number


@pytest.mark.parametrize("name", ["007", "+7", " 7 ", "-7", "²", "٣"])
def test_names_two_rules_read_differently_are_problems(name):
    assert version_name_problem(name)


@pytest.mark.parametrize("name", ["1", "12", "0", "assets", ".sigforge-staging-x", "model_7"])
def test_names_both_rules_agree_on_are_fine(name):
    assert version_name_problem(name) is None


def test_files_count_as_versions_and_the_next_version_goes_above_them(tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "3").write_text("not a SavedModel, but TF Serving would try to serve it")
    assert versions(model_dir) == [3]
    staged = model_dir / ".staging"
    staged.mkdir()
    assert publish(staged, model_dir) == (4, model_dir / "4")


@pytest.mark.parametrize("stray", ["+7", "007", "²"])
def test_a_model_directory_with_an_ambiguous_child_is_refused_naming_it(tmp_path, stray):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / stray).mkdir()
    with pytest.raises(ExportError, match=re.escape(f"m/{stray}")):
        prepare_model_dir(tmp_path, "m")
    with pytest.raises(ExportError, match="rename or move that entry"):
        check_version_names(tmp_path / "m")


def test_an_explicit_version_below_the_newest_is_refused(tmp_path):
    model_dir = tmp_path / "m"
    (model_dir / "5").mkdir(parents=True)
    staged = model_dir / ".staging"
    staged.mkdir()
    with pytest.raises(ExportError, match="'latest' policy would keep serving"):
        publish(staged, model_dir, version=2)


def test_every_config_dtype_has_one_row_and_rest_follows_tf_serving():
    assert set(DTYPES) <= set(DTYPE_TABLE)
    assert {n for n in DTYPES if not rest_carries(n)} == {"float16", "bfloat16", "uint16"}
    assert len({d.number for d in DTYPE_TABLE.values()}) == len(DTYPE_TABLE)
