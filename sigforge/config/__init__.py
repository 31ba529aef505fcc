"""Stage 1: config -> validated ``ExportSpec``. The schema, composition, validation, client keys.

Imports neither TensorFlow nor MLflow (an import-linter contract in pyproject.toml), so a wrong
config is reported in about a second.
"""
