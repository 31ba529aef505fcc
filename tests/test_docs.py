"""The README and docs/ as users read them: the README runs top to bottom as printed, and every test
a document cites exists."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import QUIET_TF, REPO

README = REPO / "README.md"
DOCUMENTS = [README, REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
TEST_COMMAND = "bash scripts/test.sh"


def bash_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)]


def test_the_readme_is_a_front_page():
    assert len(README.read_text().splitlines()) <= 200


def test_the_readme_test_command_is_what_ci_runs():
    blocks = bash_blocks(README.read_text())
    assert blocks[1] == TEST_COMMAND
    ci = (REPO / ".ci" / "run").read_text()
    assert "exec bash scripts/test.sh" in ci


def cited_tests(text: str) -> set[tuple[str | None, str | None]]:
    """(file, function) pairs a document names: ``test_x.py::test_y``, ``test_x.py``, ``test_y``."""
    cited: set[tuple[str | None, str | None]] = set()
    for file, function, bare in re.findall(
        r"((?:tests/(?:\w+/)*)?test_\w+\.py)(?:::(test_\w+))?|\b(test_\w+)\b(?!\.py)", text
    ):
        cited.add((file, function or None) if file else (None, bare))
    return cited


def test_every_test_a_document_cites_exists():
    # by path: test modules in different packages share basenames (tests/config/test_inputs.py,
    # tests/verify/test_inputs.py); a citation without its folder matches any module of that name
    sources = {p.relative_to(REPO).as_posix(): p.read_text() for p in (REPO / "tests").rglob("test_*.py")}
    defined = {name for text in sources.values() for name in re.findall(r"^def (test_\w+)", text, flags=re.M)}
    names = {path.rsplit("/", 1)[-1] for path in sources}

    def modules(file: str) -> list[str]:
        return [text for path, text in sources.items() if path == file or path.endswith("/" + file)]

    missing = []
    for document in DOCUMENTS:
        for file, function in cited_tests(document.read_text()):
            if file is not None and not modules(file):
                missing.append(f"{document.name}: {file}")
            elif file is not None and function and not any(f"def {function}(" in m for m in modules(file)):
                missing.append(f"{document.name}: {file}::{function}")
            elif file is None and function not in defined and f"{function}.py" not in names:
                missing.append(f"{document.name}: {function}")
    assert missing == []


@pytest.mark.slow
@pytest.mark.xdist_group("wheel_venv")  # with tests/test_install.py: one wheel venv
def test_every_readme_command_block_runs_in_order_as_printed(wheel_venv):
    """One shell, as the README says: its blocks in order, in the fresh clone whose ``.venv`` holds
    the wheel install (the set-up line then reinstalls sigforge from the clone, as a user's does).
    The test command itself is this suite, so it is the one block left out. A block whose last
    command list fails stops the script (``set -e`` alone would let a failing ``a && b`` pass)."""
    clone = wheel_venv["clone"]
    blocks = [block for block in bash_blocks(README.read_text()) if block != TEST_COMMAND]
    script = "\n".join(
        # A user's shell: errexit for the test's sake, but no pipefail (``| head -1`` may end a
        # writer by SIGPIPE, which a shell does not report).
        ["set -eu", "trap 'echo \"README command failed: $BASH_COMMAND\" >&2' ERR"]
        + [
            f"echo '>>> block {i}' >&2\n{block}\n"
            f"status=$?; [ $status -eq 0 ] || {{ echo 'README block {i} failed' >&2; exit $status; }}"
            for i, block in enumerate(blocks)
        ]
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=clone,
        env={**env, **QUIET_TF},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "refused: exit 5" in done.stdout and "breaking: exit 1" in done.stdout
    exports = clone / "outputs" / "exports"
    assert {p.name for p in exports.iterdir()} >= {
        "multi_input",
        "image_classifier",
        "variable_length",
        "multi_input_prefixed",
        "multi_input_identity",
        "sequences_camel",
        "digits",
    }
    assert sorted(p.name for p in (exports / "multi_input").iterdir() if p.name.isdigit()) == ["1"]


@pytest.mark.slow
def test_the_migration_walk_through_runs_as_printed(tmp_path):
    """docs/migrating.md's blocks in order, in one shell, from a directory holding the fixture it
    adopts (the clone's root has it at the same path)."""
    import shutil
    import sys
    from pathlib import Path

    shutil.copytree(REPO / "tests" / "fixtures" / "adopt" / "dnn_binary_parsing",
                    tmp_path / "tests" / "fixtures" / "adopt" / "dnn_binary_parsing")  # fmt: skip
    blocks = bash_blocks((REPO / "docs" / "migrating.md").read_text())
    script = "\n".join(["set -eu", *blocks])
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **QUIET_TF, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no differences: the contracts are identical" in done.stdout
    assert "refused: exit 5" in done.stdout
    assert "feature 'age' (in 'inputs') dtype" in done.stderr
