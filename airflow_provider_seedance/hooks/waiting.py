"""The waiting policy: what each status poll's outcome means, and when to poll next.

One policy for both places a generation is waited for: ``wait_on_worker`` (a worker that does not defer)
and ``SeedanceTaskTrigger`` (the triggerer). ``PollWatch`` and its parts are pure bookkeeping, so the
triggerer's event loop can use them; the worker's loop takes its clock as arguments, so tests need not sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from airflow_provider_seedance.exceptions import GatewayError, SeedanceError, TaskNotFoundError, TransportError
from airflow_provider_seedance.gateways.base import Gateway
from airflow_provider_seedance.models import TaskState, TaskStatus

log = logging.getLogger(__name__)

# Progress is logged when it enters a new step of this many percent (the state at every change).
PROGRESS_LOG_STEP = 25
# While the gateway keeps failing, waits between status polls back off up to this many times the interval.
POLL_BACKOFF_CEILING = 8


def poll_delay(poll_interval: float, failures: int) -> float:
    """Seconds until the next status poll after ``failures`` failed polls in a row (worker and triggerer alike)."""
    # Annotated: typeshed types int ** int as Any, since a negative power is a float; failures is never negative.
    factor: int = min(2**failures, POLL_BACKOFF_CEILING)
    return poll_interval * factor


def wait_on_worker(
    get_status: Callable[[str], TaskStatus],
    gateway: Gateway,
    task_id: str,
    *,
    poll_interval: float,
    deadline: datetime,
    sleep: Callable[[float], object] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TaskStatus:
    """Poll ``get_status`` until the task ends or ``deadline`` passes; returns the last status seen.

    A 404 ends the wait as :class:`MissingTaskWatch` decides (at once, unless the dialect declares a grace).
    Transient errors, once a poll's own retries are used up, slow the polling down as in the triggerer:
    the wait does not end for them before the deadline (then the last error is raised if no status was seen).
    ``sleep`` and ``now`` are the clock, which tests replace.
    """
    watch = PollWatch(gateway, task_id, poll_interval)
    while True:
        # The clock is read once per poll (``passed``): a 404 answered just before the deadline and a second
        # reading just after it would end the wait as a timeout instead of as the missing task it is.
        try:
            status = get_status(task_id)
        except (TransportError, GatewayError) as exc:
            passed = now() >= deadline
            ended = watch.failed(exc, deadline_passed=passed)
            if ended is exc or (ended is None and watch.last is None and passed):
                raise
            if ended is not None:
                raise ended from exc
        else:
            passed = now() >= deadline
            watch.seen(status)
            if status.state.is_terminal:
                return status
        if watch.last is not None and passed:
            return watch.last
        remaining = max(0.0, (deadline - now()).total_seconds())
        sleep(min(watch.delay, remaining))


class PollWatch:
    """The bookkeeping of one wait, the same for ``hook.wait`` and the trigger: what each poll's outcome means.

    Pure (no I/O), so the triggerer's event loop can use it.
    """

    def __init__(self, gateway: Gateway, task_id: str, poll_interval: float) -> None:
        self.gateway = gateway.name
        self.task_id = task_id
        self.poll_interval = poll_interval
        self.last: TaskStatus | None = None
        self._failures = 0
        self._progress = ProgressLog(gateway.name)
        self._missing = MissingTaskWatch(gateway, task_id)

    @property
    def delay(self) -> float:
        """Seconds until the next poll: longer while polls keep failing."""
        return poll_delay(self.poll_interval, self._failures)

    def seen(self, status: TaskStatus) -> None:
        self._failures = 0
        self.last = status
        self._missing.found()
        self._progress.record(status)

    def failed(self, error: TransportError | GatewayError, *, deadline_passed: bool) -> SeedanceError | None:
        """None while polling goes on (a transient error, a 404 within the dialect's grace); else the error
        that ends the wait."""
        if isinstance(error, TaskNotFoundError):
            return self._missing.gone(error, deadline_passed=deadline_passed)
        if not error.retryable:
            return error
        self._failures += 1
        log.warning("Polling %s task %s failed (%s); polling again later.", self.gateway, self.task_id, error)
        return None


class ProgressLog:
    """Logs a task's state when it changes, and its progress when it enters a new quarter (worker and triggerer
    alike): a line on every poll (~50 us each) would be a large share of a batched poll's CPU in a busy triggerer."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self._last: tuple[TaskState, int | None] | None = None

    def record(self, status: TaskStatus) -> None:
        step = None if status.progress is None else status.progress // PROGRESS_LOG_STEP
        if (status.state, step) == self._last:
            return
        self._last = (status.state, step)
        progress = f" ({status.progress}%)" if status.progress is not None else ""
        log.info("%s task %s is %s%s.", self.gateway, status.task_id, status.state.value, progress)


class MissingTaskWatch:
    """Whether a 404 while waiting on a task means the task is gone: one rule for the worker and the triggerer.

    ``hook.wait`` and the trigger wait only on tasks this provider submitted (or found by a status call just
    before), so the task existed. Where the dialect declares no ``not_found_grace`` (the default), the first
    404 means gone. With a grace of ``(polls, seconds)``, a 404 ends the wait only once ``polls``
    polls in a row have answered 404 *and* at least ``seconds`` have passed from the first of them to the
    last; any status read in between starts the count again, and each tolerated 404 is logged. At the
    deadline a 404 run ends the wait as "not found" whatever its length. Pure bookkeeping on a monotonic
    clock (no I/O), so it is safe inside the triggerer's event loop; a triggerer restart starts it afresh,
    which only lengthens the grace, and the absolute deadline still bounds the wait.
    """

    def __init__(self, gateway: Gateway, task_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.gateway = gateway.name
        self.task_id = task_id
        self.grace = gateway.not_found_grace
        self._clock = clock
        self._count = 0
        self._first: float | None = None

    def found(self) -> None:
        """A status was read: the task exists, so a later 404 starts a new run."""
        self._count = 0
        self._first = None

    def gone(self, error: TaskNotFoundError, *, deadline_passed: bool = False) -> TaskNotFoundError | None:
        """None while the 404 run is within the grace (logged); else the error that ends the wait."""
        if self.grace is None:
            return error
        now = self._clock()
        if self._first is None:
            self._first = now
        self._count += 1
        polls, seconds = self.grace
        span = now - self._first
        run = f"{self._count} consecutive 404 {'reply' if self._count == 1 else 'replies'} over {span:.0f} s"
        if deadline_passed:
            return self._final(error, f"was still not found when the deadline passed ({run})")
        if self._count >= polls and span >= seconds:
            return self._final(
                error,
                f"was not found on {run}; a {self.gateway} 404 may be transient, so it counts as gone only after "
                f"{polls} in a row over at least {seconds:.0f} s",
            )
        log.warning(
            "%s answered 404 for task %s (%s): %s. A %s 404 may be transient; polling on (it counts as gone after "
            "%d in a row over %.0f s).",
            self.gateway,
            self.task_id,
            run,
            error.message,
            self.gateway,
            polls,
            seconds,
        )
        return None

    def _final(self, error: TaskNotFoundError, what: str) -> TaskNotFoundError:
        return TaskNotFoundError(
            f"task {self.task_id} {what}: {error.message}",
            gateway=error.gateway,
            status_code=error.status_code,
            code=error.code,
            request_id=error.request_id,
            structured=error.structured,
        )
