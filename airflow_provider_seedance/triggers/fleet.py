"""Fleet polling: the triggers of one event loop that wait on one gateway connection share one poller.

Why: polling every waiting generation on its own costs one request per generation per interval, and
gateways count status calls against the same quota as the submits our users need. Where the dialect
has a batch status call (Ark's task list with ``filter.task_ids``, apimart's ``/v1/tasks/batch``), the
poller gathers the polls that fall due together and asks about up to ``batch_status_limit`` tasks per
request. Where it has none, a poll is the task's own status call, exactly as before.

Timing: a trigger asks for its task's status "in ``delay`` seconds", and the poller may answer from
half that delay on. So the polls of many triggers line up: a batch sent at time t takes every poll due
before t + delay/2, so batches are at least half an interval apart, however many triggers wait. Each
trigger keeps its own backoff, deadline and single event; the poller only carries its requests.

A trigger cancelled while it waits (its task was cleared, or moved to another triggerer) leaves its
request behind; the request is dropped before the next batch, and an answer for it is discarded. A task
the batch reply leaves out is asked about on its own, so the dialect's 404 rules still decide whether it
is gone. When the batch call itself proves unusable (a 404 or 400 for the call, or a reply we cannot
read), the poller says so once and polls one task at a time from then on. Everything here runs on the
event loop without blocking it: the only waits are awaits on the hook's async calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_seedance.exceptions import (
    GatewayError,
    InvalidRequestError,
    TaskNotFoundError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.hooks.connection import GatewayConnection
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskStatus

log = logging.getLogger(__name__)

# A trigger's first poll is never answered sooner than this after it was asked for (or its whole delay, if
# shorter): a trigger must not fire within a second of its deferral, while the scheduler may still be
# recording it. Later polls may be answered from half their delay on, whatever it is.
MIN_FIRST_ANSWER_SECONDS = 1.0
# Errors that say the batch call itself cannot be used here (not that the tasks are in trouble).
BATCH_CALL_UNUSABLE = (TaskNotFoundError, InvalidRequestError, UnexpectedResponseError)


@dataclass(eq=False)
class _Poll:
    task_id: str
    earliest: float
    due: float
    answer: asyncio.Future[TaskStatus]


class FleetPoller:
    """Carries the status polls of every trigger of one loop that waits on one connection."""

    def __init__(self, hook: SeedanceHook, connection: GatewayConnection, on_idle: Callable[[], None]) -> None:
        self._hook = hook
        self._gateway = connection.gateway.name
        self._key = connection.identity
        self._limit = connection.gateway.batch_status_limit
        self._on_idle = on_idle
        self._pending: list[_Poll] = []
        self._wake = asyncio.Event()
        # When the runner's sleep ends by itself: only a poll due sooner wakes it (waking it for every poll
        # would cost a pass over all pending polls per trigger per interval).
        self._sleep_until = math.inf
        self._runner: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def batching(self) -> bool:
        return self._limit > 0 and self._key not in _BATCH_UNUSABLE

    async def status(self, task_id: str, delay: float, *, first: bool = False) -> TaskStatus:
        """The task's status, read ``delay`` seconds from now (from half of it on, in a shared batch).

        ``first`` marks a trigger's first poll, which is not answered within a second of being asked for.

        Raises what the status call raises (``TransportError``, ``GatewayError``), as ``aget_status`` does.
        """
        if not self.batching:
            await asyncio.sleep(delay)
            return await self._hook.aget_status(task_id)
        loop = asyncio.get_running_loop()
        now = loop.time()
        early = max(delay / 2, min(delay, MIN_FIRST_ANSWER_SECONDS)) if first else delay / 2
        poll = _Poll(task_id, earliest=now + early, due=now + delay, answer=loop.create_future())
        self._pending.append(poll)
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run(), name=f"seedance-fleet-poller-{self._gateway}")
        elif poll.due < self._sleep_until:
            self._wake.set()
        return await poll.answer

    async def _run(self) -> None:
        try:
            await self._serve()
        except BaseException as exc:  # a bug or a shutdown must not leave a trigger waiting forever
            for poll in self._pending:
                _settle([poll], exc)
            raise

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pending = [poll for poll in self._pending if not poll.answer.done()]
            if not self._pending:
                self._on_idle()
                return
            now = loop.time()
            next_due = min(poll.due for poll in self._pending)
            if next_due > now:
                self._wake.clear()
                self._sleep_until = next_due
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), next_due - now)
                continue
            ready = [poll for poll in self._pending if poll.earliest <= now]
            self._pending = [poll for poll in self._pending if poll.earliest > now]
            by_task: dict[str, list[_Poll]] = {}
            for poll in ready:
                by_task.setdefault(poll.task_id, []).append(poll)
            task_ids = list(by_task)
            size = self._limit if self.batching else len(task_ids)  # batching stopped: each is asked alone
            for start in range(0, len(task_ids), size):
                chunk = {task_id: by_task[task_id] for task_id in task_ids[start : start + size]}
                batch = loop.create_task(self._answer(chunk))
                self._in_flight.add(batch)
                batch.add_done_callback(self._in_flight.discard)

    async def _answer(self, polls: dict[str, list[_Poll]]) -> None:
        try:
            statuses: dict[str, TaskStatus] = {}
            if self.batching:
                try:
                    statuses = await self._hook.aget_statuses(list(polls))
                except BATCH_CALL_UNUSABLE as exc:
                    self._stop_batching(exc)
                except (TransportError, GatewayError) as exc:
                    for task_polls in polls.values():
                        _settle(task_polls, exc)
                    return
            for task_id, task_polls in polls.items():
                if task_id in statuses:
                    _settle(task_polls, statuses[task_id])
            missing = [task_id for task_id in polls if task_id not in statuses]
            await asyncio.gather(*(self._answer_alone(task_id, polls[task_id]) for task_id in missing))
        except BaseException as exc:  # a bug or a shutdown must not leave a trigger waiting forever
            for task_polls in polls.values():
                _settle(task_polls, exc)
            raise

    async def _answer_alone(self, task_id: str, polls: list[_Poll]) -> None:
        try:
            status = await self._hook.aget_status(task_id)
        except (TransportError, GatewayError) as exc:
            _settle(polls, exc)
        else:
            _settle(polls, status)

    def _stop_batching(self, error: GatewayError) -> None:
        if self.batching:
            log.warning(
                "%s's batch status call cannot be used here (%s); polling its tasks one by one from now on.",
                self._gateway,
                error,
            )
        _BATCH_UNUSABLE.add(self._key)


def _settle(polls: list[_Poll], outcome: TaskStatus | BaseException) -> None:
    """Answer each poll still waiting with the status, or raise the error in it (cancel it for a cancellation)."""
    for poll in polls:
        if poll.answer.done():  # its trigger was cancelled meanwhile
            continue
        if isinstance(outcome, asyncio.CancelledError):
            poll.answer.cancel()
        elif isinstance(outcome, BaseException):
            poll.answer.set_exception(outcome)
        else:
            poll.answer.set_result(outcome)


# Connections (by poller key) whose batch call proved unusable in this process: they are polled one by one.
_BATCH_UNUSABLE: set[str] = set()
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, FleetPoller]] = weakref.WeakKeyDictionary()


def fleet_poller(hook: SeedanceHook, connection: GatewayConnection) -> FleetPoller:
    """The running loop's poller for ``connection``, created on first use and forgotten once idle.

    Keyed by ``connection.identity``, so a rotated key gets its own poller. No await happens between the
    lookup and the insert, so concurrent triggers cannot build two.
    """
    pollers = _by_loop.setdefault(asyncio.get_running_loop(), {})
    key = connection.identity
    poller = pollers.get(key)
    if poller is None:

        def forget() -> None:
            if pollers.get(key) is poller:
                del pollers[key]

        poller = pollers[key] = FleetPoller(hook, connection, on_idle=forget)
    return poller
