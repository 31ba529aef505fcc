"""Built-in naming policies: ``identity`` (the default), ``prefixed`` and ``template``."""

from __future__ import annotations

from typing import Any

from sigforge import hookimpl


def identity(input: Any, signature: Any, **params: Any) -> str:
    """The key is the input's name: ``image`` -> ``image``."""
    return input.name


def prefixed(input: Any, signature: Any, *, prefix: str, **params: Any) -> str:
    """The key is ``naming.prefix`` before the name: ``image`` -> ``input_image``."""
    return f"{prefix}{input.name}"


def template(input: Any, signature: Any, *, template: str, **params: Any) -> str:
    """The key is ``naming.template`` formatted with the input's and signature's fields.

    Fields: ``{name}``, ``{modality}``, ``{dtype}``, ``{signature}``, ``{method}``; for example
    ``naming.template="{modality}_{name}"`` gives ``image_image`` and ``text_text``.
    """
    fields = {
        "name": input.name,
        "modality": input.modality,
        "dtype": input.dtype,
        "signature": signature.name,
        "method": signature.method,
    }
    pattern = template
    try:
        return pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f"naming.template = {pattern!r} is not a valid template ({err}); "
            f"use only the fields {{{'}, {'.join(fields)}}}"
        ) from None


@hookimpl
def register_naming_policies(register):
    register("identity", identity)
    register("prefixed", prefixed)
    register("template", template)
