"""``sigforge log EXPORT_DIR``: log an existing export to MLflow.

For exports whose logging failed (an unreachable tracking server) or that were made with
``mlflow.enabled=false``. The summary, card and MLflow model are rebuilt from ``saved_model.pb``
(the request files from its TF Serving warmup requests, where it has them);
``--config`` adds the composed config (Hydra's ``.hydra/config.yaml`` of the run) as params and
artifact.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sigforge.contract.read import contract_to_dict, read_contract
from sigforge.errors import SigforgeError, exit_with, one_line, without_credentials
from sigforge.export.versions import resolve_export_dir
from sigforge.report.summary import build_summary, client_files
from sigforge.rules import serving_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sigforge log", description=__doc__.splitlines()[0])
    parser.add_argument(
        "export_dir", type=Path, help="a version directory (or a model directory: its latest)"
    )
    parser.add_argument(
        "--tracking-uri", help="default: sqlite:///outputs/mlflow.db under the current directory"
    )
    parser.add_argument("--experiment", help="default: the model's name (the version directory's parent)")
    parser.add_argument("--config", type=Path, help="the composed config.yaml of the export run")
    return parser


def _config(path: Path | None) -> tuple[str, dict[str, str]]:
    """The export run's config as the run logs it: redacted YAML and flattened params."""
    if path is None:
        return "", {}
    from omegaconf import OmegaConf

    from sigforge.config import yaml_guard
    from sigforge.tracking.params import flatten, redacted_yaml

    yaml_guard.install()

    try:
        config = OmegaConf.to_container(OmegaConf.create(path.read_text()), resolve=False)
    except OSError:
        raise
    except Exception as err:  # YAML and OmegaConf errors: the file is not a config
        raise ValueError(f"--config {path} cannot be read as YAML: {one_line(err)}") from err
    if not isinstance(config, dict):
        raise ValueError(
            f"--config {path} holds a {type(config).__name__}, not a mapping; give the export run's "
            "config.yaml (its .hydra/config.yaml, or the config.yaml its MLflow run logged)."
        )
    return redacted_yaml(config), flatten(config)  # the file as given may hold secrets; the run never does


def _target(args: argparse.Namespace, model_name: str) -> Any:
    from sigforge.config.schema import MlflowConf
    from sigforge.tracking.run import RunTarget
    from sigforge.tracking.store import resolve_tracking_uri

    cwd = Path.cwd()
    defaults = MlflowConf()  # the schema's bounds on each request
    return RunTarget(
        model_name=model_name,
        experiment=args.experiment or model_name,
        tracking_uri=resolve_tracking_uri(args.tracking_uri, cwd),
        cwd=cwd,
        http_timeout=defaults.http_timeout,
        http_retries=defaults.http_retries,
        operation_timeout=defaults.operation_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from sigforge.export.warmup import WARMUP_FILE
    from sigforge.tracking.run import ExportRun, LoggedExport

    try:
        export_dir = resolve_export_dir(args.export_dir).resolve()
        model_name, version = export_dir.parent.name, serving_version(export_dir.name) or 0
        contract = contract_to_dict(read_contract(export_dir))
        config_yaml, params = _config(args.config)
        inputs = _warmup_inputs(export_dir)  # read before the run starts: a refusal leaves no run
        target = _target(args, model_name)
        summary = build_summary(
            contract,
            model=model_name,
            version=version,
            export_dir=str(export_dir),
            warmup=(export_dir / WARMUP_FILE).is_file(),
            labels=_labels(target, export_dir.parent) or None,  # as an export's card names them
        )
        run = ExportRun(target)
        run.start(params, tags={"sigforge.logged_later": "true"})
        run.finish(
            LoggedExport(
                export_dir=export_dir,
                version=version,
                summary=summary,
                config_yaml=config_yaml,
                client_files=client_files(summary, inputs),
                examples={name: {k: v[:1] for k, v in feeds.items()} for name, feeds in inputs.items()},
            )
        )
    except (OSError, ValueError, SigforgeError) as err:
        exit_with(str(err), getattr(err, "exit_code", 2), prefix="sigforge log")
    print(
        f"sigforge log: logged {export_dir} as MLflow run {run.run_id} to {without_credentials(run.tracking_uri)}"
    )
    return 0


def _labels(target: Any, model_dir: Path) -> dict[str, int]:
    """The model directory's TF Serving version labels (registry aliases), within the schema's MLflow bounds."""
    from sigforge.tracking.serving_labels import model_labels

    return model_labels(
        target.tracking_uri,
        model_dir,
        http_timeout=target.http_timeout,
        http_retries=target.http_retries,
        operation_timeout=target.operation_timeout,
    )


def _warmup_inputs(export_dir: Path) -> dict[str, dict]:
    """The requests of the export's TF Serving warmup file, if it has one: the request files' data."""
    from sigforge.export.warmup import WARMUP_FILE, read_warmup

    if not (export_dir / WARMUP_FILE).is_file():
        return {}
    return dict(read_warmup(export_dir))


if __name__ == "__main__":
    sys.exit(main())
