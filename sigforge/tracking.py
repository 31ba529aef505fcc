"""The MLflow stage: one run per export, holding the exact SavedModel as an MLflow model.

The run is created before the export starts, so a failed export ends FAILED with its error and an
interrupted one KILLED; it never stays RUNNING. What is logged: the flattened config as params
(secret-looking values redacted), version and contract tags, timing and size metrics, the
composed ``config.yaml``, the signature summary (JSON, Markdown) and ``signature_card.html``, and
``model/``: an ``MLmodel`` whose tensorflow flavor points at the logged SavedModel directory
(``model/tfmodel``, the published files, not a re-save) with a tensor ``ModelSignature``, an input
example and a pyfunc entry, so ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` work.

MLflow is imported only here, and only when ``mlflow.enabled`` is true.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sigforge import __version__
from sigforge.errors import SigforgeError
from sigforge.summary import SUMMARY_JSON, SUMMARY_MD, client_files, to_markdown

DEFAULT_STORE = "outputs/mlflow.db"
DEFAULT_ARTIFACTS = "outputs/mlartifacts"
PARENT_RUN_ENV = "SIGFORGE_MLFLOW_PARENT_RUN_ID"
MODEL_ARTIFACT = "model"
REGISTRY_ALIAS = "latest_export"  # models:/<name>@latest_export: the newest version sigforge registered
# MLflow 3's UI shows an experiment of this kind as model training (Models tab), not as a GenAI one.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
SAVED_MODEL_SUBDIR = "tfmodel"
SECRET_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "credential",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
)
REDACTED = "***"


class TrackingError(SigforgeError):
    """MLflow could not be reached or refused the run; the verified export stays on disk."""

    exit_code = 4


class TrackingConfigError(TrackingError):
    """MLflow refused the run for a reason in the config (a deleted experiment, say): found before the
    version is published, so that nothing is published that cannot be logged."""


class RegistrationRefused(SigforgeError):
    """The new contract breaks the latest registered version's and ``mlflow.allow_breaking`` is false."""

    exit_code = 5


def configure_http(timeout: int, retries: int) -> None:
    """Bound what an unreachable tracking server can cost (MLflow's defaults retry for minutes)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.5")


def resolve_tracking_uri(uri: str | None, cwd: Path, *, create: bool = True) -> str:
    """``mlflow.tracking_uri``, else ``MLFLOW_TRACKING_URI``, else the embedded SQLite store under the
    directory the user ran from: every sigforge entry point resolves the store this way."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    if create:
        (cwd / "outputs").mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(cwd / DEFAULT_STORE).resolve()}"


def experiment_id(client: Any, name: str, tracking_uri: str, cwd: Path) -> str:
    """The id of experiment ``name``, created if missing (artifacts beside a local store)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise TrackingConfigError(
            f"mlflow.experiment_name = '{name}' names a deleted experiment (id {experiment.experiment_id}) at "
            f"{tracking_uri}; restore it (mlflow experiments restore --experiment-id {experiment.experiment_id}) "
            "or choose another mlflow.experiment_name."
        )
    if experiment is not None:
        if EXPERIMENT_KIND_TAG not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return experiment.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:") or "://" not in tracking_uri:
        location = (cwd / DEFAULT_ARTIFACTS).resolve().as_uri()
    return client.create_experiment(
        name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    )


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"inputs": {"image": {"shape": [None, 28]}}}`` -> ``{"inputs.image.shape": "[None, 28]"}``."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = json.dumps(value) if not isinstance(value, str) else value
    return flat


def looks_secret(key: str, value: str) -> bool:
    lowered = key.lower().replace("-", "_")
    if any(word in lowered for word in SECRET_WORDS):
        return True
    # user:password@host in a URI
    return "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]


def redact(params: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if looks_secret(k, v) else v) for k, v in params.items()}


def redact_overrides(overrides: Iterable[str]) -> str:
    """Hydra overrides as one line, ``key=***`` where the value looks secret."""
    out = []
    for override in overrides:
        key, sep, value = override.partition("=")
        out.append(f"{key}={REDACTED}" if sep and looks_secret(key, value) else override)
    return " ".join(out)


def redact_tree(value: Any, key: str = "") -> Any:
    """The same structure with secret-looking values replaced, for artifacts such as config.yaml."""
    if isinstance(value, Mapping):
        return {k: redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v, key) for v in value]
    if isinstance(value, str) and looks_secret(key, value):
        return REDACTED
    return value


def redacted_yaml(config: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(redact_tree(config), sort_keys=False)


def contract_digest(contract: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(contract, sort_keys=True).encode()).hexdigest()[:16]


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def standard_tags(cwd: Path) -> dict[str, str]:
    """The tags MLflow's own fluent API sets, which its UI shows as "User", "Source" and "Version"."""
    import getpass

    from mlflow.entities import SourceType
    from mlflow.utils import mlflow_tags

    tags = {
        mlflow_tags.MLFLOW_SOURCE_NAME: "python -m sigforge",
        mlflow_tags.MLFLOW_SOURCE_TYPE: SourceType.to_string(SourceType.LOCAL),
    }
    with contextlib.suppress(Exception):
        tags[mlflow_tags.MLFLOW_USER] = getpass.getuser()
    commit = git_commit(cwd)
    if commit:
        tags[mlflow_tags.MLFLOW_GIT_COMMIT] = commit
        tags["git.commit"] = commit
    return tags


class ExportRun:
    """One MLflow run around one export: ``start`` before, then ``finish`` or ``fail``."""

    start_error: TrackingError | None = None  # raised by start() itself in this class

    def __init__(
        self,
        *,
        model_name: str,
        experiment: str,
        tracking_uri: str,
        cwd: Path,
        timeout: int = 10,
        retries: int = 2,
        operation_timeout: int = 300,  # bounds the background helper's operations (BackgroundExportRun)
    ) -> None:
        configure_http(timeout, retries)
        self.model_name = model_name
        self.experiment = experiment
        self.tracking_uri = tracking_uri
        self.cwd = cwd
        self.run_id: str | None = None
        self.client: Any = None

    def _where(self) -> str:
        return f"MLflow at {self.tracking_uri}"

    def start(self, params: Mapping[str, str], tags: Mapping[str, str] | None = None) -> str:
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        try:
            with store_lock(self.tracking_uri):
                self.client = MlflowClient(tracking_uri=self.tracking_uri)
                experiment = experiment_id(self.client, self.experiment, self.tracking_uri, self.cwd)
            run_tags = {
                "sigforge.version": __version__,
                "python.version": platform.python_version(),
                "tensorflow.version": _package_version("tensorflow-cpu")
                or _package_version("tensorflow")
                or "",
                **(tags or {}),
            }
            parent = os.environ.get(PARENT_RUN_ENV)
            if parent:
                run_tags["mlflow.parentRunId"] = parent
            run_tags.update(standard_tags(self.cwd))
            run = self.client.create_run(experiment, run_name=f"{self.model_name}-pending", tags=run_tags)
            self.run_id = run.info.run_id
            self.client.log_batch(
                self.run_id,
                params=[Param(k[:250], v[:6000]) for k, v in sorted(redact(params).items())],
                tags=[RunTag("sigforge.status", "exporting")],
            )
        except TrackingError:
            raise
        except Exception as err:
            raise TrackingError(
                f"{self._where()} could not start a run: {type(err).__name__}: {err}"
            ) from err
        return self.run_id

    def fail(self, error: BaseException, status: str = "FAILED") -> None:
        """End the run FAILED (or KILLED) with the error recorded; never raises."""
        if self.run_id is None:
            return
        try:
            self.client.set_tag(self.run_id, "sigforge.error", str(error)[:5000] or type(error).__name__)
            self.client.set_tag(self.run_id, "sigforge.status", status.lower())
        except Exception:
            pass
        with contextlib.suppress(Exception):
            self.client.set_terminated(self.run_id, status)

    def finish(
        self,
        result: Any,
        config_yaml: str,
        examples: Mapping[str, Any] | None = None,
        extra_metrics: Mapping[str, float] | None = None,
        register_as: str | None = None,
        allow_breaking: bool = False,
    ) -> None:
        """Log artifacts, the MLflow model and metrics; end FINISHED. Raises TrackingError."""
        from mlflow.entities import LoggedModelStatus, Metric, RunTag

        start = time.perf_counter()
        summary = result.summary
        try:
            with tempfile.TemporaryDirectory(prefix="sigforge-mlflow-") as tmp:
                tmp_path = Path(tmp)
                files = {
                    "config.yaml": config_yaml.encode(),
                    SUMMARY_JSON: (json.dumps(summary, indent=2) + "\n").encode(),
                    SUMMARY_MD: to_markdown(summary).encode(),
                    **(getattr(result, "client_files", None) or client_files(summary, {})),
                }
                kit_dir = tmp_path / "artifacts"
                for name, data in files.items():
                    (kit_dir / name).parent.mkdir(parents=True, exist_ok=True)
                    (kit_dir / name).write_bytes(data)
                self.client.log_artifacts(self.run_id, str(kit_dir))
                model_id = self._log_model(tmp_path / MODEL_ARTIFACT, result, examples or {})
            now = int(time.time() * 1000)
            metrics = {
                "saved_model_bytes": float(_dir_size(Path(result.export_dir))),
                **{k: float(v) for k, v in (result.timings or {}).items()},
                **(extra_metrics or {}),
                "logging_seconds": time.perf_counter() - start,
            }
            self.client.log_batch(
                self.run_id,
                # Each metric once for the run and once for its LoggedModel (the Models tab's columns).
                metrics=[Metric(k, v, now, 0) for k, v in metrics.items()]
                + [Metric(k, v, now, 0, model_id=model_id, run_id=self.run_id) for k, v in metrics.items()],
                tags=[
                    RunTag("mlflow.runName", f"{self.model_name}-v{result.version}"),
                    RunTag("sigforge.version_dir", str(result.export_dir)),
                    RunTag("sigforge.model_version", str(result.version)),
                    RunTag("sigforge.contract_digest", contract_digest(summary["signatures"])),
                    RunTag("sigforge.weights", str(summary.get("weights", "unknown"))),
                    RunTag("sigforge.status", "finished"),
                ],
            )
            self.client.finalize_logged_model(model_id, LoggedModelStatus.READY)
            if register_as:
                self._register(register_as, model_id, result, allow_breaking)
            self.client.set_terminated(self.run_id, "FINISHED")
        except RegistrationRefused as err:
            self.fail(err)
            raise
        except Exception as err:
            self.fail(err)
            raise TrackingError(
                f"{self._where()} failed while logging run {self.run_id}: {type(err).__name__}: {err}. "
                f"The verified export is kept at {result.export_dir}; log it later with "
                f"python -m sigforge.log {result.export_dir}"
            ) from err

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None:
        """Raise RegistrationRefused when ``contract`` breaks the latest registered version of ``name``.

        Called before the version is published (and again when registering): a version the registry
        refuses must not be the newest on disk either, or TF Serving would serve it."""
        from sigforge.compat import breaking_changes, render
        from sigforge.diff import load_contract

        try:
            versions = self.client.search_model_versions(f"name = '{name}'")
        except Exception as err:
            raise TrackingError(
                f"{self._where()} could not read registered model '{name}': {type(err).__name__}: {err}"
            ) from err
        if versions:
            latest = max(versions, key=lambda v: int(v.version))
            previous = load_contract(f"models:/{name}/{latest.version}", self.tracking_uri)
            breaking = breaking_changes(previous, contract)
            if breaking and not allow_breaking:
                raise RegistrationRefused(
                    f"mlflow.registered_model_name = '{name}': this contract breaks version {latest.version}'s "
                    f"clients, so it was not registered:\n{render(breaking)}"
                    "Keep the old keys, dtypes and shapes, or set mlflow.allow_breaking=true to register anyway."
                )

    def _log_model(self, model_dir: Path, result: Any, examples: Mapping[str, Any]) -> str:
        """The export as an MLflow 3 LoggedModel (the experiment's Models tab): created with the run's
        params, its MLmodel + ``tfmodel/`` (the published files) logged to it, linked to the run as an
        output. Named ``model`` like ``log_model(name="model")``, so ``runs:/<run_id>/model`` works."""
        from mlflow.entities import LoggedModelOutput

        run = self.client.get_run(self.run_id)
        summary = result.summary
        logged = self.client.create_logged_model(
            run.info.experiment_id,
            name=MODEL_ARTIFACT,
            source_run_id=self.run_id,
            params={k: v for k, v in run.data.params.items()},
            tags={
                "sigforge.model": self.model_name,
                "sigforge.model_version": str(result.version),
                "sigforge.contract_digest": contract_digest(summary["signatures"]),
                "sigforge.weights": str(summary.get("weights", "unknown")),
            },
            model_type="tensorflow-savedmodel",
        )
        write_mlmodel(
            model_dir,
            summary,
            examples,
            run_id=self.run_id,
            model_id=logged.model_id,
            artifact_path=logged.artifact_location,
        )
        shutil.copytree(result.export_dir, model_dir / SAVED_MODEL_SUBDIR)
        self.client.log_model_artifacts(logged.model_id, str(model_dir))
        self.client.log_outputs(self.run_id, [LoggedModelOutput(logged.model_id, step=0)])
        return logged.model_id

    def _register(self, name: str, model_id: str, result: Any, allow_breaking: bool) -> None:
        """Register the LoggedModel as a new version of ``name``, guarding its contract; the version
        carries the contract digest and the export's directory, and alias ``latest_export``."""
        summary = result.summary
        self.check_registration(name, summary["signatures"], allow_breaking)
        import mlflow
        from mlflow.exceptions import MlflowException

        mlflow.set_tracking_uri(self.tracking_uri)  # the models:/ source resolves through the global store
        try:
            self.client.create_registered_model(name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = self.client.create_model_version(
            name,
            source=f"models:/{model_id}",
            run_id=self.run_id,
            model_id=model_id,
            tags={
                "sigforge.contract_digest": contract_digest(summary["signatures"]),
                "sigforge.version_dir": str(result.export_dir),
                "sigforge.model_version": str(result.version),
            },
            description=f"{self.model_name} v{result.version}, exported by sigforge to {result.export_dir}. "
            f"Serving signatures: {', '.join(summary['signatures'])}.",
        )
        self.client.set_registered_model_alias(name, REGISTRY_ALIAS, version.version)
        # What links a LoggedModel to its registry versions in the UI ("Registered models" column).
        self.client.set_logged_model_tags(
            model_id, {"mlflow.modelVersions": json.dumps([{"name": name, "version": str(version.version)}])}
        )


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Serialize creating a SQLite store and its experiment: concurrent exports would race the schema migration."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    lock_path = Path(tracking_uri[len("sqlite:///") :] + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


_NP_DTYPES = {"string": "object", "bfloat16": "float32"}


def model_signature(signature: Mapping[str, Any]) -> Any:
    """An MLflow tensor signature for one sigforge signature: one TensorSpec per key."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    def schema(tensors: Mapping[str, Any]) -> Any:
        return Schema(
            [
                TensorSpec(
                    np.dtype(_NP_DTYPES.get(t["dtype"], t["dtype"])),
                    tuple(-1 if d is None else d for d in (t["shape"] or [-1])),
                    name=key,
                )
                for key, t in tensors.items()
                if t is not None
            ]
        )

    return ModelSignature(inputs=schema(signature["inputs"]), outputs=schema(signature["outputs"]))


def write_mlmodel(
    path: Path,
    summary: Mapping[str, Any],
    examples: Mapping[str, Any],
    *,
    run_id: str | None,
    model_id: str | None = None,
    artifact_path: str = MODEL_ARTIFACT,
    signature_key: str = "serving_default",
) -> None:
    """An MLflow model directory around a SavedModel logged beside it under ``tfmodel/``."""
    import mlflow
    from mlflow.models import Model
    from mlflow.models.utils import _save_example

    signatures = summary["signatures"]
    if signature_key not in signatures:
        signature_key = next(iter(signatures))
    path.mkdir(parents=True, exist_ok=True)
    model = Model(run_id=run_id, artifact_path=artifact_path, model_uuid=model_id, model_id=model_id)
    model.add_flavor(
        "tensorflow",
        saved_model_dir=SAVED_MODEL_SUBDIR,
        meta_graph_tags=["serve"],
        signature_def_key=signature_key,
        # mlflow.tensorflow loads this model type with tf.saved_model.load and calls
        # signatures[signature_def_key] with a dict keyed by the signature's keys.
        model_type="tf1-estimator",
        code=None,
    )
    requirements = _requirements()
    (path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (path / "python_env.yaml").write_text(
        f"python: {platform.python_version()}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
    )
    (path / "conda.yaml").write_text(
        "channels:\n- conda-forge\ndependencies:\n"
        f"- python={platform.python_version()}\n- pip\n- pip:\n" + "".join(f"  - {r}\n" for r in requirements)
    )
    mlflow.pyfunc.add_to_model(
        model, loader_module="mlflow.tensorflow", conda_env="conda.yaml", python_env="python_env.yaml"
    )
    model.signature = model_signature(signatures[signature_key])
    example = examples.get(signature_key)
    if example is not None:
        _save_example(model, dict(example), str(path))
    model.metadata = {"sigforge_signature_def_key": signature_key, "sigforge_version": __version__}
    model.save(str(path / "MLmodel"))


def _requirements() -> list[str]:
    return [
        f"{name}=={v}" for name in ("tensorflow-cpu", "tensorflow", "mlflow") if (v := _package_version(name))
    ]


def iter_children(client: Any, parent_run_id: str) -> Iterable[Any]:
    run = client.get_run(parent_run_id)
    return client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        max_results=1000,
    )


class BackgroundExportRun:
    """An ExportRun hosted by a helper process, so MLflow's import and run creation overlap
    TensorFlow's import and the export (threads would not help: both imports hold the GIL).

    Same interface as ExportRun. The helper ignores SIGINT/SIGTERM and is told how the export
    ended; if this process dies without telling it (kill -9), the pipe closes and the helper ends
    the run FAILED, so the run never stays RUNNING.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.tracking_uri: str = kwargs["tracking_uri"]
        self.run_id: str | None = None
        self._start_error: str | None = None
        self._config_error = False
        self._conn: Any = None
        self._proc: Any = None
        self.operation_timeout: float = kwargs.get("operation_timeout", 300)

    def start(self, params: Mapping[str, str], tags: Mapping[str, str] | None = None) -> None:
        import multiprocessing

        # fork is only safe before TensorFlow has started its threads.
        method = "fork" if "tensorflow" not in sys.modules else "spawn"
        context = multiprocessing.get_context(method)
        self._conn, child = context.Pipe()
        # A forked helper inherits this process's end of the pipe too; it must close that copy, or
        # the pipe would never report EOF when this process dies (kill -9) and the run would stay RUNNING.
        inherited = self._conn if method == "fork" else None
        self._proc = context.Process(
            target=_run_worker,
            args=(child, inherited, self.kwargs, dict(params), dict(tags or {})),
            daemon=True,
        )
        self._proc.start()
        child.close()

    def _wait_started(self) -> bool:
        if self.run_id is None and self._start_error is None:
            reply = self._receive()
            if reply[0] == "started":
                self.run_id = reply[1]
            else:
                self._start_error = reply[1]
                self._config_error = len(reply) > 2 and reply[2]
        return self.run_id is not None

    def _receive(self) -> tuple[Any, ...]:
        """The helper's reply, within ``mlflow.operation_timeout`` seconds: a server that trickles
        bytes defeats a per-read timeout, so every operation is bounded in total here."""
        if self._conn is None:
            return ("dead", "the logging helper is gone")
        try:
            if not self._conn.poll(self.operation_timeout):
                self._kill()
                return (
                    "error",
                    f"MLflow at {self.tracking_uri} did not finish within {self.operation_timeout} s "
                    "(mlflow.operation_timeout); check the server, or raise mlflow.operation_timeout",
                )
            return self._conn.recv()
        except (EOFError, OSError):
            return ("dead", "the logging helper process exited unexpectedly")

    def _request(self, *message: Any) -> tuple[Any, ...]:
        try:
            self._conn.send(message)
        except (OSError, ValueError, AttributeError):  # BrokenPipeError: the helper was killed
            return ("dead", "the logging helper process exited unexpectedly")
        return self._receive()

    def _in_process(self) -> ExportRun:
        """The run, taken over by this process after its helper died (kill -9): never left RUNNING."""
        from mlflow.tracking import MlflowClient

        self._close()
        run = ExportRun(**self.kwargs)
        run.client, run.run_id = MlflowClient(tracking_uri=self.tracking_uri), self.run_id
        return run

    @property
    def start_error(self) -> TrackingError | None:
        self._wait_started()
        if not self._start_error:
            return None
        return (TrackingConfigError if self._config_error else TrackingError)(self._start_error)

    def fail(self, error: BaseException, status: str = "FAILED") -> None:
        with contextlib.suppress(Exception):
            if self._wait_started():
                text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                if self._request("fail", text, status)[0] == "dead":
                    self._in_process().fail(error, status)
        self._close()

    def check_registration(self, name: str, contract: Mapping[str, Any], allow_breaking: bool) -> None:
        if not self._wait_started():
            return  # no run: the exporter reports the start error
        reply = self._request("check", name, dict(contract), allow_breaking)
        if reply[0] == "dead":
            self._in_process().check_registration(name, contract, allow_breaking)
            return
        if reply[0] == "refused":
            raise RegistrationRefused(reply[1])
        if reply[0] != "ok":
            raise TrackingError(reply[1])

    def finish(self, result: Any, config_yaml: str, **kwargs: Any) -> None:
        if not self._wait_started():
            self._close()
            raise TrackingError(self._start_error or "MLflow run was not started")
        light = SimpleNamespace(
            export_dir=result.export_dir,
            version=result.version,
            summary=result.summary,
            timings=result.timings,
            client_files=result.client_files,
        )
        reply = self._request("finish", light, config_yaml, kwargs)
        if reply[0] == "dead":
            self._in_process().finish(light, config_yaml, **kwargs)
            return
        self._close()
        if reply[0] == "refused":
            raise RegistrationRefused(reply[1])
        if reply[0] != "ok":
            raise TrackingError(reply[1])

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.kill()
        self._close()

    def _close(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._proc.join(timeout=30)
            self._proc = None
            self._conn = None


def _run_worker(
    conn: Any, inherited: Any, kwargs: dict[str, Any], params: dict[str, str], tags: dict[str, str]
) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the exporter says how it ended
    if inherited is not None:
        inherited.close()  # only the exporter may hold its end: its death must read as EOF here
    run = ExportRun(**kwargs)
    try:
        run.start(params, tags)
    except TrackingError as err:
        with contextlib.suppress(OSError):
            conn.send(("error", str(err), isinstance(err, TrackingConfigError)))
        return
    try:
        conn.send(("started", run.run_id))
        message = conn.recv()
        while message[0] == "check":  # the registry guard, before the version is published
            try:
                run.check_registration(*message[1:])
                conn.send(("ok",))
            except RegistrationRefused as err:
                conn.send(("refused", str(err)))
            except TrackingError as err:
                conn.send(("error", str(err)))
            message = conn.recv()
    except (EOFError, OSError):  # the exporter died (kill -9) before saying how the export ended
        run.fail(RuntimeError("the sigforge process died before the export finished"), "FAILED")
        return
    if message[0] == "fail":
        run.fail(RuntimeError(message[1]), message[2])
        reply: tuple[Any, ...] = ("ok",)
    else:
        _, result, config_yaml, options = message
        try:
            run.finish(result, config_yaml, **options)
            reply = ("ok",)
        except RegistrationRefused as err:
            reply = ("refused", str(err))
        except TrackingError as err:
            reply = ("error", str(err))
    with contextlib.suppress(OSError):
        conn.send(reply)
