#!/usr/bin/env bash
# The project's one test command (README "Quick start", and what .ci/run calls):
# creates .venv if needed, installs sigforge with its test extras, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m ruff check sigforge tests bench plugins
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests (exit 5); treating as failure: the suite must run" >&2
  exit 1
fi
exit "$status"
