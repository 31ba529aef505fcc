"""``sigforge.cli.app``: importing it changes nothing in the process; running the command gives
TensorFlow its environment defaults (``sigforge.TENSORFLOW_ENV_DEFAULTS``) and Hydra the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sigforge import TENSORFLOW_ENV_DEFAULTS

IMPORT_ONLY = """
import json, os
before = dict(os.environ)
import sigforge.cli.app
from hydra.core.config_store import ConfigStore
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"changed": changed, "stored": ConfigStore.instance().list("/")}))
"""

PROBE = """
import json, os
from pathlib import Path
Path("seen.json").write_text(json.dumps({k: os.environ.get(k) for k in NAMES}))
"""


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TENSORFLOW_ENV_DEFAULTS}
    return {**env, "PYTHONWARNINGS": "ignore", **values}


def test_importing_the_app_changes_no_environment_and_stores_no_schema():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["changed"] == []
    assert not [name for name in said["stored"] if name.startswith("sigforge_")]


def test_the_command_gives_tensorflow_its_defaults_where_the_user_set_none(tmp_path):
    """A plugin module, imported while the config is validated, sees what TensorFlow would."""
    (tmp_path / "envprobe.py").write_text(PROBE.replace("NAMES", repr(sorted(TENSORFLOW_ENV_DEFAULTS))))
    done = subprocess.run(
        [sys.executable, "-m", "sigforge", "experiment=image_classifier", "export.dry_run=true",
         "plugins.modules=[envprobe]"],
        cwd=tmp_path, env=clean_env(PYTHONPATH=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["signatures"]  # composed against the schema, as before
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {**TENSORFLOW_ENV_DEFAULTS, "TF_CPP_MIN_LOG_LEVEL": "3"}  # the user's value wins
