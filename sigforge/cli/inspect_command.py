"""``sigforge inspect PATH [--json]``: the signature summary of any SavedModel.

Reads ``saved_model.pb`` directly, without TensorFlow, so it answers in a fraction of a second and
works on SavedModels sigforge did not write. PATH may be a version directory or a model directory
(its highest version is shown).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.errors import exit_with
from sigforge.export.versions import resolve_export_dir
from sigforge.report.summary import build_summary, to_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sigforge inspect", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a SavedModel directory, or a model directory of versions")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        export_dir = resolve_export_dir(args.path)
        summary = build_summary(contract_to_dict(read_contract(export_dir)), export_dir=str(export_dir))
    except (OSError, ValueError) as err:
        exit_with(str(err), 2, prefix="sigforge inspect")
    print(
        json.dumps(summary, indent=2) if args.json else to_markdown(summary),
        end="" if not args.json else "\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
