"""``sigforge diff OLD NEW``: is NEW's serving contract safe for OLD's clients?

OLD and NEW are export directories (a version, or a model directory meaning its latest version),
``runs:/<run_id>[/model]`` or ``models:/<name>/<version>`` URIs. Prints a table of differences and
exits 1 when any is breaking: a removed signature, a removed or renamed input or output key, a new
input key (old clients do not send it), a dtype change, a narrowed shape (a free dimension fixed,
a size changed, a rank changed), a method change, or a tf.Example feature change an old client's
Examples fail on (docs/serving.md: retyped, another number of values, newly required). Everything
else (new signatures, new outputs, widened shapes, features no longer parsed or given a default)
exits 0.
"""

from __future__ import annotations

import argparse
import sys

from sigforge.contract.compat import compare_contracts, render
from sigforge.errors import exit_with
from sigforge.tracking.contract_source import load_contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sigforge diff", description=__doc__.splitlines()[0])
    parser.add_argument("old", help="export directory, runs:/<id>[/model] or models:/<name>/<version>")
    parser.add_argument("new", help="the same, for the candidate")
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI for runs:/ and models:/ (default: MLFLOW_TRACKING_URI, else "
        "sqlite:///outputs/mlflow.db under the current directory, as sigforge itself)",
    )
    args = parser.parse_args(argv)
    try:
        old = load_contract(args.old, args.tracking_uri)
        new = load_contract(args.new, args.tracking_uri)
    except Exception as err:
        exit_with(f"cannot read a contract: {type(err).__name__}: {err}", 2, prefix="sigforge diff")
    changes = compare_contracts(old, new)
    print(render(changes), end="")
    breaking = [c for c in changes if c.breaking]
    if breaking:
        print(
            f"sigforge diff: {len(breaking)} breaking change(s): clients of OLD would fail against NEW",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
