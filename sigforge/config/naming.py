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
    policy_name = policy.name
    params = {k: v for k, v in naming.items() if k != "policy"}  # prefix, template
    keys: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in signature.inputs:
        spec = inputs[name]
        if spec.key is not None:
            key, where = spec.key, f"{spec.path}.key"
        else:
            key = call_with_params(
                policy,
                f"naming policy '{policy_name}'",
                spec,
                signature,
                params=params,
                old_form="policy(input, signature) reading signature.naming",
            )
            where = f"naming policy '{policy_name}' (plugin '{policy.plugin}') for {spec.path} in signatures.{signature.name}"
            if not isinstance(key, str):
                raise PluginError(
                    f"{where} returned {key!r} ({type(key).__name__}); a policy must return a str."
                )
            if key == spec.name:  # the policy kept the name: a bad key is the config's to fix
                problem = key_problem(
                    key, f"{spec.path} (the key under naming policy '{policy_name}')", argument=True
                )
                if problem:
                    problems.append(f"{problem} Set {spec.path}.key or rename the input.")
                    continue
            problem = key_problem(key, where, argument=True)
            if problem:
                raise PluginError(problem)
        # TensorFlow lower-cases argument names inside a signature function, so 'Image' and 'image'
        # collide there (saving fails); keys must differ in more than case.
        other = owner.get(key.lower())
        if other is not None:
            same = keys[other] == key
            problems.append(
                f"signatures.{signature.name}: inputs {other!r} and {name!r} both get the key {key!r}; "
                f"set inputs.{name}.key or choose another naming.policy."
                if same
                else f"signatures.{signature.name}: inputs {other!r} and {name!r} get the keys {keys[other]!r} and "
                f"{key!r}, which differ only in case: TensorFlow lower-cases argument names and cannot save "
                f"both; set inputs.{name}.key to a key that differs in more than case."
            )
        owner[key.lower()] = name
        keys[name] = key
    return replace(signature, keys=MappingProxyType(keys))
