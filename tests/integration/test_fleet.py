"""Fleet polling against the simulator: many triggers on one connection share batch status calls.

Each trigger still yields exactly one event with its own backoff and deadline; the simulator's stats
show how the polls travelled (``status_polls`` one by one, ``batch_polls`` inside a batch call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from airflow_provider_seedance.gateways.apimart import ApimartGateway
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.triggers import fleet
from airflow_provider_seedance.triggers.events import SeedanceEvent
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

KEY = "sk-fleet-test-secret-0123456789"
SUBMITS = {
    "ark": (
        "contents/generations/tasks",
        lambda i: {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": f"clip {i}"}]},
        lambda reply: reply["id"],
    ),
    "apimart": (
        "v1/videos/generations",
        lambda i: {"model": "doubao-seedance-2.0", "prompt": f"clip {i}"},
        lambda reply: reply["data"][0]["task_id"],
    ),
}


@pytest.fixture
def fast_tasks(simulator, monkeypatch) -> None:
    """Generations of about 0.6 real seconds: several poll rounds at 0.05 s."""
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 200)
    monkeypatch.setattr(simulator.simulator.config, "run_seconds", 400)


@pytest.fixture
def connection(seedance_conn) -> Callable[[str], str]:
    return lambda gateway: seedance_conn(f"seedance_fleet_{gateway}", gateway, KEY)


def _submit(http: httpx.Client, simulator, gateway: str, count: int) -> list[str]:
    path, body, task_id = SUBMITS[gateway]
    auth = {"Authorization": f"Bearer {KEY}"}
    return [
        task_id(http.post(f"{simulator.gateway_url(gateway)}/{path}", json=body(i), headers=auth).json())
        for i in range(count)
    ]


def _trigger(conn_id: str, task_id: str, *, poll_interval: float = 0.05, seconds: float = 60) -> SeedanceTaskTrigger:
    return SeedanceTaskTrigger(
        seedance_conn_id=conn_id, remote_task_id=task_id, deadline=time.time() + seconds, poll_interval=poll_interval
    )


async def _events(trigger: SeedanceTaskTrigger) -> list[SeedanceEvent]:
    return [SeedanceEvent.parse(event.payload) async for event in trigger.run()]


async def _wait_all(triggers: list[SeedanceTaskTrigger]) -> list[list[SeedanceEvent]]:
    return await asyncio.gather(*(_events(trigger) for trigger in triggers))


def _stats(simulator, gateway: str, task_ids: list[str]) -> tuple[int, int, int]:
    """(status requests, single polls of these tasks, batched polls of these tasks)."""
    snapshot = simulator.simulator.stats.snapshot()
    tasks = [snapshot["tasks"].get(f"{gateway}/{task_id}", {}) for task_id in task_ids]
    singles = sum(task.get("status_polls", 0) for task in tasks)
    batched = sum(task.get("batch_polls", 0) for task in tasks)
    return snapshot["gateways"][gateway]["status_requests"], singles, batched


def _all_polled(simulator, gateway: str, task_ids: list[str]) -> bool:
    tasks = simulator.simulator.stats.snapshot()["tasks"]
    return all(tasks.get(f"{gateway}/{task_id}", {}).keys() & {"status_polls", "batch_polls"} for task_id in task_ids)


@pytest.mark.parametrize("gateway", ["ark", "apimart"])
def test_many_triggers_share_batch_calls_and_each_yields_one_event(http, simulator, monkeypatch, connection, gateway):
    config = simulator.simulator.config
    # The tasks wait in the queue until every trigger has polled, however slow submitting the 60 and starting
    # their triggers is on a busy machine; then they queue 0.2 s more and run 0.6 s: many rounds at 0.05 s.
    monkeypatch.setattr(config, "queue_seconds", 10**6)
    monkeypatch.setattr(config, "run_seconds", 600)
    conn_id = connection(gateway)
    submitted = time.time()
    task_ids = _submit(http, simulator, gateway, 60)

    async def scenario() -> list[list[SeedanceEvent]]:
        waits = asyncio.ensure_future(_wait_all([_trigger(conn_id, task_id) for task_id in task_ids]))
        while not _all_polled(simulator, gateway, task_ids) and not waits.done():
            await asyncio.sleep(0.01)
        config.queue_seconds = (time.time() - submitted) / config.time_scale + 200
        return await waits

    results = asyncio.run(scenario())
    assert [[(e.status, e.remote_task_id) for e in events] for events in results] == [
        [("succeeded", task_id)] for task_id in task_ids
    ]
    requests, singles, batched = _stats(simulator, gateway, task_ids)
    assert singles == 0
    assert batched >= 3 * len(task_ids)  # every task was read several times, always inside a batch
    # Per-task polling would have sent one request per batched poll; batches carry many each.
    assert requests * 5 <= batched


def test_a_batch_never_names_more_tasks_than_the_gateway_allows(http, simulator, monkeypatch, connection, fast_tasks):
    monkeypatch.setattr(ApimartGateway, "batch_status_limit", 7)
    conn_id = connection("apimart")
    task_ids = _submit(http, simulator, "apimart", 30)
    asked: list[int] = []
    batch_call = SeedanceHook.aget_statuses

    async def counting(self, ids):  # a spy: the real call goes out
        asked.append(len(ids))
        return await batch_call(self, ids)

    monkeypatch.setattr(SeedanceHook, "aget_statuses", counting)
    results = asyncio.run(_wait_all([_trigger(conn_id, task_id) for task_id in task_ids]))
    assert all(len(events) == 1 for events in results)
    assert max(asked) == 7  # 30 polls fell due together: they went out 7 at a time
    assert len(asked) >= 5


def test_transient_batch_failures_back_off_and_every_trigger_still_ends_once(http, simulator, connection, fast_tasks):
    conn_id = connection("ark")
    task_ids = _submit(http, simulator, "ark", 20)
    script = [
        ScriptedFault(kind="rate_limit", gateway="ark", op="status", count=4),
        ScriptedFault(kind="server_error", gateway="ark", op="status", count=4, status=503),
        ScriptedFault(kind="drop", gateway="ark", op="status", count=2),
    ]
    simulator.simulator.faults.replace(FaultPlan(script=script, retry_after_seconds=0.05))
    results = asyncio.run(_wait_all([_trigger(conn_id, task_id) for task_id in task_ids]))
    assert [[e.status for e in events] for events in results] == [["succeeded"]] * len(task_ids)
    counts = simulator.simulator.stats.snapshot()["gateways"]["ark"]
    assert (counts["fault_rate_limit"], counts["fault_server_error"], counts["fault_drop"]) == (4, 4, 2)


def test_an_unknown_task_left_out_of_the_batch_is_asked_about_on_its_own(http, simulator, connection, fast_tasks):
    conn_id = connection("ark")
    (known,) = _submit(http, simulator, "ark", 1)
    results = asyncio.run(_wait_all([_trigger(conn_id, known), _trigger(conn_id, "cgt-never-submitted")]))
    assert [events[0].status for events in results] == ["succeeded", "error"]
    assert results[1][0].reason == "TaskNotFoundError"


def test_an_unusable_batch_call_falls_back_to_single_polls(
    http, simulator, monkeypatch, connection, fast_tasks, caplog
):
    # The batch path is not served here (a gateway without the endpoint): the simulator answers 405.
    monkeypatch.setattr(ApimartGateway, "batch_status_path", "v1/tasks/no-such-batch")
    monkeypatch.setattr(fleet, "_BATCH_UNUSABLE", set())  # what this test teaches the process stays in it
    conn_id = connection("apimart")
    task_ids = _submit(http, simulator, "apimart", 10)
    results = asyncio.run(_wait_all([_trigger(conn_id, task_id) for task_id in task_ids]))
    assert [[e.status for e in events] for events in results] == [["succeeded"]] * len(task_ids)
    _, singles, batched = _stats(simulator, "apimart", task_ids)
    assert batched == 0
    assert singles >= len(task_ids)
    warnings = [r.getMessage() for r in caplog.records if "batch status call cannot be used" in r.getMessage()]
    assert len(warnings) == 1


def test_a_cancelled_trigger_leaves_the_poller_and_the_others_finish(http, simulator, connection, fast_tasks):
    conn_id = connection("ark")
    task_ids = _submit(http, simulator, "ark", 3)

    async def scenario() -> tuple[list[SeedanceEvent], list[SeedanceEvent], dict]:
        leaving = asyncio.create_task(_events(_trigger(conn_id, task_ids[0], poll_interval=5)))
        staying = asyncio.create_task(_events(_trigger(conn_id, task_ids[1])))
        # Once the staying one has been polled, the leaving one's poll (asked for first) is queued in the poller.
        while not simulator.simulator.stats.snapshot()["tasks"].get(f"ark/{task_ids[1]}", {}).get("batch_polls"):
            await asyncio.sleep(0.01)
        leaving.cancel()  # as the triggerer does when the task is cleared or moves to another triggerer
        with pytest.raises(asyncio.CancelledError):
            await leaving
        late = await _events(_trigger(conn_id, task_ids[2]))
        stayed = await staying  # either may finish first: look at the pollers once both have
        pollers = dict(fleet._by_loop.get(asyncio.get_running_loop(), {}))
        return stayed, late, pollers

    staying, late, pollers = asyncio.run(scenario())
    assert [e.status for e in staying] == [e.status for e in late] == ["succeeded"]
    assert pollers == {}  # idle pollers are forgotten: nothing keeps the cancelled poll alive
    assert _stats(simulator, "ark", task_ids[:1])[2] == 0


def test_the_deadline_still_ends_each_wait_under_fleet_polling(http, simulator, monkeypatch, connection):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    conn_id = connection("ark")
    task_ids = _submit(http, simulator, "ark", 5)
    results = asyncio.run(_wait_all([_trigger(conn_id, task_id, seconds=0.3) for task_id in task_ids]))
    assert [[(e.status, e.reason) for e in events] for events in results] == [[("timeout", "deadline")]] * 5
