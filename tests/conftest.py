"""Shared fixtures: Hydra composition through its compose API, plugins, in-process and CLI exports."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from sigforge import hookimpl

# The default profile (CI, every change) is derandomized: a gate must not pass or fail by the seed.
# Exploring is the thorough profile's job (HYPOTHESIS_PROFILE=thorough): fresh examples every run.
settings.register_profile(
    "default", max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
EXPERIMENTS = [  # every experiment in conf/experiment/
    "image_classifier",
    "multi_input",
    "variable_length",
    "dnn_classifier",
    "dnn_regressor",
    "image_bytes",
    "text_raw",
    "tf_example",
    "estimator_classifier",
]


MLFLOW_ENVIRONMENT = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "SIGFORGE_SWEEP_EXPERIMENT")


@pytest.fixture(autouse=True)
def no_mlflow_environment():
    """sigforge honours MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME, and mlflow.set_tracking_uri()
    in a test sets the first in os.environ: without this, a test's CLI would log to the store of the
    test before it."""
    for name in MLFLOW_ENVIRONMENT:
        os.environ.pop(name, None)
    yield
    for name in MLFLOW_ENVIRONMENT:
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def compose() -> Callable[..., dict[str, Any]]:
    """Compose the packaged config tree with overrides, as ``python -m sigforge`` would."""
    from sigforge.config.compose import compose as compose_config

    return compose_config


@pytest.fixture(scope="session")
def plugins():
    from sigforge.plugins.manager import load_plugins

    return load_plugins()


@pytest.fixture(scope="session")
def export(compose, plugins, tmp_path_factory) -> Callable[..., Any]:
    """Export an experiment in this process (TensorFlow imported once); cached per overrides."""
    from sigforge.config.validate import build_spec
    from sigforge.pipeline import run_export

    cache: dict[tuple[str, ...], Any] = {}

    def _export(experiment: str, *overrides: str) -> Any:
        key = (experiment, *overrides)
        if key not in cache:
            base = tmp_path_factory.mktemp("exports")
            cfg = compose(f"+experiment={experiment}", f"export.base_dir={base}", *overrides)
            spec = build_spec(cfg, plugins)
            cache[key] = run_export(spec, plugins, summary_dir=base / "summary")
        return cache[key]

    return _export


@pytest.fixture
def run_cli(tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m <module> args`` in a subprocess, in ``cwd`` (default a fresh tmp dir)."""

    def _run(
        *args: str,
        module: str = "sigforge",
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=cwd or tmp_path,
            env={**os.environ, **QUIET_TF, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return _run


def start_cli(cwd: Path, *args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen:
    """``python -m sigforge args`` started in ``cwd`` without waiting, for tests that interrupt it;
    stdout and stderr are pipes unless ``popen`` says otherwise."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.Popen(
        [sys.executable, "-m", "sigforge", *args],
        cwd=cwd,
        env={**os.environ, **QUIET_TF, **(env or {})},
        text=True,
        **options,
    )


def pip_install_target(source: Path, target: Path) -> None:
    """``pip install --target``: a real, non-editable install of ``source`` into a folder."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )


def with_plugin(*plugins: object):
    """A fresh plugin manager (built-ins, no entry points) with inline ``plugins`` registered."""
    from sigforge.plugins.manager import Plugins, make_plugin_manager

    pm = make_plugin_manager(entry_points=False)
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=getattr(plugin, "name", f"inline-{i}"))
    return Plugins(pm)


class Policy:
    """A team plugin offering one naming policy."""

    def __init__(self, policy, name="team-policy", policy_name="team"):
        self.policy, self.name, self.policy_name = policy, name, policy_name

    @hookimpl
    def register_naming_policies(self, register):
        register(self.policy_name, self.policy)


class Preprocessor:
    """A team plugin offering one preprocessor factory."""

    def __init__(self, factory, name="team-pre", pre_name="team_pre"):
        self.factory, self.name, self.pre_name = factory, name, pre_name

    @hookimpl
    def register_preprocessors(self, register):
        register(self.pre_name, self.factory)


def inputs_of(signature_def) -> dict[str, tuple[str, list[int]]]:
    """A signature_def's inputs as ``key -> (dtype, dims)``, read with TensorFlow's own dtypes."""
    import tensorflow as tf

    return {
        key: (tf.dtypes.as_dtype(info.dtype).name, [d.size for d in info.tensor_shape.dim])
        for key, info in signature_def.inputs.items()
    }


def census_example(age: float, hours: int, occupation: str) -> bytes:
    """A serialized tf.Example of the dnn_classifier experiment's three features, made by TensorFlow."""
    import tensorflow as tf

    feature = {
        "age": tf.train.Feature(float_list=tf.train.FloatList(value=[age])),
        "hours_per_week": tf.train.Feature(int64_list=tf.train.Int64List(value=[hours])),
        "occupation": tf.train.Feature(bytes_list=tf.train.BytesList(value=[occupation.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def assert_same_feeds(sent: dict[str, Any], verified: dict[str, Any]) -> None:
    """The same data; serialized tf.Examples compared as messages (map order is not canonical)."""
    import numpy as np
    import tensorflow as tf

    assert set(sent) == set(verified)
    for key, value in sent.items():
        if key == "inputs" and value.dtype == object:
            parse = tf.train.Example.FromString
            assert [parse(v) for v in value] == [parse(v) for v in verified[key]]
        else:
            np.testing.assert_array_equal(value, verified[key])


def imported(stderr: str, *packages: str) -> set[str]:
    """The modules of ``packages`` that ``python -X importtime`` reports in ``stderr``."""
    names = {
        line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")
    }
    return {name for name in names if name.split(".")[0] in packages}


def saved_model_proto(export_dir: Path):
    """The SavedModel proto, parsed with TensorFlow's own classes (an independent reader)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    return proto.meta_graphs[0]


def session_run(export_dir: Path, signature: str, feeds: dict[str, Any]) -> dict[str, Any]:
    """TF1's loader in a fresh Graph and Session: what TF Serving does, through TensorFlow's Python API."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(export_dir))
        sig = meta.signature_def[signature]
        fetches = {key: info.name for key, info in sig.outputs.items()}
        return session.run(fetches, {sig.inputs[key].name: value for key, value in feeds.items()})


def run_statuses(db: Path, where: str = "") -> list[str]:
    """Every run's status in an SQLite store, read with SQLite itself (not through sigforge or MLflow).

    Read-only, and a store still being created (no file yet, or MLflow's migration has not made the
    ``runs`` table) holds no runs: tests poll this while an export starts, so that moment is normal.
    """
    import sqlite3

    if not db.is_file():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            return [status for (status,) in connection.execute(f"select status from runs {where}")]
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process serving {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real ``mlflow server`` on a free loopback port, with its own SQLite store and artifact root."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [
            str(bin_dir / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        cwd=root,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
        stdout=(root / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """Headers, then one byte every 2 s: a per-read timeout never fires, only a bound on the whole."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            while not stop.wait(2):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    def serve() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


@pytest.fixture(scope="session")
def slurm():
    """A real single-node Slurm cluster on loopback (tests/slurm_cluster.py), for the whole session.

    Skips where Slurm cannot be installed; where scripts/test.sh installed it (root with apt, as in
    CI: SIGFORGE_REQUIRE_SLURM=1), a cluster that does not start fails the tests instead."""
    import slurm_cluster

    reason = slurm_cluster.missing()
    if reason is not None:
        if os.environ.get("SIGFORGE_REQUIRE_SLURM") == "1":
            pytest.fail(reason + ", and SIGFORGE_REQUIRE_SLURM=1 says this run must use it")
        pytest.skip(reason)
    import shutil
    import tempfile

    # Not under pytest's tmp dirs (0700): munged runs as user munge and must reach its socket.
    root = Path(tempfile.mkdtemp(prefix="sigforge-slurm-"))
    root.chmod(0o755)
    cluster = slurm_cluster.start(root)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def fresh_clone(destination: Path) -> Path:
    """The checkout's files as a fresh clone has them (tracked and new, nothing git ignores)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory) -> dict[str, Any]:
    """sigforge as a user installs it: a fresh clone of this checkout with a fresh ``.venv`` in it,
    into which the wheel built from the checkout is installed non-editable with its dependencies
    (at constraints.txt's versions); that venv has never seen the checkout. Also the example team
    plugin's wheel, not installed (the tests that need it install it).

    Returns ``{"clone", "venv", "bin", "wheel", "plugin_wheel", "build_output"}``.
    """
    root = tmp_path_factory.mktemp("wheel-install")
    dist = root / "dist"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
         str(REPO / "plugins" / "sigforge-team-example")],
        capture_output=True,
        check=True,
    )  # fmt: skip
    (wheel,) = dist.glob("sigforge-*.whl")
    (plugin_wheel,) = dist.glob("sigforge_team_example-*.whl")
    clone = fresh_clone(root / "clone")
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", str(REPO / "constraints.txt"),
         str(wheel)],
        capture_output=True,
        check=True,
        timeout=1200,
    )  # fmt: skip
    return {
        "clone": clone,
        "venv": venv,
        "bin": venv / "bin",
        "wheel": wheel,
        "plugin_wheel": plugin_wheel,
        "build_output": build.stdout + build.stderr,
    }


def installed_env(wheel_venv: dict[str, Any]) -> dict[str, str]:
    """The environment of a shell with the fresh venv activated: its bin first on PATH, nothing of
    the test process's own Python (PYTHONPATH, the test venv) that could stand in for the wheel."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(QUIET_TF)
    env["VIRTUAL_ENV"] = str(wheel_venv["venv"])
    env["PATH"] = f"{wheel_venv['bin']}{os.pathsep}{env.get('PATH', '')}"
    return env


# The estimator heads' configs (model.head), for the config and the export tests alike.
HEAD_BINARY = ("experiment=estimator_classifier",)
HEAD_MULTI = (
    "experiment=estimator_classifier",
    "model.head=multi_class_classifier",
    "model.num_classes=3",
    "model.class_names=[cat,dog,bird]",
    "~signatures.regression",
    "signatures.predict.outputs=[all_class_ids,all_classes,class_ids,classes,logits,probabilities]",
)
HEAD_REGRESSOR = (
    "experiment=estimator_classifier",
    "model.head=regressor",
    "signatures.serving_default.method=regress",
    "signatures.serving_default.outputs=[outputs]",
    "~signatures.classification",
    "signatures.predict.outputs=[predictions]",
)
