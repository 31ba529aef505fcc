"""``python -m sigforge.diff OLD NEW``: is NEW's serving contract safe for OLD's clients?

OLD and NEW are export directories (a version, or a model directory meaning its latest version),
``runs:/<run_id>[/model]`` or ``models:/<name>/<version>`` URIs. Prints a table of differences and
exits 1 when any is breaking: a removed signature, a removed or renamed input or output key, a new
input key (old clients do not send it), a dtype change, a narrowed shape (a free dimension fixed,
a size changed, a rank changed), or a method change. Everything else (new signatures, new
outputs, widened shapes) exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from sigforge.compat import compare_contracts, render
from sigforge.contract import contract_to_dict, read_contract


def load_contract(location: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The contract at an export directory, a ``runs:/`` or a ``models:/`` URI."""
    if location.startswith(("runs:/", "models:/")):
        import mlflow

        from sigforge.tracking.store import resolve_tracking_uri

        # The store every sigforge entry point uses: --tracking-uri, MLFLOW_TRACKING_URI, outputs/mlflow.db.
        uri = resolve_tracking_uri(tracking_uri, Path.cwd(), create=False)
        if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
            raise FileNotFoundError(
                f"no MLflow store at {uri}; run from the directory you exported in, or pass --tracking-uri"
            )
        mlflow.set_tracking_uri(uri)
        uri = location.rstrip("/")
        if uri.startswith("runs:/") and uri.count("/") == 1:
            uri += "/model"
        with tempfile.TemporaryDirectory(prefix="sigforge-diff-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri}/tfmodel/saved_model.pb", dst_path=tmp
            )
            return contract_to_dict(read_contract(Path(local).parent))
    from sigforge.inspect import resolve_export_dir

    return contract_to_dict(read_contract(resolve_export_dir(Path(location))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sigforge.diff", description=__doc__.splitlines()[0])
    parser.add_argument("old", help="export directory, runs:/<id>[/model] or models:/<name>/<version>")
    parser.add_argument("new", help="the same, for the candidate")
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI for runs:/ and models:/ (default: MLFLOW_TRACKING_URI, else "
        "sqlite:///outputs/mlflow.db under the current directory, as python -m sigforge)",
    )
    args = parser.parse_args(argv)
    try:
        old = load_contract(args.old, args.tracking_uri)
        new = load_contract(args.new, args.tracking_uri)
    except Exception as err:
        print(f"sigforge.diff: cannot read a contract: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    changes = compare_contracts(old, new)
    print(render(changes), end="")
    breaking = [c for c in changes if c.breaking]
    if breaking:
        print(
            f"sigforge.diff: {len(breaking)} breaking change(s): clients of OLD would fail against NEW",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
