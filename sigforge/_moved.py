"""Deprecation path for the 0.1 import paths that 0.2's packages by stage replaced (removed in 0.3)."""

from __future__ import annotations

import warnings

from sigforge.errors import REMOVAL_VERSION


def warn_moved(old: str, new: str) -> None:
    warnings.warn(
        f"{old} moved to {new} in sigforge 0.2; the old path is removed in {REMOVAL_VERSION} (CHANGELOG.md).",
        DeprecationWarning,
        stacklevel=3,
    )
