#!/usr/bin/env bash
# The project's one test command (README "Quick start", and what .ci/run calls):
# creates .venv if needed, installs sigforge with its test extras at the exact versions of
# constraints.txt, checks lint and the layer contracts, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# The suite starts about a thousand Python processes: let them cache compiled modules, as a user's
# machine does (some CI images set PYTHONDONTWRITEBYTECODE, which recompiles sigforge in each one).
unset PYTHONDONTWRITEBYTECODE
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade -c constraints.txt pip setuptools wheel
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test]'
# TF Serving's own protos, to read the warmup file and run the generated gRPC clients in tests.
# --no-deps: the wheel depends on the full `tensorflow`, which would install beside tensorflow-cpu.
.venv/bin/python -m pip install --quiet --no-deps -c constraints.txt tensorflow-serving-api
# The browser test drives Debian's Chromium (Playwright's own browser download is not reachable).
# Where it can install it (root with apt, as in CI), the browser test must run, not skip.
# The Slurm tests start a single-node cluster from Debian's packages (tests/slurm_cluster.py).
# The team-server tests back an mlflow server with Debian's PostgreSQL (tests/postgres_cluster.py).
# Where they can be installed (root with apt, as in CI), those tests must run, not skip.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export SIGFORGE_REQUIRE_BROWSER=1 SIGFORGE_REQUIRE_SLURM=1 SIGFORGE_REQUIRE_POSTGRES=1
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v slurmctld >/dev/null 2>&1 || missing="$missing slurmctld slurmd slurm-client munge"
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
  if [ -n "$missing" ]; then
    echo "installing Debian's$missing for the browser, Slurm and PostgreSQL tests..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
      || echo "installing$missing failed; the browser, Slurm or PostgreSQL tests will fail" >&2
  fi
fi
.venv/bin/python -m ruff check sigforge tests bench plugins
.venv/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml
# Every core (most tests wait on subprocesses that import TensorFlow); SIGFORGE_TEST_WORKERS=0 runs
# in one process. Tests that share a session resource (the Slurm cluster, the wheel venv) are
# pinned to one worker each by their xdist_group.
workers="${SIGFORGE_TEST_WORKERS:-$(nproc)}"
parallel=()
if [ "$workers" -gt 1 ]; then
  parallel=(-n "$workers" --dist loadgroup)
fi
set +e
.venv/bin/python -m pytest -p no:cacheprovider "${parallel[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests (exit 5); treating as failure: the suite must run" >&2
  exit 1
fi
exit "$status"
