"""A real PostgreSQL cluster for the tests, on a loopback port, started without systemd.

Debian's ``postgresql`` package installs its binaries under ``/usr/lib/postgresql/<major>/bin``
(not on PATH) and starts no service in a container. The cluster lives in a temporary directory:
``initdb`` (trust authentication, loopback only), ``pg_ctl start`` with the socket in that
directory, one database per ``create_database``. PostgreSQL refuses to run as root, so as root
every server command runs as the ``postgres`` user (``runuser``); as anyone else, as that user.
Torn down with ``pg_ctl stop``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "mlflow"  # the cluster's superuser, trusted on loopback


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else Debian's newest /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    majors = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return majors[-1].parent if majors else None


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    if bin_dir() is None:
        return "PostgreSQL is not installed (initdb missing; scripts/test.sh installs Debian's postgresql as root with apt)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running PostgreSQL as root needs the postgres user (Debian's postgresql package makes it)"
        if shutil.which("runuser") is None:
            return "running PostgreSQL as root needs runuser (util-linux)"
    return None


@dataclass
class PostgresCluster:
    root: Path
    port: int
    bin: Path

    def uri(self, database: str) -> str:
        # +psycopg2: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return self.uri(name)

    def stop(self) -> None:
        _as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"])


def _as_server_user(command: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> PostgresCluster:
    """A new cluster in a fresh temporary directory (not under pytest's 0700 tmp dirs: the
    postgres user must reach it)."""
    binaries = bin_dir()
    assert binaries is not None, missing()
    root = Path(tempfile.mkdtemp(prefix="sigforge-postgres-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    data = root / "data"
    _as_server_user(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        ]
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    _as_server_user(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        ]
    )
    return PostgresCluster(root, port, binaries)
