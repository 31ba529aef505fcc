"""What a run records of the config: flattened params, with secret-looking values redacted
everywhere they could leak (params, overrides, the logged ``config.yaml``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "credential",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
)
REDACTED = "***"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"inputs": {"image": {"shape": [None, 28]}}}`` -> ``{"inputs.image.shape": "[None, 28]"}``."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = json.dumps(value) if not isinstance(value, str) else value
    return flat


def looks_secret(key: str, value: str) -> bool:
    lowered = key.lower().replace("-", "_")
    if any(word in lowered for word in SECRET_WORDS):
        return True
    # user:password@host in a URI
    return "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]


ENV_INTERPOLATION = "${oc.env:"


def without_environment(resolved: Any, raw: Any) -> Any:
    """``resolved`` with every value that ``raw`` (the same config before resolution) takes from
    the environment (``${oc.env:VAR}``) replaced by ``***``: environment variables carry tokens,
    whatever the key is called, and are never logged."""
    if isinstance(raw, str):
        return REDACTED if ENV_INTERPOLATION in raw else resolved
    if isinstance(raw, Mapping) and isinstance(resolved, Mapping):
        return {k: without_environment(v, raw.get(k)) for k, v in resolved.items()}
    if isinstance(raw, list) and isinstance(resolved, list) and len(raw) == len(resolved):
        return [without_environment(v, r) for v, r in zip(resolved, raw, strict=True)]
    return resolved


def redact(params: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if looks_secret(k, v) else v) for k, v in params.items()}


def _names_a_secret(value: str) -> bool:
    """A mapping or list value (``{password: x}``) with a secret-looking key inside."""
    lowered = value.lower().replace("-", "_")
    return value.lstrip().startswith(("{", "[")) and any(word in lowered for word in SECRET_WORDS)


def redact_overrides(overrides: Iterable[str]) -> str:
    """Hydra overrides as one line, ``key=***`` where the value looks secret."""
    out = []
    for override in overrides:
        key, sep, value = override.partition("=")
        secret = sep and (looks_secret(key, value) or _names_a_secret(value))
        out.append(f"{key}={REDACTED}" if secret else override)
    return " ".join(out)


def redact_tree(value: Any, key: str = "") -> Any:
    """The same structure with secret-looking values replaced, for artifacts such as config.yaml."""
    if isinstance(value, Mapping):
        return {k: redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v, key) for v in value]
    if isinstance(value, str) and looks_secret(key, value):
        return REDACTED
    return value


def redacted_yaml(config: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(redact_tree(config), sort_keys=False)


def contract_digest(contract: Mapping[str, Any]) -> str:
    """A short, stable fingerprint of a contract: equal digests, equal keys, dtypes, shapes and methods."""
    return hashlib.sha256(json.dumps(contract, sort_keys=True).encode()).hexdigest()[:16]
