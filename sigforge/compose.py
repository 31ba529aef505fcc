"""Deprecated: ``sigforge.compose`` is ``sigforge.config.compose`` since 0.2 (removed in 0.3)."""

from sigforge._moved import warn_moved
from sigforge.config.compose import compose, normalize_overrides

warn_moved("sigforge.compose", "sigforge.config.compose")

__all__ = ["compose", "normalize_overrides"]
