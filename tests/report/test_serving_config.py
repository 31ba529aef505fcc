"""TF Serving's model config as ``sigforge serving-config`` renders it, read back by TF Serving's
own protos (``tensorflow_serving.config.model_server_config_pb2``) and held to its label rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format

from sigforge.report.serving_config import ModelEntry, hold_moves, model_dirs, read_config, render


def parse(text: str):
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def tf_serving_refusals(
    config, available: dict[str, set[int]], previous_labels=None, allow_unavailable=False
):
    """What TF Serving 2.21's ``ServerCore::ReloadConfig`` would refuse in ``config``
    (``ValidateModelConfigList``, ``UpdateModelVersionLabelMap`` in model_servers/server_core.cc):
    ``available``: model -> versions loaded when the config is read; ``previous_labels``: model ->
    label -> version of the config it replaces."""
    problems, names = [], set()
    platforms = {model.model_platform for model in config.model_config_list.config}
    if len(platforms) > 1 or "" in platforms:
        problems.append(f"platforms {platforms}")
    for model in config.model_config_list.config:
        if model.name in names:
            problems.append(f"model {model.name} listed twice")
        names.add(model.name)
        if not model.base_path.startswith("/"):
            problems.append(f"{model.name}: relative base_path {model.base_path}")
        for label, version in model.version_labels.items():
            existing = (previous_labels or {}).get(model.name, {}).get(label)
            allowed = allow_unavailable and (existing is None or existing == version)
            if not allowed and version not in available.get(model.name, set()):
                problems.append(f"{model.name}: label {label} -> {version}, which is not available")
    return problems


def versions(tmp_path: Path, model: str, *names: str) -> Path:
    for name in names:
        (tmp_path / model / name).mkdir(parents=True)
    return tmp_path / model


def test_every_model_directory_with_versions_is_an_entry_with_the_default_policy(tmp_path):
    versions(tmp_path, "digits", "1", "2")
    versions(tmp_path, "text", "7")
    versions(tmp_path, "empty", ".staging-1")  # no version: TF Serving would serve nothing
    (tmp_path / "text" / "9").write_text("a file named like a version counts for TF Serving")
    entries = model_dirs(tmp_path)
    assert [(e.name, e.versions) for e in entries] == [("digits", (1, 2)), ("text", (7, 9))]
    config = parse(render(entries, ["made by a test"]))
    assert [(m.name, m.base_path, m.model_platform) for m in config.model_config_list.config] == [
        ("digits", str(tmp_path / "digits"), "tensorflow"),
        ("text", str(tmp_path / "text"), "tensorflow"),
    ]
    for model in config.model_config_list.config:
        assert not model.HasField("model_version_policy") and not model.version_labels
    assert tf_serving_refusals(config, {}) == []


def test_labels_serve_exactly_the_labelled_versions(tmp_path):
    base = versions(tmp_path, "digits", "1", "2", "3", "10")
    entry = ModelEntry("digits", base, (1, 2, 3, 10), {"champion": 2, "challenger": 3, "stable": 2})
    config = parse(render([entry]))
    (model,) = config.model_config_list.config
    assert model.model_version_policy.WhichOneof("policy_choice") == "specific"
    assert list(model.model_version_policy.specific.versions) == [2, 3]  # not 10, the newest on disk
    assert dict(model.version_labels) == {"champion": 2, "challenger": 3, "stable": 2}
    # A reload once 2 and 3 are loaded is accepted; a first start needs the flag.
    assert tf_serving_refusals(config, {"digits": {2, 3}}) == []
    assert tf_serving_refusals(config, {}) != []
    assert tf_serving_refusals(config, {}, allow_unavailable=True) == []


def test_names_that_need_escaping_round_trip(tmp_path):
    odd = 'a "quoted" name\\ with ünïcode'
    base = versions(tmp_path, odd, "1")
    config = parse(render([ModelEntry(odd, base, (1,), {"é-label_1": 1})]))
    (model,) = config.model_config_list.config
    assert model.name == odd and model.base_path == str(base)
    assert dict(model.version_labels) == {"é-label_1": 1}
    assert read_config(render([ModelEntry(odd, base, (1,), {"é-label_1": 1})]))[odd] == (
        {"é-label_1": 1},
        (1,),
    )


def test_a_label_moves_only_to_a_version_already_served():
    # canary -> 7 served {6, 7}; the registry moves canary to 8, which TF Serving has not loaded.
    kept, held = hold_moves({"stable": 6, "canary": 8}, {"stable": 6, "canary": 7}, (6, 7), (6, 7, 8))
    assert kept == {"stable": 6, "canary": 7} and held == {"canary": (7, 8)}
    # The config that holds it is accepted by TF Serving even with the flag's stricter move rule...
    previous = {"digits": {"stable": 6, "canary": 7}}
    entry = ModelEntry("digits", Path("/m/digits"), (6, 7, 8), kept)
    config = parse(render([entry], extra={"digits": [8]}))
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [6, 7, 8]
    assert tf_serving_refusals(config, {"digits": {6, 7}}, previous) == []
    # ...where the direct move is refused, flag or not.
    moved = parse(render([ModelEntry("digits", Path("/m/digits"), (6, 7, 8), {"stable": 6, "canary": 8})]))
    assert tf_serving_refusals(moved, {"digits": {6, 7}}, previous)
    assert tf_serving_refusals(moved, {"digits": {6, 7}}, previous, allow_unavailable=True)
    # Once 8 is served, the next config moves it.
    kept, held = hold_moves({"stable": 6, "canary": 8}, kept, (6, 7, 8), (6, 7, 8))
    assert kept == {"stable": 6, "canary": 8} and held == {}
    # A new label, or one whose old version is gone from disk, is not held.
    assert hold_moves({"new": 8}, {}, (6,), (6, 8)) == ({"new": 8}, {})
    assert hold_moves({"canary": 8}, {"canary": 5}, (5,), (6, 8)) == ({"canary": 8}, {})


def test_a_model_directory_or_an_empty_base_is_refused(tmp_path):
    base = versions(tmp_path, "digits", "1")
    with pytest.raises(ValueError, match="it is a model directory; give its parent"):
        model_dirs(base)
    with pytest.raises(ValueError, match="--model nope: no model directory with versions"):
        model_dirs(tmp_path, ("digits", "nope"))
    with pytest.raises(ValueError, match="holds a version; export a model first"):
        model_dirs(tmp_path / "digits" / "1")
    with pytest.raises(ValueError, match="is not a directory"):
        model_dirs(tmp_path / "missing")


def test_a_file_that_is_not_a_config_is_named():
    with pytest.raises(ValueError, match="not a ModelServerConfig in text format"):
        read_config("model_config_list { config { name: 3 } ")
