"""config/model: the model group checked into a ModelSpec: its builder, a name that stays a plain
directory under export.base_dir, weights or a source model that exist, the task, a tf.estimator
head and the class labels; every other key is a hyperparameter the builder receives."""

from __future__ import annotations

import copy

import pytest
from conftest import HEAD_BINARY

from sigforge.config.model import model_name, model_spec
from sigforge.errors import Problems

from .test_validate import refusal


@pytest.fixture
def checked(compose, plugins, tmp_path):
    """``model_spec`` over the image classifier's model group with ``settings`` changed (paths
    relative to tmp_path): the spec and the problems it collected."""
    base = compose("+experiment=image_classifier")["model"]

    def check(**settings):
        problems = Problems()
        spec = model_spec({**copy.deepcopy(base), **settings}, plugins, tmp_path, problems)
        return spec, list(problems)

    return check


def test_the_model_is_named_after_its_architecture_unless_named():
    assert model_name({"name": None, "architecture": "image_cnn"}) == "image_cnn"
    assert model_name({"name": "digits", "architecture": "image_cnn"}) == "digits"
    assert model_name({"name": None, "architecture": None}) == "model"


def test_every_other_setting_is_a_hyperparameter_for_the_builder(checked, plugins):
    spec, problems = checked(filters=4, params={"dropout": 0.5, "filters": 16})
    assert problems == []
    assert spec.params["hidden_units"] == [32] and spec.params["dropout"] == 0.5
    assert spec.params["filters"] == 16  # model.params (a plugin's own settings) wins
    assert not {"architecture", "name", "weights", "source", "params", "head"} & set(spec.params)
    assert spec.builder is plugins.models.get("image_cnn", "model.architecture")


def test_class_labels_default_to_the_class_numbers(checked):
    spec, _ = checked(num_classes=3)
    assert spec.class_names == ("0", "1", "2")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"name": "2024"}, "model.name = '2024' reads as a number: TF Serving would take its directory"),
        ({"name": " 7 "}, "model.name = ' 7 ' reads as a number"),
        ({"name": "a" * 256}, "model.name is 256 bytes long; it names a directory"),
        ({"architecture": None}, "model.architecture is not set; choose a model"),
        ({"task": "classification", "num_classes": 1}, "softmax over one class always answers 1.0"),
        ({"num_classes": 0}, "model.num_classes = 0 must be a positive integer."),
        ({"num_classes": 3, "class_names": ["a", "b", "a"]}, "model.class_names repeats 'a'"),
        (
            {"num_classes": 3, "class_names": ["a", "b"]},
            "model.class_names has 2 labels but model.num_classes = 3",
        ),
    ],
)
def test_a_wrong_model_setting_is_refused_naming_it(checked, settings, expected):
    _, problems = checked(**settings)
    assert any(expected in p for p in problems), problems


def test_weights_and_a_source_must_exist_as_the_right_kind_of_path(checked, tmp_path):
    (tmp_path / "trained").mkdir()
    (tmp_path / "model.h5").write_bytes(b"")
    (tmp_path / "saved" / "1").mkdir(parents=True)
    (tmp_path / "saved" / "1" / "saved_model.pb").write_bytes(b"")
    for settings, expected in [
        ({"weights": "trained"}, "model.weights = 'trained' is a directory; give a weights file"),
        ({"source": "trained"}, "model.source = 'trained' is a directory without saved_model.pb"),
        ({"source": "model.h5"}, "model.source = 'model.h5' is not a .keras file"),
        ({"source": "gone.keras"}, f"model.source = 'gone.keras' does not exist ({tmp_path / 'gone.keras'})"),
        ({"source": "saved/1", "weights": "model.h5"}, "model.source and model.weights are both set"),
    ]:
        _, problems = checked(**settings)
        assert any(expected in p for p in problems), (settings, problems)


def test_a_source_model_is_exported_as_it_is_without_a_builder(checked, tmp_path):
    (tmp_path / "saved" / "1").mkdir(parents=True)
    (tmp_path / "saved" / "1" / "saved_model.pb").write_bytes(b"")
    spec, problems = checked(source="saved/1")
    assert problems == [] and spec.builder is None and spec.source == tmp_path / "saved" / "1"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.name=../escape", "model.name = '../escape' would leave export.base_dir"),
        ("model.name=a/b", "model.name = 'a/b' would leave export.base_dir"),
        ("model.name=/abs", "model.name = '/abs' would leave export.base_dir"),
        ("model.name=..", "model.name = '..' would leave export.base_dir"),
    ],
)
def test_a_model_name_that_would_leave_base_dir_is_refused(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.weights=missing.weights.h5", "model.weights = 'missing.weights.h5' does not exist"),
        ("model.architecture=resnet9000", "model.architecture = 'resnet9000' is not a registered model"),
        ("model.task=clustering", "model.task = 'clustering' is not one of"),
    ],
)
def test_bad_model_values_are_refused_naming_the_key(compose, plugins, override, expected):
    assert expected in refusal(compose, plugins, "+experiment=image_classifier", override)


@pytest.mark.parametrize(
    ("head", "task"), [("binary_classifier", "classification"), ("regressor", "regression")]
)
def test_a_head_decides_the_task(checked, head, task):
    other = "regression" if task == "classification" else "classification"
    spec, problems = checked(head=head, num_classes=2, task=other)
    assert problems == [] and (spec.head, spec.task) == (head, task)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (("model.num_classes=3",), "set model.num_classes=2"),
        (
            ("model.head=multi_class_classifier",),
            "model.head = multi_class_classifier needs model.num_classes > 2",
        ),
        (
            ("model.head=canned",),
            "model.head = 'canned' is not one of binary_classifier, multi_class_classifier",
        ),
    ],
)
def test_head_settings_are_refused_naming_the_key(compose, plugins, overrides, expected):
    assert expected in refusal(compose, plugins, *HEAD_BINARY, *overrides)
