"""One real DAG run that several tests read: one run per behaviour family, one task per case.

A DAG run costs the same fixed work however many tasks it holds (parsing the dags folder, serializing the
DAG, creating the run, starting the in-process task API), so the cases of one family (the same input
reaching each gateway, each documented limit) run as the tasks of one DAG, and each test asserts on its
own task. The first test that needs the run makes it with its own fixtures (``env``, ``run_dag``); the
module's other tests find it made. Mark those tests with one ``xdist_group``: ``pytest -n 2 --dist
loadgroup`` then hands them to one worker, which runs the DAG once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest


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


def dag_of(dag_id: str, tasks: Mapping[str, str], preamble: str = "") -> str:
    """A DAG source for ``run_dag`` with one generation task per entry (task id -> the operator's keyword
    arguments as Python source), none depending on another; ``preamble`` goes before the DAG."""
    operators = "".join(
        f"""
    SeedanceGenerateVideoOperator(
        task_id={task_id!r}, output_conn_id=AWS_CONN_ID, poll_interval=0.01, {arguments}
    )"""
        for task_id, arguments in tasks.items()
    )
    return f"""{preamble}
with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:{operators}
"""


def task_instances(run) -> dict[str, Any]:
    """The run's task instances by task id."""
    return {ti.task_id: ti for ti in run.get_task_instances()}
