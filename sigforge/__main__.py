"""``python -m sigforge``: the Hydra app. A thin shell around sigforge.pipeline.

Composition and type checks are Hydra's; everything after is a plain function of the composed
config. Errors sigforge raises are printed as one ``sigforge: ...`` message with a non-zero exit
(the traceback too when ``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from sigforge.errors import SigforgeError
from sigforge.schema import register_schema

register_schema()


def export_from_config(cfg: DictConfig, output_dir: Path | None) -> int:
    """Validate, then export (or print the contract for ``export.dry_run=true``)."""
    from sigforge import pipeline

    container = OmegaConf.to_container(cfg, resolve=True)
    spec, plugins = pipeline.prepare(container)
    if spec.dry_run:
        print(json.dumps(pipeline.dry_run_contract(spec), indent=2))
        return 0
    result = pipeline.run_export(spec, plugins, summary_dir=output_dir)
    print(pipeline.to_markdown(result.summary), end="")
    print(f"sigforge: exported {spec.model.name} v{result.version} to {result.export_dir}")
    return 0


@hydra.main(version_base="1.3", config_path="pkg://sigforge.conf", config_name="config")
def app(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        code = export_from_config(cfg, output_dir)
    except SigforgeError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"sigforge: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    if code:
        sys.exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
