"""What a run records of the config (``tracking.params``): the config flattened into params, and
secret-looking values redacted everywhere they could leak (params, overrides, the logged
``config.yaml``); a contract's digest."""

from __future__ import annotations

import yaml

from sigforge.tracking.params import REDACTED, contract_digest, flatten, redacted_yaml, without_environment


def test_a_composed_config_flattens_to_one_param_per_leaf_with_json_values(compose):
    params = flatten(compose("+experiment=multi_input"))
    assert params["inputs.image.shape"] == "[null, 28, 28, 1]"
    assert params["naming.policy"] == "identity"
    assert params["model.name"] == "multi_input"
    assert all(isinstance(value, str) for value in params.values())
    assert flatten({"a": {}, "b": {"c": None, "d": True}}) == {"a": "{}", "b.c": "null", "b.d": "true"}


def test_values_taken_from_the_environment_are_never_logged_whatever_the_key(monkeypatch):
    from omegaconf import OmegaConf

    monkeypatch.setenv("TEAM_BUCKET", "s3://bucket-with-a-token-in-its-name")
    raw = OmegaConf.create(
        {"export": {"base_dir": "${oc.env:TEAM_BUCKET}", "keep": 3}, "tags": ["${oc.env:TEAM_BUCKET}", "x"]}
    )
    resolved = OmegaConf.to_container(raw, resolve=True)
    unresolved = OmegaConf.to_container(raw, resolve=False)
    assert without_environment(resolved, unresolved) == {
        "export": {"base_dir": REDACTED, "keep": 3},
        "tags": [REDACTED, "x"],
    }


def test_the_logged_config_yaml_keeps_its_shape_with_secrets_replaced():
    config = {
        "db": {"password": "hunter2", "host": "x"},
        "uri": "https://u:p@h/x",
        "list": [{"api_key": "k"}],
    }
    assert yaml.safe_load(redacted_yaml(config)) == {
        "db": {"password": REDACTED, "host": "x"},
        "uri": REDACTED,
        "list": [{"api_key": REDACTED}],
    }


def test_equal_contracts_have_equal_digests_whatever_the_key_order_and_a_change_changes_it():
    first = {"s": {"inputs": {"a": {"dtype": "float32", "shape": [None]}, "b": None}}}
    reordered = {"s": {"inputs": {"b": None, "a": {"shape": [None], "dtype": "float32"}}}}
    changed = {"s": {"inputs": {"a": {"dtype": "float64", "shape": [None]}, "b": None}}}
    assert contract_digest(first) == contract_digest(reordered)
    assert contract_digest(first) != contract_digest(changed)
    assert len(contract_digest(first)) == 16


def test_secret_looking_values_are_redacted():
    from sigforge.errors import without_credentials
    from sigforge.tracking.params import REDACTED, redact, redact_overrides

    assert redact({"db.password": "hunter2", "api_token": "t", "model.name": "m"}) == {
        "db.password": REDACTED,
        "api_token": REDACTED,
        "model.name": "m",
    }
    assert redact({"mlflow.tracking_uri": "https://me:pw@host/x"})["mlflow.tracking_uri"] == REDACTED
    assert redact_overrides(["secret_key=abc", "model.name=m"]) == f"secret_key={REDACTED} model.name=m"
    assert without_credentials("https://me:pw@host:5000/x") == f"https://{REDACTED}@host:5000/x"
    assert without_credentials("sqlite:////tmp/outputs/mlflow.db") == "sqlite:////tmp/outputs/mlflow.db"


def test_credentials_in_uris_never_reach_messages_tags_or_uploaded_configs():
    from sigforge.errors import without_credentials
    from sigforge.tracking.params import REDACTED, redact_overrides, redacted_yaml

    message = "MLflow at https://me:s3cr3t@host:5000 failed: url: http://a:b@h/api/2.0 (sqlite:////tmp/x.db)"
    cleaned = without_credentials(message)
    assert "s3cr3t" not in cleaned and "a:b@" not in cleaned
    assert (
        cleaned == "MLflow at https://***@host:5000 failed: url: http://***@h/api/2.0 (sqlite:////tmp/x.db)"
    )
    assert redact_overrides(["+db={password: hunter2, host: x}", "n=1"]) == f"+db={REDACTED} n=1"
    assert "hunter2" not in redacted_yaml({"db": {"password": "hunter2"}, "uri": "https://u:p@h"})
