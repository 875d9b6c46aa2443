"""The batch trigger on its own, against the simulator over HTTP: one event, early hand-back, cancellation."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from airflow_provider_seedance.triggers.batch import BatchEvent, SeedanceBatchTrigger
from tests.conftest import SIM_KEY
from tests.support.dag_runs import MODELS

ARK = MODELS["ark"]


@pytest.fixture
def conn_id(simulator, monkeypatch) -> str:
    conn = {
        "conn_type": "seedance",
        "host": simulator.gateway_url("ark"),
        "password": SIM_KEY,
        "extra": {"gateway": "ark"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_BATCH", json.dumps(conn))
    return "seedance_batch"


def _submit(http: httpx.Client, simulator, count: int) -> list[str]:
    url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    auth = {"Authorization": f"Bearer {SIM_KEY}"}
    return [
        http.post(url, json={"model": ARK, "content": [{"type": "text", "text": f"clip {i}"}]}, headers=auth).json()[
            "id"
        ]
        for i in range(count)
    ]


def _trigger(conn_id: str, task_ids: list[str], **kwargs) -> SeedanceBatchTrigger:
    tasks = [
        {"output": f"s3://b/{task_id}.mp4", "remote_task_id": task_id, "deadline": time.time() + 30}
        for task_id in task_ids
    ]
    arguments = {
        "hand_back_after": len(tasks),
        "poll_interval": 0.01,
        "carry": {"reports": {"x": {"status": "stored"}}},
    }
    return SeedanceBatchTrigger(seedance_conn_id=conn_id, tasks=tasks, **{**arguments, **kwargs})


async def _events(trigger: SeedanceBatchTrigger) -> list[BatchEvent]:
    return [BatchEvent.parse(event.payload) async for event in trigger.run()]


def test_the_trigger_yields_exactly_one_event_for_all_its_tasks(http, simulator, conn_id):
    task_ids = _submit(http, simulator, 3)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_ids)))
    assert sorted(ended.event.remote_task_id for ended in event.ended) == sorted(task_ids)
    assert {ended.event.status for ended in event.ended} == {"succeeded"}
    assert {ended.output for ended in event.ended} == {f"s3://b/{task_id}.mp4" for task_id in task_ids}
    assert event.waiting == []
    assert event.carry == {"reports": {"x": {"status": "stored"}}}  # returned unchanged


def test_the_trigger_looks_its_connection_up_once_for_all_its_tasks(http, simulator, conn_id, monkeypatch):
    from airflow_provider_seedance.hooks import seedance as hook_module

    lookups = []
    lookup = hook_module.get_async_connection

    async def counted(conn_id, **kwargs):
        lookups.append(conn_id)
        return await lookup(conn_id, **kwargs)

    monkeypatch.setattr(hook_module, "get_async_connection", counted)
    (event,) = asyncio.run(_events(_trigger(conn_id, _submit(http, simulator, 3))))
    assert {ended.event.status for ended in event.ended} == {"succeeded"}
    assert lookups == [conn_id]


def test_the_trigger_hands_back_early_and_stops_polling_the_rest(http, simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    queued = _submit(http, simulator, 2)
    gone = "cgt-never-submitted"  # Ark answers 404: that wait ends at its first poll
    trigger = _trigger(conn_id, [queued[0], gone, queued[1]], hand_back_after=1)
    (event,) = asyncio.run(_events(trigger))
    assert [(ended.event.remote_task_id, ended.event.status) for ended in event.ended] == [(gone, "error")]
    assert [task.remote_task_id for task in event.waiting] == queued  # with their deadlines, in order
    assert [task.deadline for task in event.waiting] == [trigger.tasks[0]["deadline"], trigger.tasks[2]["deadline"]]
    polls = {key: task.get("polls", 0) for key, task in simulator.simulator.stats.snapshot()["tasks"].items()}
    time.sleep(0.1)
    after = {key: task.get("polls", 0) for key, task in simulator.simulator.stats.snapshot()["tasks"].items()}
    assert after == polls  # the waits that were handed back stopped


def test_the_trigger_wakes_at_its_time_with_nothing_ended(http, simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    task_ids = _submit(http, simulator, 2)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_ids, wake_at=time.time() + 0.2)))
    assert (event.ended, [task.remote_task_id for task in event.waiting]) == ([], task_ids)
    (empty,) = asyncio.run(_events(_trigger(conn_id, [], hand_back_after=0, wake_at=time.time() + 0.05)))
    assert (empty.ended, empty.waiting) == ([], [])


def test_the_trigger_serializes_to_primitives_and_checks_them(conn_id):
    trigger = _trigger(conn_id, ["cgt-1", "cgt-2"], hand_back_after=1, wake_at=1_900_000_000.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_seedance.triggers.batch.SeedanceBatchTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert SeedanceBatchTrigger(**kwargs).serialize() == (classpath, kwargs)
    with pytest.raises(ValueError, match=r"hand_back_after must be within 1\.\.2"):
        _trigger(conn_id, ["cgt-1", "cgt-2"], hand_back_after=3)
    with pytest.raises(ValueError, match="a batch trigger with no tasks needs wake_at"):
        _trigger(conn_id, [], hand_back_after=0)


def test_the_trigger_cancels_every_remote_task_on_kill(http, simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    task_ids = _submit(http, simulator, 2)
    asyncio.run(_trigger(conn_id, task_ids).on_kill())
    tasks = simulator.simulator.stats.snapshot()["tasks"]
    assert [tasks[f"ark/{task_id}"].get("cancels") for task_id in task_ids] == [1, 1]
