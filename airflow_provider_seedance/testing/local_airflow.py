"""A throwaway Airflow deployment on this machine: api-server, scheduler, dag-processor and triggerer.

SQLite and LocalExecutor in a private AIRFLOW_HOME, every process in its own process group so it
can be stopped cleanly, also on Ctrl-C. Used by ``make demo`` and the end-to-end tests; handy for
running your own Seedance DAGs against the simulator before they meet a real gateway.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalAirflow:
    """Start with ``start()`` (or ``with``); component output goes to ``<home>/<component>.log``.

    :param home: the AIRFLOW_HOME to create (its SQLite database lives there).
    :param dags_folder: the folder the dag-processor parses.
    :param env: extra environment for every component (connections, settings).
    :param parallelism: LocalExecutor worker processes (each costs ~100 MB).
    """

    def __init__(self, home: Path, dags_folder: Path, env: Mapping[str, str] | None = None, *, parallelism: int = 4):
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **(env or {}),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": "local-airflow-" + os.urandom(8).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        }
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[str]] = []

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> LocalAirflow:
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=300)
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
        }
        for name, arguments in commands.items():
            log = (self.home / f"{name}.log").open("w")
            self._logs.append(log)
            self._processes[name] = subprocess.Popen(
                [AIRFLOW, *arguments], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_healthy(timeout)
        return self

    def stop(self, grace_seconds: float = 10) -> None:
        """Terminate every component (whole process groups); kill what is still running after the grace time.

        The deployment is throwaway, so nothing is lost by not waiting for a slow graceful shutdown.
        """
        for process in self._processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in self._processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None):
        self.stop()

    # ---- using it -----------------------------------------------------------------------------

    def cli(self, *arguments: str, timeout: float = 120) -> str:
        """Run an ``airflow`` command against this deployment; raise with its output if it fails."""
        result = subprocess.run(
            [AIRFLOW, *arguments], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while dag_id not in self.cli("dags", "list", "--output", "plain"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dag-processor did not parse {dag_id}; see {self.home}/dag-processor.log")
            time.sleep(2)

    def trigger(self, dag_id: str) -> None:
        self.cli("dags", "unpause", dag_id)
        self.cli("dags", "trigger", dag_id)

    def clear(self, dag_id: str, task_ids: list[str]) -> None:
        """Clear tasks of the DAG's latest run through the REST API, as the UI's "Clear" button does."""
        with self.database() as db:
            (run_id,) = db.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
        response = httpx.post(
            f"{self.base_url}/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": False},
            timeout=60,
        )
        response.raise_for_status()

    def wait_for_run(self, dag_id: str, timeout: float = 300, on_poll=None) -> str:  # type: ignore[no-untyped-def]
        """The final state of the DAG's latest run; ``on_poll(db)`` runs at every check (for inspection)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.database() as db:
                if on_poll is not None:
                    on_poll(db)
                row = db.execute(
                    "SELECT state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
                ).fetchone()
            if row and row[0] in ("success", "failed"):
                return row[0]
            self._check_alive()
            time.sleep(0.5)
        raise TimeoutError(f"{dag_id} did not finish in {timeout:.0f} s")

    def database(self) -> sqlite3.Connection:
        return sqlite3.connect(self.home / "airflow.db")

    def component_log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    # ---- internals ----------------------------------------------------------------------------

    def _check_alive(self) -> None:
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.component_log(name)[-3000:]}")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                parts = [part for part in health.values() if isinstance(part, dict)]
                if parts and all(part.get("status") == "healthy" for part in parts):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError(f"Airflow was not healthy after {timeout:.0f} s; logs in {self.home}")
