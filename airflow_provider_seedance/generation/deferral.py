"""Waiting for a submitted generation from an Airflow task, the same way for the operators and the sensor.

``conclude_or_defer`` concludes at once when the remote task has already ended, waits on the worker when
the task does not defer, and otherwise defers to ``SeedanceTaskTrigger`` until the generation's deadline
(with Airflow's own deferral timeout as a backstop a little later). ``read_event`` checks what a trigger
sent before anything in it is trusted, and says what to do when it cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_seedance.compat import TRIGGER_ON_KILL_SUPPORTED, AirflowException, conf
from airflow_provider_seedance.triggers.events import SeedanceEvent, TriggerPayload
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_provider_seedance.generation.lifecycle import Generation
    from airflow_provider_seedance.models import TaskStatus

# The framework's deferral timeout sits a little past the triggers' own deadlines, as a backstop.
# It covers one status poll's own retries (timeouts and Retry-After waits), which can take minutes.
DEFERRAL_MARGIN = timedelta(minutes=15)
Event = TypeVar("Event", bound=TriggerPayload)


# Where the provider reads its default. Not ``[operators] default_deferrable``: Airflow writes that option,
# set to false, into every airflow.cfg it generates (3.0.6, 3.1.8 and 3.3.2 measured), so a stock deployment
# could not tell its choice from a fresh file, and every generation would hold a worker slot for minutes.
DEFERRABLE_SETTING = "[seedance] default_deferrable"


def resolve_deferrable(deferrable: bool | None) -> tuple[bool, bool]:
    """Whether a task waits in the triggerer, and whether the provider's setting decided it (default True;
    ``AIRFLOW__SEEDANCE__DEFAULT_DEFERRABLE``) rather than the task's own ``deferrable``."""
    if deferrable is not None:
        return deferrable, False
    return conf.getboolean("seedance", "default_deferrable", fallback=True), True


def say_where_it_waits(task: BaseOperator, what: str, deferrable: bool, by_setting: bool) -> None:
    """Log, as the wait starts, whether ``what`` is waited for in the triggerer or on this worker, and why."""
    decided_by = f"{DEFERRABLE_SETTING} = {deferrable}" if by_setting else f"deferrable={deferrable} on the task"
    if deferrable:
        task.log.info("%s waits in the triggerer, holding no worker slot (%s).", what, decided_by)
    elif by_setting:
        task.log.warning(
            "%s is waited for on this worker, which holds its slot until the generation ends (%s in this "
            "deployment's configuration). Next: to wait in the triggerer instead, set %s to True "
            "(AIRFLOW__SEEDANCE__DEFAULT_DEFERRABLE) or deferrable=True on the task.",
            what,
            decided_by,
            DEFERRABLE_SETTING,
        )
    else:
        task.log.info("%s is waited for on this worker, holding its slot (%s).", what, decided_by)


def deferral_timeout(deadline: datetime) -> timedelta:
    """Airflow's timeout for a deferral whose trigger ends the wait itself at ``deadline``."""
    return max(deadline - datetime.now(UTC), timedelta(0)) + DEFERRAL_MARGIN


def conclude_or_defer(
    task: BaseOperator,
    context: Context,
    generation: Generation,
    status: TaskStatus,
    deadline: datetime,
    *,
    deferrable: bool,
    by_setting: bool,
    timeout: timedelta | None = None,
) -> dict[str, Any]:
    """The generation's result, when its remote task has ended or (``deferrable`` off) once waited for here;
    otherwise ``task`` defers to the trigger until ``deadline``, resuming in ``execute_complete``.
    ``by_setting``: the provider's setting chose ``deferrable``, not the task (``resolve_deferrable``).

    ``timeout`` caps Airflow's deferral timeout (a sensor's own ``timeout``); by default it is the deadline's.
    """
    if status.state.is_terminal:
        return generation.conclude(context, SeedanceEvent.from_status(generation.hook.gateway.name, status))
    say_where_it_waits(task, f"{generation.hook.gateway.name} task {status.task_id}", deferrable, by_setting)
    if not deferrable:
        return generation.conclude(context, generation.wait_here(status.task_id, deadline))
    settings = generation.settings
    note_clearing_keeps_running(task, settings.cancel_on_kill, f"remote task {status.task_id}")
    task.defer(
        trigger=SeedanceTaskTrigger(
            seedance_conn_id=generation.hook.seedance_conn_id,  # the connection serving it (failover)
            remote_task_id=status.task_id,
            deadline=deadline.timestamp(),
            poll_interval=settings.poll_interval,
            cancel_on_kill=settings.cancel_on_kill,
        ),
        method_name="execute_complete",
        timeout=min(deferral_timeout(deadline), timeout) if timeout is not None else deferral_timeout(deadline),
    )


def note_clearing_keeps_running(task: BaseOperator, cancel_on_kill: bool, what: str) -> None:
    """Say so where Airflow cannot tell a waiting trigger that its task was cleared (before 3.3)."""
    if cancel_on_kill and not TRIGGER_ON_KILL_SUPPORTED:
        task.log.info(
            "This Airflow release does not tell triggers when a task is cleared or marked (3.3+ does): clearing "
            "this task while it waits leaves %s running; its claim lets the next run resume it.",
            what,
        )


def read_event(kind: type[Event], payload: Any, *, next_step: str) -> Event:
    """The trigger's event as ``kind``; an ``AirflowException`` (retried) ending with ``next_step`` otherwise."""
    try:
        return kind.parse(payload)
    except ValueError as exc:
        raise AirflowException(f"{exc}. Next: {next_step}") from None
