"""config/compose: the config ``sigforge`` would run, for library callers: the packaged tree composed
through Hydra with command-line overrides, returned as plain resolved data."""

from __future__ import annotations

import json

from sigforge.config.compose import compose, normalize_overrides


def test_both_spellings_of_an_experiment_select_it():
    assert normalize_overrides(["+experiment=multi_input", "naming=prefixed"]) == [
        "experiment=multi_input",
        "naming=prefixed",
    ]
    # Only the experiment group: any other `+key=value` still adds a key, as Hydra means it.
    assert normalize_overrides(["+inputs.image.key=pixels"]) == ["+inputs.image.key=pixels"]
    assert compose("+experiment=multi_input") == compose("experiment=multi_input")


def test_the_packaged_defaults_compose_into_plain_json_data():
    cfg = compose()
    assert json.loads(json.dumps(cfg)) == cfg  # dicts, lists and scalars: no OmegaConf containers
    assert (cfg["model"]["architecture"], list(cfg["inputs"]), cfg["naming"]["policy"]) == (
        "image_cnn",
        ["image"],
        "identity",
    )
    assert "hydra" not in cfg  # Hydra's own settings are not the export's


def test_an_experiment_and_overrides_are_applied_in_order():
    cfg = compose("experiment=multi_input", "naming=prefixed", "inputs.text.shape=[null,50]")
    assert cfg["model"]["name"] == "multi_input"
    assert list(cfg["inputs"]) == ["image", "text"] and cfg["inputs"]["text"]["shape"] == [None, 50]
    assert cfg["naming"] == {**cfg["naming"], "policy": "prefixed", "prefix": "input_"}


def test_each_call_starts_again_from_the_packaged_config():
    assert compose("naming=prefixed")["naming"]["policy"] == "prefixed"
    assert compose()["naming"]["policy"] == "identity"
