"""The one event a Seedance trigger yields, built here and checked here when the worker resumes.

The payload crosses the triggerer/worker boundary through the metadata database (and possibly a
version skew), so ``execute_complete`` parses it before trusting any field. ``TriggerPayload`` is that
round trip for every trigger event of this provider (this one, and the batch trigger's).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_provider_seedance.gateways.fields import scrub
from airflow_provider_seedance.models import TaskState, TaskStatus

EventStatus = Literal["succeeded", "failed", "cancelled", "expired", "timeout", "error"]


class TriggerPayload(BaseModel):
    """A trigger event's fields: dumped to JSON by the trigger, parsed by the resumed operator."""

    # Unknown keys are ignored: a newer triggerer may send fields an older worker does not know.
    model_config = ConfigDict(frozen=True, extra="ignore")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def parse(cls, payload: Any) -> Self:
        """The event as sent by the trigger; a ``ValueError`` that says what is wrong otherwise (pydantic's
        message names the event class and quotes each offending value, shortened)."""
        if payload is None:
            raise ValueError("the task resumed without a trigger event")
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise ValueError(f"unexpected trigger event: {exc}") from None


class SeedanceEvent(TriggerPayload):
    """``status`` says how waiting ended; ``reason`` is machine-readable, ``message`` is for people."""

    status: EventStatus
    gateway: str
    remote_task_id: str
    reason: str
    message: str
    error_code: str | None = None
    progress: int | None = None

    @classmethod
    def deadline_passed(cls, gateway: str, remote_task_id: str, message: str) -> SeedanceEvent:
        """The event for a task that had not ended when its deadline passed."""
        return cls(status="timeout", gateway=gateway, remote_task_id=remote_task_id, reason="deadline", message=message)

    @classmethod
    def from_status(cls, gateway: str, status: TaskStatus) -> SeedanceEvent:
        """The event for a task that reached a terminal state."""
        # Each terminal state's event status (its own value) and words.
        endings: dict[TaskState, tuple[EventStatus, str]] = {
            TaskState.SUCCEEDED: ("succeeded", "finished"),
            TaskState.FAILED: ("failed", "failed"),
            TaskState.CANCELLED: ("cancelled", "was cancelled"),
            TaskState.EXPIRED: ("expired", "expired before it ran"),
        }
        ending, words = endings[status.state]
        detail = f": {scrub(status.error_message)}" if status.error_message else ""
        return cls(
            status=ending,
            gateway=gateway,
            remote_task_id=status.task_id,
            reason=status.error_code or status.state.value,
            message=f"{gateway} task {status.task_id} {words}{detail}",
            error_code=status.error_code,
            progress=status.progress,
        )
