"""YAML that never finishes loading: alias bombs ("billion laughs") refused before they expand.

PyYAML shares one node among all the aliases (``*a``) of an anchor (``&a``), so a 1 KB file of
nested aliases parses at once into shared Python objects; OmegaConf then copies every reference
into a node of its own, which is exponential in the nesting (nine levels of nine aliases: 387
million nodes; 100,000 OmegaConf nodes take about 10 s here). Hydra reads every config file
through ``OmegaConf.load``, which takes its YAML loader from ``omegaconf._utils.get_yaml_loader``
at each call; ``install`` wraps that function once so that the loader, after parsing a document
and before anything is built from it, counts what the aliases would add (a walk over the shared
nodes, linear in the file's size) and refuses past ``MAX_ALIAS_VALUES``, naming the file.

Why there: it is the one place every YAML document of a composition passes through (the packaged
tree, ``hydra.searchpath`` and ``--config-dir`` files, experiment files, ``sigforge log
--config``), before OmegaConf expands it. The limit is far above what aliases add in a real config
(a few shared blocks of a few values each) and far below what takes noticeable time or memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from sigforge.errors import ConfigError

MAX_ALIAS_VALUES = 10_000  # values YAML aliases may add to one document once expanded


class AliasBomb(ConfigError):
    """A YAML document whose aliases expand past ``MAX_ALIAS_VALUES`` or refer to themselves."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


# What the CLI does with a refusal (``errors.exit_for``): Hydra would print any exception raised
# while it loads a file with its traceback, so the CLI ends the process from here instead.
_ON_REFUSAL: list[Callable[[AliasBomb], NoReturn]] = []


def alias_expansion(root: Any) -> int:
    """How many values the aliases in a composed YAML node graph add once every alias is copied
    (the expanded count minus the distinct nodes). Raises AliasBomb for an alias inside itself."""
    import yaml

    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in expanded:
            return expanded[key]
        if key in open_nodes:
            raise AliasBomb(f"an alias refers to a node that contains it (line {node.start_mark.line + 1})")
        open_nodes.add(key)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        else:
            total = 1
        open_nodes.discard(key)
        expanded[key] = total
        return total

    return size(root) - len(expanded)


def check_document(root: Any, name: str) -> None:
    """Refuse the document ``root`` (a composed YAML node) of file ``name`` if it is a bomb."""
    try:
        added = alias_expansion(root)
    except RecursionError:
        added = MAX_ALIAS_VALUES + 1
    except AliasBomb as err:
        _refuse(AliasBomb(f"{name}: {err}; YAML that refers to itself cannot become a config."))
    if added > MAX_ALIAS_VALUES:
        _refuse(
            AliasBomb(
                f"{name}: its YAML aliases (*name) would expand it by {added} values, more than the "
                f"{MAX_ALIAS_VALUES} sigforge allows (an alias bomb never finishes loading); write the "
                "values out, or share fewer, smaller blocks."
            )
        )


def _refuse(error: AliasBomb) -> NoReturn:
    for handler in _ON_REFUSAL:
        handler(error)
    raise error


def install(on_refusal: Callable[[AliasBomb], NoReturn] | None = None) -> None:
    """Have every YAML loader OmegaConf makes from now on check each document (idempotent).
    ``on_refusal``: called with the refusal instead of raising it (the CLI's ``exit_for``)."""
    from omegaconf import _utils

    if on_refusal is not None:
        _ON_REFUSAL[:] = [on_refusal]

    if getattr(_utils.get_yaml_loader, "sigforge_guarded", False):
        return
    original = _utils.get_yaml_loader

    def get_yaml_loader() -> Any:
        base = original()

        class BoundedLoader(base):  # type: ignore[misc, valid-type]
            def construct_document(self, node: Any) -> Any:
                check_document(node, str(getattr(self, "name", "<yaml>")))
                return super().construct_document(node)

        return BoundedLoader

    get_yaml_loader.sigforge_guarded = True  # type: ignore[attr-defined]
    _utils.get_yaml_loader = get_yaml_loader
