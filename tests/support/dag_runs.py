"""What the DAG-run tests share: the models they ask for, DAG sources for ``run_dag``, and readers of what a
run left behind (task states, S3 objects, claims, asset events, the simulator's counts, the task's log).

One run per behaviour family, one task per case: a DAG run costs the same fixed work however many tasks it
holds (parsing the dags folder, serializing the DAG, creating the run, starting the in-process task API), so
the cases of one family (the same input reaching each gateway, each documented limit) run as the tasks of
one DAG (``dag_of``), and each test asserts on its own task. The first test that needs the run makes it with
its own fixtures (``env``, ``run_dag``); the module's other tests find it made (``SharedRuns``). Mark those
tests with one ``xdist_group``: ``pytest -n 2 --dist loadgroup`` then hands them to one worker, which runs the
DAG once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.conftest import BUCKET, s3_client

MODELS = {
    "ark": "dreamina-seedance-2-0-260128",
    "apimart": "doubao-seedance-2.0",
    "infinityblue": "doubao-seedance-2-0-260128",
    "imini": "doubao/seedance-2.0",
    "jimmyai": "seedance2.0-mini",
    "aiproxy": "doubao-seedance-1-0-pro-250528",
}


def _single(dag_id: str, operator_args: str) -> str:
    """A DAG with one generation task, ``generate``; ``operator_args`` are keyword arguments as Python source."""
    return dag_of(dag_id, {"generate": operator_args})


def _states(run) -> dict[str, str]:
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def _object(moto_server: str, key: str) -> bytes:
    return s3_client(moto_server).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _submissions(simulator, gateway: str) -> int:
    return simulator.simulator.stats.snapshot()["gateways"].get(gateway, {}).get("submissions", 0)


def _asset_events(uri: str) -> list:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = [event for event in session.scalars(select(AssetEvent)) if event.uri == uri]
        return [(event.extra, {alias.name for alias in event.source_aliases}) for event in events]


DIES_AFTER_SUBMIT = """
class DiesAfterSubmit(SeedanceGenerateVideoOperator):
    # The first try is lost right after the paid submit (and its claim): a worker crash, an eviction.
    def _resume_or_submit(self, context, *args):
        resumed = super()._resume_or_submit(context, *args)
        if context["ti"].try_number == 1:
            raise RuntimeError("worker lost right after submitting")
        return resumed
"""


def _dies_after_submit(dag_id: str, operator_args: str) -> str:
    return DIES_AFTER_SUBMIT + _single(dag_id, operator_args).replace(
        "SeedanceGenerateVideoOperator(", "DiesAfterSubmit("
    )


def _task_output(capfd, caplog) -> str:
    """What dag.test() logged (console from Airflow 3.1 on, Python logging and wrapped tracebacks on 3.0),
    with whitespace runs folded so that a message wrapped across lines still matches."""
    captured = capfd.readouterr()
    return " ".join((captured.out + captured.err + caplog.text).split())


def _claim(moto_server: str, key: str) -> dict | None:
    try:
        return json.loads(_object(moto_server, f"{key}.claim.json"))
    except s3_client(moto_server).exceptions.NoSuchKey:
        return None


def _requests(folder: str, count: int) -> list[dict]:
    return [
        {"prompt": f"{folder} clip {index}", "output_path": f"s3://{BUCKET}/{folder}/{index:02d}.mp4"}
        for index in range(count)
    ]


class SharedRuns:
    """What each shared run left (by name), made once per module by the first test that asks for it."""

    def __init__(self) -> None:
        self._made: dict[str, Any] = {}

    def get(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            try:
                self._made[name] = make()
            except BaseException as exc:
                self._made[name] = exc
                raise
        made = self._made[name]
        if isinstance(made, BaseException):  # the test that made it failed with this; do not run it twice
            pytest.fail(f"the shared run {name!r} failed in an earlier test: {made!r}")
        return made


def dag_of(
    dag_id: str, tasks: Mapping[str, str], preamble: str = "", output_conn_id: str | None = "AWS_CONN_ID"
) -> str:
    """A DAG source for ``run_dag`` with one generation task per entry (task id -> the operator's keyword
    arguments as Python source), none depending on another; ``preamble`` goes before the DAG; ``output_conn_id``
    is Python source too (the name the DAG defines, or a quoted id), or None where each task gives its own."""
    shared = "" if output_conn_id is None else f"output_conn_id={output_conn_id}, "
    operators = "".join(
        f"""
    SeedanceGenerateVideoOperator(
        task_id={task_id!r}, {shared}poll_interval=0.01, {arguments}
    )"""
        for task_id, arguments in tasks.items()
    )
    return f"""{preamble}
with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:{operators}
"""


def task_instances(run) -> dict[str, Any]:
    """The run's task instances by task id."""
    return {ti.task_id: ti for ti in run.get_task_instances()}
