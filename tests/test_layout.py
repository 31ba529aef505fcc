"""The tests mirror the package: each module ``sigforge/<path>/<name>.py`` is named by its test module
``tests/<path>/test_<name>.py``, which tests that module's own behaviour, directly or through the
public entry point that reaches it (issue 33). A new module without one fails here, naming the file
to create. Tests of a behaviour across modules (faults, properties, the docs) live beside them.
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "sigforge"
TESTS = REPO / "tests"
# ``python -m sigforge``'s three lines: tests/test_main.py runs them.
SPECIAL = {"__main__.py": TESTS / "test_main.py"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def mirror(module: Path) -> Path:
    relative = module.relative_to(PACKAGE)
    if relative.as_posix() in SPECIAL:
        return SPECIAL[relative.as_posix()]
    return TESTS / relative.parent / f"test_{relative.stem}.py"


def test_every_module_has_its_test_module():
    missing = [
        f"{mirror(m).relative_to(REPO)} (for {m.relative_to(REPO)})"
        for m in modules()
        if not mirror(m).exists()
    ]
    assert not missing, "create:\n" + "\n".join(missing)
    empty = [
        str(mirror(m).relative_to(REPO)) for m in modules() if "\ndef test_" not in mirror(m).read_text()
    ]
    assert not empty, "these test modules hold no test:\n" + "\n".join(empty)
