"""SeedanceTaskTrigger against the simulator: one event per run, deadlines, transient errors, cancellation."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time

import httpx
import pytest

from airflow_provider_seedance.hooks import clients
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.triggers.events import SeedanceEvent
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

KEY = "sk-trigger-test-secret"
MODEL = "dreamina-seedance-2-0-260128"


@pytest.fixture
def conn_id(seedance_conn) -> str:
    return seedance_conn("seedance_trigger", "ark", KEY)


def _submit(http: httpx.Client, simulator, count: int = 1) -> list[str]:
    url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    auth = {"Authorization": f"Bearer {KEY}"}
    return [
        http.post(url, json={"model": MODEL, "content": [{"type": "text", "text": f"clip {i}"}]}, headers=auth).json()[
            "id"
        ]
        for i in range(count)
    ]


def _trigger(conn_id: str, task_id: str, *, seconds: float = 30, **kwargs) -> SeedanceTaskTrigger:
    return SeedanceTaskTrigger(
        seedance_conn_id=conn_id, remote_task_id=task_id, deadline=time.time() + seconds, poll_interval=0.01, **kwargs
    )


async def _events(trigger: SeedanceTaskTrigger) -> list[SeedanceEvent]:
    return [SeedanceEvent.parse(event.payload) async for event in trigger.run()]


def _slow_queue(simulator, monkeypatch) -> None:
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)


def test_serialize_round_trip_keeps_only_primitives(conn_id):
    trigger = SeedanceTaskTrigger(
        seedance_conn_id=conn_id, remote_task_id="cgt-1", deadline=1_900_000_000.5, poll_interval=7
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_seedance.triggers.seedance.SeedanceTaskTrigger"
    assert kwargs == {
        "seedance_conn_id": conn_id,
        "remote_task_id": "cgt-1",
        "deadline": 1_900_000_000.5,
        "poll_interval": 7.0,
        "cancel_on_kill": True,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert SeedanceTaskTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert KEY not in json.dumps(kwargs)


def test_one_event_when_the_task_succeeds(http, simulator, conn_id):
    (task_id,) = _submit(http, simulator)
    events = asyncio.run(_events(_trigger(conn_id, task_id)))
    assert [(e.status, e.gateway, e.remote_task_id) for e in events] == [("succeeded", "ark", task_id)]


def test_failed_generation_carries_the_gateway_error(http, simulator, conn_id):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation")]))
    (task_id,) = _submit(http, simulator)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_id)))
    assert event.status == "failed"
    assert event.error_code == "OutputVideoSensitiveContentDetected.PolicyViolation"
    assert "copyright" in event.message


def test_transient_errors_never_fail_the_wait(http, simulator, conn_id, caplog):
    # 14 faults outlast three polls' own retries (4 attempts each, the connection's extra.retry): the
    # hook backs off between attempts, and the trigger between polls, each by its real policy.
    (task_id,) = _submit(http, simulator)
    script = [
        ScriptedFault(kind="rate_limit", op="status", count=8),
        ScriptedFault(kind="server_error", op="status", status=502, count=3),
        ScriptedFault(kind="drop", op="status", count=3),
    ]
    simulator.simulator.faults.replace(FaultPlan(script=script, retry_after_seconds=0))
    with caplog.at_level(logging.WARNING):
        (event,) = asyncio.run(_events(_trigger(conn_id, task_id)))
    assert event.status == "succeeded"
    counts = simulator.simulator.stats.snapshot()["gateways"]["ark"]
    assert (counts["fault_rate_limit"], counts["fault_server_error"], counts["fault_drop"]) == (8, 3, 3)
    assert caplog.text.count(f"Polling ark task {task_id} failed") == 3


def test_deadline_yields_timeout(http, simulator, conn_id, monkeypatch):
    _slow_queue(simulator, monkeypatch)
    (task_id,) = _submit(http, simulator)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_id, seconds=0.2)))
    assert (event.status, event.reason) == ("timeout", "deadline")


def test_a_deadline_already_past_still_polls_once(http, simulator, conn_id):
    (task_id,) = _submit(http, simulator)
    time.sleep(0.05)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_id, seconds=-60)))
    assert event.status == "succeeded"


def test_fatal_errors_end_with_an_error_event(conn_id, monkeypatch):
    (event,) = asyncio.run(_events(_trigger(conn_id, "cgt-never-submitted")))
    assert (event.status, event.reason) == ("error", "TaskNotFoundError")
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_BROKEN", json.dumps({"conn_type": "seedance", "password": "k"}))
    (event,) = asyncio.run(_events(_trigger("seedance_broken", "cgt-1")))
    assert (event.status, event.reason) == ("error", "connection")
    assert "extra field 'gateway' is missing" in event.message


def test_cancellation_propagates(http, simulator, conn_id, monkeypatch):
    _slow_queue(simulator, monkeypatch)
    (task_id,) = _submit(http, simulator)

    async def cancel_midway() -> None:
        running = asyncio.ensure_future(_events(_trigger(conn_id, task_id)))
        await asyncio.sleep(0.1)
        running.cancel()
        await running

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancel_midway())


def test_on_kill_cancels_a_queued_task(http, simulator, conn_id, monkeypatch):
    _slow_queue(simulator, monkeypatch)
    (task_id,) = _submit(http, simulator)
    asyncio.run(_trigger(conn_id, task_id).on_kill())
    stats = simulator.simulator.stats.snapshot()["tasks"][f"ark/{task_id}"]
    assert stats["cancels"] == 1
    url = simulator.gateway_url("ark") + f"/contents/generations/tasks/{task_id}"
    assert http.get(url, headers={"Authorization": f"Bearer {KEY}"}).json()["status"] == "cancelled"


def test_on_kill_leaves_finished_tasks_and_respects_the_opt_out(http, simulator, conn_id, monkeypatch):
    (done,) = _submit(http, simulator)
    asyncio.run(_events(_trigger(conn_id, done)))
    asyncio.run(_trigger(conn_id, done).on_kill())
    _slow_queue(simulator, monkeypatch)
    (queued,) = _submit(http, simulator)
    asyncio.run(_trigger(conn_id, queued, cancel_on_kill=False).on_kill())
    tasks = simulator.simulator.stats.snapshot()["tasks"]
    assert "cancels" not in tasks[f"ark/{done}"]
    assert "cancels" not in tasks[f"ark/{queued}"]


def test_a_thousand_triggers_share_one_tls_context_and_one_client(http, simulator, conn_id, monkeypatch):
    task_ids = _submit(http, simulator, 1000)
    # Spies, not mocks: the real constructors run; we only count them.
    built = {"ssl": 0, "client": 0}
    create_context, client_init = ssl.create_default_context, httpx.AsyncClient.__init__

    def counting_context(*args, **kwargs):
        built["ssl"] += 1
        return create_context(*args, **kwargs)

    def counting_init(self, *args, **kwargs):
        built["client"] += 1
        client_init(self, *args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting_context)
    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting_init)
    clients.shared_ssl_context.cache_clear()

    async def run_all() -> list[SeedanceEvent]:
        triggers = [_trigger(conn_id, task_id) for task_id in task_ids]
        results = await asyncio.gather(*(_events(trigger) for trigger in triggers))
        return [event for events in results for event in events]

    events = asyncio.run(run_all())
    assert len(events) == 1000
    assert {event.status for event in events} == {"succeeded"}
    assert built == {"ssl": 1, "client": 1}


# ---- a 404 while waiting: the same rule as hook.wait (see tests/integration/test_hook.py) ------------------------

IB_MODEL = "doubao-seedance-2-0-260128"


@pytest.fixture
def ib_conn_id(seedance_conn) -> str:
    return seedance_conn("seedance_trigger_ib", "infinityblue", KEY)


def _submit_ib(http: httpx.Client, simulator) -> str:
    url = simulator.gateway_url("infinityblue") + "/v1/videos"
    body = {"model": IB_MODEL, "prompt": "a paper boat", "seconds": "4", "resolution": "480p"}
    return http.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"}).json()["id"]


def _not_found_polls(simulator, count: int) -> None:
    fault = ScriptedFault(kind="not_found", gateway="infinityblue", op="status", count=count)
    simulator.simulator.faults.replace(FaultPlan(script=[fault], retry_after_seconds=0))


# InfinityBlue's OpenAPI (shared/specs/infinityblue-videos.en.yaml, lines 498-499): the status 404 means
# "Task not found, not completed yet, or content already expired"; a short 404 run is waited out.
@pytest.mark.parametrize("count", [1, 2])
def test_a_few_404s_are_waited_out_on_infinityblue(http, simulator, ib_conn_id, caplog, count):
    task_id = _submit_ib(http, simulator)
    _not_found_polls(simulator, count)
    with caplog.at_level(logging.WARNING):
        (event,) = asyncio.run(_events(_trigger(ib_conn_id, task_id)))
    assert (event.status, event.gateway, event.remote_task_id) == ("succeeded", "infinityblue", task_id)
    assert sum(f"infinityblue answered 404 for task {task_id}" in r.getMessage() for r in caplog.records) == count


def test_a_sustained_404_run_ends_as_not_found_on_infinityblue(http, simulator, ib_conn_id, monkeypatch):
    # The real grace is 10 minutes; the rule is the same with a shorter one.
    from airflow_provider_seedance.gateways.infinityblue import InfinityBlueGateway

    monkeypatch.setattr(InfinityBlueGateway, "not_found_grace", (3, 0.05))
    task_id = _submit_ib(http, simulator)
    _not_found_polls(simulator, 1000)
    trigger = _trigger(ib_conn_id, task_id)
    kwargs = trigger.serialize()[1]
    (event,) = asyncio.run(_events(trigger))
    assert (event.status, event.reason, event.gateway) == ("error", "TaskNotFoundError", "infinityblue")
    assert f"infinityblue: task {task_id} was not found on " in event.message
    assert "consecutive 404 replies over" in event.message
    assert "counts as gone only after 3 in a row" in event.message
    assert trigger.serialize()[1] == kwargs  # nothing about the 404 run is kept in the kwargs


def test_the_deadline_ends_a_404_run_as_not_found_on_infinityblue(http, simulator, ib_conn_id):
    task_id = _submit_ib(http, simulator)
    _not_found_polls(simulator, 1000)
    (event,) = asyncio.run(_events(_trigger(ib_conn_id, task_id, seconds=0.2)))
    assert (event.status, event.reason) == ("error", "TaskNotFoundError")
    assert "was still not found when the deadline passed" in event.message


def test_ark_404_ends_the_wait_at_once(http, simulator, conn_id):
    (task_id,) = _submit(http, simulator)
    # The gateway forgets the task: the fleet poller's batch reply leaves it out, then its own status call 404s.
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="not_found", op="status", count=2)]))
    (event,) = asyncio.run(_events(_trigger(conn_id, task_id)))
    assert (event.status, event.reason) == ("error", "TaskNotFoundError")
    assert "consecutive" not in event.message
