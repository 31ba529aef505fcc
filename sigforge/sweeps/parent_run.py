"""Hydra callback for sweeps: one MLflow parent run per multirun, every job's run nested under it.

``on_multirun_start`` creates the parent and exports its id (``SIGFORGE_MLFLOW_PARENT_RUN_ID``) to
the jobs, in this process (basic launcher) or in worker processes (joblib launcher).
``on_multirun_end`` lines up every child's contract in ``sweep_comparison.json`` and
``sweep_comparison.html``, marks where the children differ, and ends the parent. If the sweep dies
first, an exit hook ends the parent FAILED, so it never stays RUNNING.
"""

from __future__ import annotations

import atexit
import fcntl
import html
import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sigforge.config.model import model_name
from sigforge.config.validate import SWEEP_EXPERIMENT_ENV, configured_experiment
from sigforge.contract.tables import html_table, markdown_table, tensor_rows
from sigforge.errors import TrackingError, exit_for
from sigforge.tracking.params import redact, redact_overrides
from sigforge.tracking.store import (
    PARENT_RUN_ENV,
    configure_http,
    experiment_id,
    iter_children,
    resolve_tracking_uri,
    standard_tags,
)

log = logging.getLogger("sigforge")


class MlflowSweepCallback(Callback):
    def __init__(self) -> None:
        self.client: Any = None
        self.parent_id: str | None = None
        self.experiment_name = ""
        self.expected = 0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.mlflow.enabled or config.export.dry_run:
            return
        from mlflow.tracking import MlflowClient

        cwd = Path.cwd()
        uri = resolve_tracking_uri(config.mlflow.tracking_uri, cwd)
        configure_http(int(config.mlflow.http_timeout), int(config.mlflow.http_retries))
        self.client = MlflowClient(tracking_uri=uri)
        name = configured_experiment(config.mlflow)[1] or model_name(config.model)
        try:
            experiment = experiment_id(self.client, name, uri, cwd)
        except TrackingError as err:
            exit_for(err)
        sweep_dir = Path(config.hydra.sweep.dir)
        overrides = list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
        run = self.client.create_run(
            experiment,
            run_name=f"sweep-{sweep_dir.parent.name}-{sweep_dir.name}",
            tags={
                "sigforge.sweeps.parent_run": "true",
                "sigforge.overrides": redact_overrides(overrides),
                **standard_tags(cwd),
            },
        )
        self.parent_id = run.info.run_id
        # The sweep's own settings: the command line, swept values as typed ('a,b'); jobs log theirs.
        params = {f"sweep.{k.lstrip('+~')}": v for k, _, v in (o.partition("=") for o in overrides)}
        from mlflow.entities import Param

        self.client.log_batch(
            self.parent_id,
            params=[Param(k[:250], v[:6000]) for k, v in sorted(redact(params).items())],
        )
        os.environ[PARENT_RUN_ENV] = self.parent_id
        os.environ[SWEEP_EXPERIMENT_ENV] = name  # jobs without an experiment of their own join this one
        self.experiment_name = name
        self.expected = _sweep_total(overrides)
        atexit.register(self._end_if_running, "FAILED")

    def _end_if_running(self, status: str) -> None:
        if self.parent_id is None:
            return
        try:
            if self.client.get_run(self.parent_id).info.status == "RUNNING":
                self.client.set_terminated(self.parent_id, status)
        except Exception:
            pass

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_id is None:
            return

        children = []
        experiments: dict[str, str] = {}
        for child in sorted(iter_children(self.client, self.parent_id), key=lambda r: r.info.start_time):
            eid = child.info.experiment_id
            if eid not in experiments:
                experiments[eid] = self.client.get_experiment(eid).name
            signatures: dict[str, Any] = {}
            if child.info.status == "FINISHED":
                with tempfile.TemporaryDirectory() as tmp:
                    path = self.client.download_artifacts(child.info.run_id, "signature_summary.json", tmp)
                    signatures = json.loads(Path(path).read_text())["signatures"]
            children.append(
                {
                    "run_id": child.info.run_id,
                    "run_name": child.info.run_name,
                    "status": child.info.status,
                    "experiment": experiments[eid],
                    "overrides": child.data.tags.get("sigforge.overrides", ""),
                    "contract_digest": child.data.tags.get("sigforge.contract_digest"),
                    "signatures": signatures,
                }
            )
        comparison = compare_children(children, expected=self.expected, experiment=self.experiment_name)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "sweep_comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
            (Path(tmp) / "sweep_comparison.html").write_text(render_comparison(comparison))
            self.client.log_artifacts(self.parent_id, tmp)
        failed = comparison["missing"] > 0 or any(c["status"] != "FINISHED" for c in children)
        self.client.set_tag(self.parent_id, "sigforge.children", str(len(children)))
        self.client.set_tag(self.parent_id, "mlflow.note.content", comparison_markdown(comparison)[:7999])
        self.client.set_terminated(self.parent_id, "FAILED" if failed else "FINISHED")
        os.environ.pop(PARENT_RUN_ENV, None)
        os.environ.pop(SWEEP_EXPERIMENT_ENV, None)


def _cells(signatures: Mapping[str, Any]) -> dict[str, str]:
    """(signature / direction / key) -> "dtype [shape]" for one child's contract."""
    cells = {}
    for name, sig in signatures.items():
        cells[f"{name} / method"] = sig["method_name"]
        for direction, key, dtype, shape in tensor_rows(sig):
            cells[f"{name} / {direction} {key}"] = f"{dtype} {shape}" if dtype else "-"
    return cells


def compare_children(
    children: list[dict[str, Any]], *, expected: int = 0, experiment: str = ""
) -> dict[str, Any]:
    """Rows of every (signature, key) across children, each marked whether the children differ.

    Only finished children have a contract to compare; every child is listed, failed ones too, and
    ``missing`` counts the jobs the sweep launched that never reported a run (``expected``: how many
    it launched). ``identical`` holds only when every job finished with the same contract."""
    finished = [c for c in children if c["status"] == "FINISHED"]
    per_child = [_cells(c["signatures"]) for c in finished]
    rows = []
    for row in sorted({k for cells in per_child for k in cells}):
        values = [cells.get(row, "-") for cells in per_child]
        rows.append({"row": row, "values": values, "differs": len(set(values)) > 1})
    missing = max(expected - len(children), 0)
    return {
        "experiment": experiment,
        "expected": expected or len(children),
        "missing": missing,
        "children": [{k: v for k, v in c.items() if k != "signatures"} for c in children],
        "compared": [c["run_name"] or c["run_id"] for c in finished],
        "rows": rows,
        "identical": bool(finished)
        and len(finished) == len(children)
        and not missing
        and all(not r["differs"] for r in rows),
    }


def comparison_verdict(comparison: Mapping[str, Any]) -> str:
    """One sentence on the sweep: how many jobs ran, finished, failed or never reported, and whether
    the finished ones export the same contract."""
    children = comparison["children"]
    finished = len(comparison["compared"])
    parts = [f"{len(children)} of {comparison['expected']} jobs reported a run, {finished} finished"]
    failed = [c["run_name"] or c["run_id"] for c in children if c["status"] != "FINISHED"]
    if failed:
        parts.append(f"{len(failed)} did not ({', '.join(failed)})")
    if comparison["missing"]:
        parts.append(f"{comparison['missing']} never started a run (see the sweep's job logs)")
    elsewhere = sorted({c["experiment"] for c in children if c.get("experiment") != comparison["experiment"]})
    if comparison["experiment"] and elsewhere:
        parts.append(f"jobs that named their own experiment are in {', '.join(elsewhere)}")
    if comparison["identical"]:
        tail = "All jobs export the same contract."
    elif finished > 1 and not any(r["differs"] for r in comparison["rows"]):
        tail = "The finished jobs export the same contract."
    elif finished > 1:
        tail = "Highlighted rows differ between the finished jobs."
    else:
        tail = ""
    return "; ".join(parts) + ". " + tail


def comparison_markdown(comparison: Mapping[str, Any]) -> str:
    """The parent run's description: the verdict, every job, and the rows where finished jobs differ."""
    jobs = markdown_table(
        ("job run", "experiment", "status", "overrides"),
        [
            (c["run_name"] or c["run_id"], c.get("experiment", ""), c["status"], c["overrides"])
            for c in comparison["children"]
        ],
        code=(3,),
    )
    text = f"# Sweep\n\n{comparison_verdict(comparison)}\n\n## Jobs\n\n{jobs}"
    differing = [r for r in comparison["rows"] if r["differs"]]
    if differing:
        header = ("signature / key", *comparison["compared"])
        text += "\n## Where the finished jobs differ\n\n" + markdown_table(
            header, [(r["row"], *r["values"]) for r in differing], code=(0,)
        )
    return text + "\nThe full side-by-side table is the artifact `sweep_comparison.html`.\n"


def render_comparison(comparison: Mapping[str, Any]) -> str:
    esc = html.escape
    finished = [c for c in comparison["children"] if c["status"] == "FINISHED"]
    jobs = html_table(
        ("job run", "experiment", "status", "overrides"),
        [
            (c["run_name"] or c["run_id"], c.get("experiment", ""), c["status"], c["overrides"])
            for c in comparison["children"]
        ],
        key=0,
    )
    header = ("signature / key", *(f"{c['run_name'] or c['run_id']}" for c in finished))
    contracts = html_table(
        header,
        [(r["row"], *r["values"]) for r in comparison["rows"]],
        key=0,
        classes=["differs" if r["differs"] else "" for r in comparison["rows"]],
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>sweep comparison</title><style>"
        "body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse;margin:8px 0 16px}"
        "th,td{border:1px solid #d0d7de;padding:4px 8px;font-family:monospace;font-size:13px}"
        "tr.differs td{background:#fff4d6}tr.differs td:first-child::before{content:'\\2260  '}"
        "</style></head><body><h1>Sweep: signature contracts side by side</h1>"
        f"<p>{esc(comparison_verdict(comparison))}</p><h2>Jobs</h2>{jobs}"
        f"<h2>Contracts of the finished jobs</h2>{contracts}</body></html>"
    )


def _sweep_total(overrides: list[str]) -> int:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    total = 1
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_sweep_override():
            total *= len(list(override.sweep_string_iterator()))
    return total


class SweepProgressCallback(Callback):
    """``sweep: 3/8 jobs done`` after each job of a multirun."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        total = _sweep_total(list(config.hydra.overrides.task))
        (sweep_dir / ".sigforge_jobs_total").write_text(str(total))
        (sweep_dir / ".sigforge_jobs_done").write_text("")

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        total_file, done_file = sweep_dir / ".sigforge_jobs_total", sweep_dir / ".sigforge_jobs_done"
        if not total_file.exists() or config.hydra.mode.name != "MULTIRUN":
            return
        with open(done_file, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(".\n")
            f.flush()
            f.seek(0)
            done = len(f.read().splitlines())
            fcntl.flock(f, fcntl.LOCK_UN)
        message = f"sweep: {done}/{total_file.read_text()} jobs done"
        if sys.stderr.isatty():
            _live_print(f"[bold]{message}[/bold]")
        else:
            log.info("%s", message)


def _live_print(text: str) -> None:
    from sigforge.report.progress import Progress

    Progress(live=True)._print(text)
