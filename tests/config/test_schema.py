"""The schema is the one home of every default: no YAML file under conf/ repeats one, and every
stage reads the defaults through the schema (sigforge.config.schema.with_defaults)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

import sigforge
from sigforge.config.schema import (
    ExportConf,
    InputConf,
    MlflowConf,
    ModelConf,
    NamingConf,
    SigforgeConfig,
    SignatureConf,
    with_defaults,
)
from sigforge.errors import ConfigError

CONF = REPO / "conf"
GROUPS = {"model": ModelConf, "export": ExportConf, "mlflow": MlflowConf, "naming": NamingConf}


def defaults_of(node: type) -> dict[str, Any]:
    return {
        f.name: f.default_factory() if f.default_factory is not MISSING else f.default
        for f in fields(node)
        if f.default is not MISSING or f.default_factory is not MISSING
    }


def repeats(settings: dict[str, Any], node: type, where: str) -> list[str]:
    """``where.key`` for every setting equal to the schema's default for it."""
    defaults = defaults_of(node)
    return [f"{where}.{k}" for k, v in settings.items() if k in defaults and v == defaults[k]]


def group_repeats(group: str, settings: dict[str, Any], where: str) -> list[str]:
    if group == "inputs":
        return [r for name, s in settings.items() for r in repeats(s or {}, InputConf, f"{where}.{name}")]
    if group == "signatures":
        return [r for name, s in settings.items() for r in repeats(s or {}, SignatureConf, f"{where}.{name}")]
    return repeats(settings, GROUPS[group], where) if group in GROUPS else []


def conf_files() -> list[Path]:
    return sorted(p for p in CONF.rglob("*.yaml") if "hydra" not in p.relative_to(CONF).parts)


@pytest.mark.parametrize("path", conf_files(), ids=lambda p: str(p.relative_to(CONF)))
def test_no_yaml_file_repeats_a_schema_default(path):
    data = yaml.safe_load(path.read_text()) or {}
    data.pop("defaults", None)
    group = path.relative_to(CONF).parts[0]
    if group in ("experiment",) or path.name == "config.yaml":  # @package _global_
        found = [
            r for key, value in data.items() if key != "hydra" for r in group_repeats(key, value or {}, key)
        ]
    else:
        found = group_repeats(group, data, group)
    assert not found, f"{path.relative_to(CONF)} repeats the schema's defaults of {found}; delete them there"


def test_a_partial_config_gets_every_default_from_the_schema():
    cfg = with_defaults({"model": {"architecture": "image_cnn"}, "signatures": {"serving_default": {}}})
    assert cfg["model"] == {**defaults_of(ModelConf), "architecture": "image_cnn"}
    assert cfg["signatures"]["serving_default"] == defaults_of(SignatureConf)
    assert {k: cfg[k] for k in GROUPS if k != "model"} == {
        k: defaults_of(GROUPS[k]) for k in GROUPS if k != "model"
    }
    assert set(cfg) == {f.name for f in fields(SigforgeConfig)}


@pytest.mark.parametrize(
    "config, key",
    [
        ({"model": {"num_classes": "ten"}}, "model.num_classes"),
        ({"export": {"warmup": "maybe"}}, "export.warmup"),
        ({"signatures": {"s": {"outputs": "scores", "extra": 1}}}, "signatures.s"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_key(config, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as refused:
        with_defaults(config)
    # ... and the file that declares the types, where it is in the package
    said = str(refused.value)
    assert said.endswith("; give a value of the type sigforge/config/schema.py declares.")
    assert (Path(sigforge.__file__).parent / "config" / "schema.py").is_file()
