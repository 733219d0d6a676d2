"""A throwaway PostgreSQL cluster for tests and benchmarks, started from the server binaries.

PostgreSQL refuses to run as root, so when we are root the cluster is created and started as
the ``postgres`` system user in a folder that user owns. The cluster listens on a random free
port on localhost and is removed when stopped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _bin_dir() -> Path | None:
    """The machine's server binaries; else those of the pgserver wheel (the Makefile installs
    it into .venv only on machines without PostgreSQL)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    try:
        from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    data_dir: Path
    port: int
    bin_dir: Path
    as_user: str | None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:  # say why (the failure's stderr), not only that it failed
            raise subprocess.CalledProcessError(
                done.returncode, cmd, stderr=done.stderr
            ) from RuntimeError(f"{args[0]}: {done.stderr.strip()}")

    def psql(self, sql: str) -> None:
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        )

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster(*, fast: bool = True) -> PostgresCluster:
    """initdb + start; ``fast`` turns off durability (fine for throwaway test data)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb) not found, and the pgserver wheel is not "
            "installed: run `make test`, which installs it when the machine has none"
        )
    as_user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="crmkpi-pg-"))
    data_dir = root / "data"
    if as_user:
        shutil.chown(root, user=as_user)
        os.chmod(root, 0o700)
    cluster = PostgresCluster(
        data_dir=data_dir, port=_free_port(), bin_dir=bin_dir, as_user=as_user
    )
    cluster._run(
        "initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"
    )
    options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if fast:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    last_error: Exception | None = None
    for _ in range(3):
        try:
            cluster._run(
                "pg_ctl",
                "-D",
                str(data_dir),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            )
            return cluster
        except subprocess.CalledProcessError as exc:  # port taken in between: try another
            last_error = exc
            cluster.port = _free_port()
            options = options.replace(options.split()[1], str(cluster.port), 1)
            time.sleep(0.2)
    raise RuntimeError(f"could not start PostgreSQL: {last_error}")


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
