"""Throwaway PostgreSQL and Redis servers from the system packages, for a distributed local Airflow.

Each runs on a free loopback port with its files in a temporary directory and is gone after
``stop()``. Nothing is tuned for durability: PostgreSQL runs without fsync, Redis without persistence.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from airflow_provider_seedance.testing.processes import ProcessGroup, free_port


def install_debian_packages(packages: Iterable[str]) -> list[str]:
    """``apt-get install`` the packages that are not installed yet (as root); returns what was installed."""
    missing = [package for package in packages if not _installed(package)]
    if not missing:
        return []
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            f"the Debian packages {', '.join(missing)} are missing and cannot be installed here (this needs apt-get "
            f"and root). Install them with `{' '.join(command)}` as root, then run again."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return missing


def _installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False)
    return result.stdout.strip() == "install ok installed"


class LocalPostgres:
    """A PostgreSQL server with one database, ``airflow``, owned by user ``airflow`` (trust auth on loopback).

    PostgreSQL refuses to run as root, so as root its files belong to the ``postgres`` user the Debian
    package creates, and it runs as that user.
    """

    database = "airflow"
    user = "airflow"

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self._processes = ProcessGroup(log_dir)
        self._dir: Path | None = None

    def url(self, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 60) -> LocalPostgres:
        bindir = _postgres_bindir()
        self._dir = Path(tempfile.mkdtemp(prefix="seedance-postgres-"))
        data = self._dir / "data"
        as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
            as_owner = ["runuser", "-u", "postgres", "--"]
        initdb = [f"{bindir}/initdb", "-D", str(data), "-U", self.user, "--auth=trust", "--no-sync", "-E", "UTF8"]
        subprocess.run([*as_owner, *initdb], check=True, capture_output=True)
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self._dir),
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        options = [part for key, value in settings.items() for part in ("-c", f"{key}={value}")]
        self._processes.start(
            "postgres", [*as_owner, f"{bindir}/postgres", "-D", str(data), "-p", str(self.port), *options], os.environ
        )
        ready = [f"{bindir}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]

        def accepting() -> bool:
            return subprocess.run(ready, check=False).returncode == 0

        failure = f"PostgreSQL did not become ready in {timeout:.0f} s"
        self._processes.wait_for(accepting, failure, timeout, interval=0.2, log_of="postgres")
        self._client("createdb", self.database)
        return self

    def dump(self) -> str:
        """The whole database as SQL (schema and data), as ``pg_dump`` writes it."""
        return self._client("pg_dump", "--no-owner", self.database)

    def stop(self) -> None:
        self._processes.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _client(self, program: str, *arguments: str) -> str:
        command = [f"{_postgres_bindir()}/{program}", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        return subprocess.run([*command, *arguments], check=True, capture_output=True, text=True).stdout

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _postgres_bindir() -> str:
    """The newest server install of the Debian layout (/usr/lib/postgresql/<major>/bin)."""
    installs = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda path: int(path.split("/")[4]))
    if not installs:
        raise RuntimeError("no PostgreSQL server found in /usr/lib/postgresql; install the Debian package postgresql")
    return os.path.dirname(installs[-1])


class LocalRedis:
    """A Redis server without persistence: the Celery broker of a local deployment."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self._processes = ProcessGroup(log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> LocalRedis:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._processes.start("redis", command, os.environ, cwd=Path(tempfile.gettempdir()))
        failure = f"Redis did not become ready in {timeout:.0f} s"
        self._processes.wait_for(self._answers_ping, failure, timeout, interval=0.2, log_of="redis")
        return self

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        self._processes.stop()

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
