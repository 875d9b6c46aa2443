"""A throwaway Airflow deployment on this machine: api-server, scheduler, dag-processor and triggerer(s).

By default SQLite and the LocalExecutor in a private AIRFLOW_HOME; given a PostgreSQL URL and a
Celery broker it runs the CeleryExecutor with Celery workers instead, and any number of triggerers.
Every component runs in its own process group so it can be stopped cleanly, also on Ctrl-C, or
killed on purpose to see the rest recover. Used by ``make demo``, the end-to-end tests and
``make scale-test``; handy for running your own Seedance DAGs against the simulator before they
meet a real gateway.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from airflow_provider_seedance.testing.processes import ProcessGroup, free_port

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENT_VARIABLE = "LOCAL_AIRFLOW_COMPONENT"


def component_hostname() -> str:
    """``[core] hostname_callable`` of every component: which one it is (several share one machine).

    Jobs (triggerers) and task instances record this name, so one can tell which triggerer holds a
    trigger and which Celery worker ran a task.
    """
    component = os.environ.get(COMPONENT_VARIABLE)
    return f"{component}.{socket.getfqdn()}" if component else socket.getfqdn()


@dataclass(frozen=True)
class CeleryWorkers:
    """Run the CeleryExecutor with ``count`` workers of ``concurrency`` task processes each.

    ``preload`` names modules each worker imports once at startup (Celery's ``imports``), so the task
    processes it forks inherit them instead of importing them again for every task.
    """

    broker_url: str
    count: int = 2
    concurrency: int = 4
    preload: tuple[str, ...] = ()


class LocalAirflow:
    """Start with ``start()`` (or ``with``); component output goes to ``<home>/<component>.log``.

    :param home: the AIRFLOW_HOME to create (its SQLite database lives there, unless ``database_url``).
    :param dags_folder: the folder the dag-processor parses.
    :param env: extra environment for every component (connections, settings); it overrides the defaults.
    :param parallelism: ``[core] parallelism``: task instances running or queued at once.
    :param database_url: a SQLAlchemy URL of the metadata database (PostgreSQL); None for SQLite.
    :param celery: run the CeleryExecutor with these workers (needs ``database_url``); None for the
        LocalExecutor, whose worker processes each cost ~100 MB.
    :param triggerers: how many triggerers to run (``triggerer-1``, ``triggerer-2``... when more than one).
    :param healthy_within: seconds ``start`` waits for every component to report healthy.
    :param airflow: the ``airflow`` executable every component runs; by default this interpreter's. Another
        virtualenv's runs that environment's Airflow (and its installed provider).
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        *,
        parallelism: int = 4,
        database_url: str | None = None,
        celery: CeleryWorkers | None = None,
        triggerers: int = 1,
        healthy_within: float = 180,
        airflow: str | Path = AIRFLOW,
    ):
        if celery is not None and database_url is None:
            raise ValueError("celery needs database_url: SQLite cannot serve Celery workers; pass a PostgreSQL URL")
        if triggerers < 1:
            raise ValueError(f"triggerers={triggerers}; allowed: 1 or more (deferred tasks wait for one)")
        self.home = Path(home)
        self.airflow = str(airflow)
        self.healthy_within = healthy_within
        self.dags_folder = Path(dags_folder)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # SQLite takes one writer at a time; a writer waits up to 30 s for the lock (sqlite3's default: 5 s, which
        # a scheduler among a dozen task processes on a busy machine outwaited: "database is locked").
        self.database_url = database_url or f"sqlite:///{self.home / 'airflow.db'}?timeout=30"
        self.celery = celery
        self.triggerers = triggerers
        settings = {
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if celery else "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.component_hostname",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            # One process: the default four each load Airflow (seconds of CPU and ~150 MB apiece), and beside
            # a parallel test run Airflow 3.0.6's uvicorn workers kept dying before they answered.
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "local-airflow-" + os.urandom(8).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        }
        if celery:
            settings["AIRFLOW__CELERY__BROKER_URL"] = celery.broker_url
            settings["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(celery.concurrency)
            if celery.preload:
                settings["AIRFLOW__CELERY__EXTRA_CELERY_CONFIG"] = json.dumps({"imports": list(celery.preload)})
        self.env = {
            **os.environ,
            **settings,
            **(env or {}),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
        }
        self.processes = ProcessGroup(self.home)

    @property
    def components(self) -> dict[str, list[str]]:
        """Each component's name and its ``airflow`` arguments."""
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
        }
        for name in _numbered("triggerer", self.triggerers):
            commands[name] = ["triggerer", "--skip-serve-logs"]
        if self.celery:
            for name in _numbered("celery-worker", self.celery.count, always=True):
                commands[name] = [
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{name}@%h",
                    "--concurrency",
                    str(self.celery.concurrency),
                    "--skip-serve-logs",
                    "--without-gossip",
                    "--without-mingle",
                ]
        return commands

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LocalAirflow:
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=300)
        for name, arguments in self.components.items():
            self.processes.start(name, [self.airflow, *arguments], {**self.env, COMPONENT_VARIABLE: name})
        failure = f"Airflow was not healthy after {self.healthy_within:.0f} s; logs in {self.home}"
        self.processes.wait_for(self._healthy, failure, self.healthy_within, interval=1)
        return self

    def stop(self, grace_seconds: float = 2) -> None:
        """Terminate every component (whole process groups); kill what is still running after the grace time.

        The deployment is throwaway, so nothing is lost by not waiting for a slow graceful shutdown (some
        components take the whole 10 s a longer grace would give them).
        """
        self.processes.stop(grace_seconds)
        if "_engine" in self.__dict__:
            self._engine.dispose()

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ---- using it -----------------------------------------------------------------------------

    def cli(self, *arguments: str, timeout: float = 120) -> str:
        """Run an ``airflow`` command against this deployment; raise with its output if it fails."""
        result = subprocess.run(
            [self.airflow, *arguments], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Wait until the dag-processor has stored the DAG (what ``airflow dags list`` reads, without starting
        an ``airflow`` process, several CPU seconds, for every look)."""
        self.processes.wait_for(
            lambda: self.query("SELECT 1 FROM serialized_dag WHERE dag_id = :dag_id LIMIT 1", dag_id=dag_id),
            f"the dag-processor did not parse {dag_id}; see {self.home}/dag-processor.log",
            timeout,
            interval=2,
        )

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str) -> None:
        """Unpause the DAG and start a run now, as the UI's "Trigger" button does."""
        self.unpause(dag_id)
        self.api("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None})

    def clear(self, dag_id: str, task_ids: list[str]) -> None:
        """Clear tasks of the DAG's latest run, as the UI's "Clear" button does."""
        ((run_id,),) = self.query(
            "SELECT run_id FROM dag_run WHERE dag_id = :dag_id ORDER BY id DESC LIMIT 1", dag_id=dag_id
        )
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": False}
        self.api("POST", f"dags/{dag_id}/clearTaskInstances", body)

    def api(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """Call the REST API (``/api/v2/<path>``) as an admin; its JSON answer. Unlike ``cli``, no ``airflow``
        process is started (several CPU seconds each)."""
        headers = {"Authorization": f"Bearer {self._admin_token}"}
        response = httpx.request(method, f"{self.base_url}/api/v2/{path}", json=body, headers=headers, timeout=60)
        if response.is_error:
            raise RuntimeError(f"{method} /api/v2/{path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None  # 204: nothing to read

    def run_state(self, dag_id: str) -> str | None:
        """The state of the DAG's latest run, None before it has one."""
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = :dag_id ORDER BY id DESC LIMIT 1", dag_id=dag_id)
        return rows[0][0] if rows else None

    def final_state(self, dag_id: str) -> str | None:
        """``success`` or ``failed`` once the DAG's latest run has ended, None before."""
        state = self.run_state(dag_id)
        return state if state in ("success", "failed") else None

    def wait_for_run(
        self, dag_id: str, timeout: float = 300, on_poll: Callable[[sqlite3.Connection], object] | None = None
    ) -> str:
        """The final state of the DAG's latest run; ``on_poll(db)`` runs at every check (SQLite: a sqlite3
        connection, for inspection)."""

        def ended() -> str | None:
            if on_poll is not None:
                with self.database() as db:
                    on_poll(db)
            return self.final_state(dag_id)

        return self.processes.wait_for(ended, f"{dag_id} did not finish in {timeout:.0f} s", timeout)

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a SQL query on the metadata database (any backend); ``:name`` placeholders take ``params``."""
        from sqlalchemy import text

        with self._engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    def database(self) -> sqlite3.Connection:
        """The SQLite metadata database, for ad-hoc inspection; other backends: use ``query``."""
        if self.database_url.startswith("sqlite"):
            return sqlite3.connect(self.home / "airflow.db")
        raise RuntimeError(f"database() opens SQLite only; this deployment uses {self.database_url}: use query()")

    def component_log(self, name: str) -> str:
        return self.processes.log(name)

    # ---- internals ----------------------------------------------------------------------------

    @cached_property
    def _admin_token(self) -> str:
        """A JWT from the simple auth manager, which hands one out without credentials when every user is an
        admin (``simple_auth_manager_all_admins``); some releases (3.1) reject API calls without it."""
        response = httpx.get(f"{self.base_url}/auth/token", timeout=60)
        if response.is_error:
            raise RuntimeError(f"GET /auth/token answered {response.status_code}: {response.text[:2000]}")
        token: str = response.json()["access_token"]
        return token

    @cached_property
    def _engine(self) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        return create_engine(self.database_url, poolclass=NullPool)

    def _healthy(self) -> bool:
        try:
            health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        parts = [part for part in health.values() if isinstance(part, dict)]
        return bool(parts) and all(part.get("status") == "healthy" for part in parts)


def _numbered(kind: str, count: int, *, always: bool = False) -> list[str]:
    """``kind`` alone for one (unless ``always``), else ``kind-1`` ... ``kind-<count>``."""
    return [kind] if count == 1 and not always else [f"{kind}-{number}" for number in range(1, count + 1)]
