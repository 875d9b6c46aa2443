"""A real Airflow deployment in the test run: api-server, scheduler, dag-processor and triggerer as processes.

SQLite, LocalExecutor and a temporary AIRFLOW_HOME; a DAG with twelve mapped deferrable generations
across four simulated gateways runs through the real triggerer into moto's S3 server. Then we check
that every object landed, that the simulator saw exactly one submission per generation, and that the
API key is nowhere in task logs, the trigger table, XComs or manifests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY, s3_client, simulator_connections

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "seedance_real_airflow"
GATEWAYS = {
    "ark": "dreamina-seedance-2-0-260128",
    "apimart": "doubao-seedance-2.0",
    "infinityblue": "doubao-seedance-2-0-260128",
    "jimmyai": "seedance2.0-mini",
}
GENERATIONS = 12

DAG_SOURCE = f'''
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

GATEWAYS = {GATEWAYS!r}
ITEMS = [
    {{
        "seedance_conn_id": f"sim_{{name}}",
        "model": GATEWAYS[name],
        "prompt": f"real airflow clip {{index}} on {{name}}",
        "output_path": f"s3://{BUCKET}/real/{{index:02d}}-{{name}}.mp4",
    }}
    for index, name in enumerate(list(GATEWAYS) * {GENERATIONS // len(GATEWAYS)})
]

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceGenerateVideoOperator.partial(
        task_id="generate",
        duration=4,
        resolution="480p",
        output_conn_id="{AWS_CONN_ID}",
        poll_interval=5,
        deferrable=True,
    ).expand_kwargs(ITEMS)
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def deployment(tmp_path, simulator, moto_server, monkeypatch):
    # Every task stays queued/running for a few real seconds, so the trigger table can be inspected.
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 2000)
    monkeypatch.setattr(simulator.simulator.config, "run_seconds", 4000)
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG_SOURCE)
    port = _free_port()
    env = {
        **os.environ,
        **simulator_connections(simulator),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "seedance-real-airflow-test-jwt-secret",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    commands = {
        "api-server": [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)],
        "scheduler": [AIRFLOW, "scheduler", "--skip-serve-logs"],
        "dag-processor": [AIRFLOW, "dag-processor"],
        "triggerer": [AIRFLOW, "triggerer", "--skip-serve-logs"],
    }
    processes = {}
    for name, command in commands.items():
        log_file = (tmp_path / f"{name}.log").open("w")
        processes[name] = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", processes, tmp_path)
        yield {"env": env, "home": home, "port": port, "logs": tmp_path}
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(base_url: str, processes: dict, logs: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {(logs / f'{name}.log').read_text()[-3000:]}")
        try:
            health = httpx.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
            if all(part.get("status") == "healthy" for part in health.values() if isinstance(part, dict)):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    pytest.fail("Airflow did not become healthy in time")


def _airflow(deployment, *args: str) -> str:
    result = subprocess.run(
        [AIRFLOW, *args], env=deployment["env"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _db(deployment) -> sqlite3.Connection:
    return sqlite3.connect(deployment["home"] / "airflow.db")


def test_mapped_deferrable_generations_in_a_real_deployment(deployment, simulator, moto_server):
    started = time.monotonic()
    deadline = time.monotonic() + 180
    while DAG_ID not in _airflow(deployment, "dags", "list", "--output", "plain"):
        assert time.monotonic() < deadline, "the dag-processor never parsed the DAG"
        time.sleep(2)
    _airflow(deployment, "dags", "unpause", DAG_ID)
    _airflow(deployment, "dags", "trigger", DAG_ID)

    trigger_kwargs: list[str] = []
    state = None
    while time.monotonic() < deadline + 240:
        with _db(deployment) as db:
            trigger_kwargs += [row[0] for row in db.execute("SELECT kwargs FROM trigger")]
            row = db.execute("SELECT state FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchone()
        state = row[0] if row else None
        if state in ("success", "failed"):
            break
        time.sleep(0.5)
    with _db(deployment) as db:
        task_states = db.execute(
            "SELECT map_index, state, next_method IS NOT NULL FROM task_instance WHERE dag_id = ?", (DAG_ID,)
        ).fetchall()
        xcoms = [str(row[0]) for row in db.execute("SELECT value FROM xcom WHERE dag_id = ?", (DAG_ID,))]
        links = [str(row[0]) for row in db.execute("SELECT value FROM xcom WHERE key = '_link_SeedanceVideoLink'")]
    print(f"real Airflow run took {time.monotonic() - started:.1f} s from the first CLI call")
    assert state == "success", (task_states, (deployment["logs"] / "scheduler.log").read_text()[-3000:])
    assert len(task_states) == GENERATIONS
    assert trigger_kwargs, "no trigger row was ever seen: the tasks did not defer"

    # Every object landed, and each gateway saw exactly one submission per generation.
    client = s3_client(moto_server)
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET, Prefix="real/")["Contents"]}
    videos = {key for key in keys if key.endswith(".mp4")}
    assert len(videos) == GENERATIONS
    assert {f"{key}.json" for key in videos} <= keys
    submissions = simulator.simulator.stats.snapshot()["tasks"]
    per_task = [task for task in submissions.values() if task.get("submissions")]
    assert len(per_task) == GENERATIONS
    assert all(task["submissions"] == 1 for task in per_task)

    # The key is nowhere: trigger kwargs, XComs, manifests, task and trigger logs.
    assert all(SIM_KEY not in kwargs for kwargs in trigger_kwargs)
    assert json.loads(trigger_kwargs[0]).keys() >= {"remote_task_id", "seedance_conn_id", "deadline"}
    assert xcoms
    assert all(SIM_KEY not in value for value in xcoms)
    # The extra link points at each stored video in the S3 console.
    assert sum(f"s3/object/{BUCKET}?prefix=real" in link for link in links) == GENERATIONS
    for key in keys:
        assert SIM_KEY not in client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("latin-1")
    log_files = list((deployment["home"] / "logs").rglob("*.log*"))
    assert any(".trigger." in path.name for path in log_files), "no triggerer log was written"
    for path in log_files:
        assert SIM_KEY not in path.read_text(errors="replace"), path
