"""The ``sigforge`` command line: the export app, and the readers by their sub-command names.

Export is Hydra's (its arguments are overrides, so it takes no sub-command); the readers have
argparse command lines of their own. Nothing heavier than the standard library is imported here,
so ``sigforge --version`` and ``sigforge inspect`` answer without Hydra's or TensorFlow's start-up.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from sigforge.cli.exits import guard_standard_streams, quiet_broken_pipe, say_lost_stdout

READERS = {
    "inspect": "sigforge.cli.inspect_command",
    "diff": "sigforge.cli.diff_command",
    "log": "sigforge.cli.log_command",
    "adopt": "sigforge.cli.adopt_command",
    "serving-config": "sigforge.cli.serving_config_command",
}


def versions_text() -> str:
    """sigforge's version and those of the libraries whose behaviour an export depends on."""
    from importlib.metadata import PackageNotFoundError, version

    from sigforge import __version__

    parts = [f"sigforge {__version__}"]
    for label, dists in (
        ("TensorFlow", ("tensorflow-cpu", "tensorflow")),
        ("Keras", ("keras",)),
        ("MLflow", ("mlflow",)),
        ("Hydra", ("hydra-core",)),
    ):
        for dist in dists:
            try:
                parts.append(f"{label} {version(dist)}")
                break
            except PackageNotFoundError:
                continue
        else:
            parts.append(f"{label} not installed")
    return ", ".join(parts)


def reader(name: str) -> Callable[[list[str]], int]:
    return importlib.import_module(READERS[name]).main


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    guard_standard_streams()
    if args[:1] in (["--version"], ["-V"]):
        with quiet_broken_pipe():
            print(versions_text())
        return
    if args[:1] and args[0] in READERS:
        sys.argv[0] = f"sigforge {args[0]}"
        try:
            with quiet_broken_pipe():
                code = reader(args[0])(args[1:])
        finally:
            say_lost_stdout(sys.argv[0])
        sys.exit(code)
    from sigforge.cli.app import run

    run(args)
