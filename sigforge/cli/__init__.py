"""The entry points: ``sigforge`` (export, via Hydra) and its readers ``inspect``, ``diff``, ``log``.

The top layer: nothing in sigforge imports it (an import-linter contract in pyproject.toml).
"""
