"""A real single-node Slurm cluster for the tests, bound to loopback, started without systemd.

Debian's ``slurmctld slurmd slurm-client munge`` packages do not start their services in a
container, so each daemon runs in the foreground as a child of the test session: ``munged`` as user
munge (its runtime directory made first, as systemd would), ``slurmctld -D -i`` and ``slurmd -D -N
localhost``. No cgroups (``proctrack/linuxproc``, ``task/none``), no accounting database
(``accounting_storage/none``): the launcher must cope without ``sacct``. Torn down by the PIDs it
started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NODE_CPUS = 2
NODE_MEMORY_MB = 4000


@dataclass
class SlurmCluster:
    root: Path
    partition: str = "debug"
    env: dict[str, str] = field(default_factory=dict)  # SLURM_CONF for clients
    processes: list[subprocess.Popen] = field(default_factory=list)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    needed = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch")
    absent = [name for name in needed if shutil.which(name) is None]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing; scripts/test.sh installs it as root with apt)"
    if os.geteuid() != 0:
        return "starting slurmd and munged needs root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(root: Path) -> SlurmCluster:
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir(exist_ok=True)
    shutil.chown(root / "munge", "munge", "munge")
    os.chmod(root / "munge", 0o755)
    conf = root / "slurm.conf"
    conf.write_text(
        f"""ClusterName=sigforge
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root / "munge" / "munge.socket"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "slurmctld.pid"}
SlurmdPidFile={root / "slurmd.pid"}
SlurmctldLogFile={root / "slurmctld.log"}
SlurmdLogFile={root / "slurmd.log"}
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs={NODE_CPUS} RealMemory={NODE_MEMORY_MB} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
    )
    cluster = SlurmCluster(root, env={"SLURM_CONF": str(conf)})
    env = {**os.environ, **cluster.env}
    log = (root / "daemons.log").open("w")

    def spawn(*command: str) -> None:
        proc = subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT)
        cluster.processes.append(proc)

    try:
        spawn(
            "runuser", "-u", "munge", "--", "munged", "--foreground", "--force",
            f"--socket={root / 'munge' / 'munge.socket'}",
            f"--pid-file={root / 'munge' / 'munged.pid'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}",
        )  # fmt: skip
        _wait(lambda: (root / "munge" / "munge.socket").exists(), "munged's socket")
        spawn("slurmctld", "-D", "-i", "-f", str(conf))
        spawn("slurmd", "-D", "-N", "localhost", "-f", str(conf))
        _wait(lambda: "idle" in cluster.run("sinfo", "-h", "-o", "%t", check=False).stdout, "an idle node")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait(ready, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"Slurm test cluster: no {what} within {timeout:.0f} s")
