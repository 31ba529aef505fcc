"""``sigforge adopt PATH [--name NAME]``: the experiment config that reproduces PATH's contract.

PATH is a SavedModel version directory, a model directory (its newest version), or a ``runs:/`` /
``models:/`` URI. Prints on stdout an experiment config (``# @package _global_``): saved as
``experiment/NAME.yaml`` in a directory on Hydra's search path,
``sigforge 'hydra.searchpath=[file://DIR]' experiment=NAME`` exports a model with PATH's contract.
Before printing, the config is composed and its contract compared with PATH's, exactly; where part
of the contract cannot be reproduced, adopt says what and why and exits 1, printing nothing.
TensorFlow is not imported.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from sigforge.errors import exit_with

HEADER = """# @package _global_
# Adopted by `sigforge adopt {source}`: reproduces its serving contract.
# Random weights unless you pass your trained model: model.source=<.keras or SavedModel>.
"""


def _source(path: str, tracking_uri: str | None, tmp: Path) -> tuple[dict[str, Any], Path, str]:
    """The contract at ``path``, the directory holding its saved_model.pb, and a model name."""
    from sigforge.contract.read import contract_to_dict, read_contract
    from sigforge.export.versions import resolve_export_dir

    if path.startswith(("runs:/", "models:/")):
        from sigforge.tracking.contract_source import download_saved_model_pb

        export_dir, name = download_saved_model_pb(path, tracking_uri, tmp), _uri_name(path)
    else:
        export_dir = resolve_export_dir(Path(path))
        name = export_dir.resolve().parent.name
    return contract_to_dict(read_contract(export_dir)), export_dir, name


def _uri_name(uri: str) -> str:
    """``models:/<name>/<version>`` or ``models:/<name>@<alias>`` -> the registered name; a
    ``models:/<model_id>`` or ``runs:/<run_id>/...`` -> the id."""
    rest = uri.split(":/", 1)[1].strip("/")
    return rest.split("@")[0].split("/")[0]


def _labels(export_dir: Path, contract: dict[str, Any], n: int) -> list[str] | None:
    """The class labels a classifier returns, where exactly one candidate is found in its graph."""
    from sigforge.contract.labels import label_constants, output_tensors
    from sigforge.contract.read import SERVING_TAG, signature_defs

    data, defs = signature_defs(export_dir)
    tensors = output_tensors(defs)
    for key in ("classes", "all_classes"):
        for name in sorted(contract):
            tensor = tensors.get((name, key))
            if tensor is None or contract[name]["outputs"][key]["shape"][-1] != n:
                continue
            found = label_constants(data, SERVING_TAG, tensor, n)
            if len(found) == 1:
                return list(found[0])
    return None


def render(config: dict[str, Any], source: str, notes: list[str]) -> str:
    import yaml

    text = HEADER.format(source=source)
    text += "".join(f"# NOTE: {note}\n" for note in notes)
    return text + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)


CHECKED_AS = "sigforge_adopt_check"  # a name no packaged experiment has: the file checked is this one


def packaged_experiments() -> set[str]:
    """The experiments sigforge ships: Hydra finds them before a file of the same name on the
    search path, so an adopted config must be saved under another name."""
    from importlib.resources import files

    return {p.name.removesuffix(".yaml") for p in files("sigforge.conf").joinpath("experiment").iterdir()}


def reproduced(text: str, contract: dict[str, Any]) -> list[str]:
    """Compose ``text`` as an experiment and compare the contract it asks for with ``contract``."""
    from sigforge.config.compose import compose
    from sigforge.config.validate import build_spec
    from sigforge.contract.compat import compare_contracts
    from sigforge.contract.read import contract_to_dict, expected_contract
    from sigforge.errors import ConfigError
    from sigforge.plugins.manager import load_plugins

    with tempfile.TemporaryDirectory(prefix="sigforge-adopt-") as tmp:
        (Path(tmp) / "experiment").mkdir()
        (Path(tmp) / "experiment" / f"{CHECKED_AS}.yaml").write_text(text)
        try:
            cfg = compose(f"hydra.searchpath=[file://{tmp}]", f"experiment={CHECKED_AS}")
            spec = build_spec(cfg, load_plugins(cfg.get("plugins", {}).get("modules", ())))
        except ConfigError as err:
            return [f"the adopted config does not validate: {err}"]
        except Exception as err:  # Hydra's composition errors
            return [f"the adopted config does not compose: {type(err).__name__}: {err}"]
    asked = contract_to_dict(expected_contract(spec))
    return [
        f"signature '{c.signature}': {c.what}: {c.old} in the source, {c.new} from the adopted config"
        for c in compare_contracts(contract, asked)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sigforge adopt", description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a SavedModel directory, a model directory, runs:/ or models:/ URI")
    parser.add_argument(
        "--name", help="model.name and the experiment's name (default: the model directory's)"
    )
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI for runs:/ and models:/ (as sigforge diff)"
    )
    args = parser.parse_args(argv)
    from sigforge.contract.adopt import adopt

    with tempfile.TemporaryDirectory(prefix="sigforge-adopt-") as tmp:
        try:
            contract, export_dir, default_name = _source(args.path, args.tracking_uri, Path(tmp))
        except Exception as err:
            exit_with(
                f"cannot read a contract at {args.path}: {type(err).__name__}: {err}",
                2,
                prefix="sigforge adopt",
            )
        name = args.name or re.sub(r"[^A-Za-z0-9_.-]", "_", default_name)
        first = adopt(contract, name)
        n = first.config["model"].get("num_classes")
        adoption = adopt(contract, name, _labels(export_dir, contract, n)) if n and n > 1 else first
    problems = list(adoption.problems)
    text = render(adoption.config, args.path, adoption.notes)
    if not problems:
        problems = reproduced(text, contract)
    if problems:
        exit_with(
            f"{args.path}'s contract cannot be reproduced exactly, so no config was printed:\n"
            + "".join(f"  - {p}\n" for p in problems)
            + "Export it with model.source=<your trained model> and a hand-written config, or report what "
            "sigforge lacks.",
            1,
            prefix="sigforge adopt",
        )
    if name in packaged_experiments():
        adoption.notes.append(
            f"'{name}' is also an experiment sigforge ships, which Hydra finds first: save this config "
            f"under another name (or pass --name), e.g. experiment/{name}_adopted.yaml"
        )
    for note in adoption.notes:
        print(f"sigforge adopt: note: {note}", file=sys.stderr)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
