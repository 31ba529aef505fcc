"""The one owner of "may this version be published?": a typed verdict at each named moment, the
comparisons always compat's (so every rule compat learns, tf.Example features included, reaches
every guard at once)."""

from __future__ import annotations

import copy
import shutil

import pytest

from sigforge.contract import gate
from sigforge.contract.gate import Moment, RegisteredVersion
from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.errors import BreakingChange, RegistrationRefused

CONTRACT = {
    "serving_default": {
        "method_name": "tensorflow/serving/classify",
        "inputs": {"inputs": {"dtype": "string", "shape": [None]}},
        "outputs": {"scores": {"dtype": "float32", "shape": [None, 3]}},
        "examples": {"inputs": {"age": {"dtype": "float32", "kind": "fixed", "shape": [1], "default": None}}},
    }
}


def with_feature(**feature) -> dict:
    contract = copy.deepcopy(CONTRACT)
    contract["serving_default"]["examples"]["inputs"]["age"].update(feature)
    return contract


def test_nothing_registered_is_the_first_version():
    verdict = gate.in_registry("digits", None, CONTRACT, False, Moment.EARLY)
    assert verdict.allowed and verdict.against is None and verdict.changes == ()
    assert verdict.note == "the first version of registered model `digits`"


def test_the_registry_refuses_a_feature_change_that_breaks_old_examples():
    latest = RegisteredVersion("digits", "4", CONTRACT)
    verdict = gate.in_registry("digits", latest, with_feature(dtype="int64"), False, Moment.FINAL)
    assert not verdict.allowed and verdict.against == "models:/digits/4"
    assert [c.what for c in verdict.breaking] == ["feature 'age' (in 'inputs') dtype"]
    with pytest.raises(
        RegistrationRefused, match="this contract breaks version 4's clients, so it was not registered"
    ):
        verdict.check()
    assert verdict.refusal is not None and "registered model `digits` version 4" in verdict.refusal.diff


def test_mlflow_allow_breaking_registers_anyway_and_says_so():
    latest = RegisteredVersion("digits", "4", CONTRACT)
    verdict = gate.in_registry("digits", latest, with_feature(dtype="int64"), True, Moment.FINAL)
    assert verdict.check() is verdict and verdict.breaking
    assert verdict.note == "breaks the clients of version 4 (registered with `mlflow.allow_breaking=true`)"


def test_a_compatible_change_is_allowed_and_counted():
    latest = RegisteredVersion("digits", "4", CONTRACT)
    verdict = gate.in_registry("digits", latest, with_feature(default=0.0), False, Moment.EARLY)
    assert verdict.allowed and verdict.note == "compatible with version 4 (1 compatible changes)"
    same = gate.in_registry("digits", latest, CONTRACT, False, Moment.EARLY)
    assert same.note == "the same contract as version 4" and same.as_dict()["changes"] == []


def test_a_version_without_a_readable_contract_is_refused_unless_allowed():
    latest = RegisteredVersion("digits", "2", None, "OSError: no tfmodel/saved_model.pb")
    refused = gate.in_registry("digits", latest, CONTRACT, False, Moment.DRY_RUN)
    assert not refused.allowed
    assert "its latest version, 2, holds no SavedModel sigforge can read (OSError: no tfmodel" in str(
        refused.refusal
    )
    allowed = gate.in_registry("digits", latest, CONTRACT, True, Moment.DRY_RUN)
    assert allowed.allowed and allowed.against == "models:/digits/2 (holds no SavedModel sigforge can read)"


def test_two_sweep_jobs_that_break_each_other_either_way_are_refused(tmp_path):
    first = (["naming=identity"], CONTRACT)
    optional = copy.deepcopy(CONTRACT)  # one more feature with a default: fine either way
    optional["serving_default"]["examples"]["inputs"]["city"] = {
        "dtype": "string",
        "kind": "fixed",
        "shape": [1],
        "default": "",
    }
    assert gate.between_jobs("m", tmp_path, first, (["naming=x"], optional), ["naming"]).allowed
    assert gate.between_jobs("m", tmp_path, (["naming=x"], optional), first, ["naming"]).allowed
    wider = copy.deepcopy(CONTRACT)  # one more output: the other job's clients lose it
    wider["serving_default"]["outputs"]["classes"] = {"dtype": "string", "shape": [None, 3]}
    assert not gate.between_jobs("m", tmp_path, first, (["naming=x"], wider), ["naming"]).allowed
    clash = gate.between_jobs("m", tmp_path, first, (["naming=y"], with_feature(kind="var_len")), ["naming"])
    with pytest.raises(BreakingChange, match=r"Jobs \[naming=identity\] and \[naming=y\] differ") as err:
        clash.check()
    assert "'model.name=m_${naming}'" in str(err.value) and str(err.value).endswith("No job was run.")


@pytest.fixture(scope="module")
def served(export, tmp_path_factory):
    """A model directory whose newest version is a real export (version 1 of image_classifier)."""
    result = export("image_classifier", "mlflow.enabled=false")
    model_dir = tmp_path_factory.mktemp("served") / "image_classifier"
    shutil.copytree(result.export_dir, model_dir / "1")
    return model_dir, contract_to_dict(read_contract(model_dir / "1"))


def test_the_newest_version_on_disk_judges_whoever_wrote_it(served):
    model_dir, contract = served
    same = gate.on_disk(model_dir, contract, False, Moment.FINAL)
    assert same.allowed and same.against == str(model_dir / "1") and same.breaking == ()
    renamed = copy.deepcopy(contract)
    renamed["serving_default"]["inputs"]["input_image"] = renamed["serving_default"]["inputs"].pop("image")
    refused = gate.on_disk(model_dir, renamed, False, Moment.EARLY)
    assert refused.as_dict()["against"] == str(model_dir / "1") and len(refused.as_dict()["breaking"]) == 2
    with pytest.raises(
        BreakingChange, match="export.allow_breaking = false: this contract breaks the clients of"
    ):
        refused.check()
    assert gate.on_disk(model_dir, renamed, True, Moment.EARLY).allowed
    as_job = gate.on_disk(model_dir, renamed, False, Moment.EARLY, job=["naming=prefixed"])
    assert str(as_job.refusal).startswith("job [naming=prefixed]: export.allow_breaking = false")


def test_an_empty_or_missing_model_directory_allows_the_first_version(tmp_path):
    for model_dir in (tmp_path / "missing", tmp_path):
        verdict = gate.on_disk(model_dir, CONTRACT, False, Moment.EARLY)
        assert verdict.allowed and verdict.as_dict() == {"against": None, "breaking": [], "changes": []}
