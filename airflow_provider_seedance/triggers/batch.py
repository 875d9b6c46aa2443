"""SeedanceBatchTrigger: waits for many remote generations in one deferral, and hands back one event.

Each task is waited for by its own ``SeedanceTaskTrigger.wait()`` (same polling, backoff, 404 rule and
absolute deadline as a single generation; they share one hook, so the connection is looked up once, and
their polls share the connection's fleet poller).
The trigger hands back once ``hand_back_after`` of its tasks have ended, or at ``wake_at``, whichever
comes first: the event lists the tasks that ended (each with its outcome) and those still waiting (so
the worker can store the first, submit more, and defer again for the rest without asking the gateway).
``carry`` is the worker's own progress (the per-item report so far), returned unchanged: Airflow hands
the resumed method only the event. Kwargs and event hold output URIs, remote task ids, deadlines and
that report; never a key or a signed URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from pydantic import BaseModel, ConfigDict

from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.triggers.events import SeedanceEvent, TriggerPayload
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger


class WatchedTask(BaseModel):
    """One remote task of a batch: the output it is for, its id, and its absolute UTC deadline (Unix s)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output: str
    remote_task_id: str
    deadline: float


class EndedTask(BaseModel):
    """A task that ended while the trigger waited, with the event its own wait produced."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    output: str
    event: SeedanceEvent


class BatchEvent(TriggerPayload):
    """The one event of a batch trigger; ``execute_complete`` parses it before trusting any field."""

    ended: list[EndedTask]
    waiting: list[WatchedTask]
    carry: dict[str, Any]


class SeedanceBatchTrigger(BaseTrigger):
    """Wait for many Seedance generations on one connection; hand back when enough have ended.

    :param seedance_conn_id: the ``seedance`` connection the tasks were submitted through.
    :param tasks: the tasks to wait for, as ``WatchedTask`` fields (output, remote_task_id, deadline).
    :param hand_back_after: yield once this many tasks have ended (at least 1, at most ``len(tasks)``).
    :param wake_at: yield at this Unix time at the latest (None: only when enough tasks ended). Needed
        when there are no tasks (a wait for the gateway to take new ones).
    :param poll_interval: seconds between polls of each task.
    :param cancel_on_kill: cancel the remote tasks when the Airflow task is cleared or marked, where the
        gateway can (Airflow 3.3+ calls ``on_kill``).
    :param carry: the operator's progress, returned unchanged in the event.
    """

    def __init__(
        self,
        *,
        seedance_conn_id: str,
        tasks: list[dict[str, Any]],
        hand_back_after: int,
        wake_at: float | None = None,
        poll_interval: float = 15.0,
        cancel_on_kill: bool = True,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        # Kwargs cross the trigger table: check them before they are stored, not when the triggerer runs them.
        watched = [WatchedTask.model_validate(task) for task in tasks]
        if watched and not 1 <= hand_back_after <= len(watched):
            raise ValueError(f"hand_back_after must be within 1..{len(watched)}, got {hand_back_after!r}")
        if not watched and wake_at is None:
            raise ValueError("a batch trigger with no tasks needs wake_at")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.seedance_conn_id = str(seedance_conn_id)
        self.tasks = [task.model_dump() for task in watched]
        self.hand_back_after = int(hand_back_after)
        self.wake_at = None if wake_at is None else float(wake_at)
        self.poll_interval = float(poll_interval)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.carry = dict(carry or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "seedance_conn_id": self.seedance_conn_id,
                "tasks": self.tasks,
                "hand_back_after": self.hand_back_after,
                "wake_at": self.wake_at,
                "poll_interval": self.poll_interval,
                "cancel_on_kill": self.cancel_on_kill,
                "carry": self.carry,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self._wait()
        yield TriggerEvent(event.payload())

    async def _wait(self) -> BatchEvent:
        watched = [WatchedTask.model_validate(task) for task in self.tasks]
        hook = SeedanceHook(self.seedance_conn_id)
        if watched:
            # Resolved once, before the waits start, so they all share it: one connection lookup per batch.
            with contextlib.suppress(Exception):  # a connection that cannot be used is each wait's error event
                await hook.aconnection()
        waits: dict[asyncio.Future[SeedanceEvent], WatchedTask] = {
            asyncio.ensure_future(self._one(task).wait(hook)): task for task in watched
        }
        pending: set[asyncio.Future[SeedanceEvent]] = set(waits)
        ended: list[EndedTask] = []
        try:
            while pending and len(ended) < self.hand_back_after:
                timeout = None if self.wake_at is None else self.wake_at - time.time()
                if timeout is not None and timeout <= 0:
                    break
                done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                ended.extend(EndedTask(output=waits[wait].output, event=wait.result()) for wait in done)
            if not waits and self.wake_at is not None:
                await asyncio.sleep(max(0.0, self.wake_at - time.time()))
        finally:
            # Handing back early, or cancelled by the triggerer: the other waits stop polling at once.
            for wait in pending:
                wait.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        waiting = [task for wait, task in waits.items() if wait in pending]
        return BatchEvent(ended=ended, waiting=waiting, carry=self.carry)

    async def on_kill(self) -> None:
        """The Airflow task was cleared or marked: cancel each remote task that still runs and can be cancelled."""
        await asyncio.gather(*(self._one(task).on_kill() for task in map(WatchedTask.model_validate, self.tasks)))

    def _one(self, task: WatchedTask) -> SeedanceTaskTrigger:
        return SeedanceTaskTrigger(
            seedance_conn_id=self.seedance_conn_id,
            remote_task_id=task.remote_task_id,
            deadline=task.deadline,
            poll_interval=self.poll_interval,
            cancel_on_kill=self.cancel_on_kill,
        )
