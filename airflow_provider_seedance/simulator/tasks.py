"""Simulated generation tasks: created at submit, their state derived from the clock when asked.

Nothing runs in the background: a task's state, progress and timestamps are computed from its
creation time at each poll, so thousands of tasks in flight cost only their records.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from dataclasses import dataclass, field

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.inputs import ReceivedInput
from airflow_provider_seedance.simulator.media import VideoSpec


class SimState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Outcome(enum.StrEnum):
    SUCCEED = "succeed"
    MODERATION = "moderation"  # fails content moderation when it would have finished
    BAD_INPUT = "bad_input"  # a media input could not be had: fails when it would have started


@dataclass(frozen=True)
class TaskView:
    """A task as it stands at one moment, in simulated seconds since the Unix epoch."""

    state: SimState
    progress: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    url_expires_at: float | None


@dataclass
class SimTask:
    """One generation. ``params`` keeps the gateway-specific request fields a gateway echoes back;
    ``inputs`` records the media it received and ``input_failure`` why one of them was unusable."""

    gateway: str
    task_id: str
    model: str
    prompt: str
    video: VideoSpec
    return_last_frame: bool
    outcome: Outcome
    created_real: float
    created_at: float  # simulated epoch seconds
    urls_expired: bool = False
    execution_limit: float | None = None  # simulated seconds; the config's limit when None
    cancelled_real: float | None = None
    deleted: bool = False
    file_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    params: dict[str, object] = field(default_factory=dict)
    inputs: list[ReceivedInput] = field(default_factory=list)
    input_failure: str | None = None

    def view(self, config: SimulatorConfig, now_real: float | None = None) -> TaskView:
        now_real = time.time() if now_real is None else now_real
        elapsed = (now_real - self.created_real) / config.time_scale
        queued_until = config.queue_seconds
        finished_after = config.queue_seconds + config.run_seconds
        if self.cancelled_real is not None:
            finished = self.created_at + (self.cancelled_real - self.created_real) / config.time_scale
            return TaskView(SimState.CANCELLED, 0, self.created_at, None, finished, None)
        limit = self.execution_limit or config.execution_limit_seconds
        if queued_until >= limit and elapsed >= limit:
            finished = self.created_at + limit
            return TaskView(SimState.EXPIRED, 0, self.created_at, None, finished, None)
        if elapsed < queued_until:
            return TaskView(SimState.QUEUED, 0, self.created_at, None, None, None)
        started = self.created_at + queued_until
        if self.outcome is Outcome.BAD_INPUT:
            return TaskView(SimState.FAILED, 0, self.created_at, None, started, None)
        if elapsed < finished_after:
            progress = int(99 * (elapsed - queued_until) / max(config.run_seconds, 1e-9))
            return TaskView(SimState.RUNNING, max(1, min(99, progress)), self.created_at, started, None, None)
        finished = self.created_at + finished_after
        if self.outcome is Outcome.MODERATION:
            return TaskView(SimState.FAILED, 0, self.created_at, started, finished, None)
        expires = finished if self.urls_expired else finished + config.url_ttl_seconds
        return TaskView(SimState.SUCCEEDED, 100, self.created_at, started, finished, expires)

    def simulated_now(self, config: SimulatorConfig, now_real: float | None = None) -> float:
        now_real = time.time() if now_real is None else now_real
        return self.created_at + (now_real - self.created_real) / config.time_scale


class TaskStore:
    """All tasks of a run, by gateway and id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[tuple[str, str], SimTask] = {}
        self._by_token: dict[str, SimTask] = {}

    def add(self, task: SimTask) -> SimTask:
        with self._lock:
            self._tasks[(task.gateway, task.task_id)] = task
            self._by_token[task.file_token] = task
        return task

    def get(self, gateway: str, task_id: str) -> SimTask | None:
        task = self._tasks.get((gateway, task_id))
        return None if task is None or task.deleted else task

    def of_gateway(self, gateway: str) -> list[SimTask]:
        """The gateway's tasks that were not deleted, newest first."""
        with self._lock:
            tasks = [task for (name, _), task in self._tasks.items() if name == gateway and not task.deleted]
        return sorted(tasks, key=lambda task: task.created_real, reverse=True)

    def by_file_token(self, token: str) -> SimTask | None:
        return self._by_token.get(token)

    def __len__(self) -> int:
        return len(self._tasks)

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._by_token.clear()
