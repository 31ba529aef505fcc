"""Deprecated: ``sigforge.hookspecs`` is ``sigforge.plugins.hookspecs`` since 0.2 (removed in 0.3)."""

from sigforge._moved import warn_moved
from sigforge.plugins.hookspecs import (
    ModelBuilder,
    NamingPolicy,
    Preprocessor,
    PreprocessorFactory,
    PreprocessorWithExample,
    hookspec,
)

warn_moved("sigforge.hookspecs", "sigforge.plugins.hookspecs")

__all__ = [
    "ModelBuilder",
    "NamingPolicy",
    "Preprocessor",
    "PreprocessorFactory",
    "PreprocessorWithExample",
    "hookspec",
]
