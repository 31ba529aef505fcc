"""Where runs go: the tracking store every sigforge entry point resolves the same way, its
experiments, and the tags MLflow's own fluent API would set.

MLflow is imported inside the functions that need it, never at module level.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sigforge.errors import TrackingConfigError, TrackingError, without_credentials

DEFAULT_STORE = "outputs/mlflow.db"
DEFAULT_ARTIFACTS = "outputs/mlartifacts"
PARENT_RUN_ENV = "SIGFORGE_MLFLOW_PARENT_RUN_ID"
# MLflow 3's UI shows an experiment of this kind as model training (Models tab), not as a GenAI one.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


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
        try:
            (cwd / "outputs").mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file named outputs, a read-only directory
            raise TrackingConfigError(
                f"mlflow.tracking_uri is not set, so runs go to {cwd / DEFAULT_STORE}, but {cwd / 'outputs'} "
                f"cannot be made a directory ({err.strerror or type(err).__name__}); move what is in the "
                "way, or set mlflow.tracking_uri (or MLFLOW_TRACKING_URI) to another store."
            ) from err
    return f"sqlite:///{(cwd / DEFAULT_STORE).resolve()}"


def experiment_id(client: Any, name: str, tracking_uri: str, cwd: Path) -> str:
    """The id of experiment ``name``, created if missing (artifacts beside a local store)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise TrackingConfigError(
            f"mlflow.experiment_name = '{name}' names a deleted experiment (id {experiment.experiment_id}) at "
            f"{without_credentials(tracking_uri)}; restore it (mlflow experiments restore --experiment-id {experiment.experiment_id}) "
            "or choose another mlflow.experiment_name."
        )
    if experiment is not None:
        if EXPERIMENT_KIND_TAG not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return experiment.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:") or "://" not in tracking_uri:
        location = (cwd / DEFAULT_ARTIFACTS).resolve().as_uri()
    from mlflow.exceptions import MlflowException

    try:
        return client.create_experiment(
            name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    except MlflowException as err:
        # Concurrent exports to one tracking server: another made it between the lookup and here
        # (a SQLite store serialises creation under store_lock; a server's database refuses the twin).
        made = client.get_experiment_by_name(name) if err.error_code == "RESOURCE_ALREADY_EXISTS" else None
        if made is None:
            raise
        return made.experiment_id


def sqlite_store(tracking_uri: str) -> tuple[Path, str] | None:
    """The file of an embedded ``sqlite:///`` store and the URI's options (``?timeout=5``, kept for
    MLflow's engine, never part of the file's name); None for any other store."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    path, mark, options = tracking_uri[len("sqlite:///") :].partition("?")
    return Path(path), mark + options


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Serialize creating a SQLite store and its experiment: concurrent exports would race the schema migration."""
    found = sqlite_store(tracking_uri)
    if found is None:
        yield
        return
    import fcntl

    path, options = found
    _make_store_dir(path, tracking_uri)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                _create_whole(path, options)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _make_store_dir(path: Path, tracking_uri: str) -> None:
    """The directory of a SQLite store, made as MLflow would make it (the lock file beside the
    store needs it first); one that cannot be made is the config's fault, found before publishing."""
    try:
        path.parent.mkdir(mode=0o775, parents=True, exist_ok=True)
    except OSError as err:
        raise TrackingConfigError(
            f"mlflow.tracking_uri = '{without_credentials(tracking_uri)}': the store's directory "
            f"{path.parent} cannot be created ({err.strerror or type(err).__name__}); point it at a "
            "directory this user can write."
        ) from err


def _create_whole(path: Path, options: str) -> None:
    """A new SQLite store, made beside its place and renamed into it once MLflow has created its
    schema: that takes dozens of migrations, and a process killed among them (kill -9, a lost node)
    would leave a store that every later export refuses as out of date."""
    from mlflow.tracking import MlflowClient

    partial = path.with_name(f".{path.name}.{os.getpid()}.creating")
    try:
        MlflowClient(tracking_uri=f"sqlite:///{partial}{options}").search_experiments(max_results=1)
        os.replace(partial, path)  # under store_lock: no other sigforge process creates it meanwhile
    finally:
        partial.unlink(missing_ok=True)


class RegistrationLock:
    """One export at a time registers a given name, from its registry check to its new version:
    two exports with clashing contracts would otherwise both pass the check, both publish, and the
    second be refused only after its version was on disk, served. Held on a file beside the model
    directories (``export.base_dir``), so exports on every host that shares that directory queue
    behind each other; the kernel releases it if its holder dies."""

    def __init__(self, base_dir: Path, name: str) -> None:
        import fcntl
        import hashlib

        base_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]  # any registered name, a safe file name
        self._file: Any = open(base_dir / f".sigforge-registering-{digest}.lock", "a")  # noqa: SIM115
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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


def end_run(client: Any, run_id: str, status: str, error: str) -> str:
    """End a run ``status`` (FAILED, KILLED) with ``error`` in tag ``sigforge.error``; never raises,
    and ends the run even when its tags cannot be written. A run that has already ended (a signal
    that arrives as the run FINISHED) keeps its status. Returns the status the run ends with."""
    with contextlib.suppress(Exception):
        current = client.get_run(run_id).info.status
        if current != "RUNNING":
            return current
    with contextlib.suppress(Exception):
        client.set_tag(run_id, "sigforge.error", without_credentials(error)[:5000])
        client.set_tag(run_id, "sigforge.status", status.lower())
    with contextlib.suppress(Exception):
        client.set_terminated(run_id, status)
    return status


def give_up_run(client: Any, run_id: str, error: TrackingError) -> TrackingError:
    """End FAILED a run this process gives up on as it starts (a store that cannot grow refused the
    run's params after creating it), and return ``error`` saying what became of the run: ended, or,
    where the store refuses that too, left RUNNING until the next export ends it. Never RUNNING
    without a word."""
    end_run(client, run_id, "FAILED", f"sigforge could not start logging this run: {error}")
    try:
        status = str(client.get_run(run_id).info.status)
    except Exception:  # the store cannot even be read: the end cannot be proven
        status = "RUNNING"
    if status != "RUNNING":
        return type(error)(f"{error}; the run it had created ({run_id}) is ended FAILED")
    return type(error)(
        f"{error}; its run {run_id} could not be ended either and stays RUNNING until the next "
        "export to this store on this host ends it FAILED"
    )


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def iter_children(client: Any, parent_run_id: str) -> Iterable[Any]:
    """Every run nested under ``parent_run_id``, in any experiment: a job that names its own
    experiment (``mlflow.experiment_name``) still belongs to its sweep."""
    experiments = [e.experiment_id for e in client.search_experiments(max_results=50000)]
    found = []
    for start in range(0, len(experiments), 100):  # search_runs takes a bounded list of experiments
        found += client.search_runs(
            experiments[start : start + 100],
            filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
            max_results=1000,
        )
    return found
