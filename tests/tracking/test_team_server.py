"""sigforge against a team's MLflow server, as a team runs one: a PostgreSQL-backed ``mlflow server``
with proxied artifacts (``--artifacts-destination``), written to by concurrent exports and a sweep;
and MLflow's basic-auth app, with credentials from ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``, a wrong password and a read-only user.

PostgreSQL is Debian's (``tests/postgres_cluster.py``): where it cannot run, the PostgreSQL tests
skip with the reason; where scripts/test.sh installed it (root with apt, as in CI:
``SIGFORGE_REQUIRE_POSTGRES=1``), they must run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import postgres_cluster
import pytest
from conftest import QUIET_TF, free_port, start_cli, wait_for_http
from google.protobuf import text_format

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("team_mlflow_server")]

EXPERIMENT = ("experiment=dnn_classifier",)
PASSWORD = "s3cret-Pa55word-for-alice"
READER_PASSWORD = "r3ader-Pa55word-only-reads"
ADMIN_PASSWORD = "adm1n-Pa55word-of-the-server"


@contextlib.contextmanager
def mlflow_server(root: Path, backend: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``mlflow server`` on a free loopback port with proxied artifacts under ``root``; its URL."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
            "--backend-store-uri", backend, "--artifacts-destination", str(root / "artifacts"), *extra,
        ],
        cwd=root,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", timeout=180, proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def postgres():
    reason = postgres_cluster.missing()
    if reason is not None:
        if os.environ.get("SIGFORGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + ", and SIGFORGE_REQUIRE_POSTGRES=1 says this run must use it")
        pytest.skip(reason)
    cluster = postgres_cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="module")
def team_server(postgres, tmp_path_factory):
    root = tmp_path_factory.mktemp("team-server")
    with mlflow_server(root, postgres.create_database("mlflow")) as url:
        yield url, root / "artifacts"


def client_for(url: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url)


def test_concurrent_exports_log_to_a_postgresql_backed_server(team_server, tmp_path):
    url, artifacts = team_server
    env = {"MLFLOW_TRACKING_URI": url}
    jobs = [start_cli(tmp_path, *EXPERIMENT, "mlflow.registered_model_name=team_model", "export.publish_identical=true", env=env) for _ in range(4)]  # fmt: skip
    results = [(job.wait(timeout=600), *job.communicate()) for job in jobs]
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    model_dir = tmp_path / "outputs" / "exports" / "dnn_classifier"
    assert sorted(p.name for p in model_dir.iterdir() if not p.name.startswith(".")) == ["1", "2", "3", "4"]
    client = client_for(url)
    experiment = client.get_experiment_by_name("dnn_classifier")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * 4
    assert sorted(r.data.tags["sigforge.model_version"] for r in runs) == ["1", "2", "3", "4"]
    # Proxied artifacts: the runs name the server, the files are in its --artifacts-destination.
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs)
    assert len(list(artifacts.rglob("signature_card.html"))) == 4
    versions = client.search_model_versions("name = 'team_model'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3, 4]
    dirs = {v.version: v.tags["sigforge.version_dir"] for v in versions}
    assert sorted(dirs.values()) == [str(model_dir / str(n)) for n in range(1, 5)]
    # The registry's alias, through the server, becomes TF Serving's label of the right directory.
    client.set_registered_model_alias("team_model", "champion", "2")
    done = subprocess.run(
        [sys.executable, "-m", "sigforge", "serving-config", "--tracking-uri", url],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, **QUIET_TF},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from tensorflow_serving.config import model_server_config_pb2

    (model,) = text_format.Parse(
        done.stdout, model_server_config_pb2.ModelServerConfig()
    ).model_config_list.config
    assert dict(model.version_labels) == {"champion": int(Path(dirs["2"]).name)}


def test_a_sweep_logs_every_job_and_its_parent_to_the_postgresql_backed_server(
    team_server, run_cli, tmp_path
):
    url, _ = team_server
    done = run_cli(
        "-m", *EXPERIMENT, "naming=identity,prefixed", "model.name=sweep_${naming.policy}",
        env={"MLFLOW_TRACKING_URI": url}, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    client = client_for(url)
    (experiment,) = [e for e in client.search_experiments() if e.name.startswith("sweep_")]
    runs = client.search_runs([experiment.experiment_id])
    names = sorted(r.info.run_name for r in runs if not r.info.run_name.startswith("sweep-"))
    assert names == ["sweep_identity-v1", "sweep_prefixed-v1"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    (parent,) = [r for r in runs if r.data.tags.get("sigforge.sweeps.parent_run") == "true"]
    comparison = json.loads(
        Path(
            client.download_artifacts(parent.info.run_id, "sweep_comparison.json", str(tmp_path))
        ).read_text()
    )
    assert comparison["expected"] == 2 and comparison["missing"] == 0


# --- MLflow's basic-auth app -----------------------------------------------------------------


def _admin(url: str, path: str, payload: dict) -> None:
    token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """``mlflow server --app-name basic-auth``: users alice (creates the experiment, may write) and
    reader (READ, the app's default permission, on it)."""
    root = tmp_path_factory.mktemp("auth-server")
    ini = root / "basic_auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-test-secret-key",
    }
    with mlflow_server(root, f"sqlite:///{root / 'mlflow.db'}", "--app-name", "basic-auth", env=env) as url:
        _admin(url, "/api/2.0/mlflow/users/create", {"username": "alice", "password": PASSWORD})
        _admin(url, "/api/2.0/mlflow/users/create", {"username": "reader", "password": READER_PASSWORD})
        yield url, root


def export_as(cwd: Path, url: str, user: str, password: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **QUIET_TF,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_TRACKING_USERNAME": user,
        "MLFLOW_TRACKING_PASSWORD": password,
    }
    return subprocess.run(
        [sys.executable, "-m", "sigforge", *EXPERIMENT, *extra],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_basic_auth_credentials_from_the_environment_and_never_recorded(auth_server, tmp_path):
    url, root = auth_server
    done = export_as(tmp_path, url, "alice", PASSWORD, "mlflow.registered_model_name=authed")
    assert done.returncode == 0, done.stderr[-3000:]
    with as_user("alice", PASSWORD):
        client = client_for(url)
        experiment = client.get_experiment_by_name("dnn_classifier")
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.status == "FINISHED"
        recorded = json.dumps([run.data.params, run.data.tags, run.data.metrics])
        version = client.get_model_version("authed", "1")
        recorded += json.dumps([version.tags, version.description, version.source])
        local = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded")))
    assert PASSWORD not in recorded
    files = [p for p in local.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in files)
    assert not [p for p in files if PASSWORD.encode() in p.read_bytes()]
    assert not [
        p for p in (root / "artifacts").rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()
    ]
    assert PASSWORD.encode() not in (root / "mlflow.db").read_bytes()  # the server's whole store
    assert PASSWORD not in done.stdout + done.stderr


def test_a_wrong_password_is_one_clear_error_and_nothing_half_written(auth_server, tmp_path):
    url, _ = auth_server
    done = export_as(tmp_path, url, "alice", "not-" + PASSWORD)
    assert done.returncode == 4, done.stderr[-3000:]
    assert_refused_as_designed(done, tmp_path, "error code 401", "You are not authenticated")
    assert PASSWORD not in done.stdout + done.stderr


def test_a_read_only_user_is_refused_without_a_traceback(auth_server, tmp_path):
    url, _ = auth_server
    with as_user("alice", PASSWORD):  # alice's experiment, as her exports make it; reader may only READ it
        client = client_for(url)
        experiment = client.get_experiment_by_name("dnn_classifier")
        if experiment is None:
            kind = {"mlflow.experimentKind": "custom_model_development"}
            client.create_experiment("dnn_classifier", tags=kind)
            experiment = client.get_experiment_by_name("dnn_classifier")
        before = len(client.search_runs([experiment.experiment_id]))
    refused = export_as(tmp_path, url, "reader", READER_PASSWORD)
    assert refused.returncode == 4, refused.stderr[-3000:]
    assert_refused_as_designed(
        refused, tmp_path, "runs/create failed with error code 403", "Permission denied"
    )
    assert READER_PASSWORD not in refused.stdout + refused.stderr
    with as_user("alice", PASSWORD):
        assert len(client_for(url).search_runs([experiment.experiment_id])) == before


def assert_refused_as_designed(done: subprocess.CompletedProcess[str], cwd: Path, *said: str) -> None:
    """Exit 4's contract (docs/mlflow.md): one ``sigforge:`` line saying what MLflow answered, no
    traceback; the verified version is kept whole, with the command that logs it later; no staging."""
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "could not start a run" in line]
    assert line.startswith("sigforge: MLflow at http://127.0.0.1:") and all(s in line for s in said), line
    model_dir = cwd / "outputs" / "exports" / "dnn_classifier"
    assert f"log it later with sigforge log {model_dir / '1'} --tracking-uri" in line
    names = [p.name for p in model_dir.iterdir()]
    assert [n for n in names if not n.startswith(".")] == ["1"] and not [n for n in names if "staging" in n]
    assert (model_dir / "1" / "saved_model.pb").is_file()


@contextlib.contextmanager
def as_user(user: str, password: str) -> Iterator[None]:
    """MLflow's client in this process authenticates as ``user`` (from the environment, as sigforge's)."""
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = user, password
    try:
        yield
    finally:
        del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
