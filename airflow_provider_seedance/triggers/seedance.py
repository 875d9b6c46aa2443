"""SeedanceTaskTrigger: waits for one remote generation in the triggerer, without blocking its event loop.

Kwargs are primitives only (connection id, remote task id, poll interval, absolute UTC deadline), so
they are safe in the trigger table, which Airflow 3.3 stores in plain text. The deadline is absolute,
so a triggerer restart does not restart the clock. The polls of all triggers waiting on one connection
go through one ``FleetPoller`` (triggers/fleet.py), which asks about many tasks per request where the gateway
has a batch status call. Transient failures (connection errors, 429, 5xx)
only slow the polling down; a 404 ends the wait as ``MissingTaskWatch`` decides (the same rule as the
worker's ``hook.wait``); the trigger yields exactly one event, then returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_seedance.exceptions import GatewayError, SeedanceError, TransportError
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.hooks.waiting import PollWatch
from airflow_provider_seedance.triggers.events import EventStatus, SeedanceEvent
from airflow_provider_seedance.triggers.fleet import fleet_poller

log = logging.getLogger(__name__)

ON_KILL_TIMEOUT_SECONDS = 20.0


class SeedanceTaskTrigger(BaseTrigger):
    """Poll a Seedance generation until it ends, fails, or ``deadline`` passes.

    :param seedance_conn_id: the ``seedance`` connection the task was submitted through.
    :param remote_task_id: the gateway's task id (BaseTrigger's own ``task_id`` is the Airflow task's).
    :param deadline: absolute UTC deadline as a Unix timestamp; a ``timeout`` event is sent at it.
    :param poll_interval: seconds between polls while the task runs.
    :param cancel_on_kill: cancel the remote task when the Airflow task is cleared or marked, where
        the gateway can cancel and the task is still queued or running.
    """

    def __init__(
        self,
        *,
        seedance_conn_id: str,
        remote_task_id: str,
        deadline: float,
        poll_interval: float = 15.0,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.seedance_conn_id = str(seedance_conn_id)
        self.remote_task_id = str(remote_task_id)
        self.deadline = float(deadline)
        self.poll_interval = float(poll_interval)
        self.cancel_on_kill = bool(cancel_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "seedance_conn_id": self.seedance_conn_id,
                "remote_task_id": self.remote_task_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self.wait()
        yield TriggerEvent(event.payload())

    async def wait(self, hook: SeedanceHook | None = None) -> SeedanceEvent:
        """Poll until the task ends or the deadline passes; the one outcome, as an event (never raises).

        Public so that a trigger waiting on many tasks can run one of these per task, passing one ``hook`` for
        ``seedance_conn_id`` to all of them, so the connection is looked up once rather than once per task.
        """
        hook = hook or SeedanceHook(self.seedance_conn_id)
        try:
            connection = await hook.aconnection()
        except Exception as exc:  # a missing or malformed connection (Airflow raises its own types)
            return self._event("error", "connection", f"cannot use connection {self.seedance_conn_id}: {exc}")
        gateway = connection.gateway.name
        watch = PollWatch(connection.gateway, self.remote_task_id, self.poll_interval)
        first = True
        while True:
            # Never at once: the operator checked the task just before deferring, and a trigger that fires
            # within a second of the deferral races the scheduler still processing it.
            delay = max(0.0, min(watch.delay, self.deadline - time.time()))
            # One reading of the clock per poll, as in ``wait_on_worker``: a 404 just before the deadline is
            # not turned into a timeout by a second reading just after it.
            try:
                status = await fleet_poller(hook, connection).status(self.remote_task_id, delay, first=first)
            except (TransportError, GatewayError) as exc:
                passed = time.time() >= self.deadline
                ended = watch.failed(exc, deadline_passed=passed)
                if ended is not None:
                    return self._event("error", type(ended).__name__, str(ended), gateway)
            else:
                passed = time.time() >= self.deadline
                first = False
                watch.seen(status)
                if status.state.is_terminal:
                    return SeedanceEvent.from_status(gateway, status)
            if passed:
                return SeedanceEvent.deadline_passed(
                    gateway,
                    self.remote_task_id,
                    f"{gateway} task {self.remote_task_id} did not finish before the deadline",
                )

    async def on_kill(self) -> None:
        """The Airflow task was cleared or marked: cancel the remote task if it still runs and can be cancelled."""
        if not self.cancel_on_kill:
            return
        hook = SeedanceHook(self.seedance_conn_id)
        try:
            async with asyncio.timeout(ON_KILL_TIMEOUT_SECONDS):
                status = await hook.aget_status(self.remote_task_id)
                gateway = (await hook.aconnection()).gateway
                if status.state.is_terminal:
                    return
                if not gateway.can_cancel(status.state):
                    log.warning(
                        "Task %s keeps running on %s: it cannot be cancelled while %s.",
                        self.remote_task_id,
                        gateway.name,
                        status.state.value,
                    )
                    return
                await hook.acancel(self.remote_task_id)
        except (SeedanceError, ValueError, TimeoutError) as exc:
            log.warning("Could not cancel remote task %s: %s", self.remote_task_id, exc)

    def _event(self, status: EventStatus, reason: str, message: str, gateway: str = "unknown") -> SeedanceEvent:
        return SeedanceEvent(
            status=status, gateway=gateway, remote_task_id=self.remote_task_id, reason=reason, message=message
        )
