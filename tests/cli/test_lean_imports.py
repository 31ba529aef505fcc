"""The sigforge command's Keras comes without the optional packages an export never uses, while
every other importer still gets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import QUIET_TF

SCRIPT = """
import json, sys
from sigforge.cli.lean_imports import KERAS_EXTRAS, block_keras_extras
block_keras_extras()
import keras
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])  # Keras works without them
after_keras = sorted(n for n in KERAS_EXTRAS if n in sys.modules)
import pandas  # a team's plugin, or MLflow, importing one of them itself
print(json.dumps({"after_keras": after_keras, "pandas": pandas.__name__, "out": list(model(pandas.DataFrame([[1.0, 2.0, 3.0]]).to_numpy()).shape)}))
"""


def test_keras_is_imported_without_its_optional_extras_and_others_still_import_them():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "after_keras": [],
        "pandas": "pandas",
        "out": [1, 2],
    }
