"""Client keys: an explicit ``inputs.<name>.key``, else what the naming policy plugin makes of the
input's name. A key must survive TensorFlow byte for byte and be unique within its signature."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from sigforge.errors import PluginError, Problems
from sigforge.plugins.manager import call_with_params
from sigforge.rules import key_problem
from sigforge.spec import InputSpec, Registered, SignatureSpec


def resolve_keys(
    signature: SignatureSpec,
    inputs: Mapping[str, InputSpec],
    policy: Registered,
    naming: Mapping[str, Any],
    problems: Problems,
) -> SignatureSpec:
    """Resolve each input's client key: an explicit ``inputs.<name>.key``, else the naming policy."""
    if signature.takes_examples:
        return signature
    params = {k: v for k, v in naming.items() if k != "policy"}  # prefix, template
    keys: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in signature.inputs:
        spec = inputs[name]
        key = spec.key if spec.key is not None else _policy_key(spec, signature, policy, params, problems)
        if key is None:
            continue
        # TensorFlow lower-cases argument names inside a signature function, so 'Image' and 'image'
        # collide there (saving fails); keys must differ in more than case.
        other = owner.get(key.lower())
        if other is not None:
            problems.append(_collision(signature, other, keys[other], name, key))
        owner[key.lower()] = name
        keys[name] = key
    return replace(signature, keys=MappingProxyType(keys))


def _policy_key(
    spec: InputSpec,
    signature: SignatureSpec,
    policy: Registered,
    params: Mapping[str, Any],
    problems: Problems,
) -> str | None:
    """The policy's key for one input, checked. None (with a problem) when the policy kept a name
    TensorFlow cannot keep: that is the config's to fix. A bad key the policy made is the plugin's."""
    key = call_with_params(
        policy,
        f"naming policy '{policy.name}'",
        spec,
        signature,
        params=params,
        old_form="policy(input, signature) reading signature.naming",
    )
    where = f"naming policy '{policy.name}' (plugin '{policy.plugin}') for {spec.path} in signatures.{signature.name}"
    if not isinstance(key, str):
        raise PluginError(f"{where} returned {key!r} ({type(key).__name__}); a policy must return a str.")
    if key == spec.name:
        problem = key_problem(
            key, f"{spec.path} (the key under naming policy '{policy.name}')", argument=True
        )
        if problem:
            problems.append(f"{problem} Set {spec.path}.key or rename the input.")
            return None
    problem = key_problem(key, where, argument=True)
    if problem:
        raise PluginError(problem)
    return key


def _collision(signature: SignatureSpec, other: str, other_key: str, name: str, key: str) -> str:
    if other_key == key:
        return (
            f"signatures.{signature.name}: inputs {other!r} and {name!r} both get the key {key!r}; "
            f"set inputs.{name}.key or choose another naming.policy."
        )
    return (
        f"signatures.{signature.name}: inputs {other!r} and {name!r} get the keys {other_key!r} and "
        f"{key!r}, which differ only in case: TensorFlow lower-cases argument names and cannot save "
        f"both; set inputs.{name}.key to a key that differs in more than case."
    )
