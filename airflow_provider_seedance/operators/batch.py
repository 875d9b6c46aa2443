"""SeedanceBatchGenerateVideoOperator: many generations in one Airflow task, waited for in one deferral.

A mapped task per video costs Airflow's per-task overhead for each (scheduling, a worker process, a
deferral and a resumption); for hundreds of short generations that overhead, not the gateway, sets the
pace. This operator runs each item through the same ``Generation`` steps as the single operator (checks,
``skip_existing``, claims, cost, media delivery, lost-submit resolution, failure policy, storing with the
manifest, asset events) and keeps at most ``max_in_flight`` of them queued or running at the gateway:

    execute: start items until max_in_flight are in flight -> defer (SeedanceBatchTrigger)
    execute_complete: conclude the ended items (store or fail each) -> start more -> defer again,
        until none is left -> return the per-item report, or fail listing the failed items

The trigger hands back once a quarter of ``max_in_flight`` (at least one) has ended while items wait to
be submitted, so each round trip through Airflow refills several slots; with nothing left to submit it
waits for all. A failed item never stops the others: the task fails only once every other item is
stored. Claims make a retry (or a clear) resume what is in flight and skip what is stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from airflow.sdk import Context, XComArg

from airflow_provider_seedance.compat import AirflowException, AirflowFailException
from airflow_provider_seedance.exceptions import BatchListError, RateLimitError
from airflow_provider_seedance.gateways.failures import failure_cause
from airflow_provider_seedance.gateways.fields import scrub
from airflow_provider_seedance.generation.batch_items import (
    FIX_LIST,
    BatchItem,
    batch_items,
    parse_time_problems,
)
from airflow_provider_seedance.generation.deferral import deferral_timeout, note_clearing_keeps_running, read_event
from airflow_provider_seedance.generation.failure_policy import OUTCOME_UNKNOWN
from airflow_provider_seedance.generation.lifecycle import ClaimNotWritten, Generation
from airflow_provider_seedance.generation.request_fields import is_template
from airflow_provider_seedance.generation.settings import TEMPLATED_SETTINGS
from airflow_provider_seedance.generation.submission import OutcomeUnknown
from airflow_provider_seedance.links.seedance import task_record
from airflow_provider_seedance.operators.base import BaseSeedanceGenerationOperator
from airflow_provider_seedance.triggers.batch import BatchEvent, SeedanceBatchTrigger, WatchedTask
from airflow_provider_seedance.triggers.events import SeedanceEvent

# Ark queues at most 120 tasks per account; 20 leaves room for other work on the same account.
DEFAULT_MAX_IN_FLIGHT = 20
# While items wait to be submitted, the trigger hands back once this share of max_in_flight has ended.
REFILL_SHARE = 0.25
# Pushed before each wait: the generations in flight, as the single operator's ``seedance_task`` each.
SEEDANCE_TASKS_KEY = "seedance_tasks"


@dataclass
class Progress:
    """What one try has done so far, carried through the trigger: a report per finished item (by its
    output), and since when the gateway refuses new tasks (None while it takes them)."""

    try_number: int
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused_since: str | None = None

    @classmethod
    def from_carry(cls, carry: Mapping[str, Any], try_number: int) -> Progress:
        return cls(try_number, dict(carry.get("reports") or {}), carry.get("refused_since"))

    def carry(self) -> dict[str, Any]:
        return {"try_number": self.try_number, "reports": self.reports, "refused_since": self.refused_since}


class SeedanceBatchGenerateVideoOperator(BaseSeedanceGenerationOperator):
    """Generate many videos in one task: submit within ``max_in_flight``, wait in one deferral, store each.

    :param requests: one dict per video: the request fields of ``SeedanceGenerateVideoOperator`` (``model``,
        ``prompt``, ``duration``, ``first_frame``...) and the item's own ``output_path``. Templated (an
        XComArg works). Checked when the DAG is parsed where the list is already known: not empty, known
        fields only, no output_path twice, each item's fields as the single operator checks them.
    :param defaults: request fields every item gets unless it sets its own (e.g. ``model``, ``duration``).
        Templated.
    :param max_in_flight: the most generations of this task queued or running at the gateway at once.
        Gateways cap queued tasks per account (Ark: 120) and refuse more; keep the sum over the batches
        that run at the same time on one account below that cap. Default 20.
    :param kwargs: the settings every generation shares (``seedance_conn_id``, ``output_conn_id``,
        ``poll_interval``, ``generation_timeout``, ``max_cost`` per generation, the failure policy...), as
        documented on ``generation.settings.GenerationSettings``, and ``BaseOperator``'s own.

    The task always waits in the triggerer. It returns (XCom) one report per item, in the order of
    ``requests``: ``status`` (``stored``, ``skipped`` or ``failed``), ``output_path``, and for a video the
    single operator's result (``video_path``, ``video_sha256``, ``video_size``, ``manifest_path``,
    ``remote_task_id``, costs); for a failure ``cause``, ``message`` and ``retryable``. When any item
    failed, the same report is pushed before the task fails, and the message lists the failed items.
    Before each wait it pushes ``seedance_tasks``: the generations in flight (gateway, remote task id,
    console link, output path).
    """

    template_fields: Sequence[str] = ("requests", "defaults", *TEMPLATED_SETTINGS)
    # One trigger polls every item through one connection, so the items stay on it (docs/guides/failover.md).
    fails_over = False
    template_fields_renderers: ClassVar[dict[str, str]] = {"requests": "json", "defaults": "json"}

    def __init__(
        self,
        *,
        requests: Sequence[Mapping[str, Any]] | Any,
        defaults: Mapping[str, Any] | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(max_in_flight, int) or max_in_flight < 1:
            raise ValueError(
                f"{self.task_id}: max_in_flight={max_in_flight!r}; allowed: a whole number of at least 1 (keep it "
                "below the gateway's cap on queued tasks, 120 on Ark)"
            )
        self.requests = requests
        self.defaults = dict(defaults or {})
        self.max_in_flight = max_in_flight
        # A list given in the DAG file is checked now; one from XCom or a template when the task runs.
        given = isinstance(requests, list | tuple) and not any(isinstance(item, XComArg) for item in requests)
        if given or (isinstance(requests, str) and not is_template(requests)):
            try:
                problems = parse_time_problems(batch_items(requests, self.defaults))
            except BatchListError as exc:
                raise ValueError(f"{self.task_id}: {exc}") from None
            if problems:
                raise ValueError(
                    f"{self.task_id}: {len(problems)} item(s) are invalid: " + "; ".join(problems) + f"\n{FIX_LIST}"
                )

    # ---- the story --------------------------------------------------------------------------------

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self._advance(context, BatchEvent(ended=[], waiting=[], carry={}))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Resume after the trigger: the event is checked before anything in it is trusted."""
        return self._advance(
            context, read_event(BatchEvent, event, next_step="a retry resumes the claimed remote tasks.")
        )

    def _advance(self, context: Context, event: BatchEvent) -> list[dict[str, Any]]:
        """Conclude what ended, start what fits, then wait again or report."""
        items = self._items()
        try_number = context["ti"].try_number
        if event.carry.get("try_number") != try_number:
            # Another try's event (Airflow 3.0's dag.test() resumes a retried task with it): start over, from
            # the claims and manifests beside the outputs.
            event = BatchEvent(ended=[], waiting=[], carry={})
        progress = Progress.from_carry(event.carry, try_number)
        try:
            self._check_connection()
            if self.hook.connection.failover:
                self.log.warning(
                    "Connection %s declares a failover chain, but a batch submits every item through it alone. "
                    "Next: for failover, map SeedanceGenerateVideoOperator over the items instead.",
                    self.hook.seedance_conn_id,
                )
            generations = {item.key: self.generation(item.fields, item.output_path) for item in items}
            for ended in event.ended:
                if ended.output in generations:
                    self._conclude(context, generations[ended.output], ended.output, ended.event, progress)
            in_flight = {task.output: task for task in event.waiting if task.output in generations}
            wake_at = self._start(context, generations, in_flight, progress)
        finally:
            self.hook.close()
        if in_flight or wake_at is not None:
            self._wait(context, items, in_flight, wake_at, progress)
        return self._report(context, items, progress)

    def _items(self) -> list[BatchItem]:
        try:
            return batch_items(self.requests, self.defaults)
        except BatchListError as exc:
            raise AirflowFailException(str(exc)) from None

    # ---- steps --------------------------------------------------------------------------------------

    def _start(
        self,
        context: Context,
        generations: dict[str, Generation],
        in_flight: dict[str, WatchedTask],
        progress: Progress,
    ) -> datetime | None:
        """Resume or submit items until ``max_in_flight`` are in flight; when the gateway takes no new task,
        the time to ask it again."""
        for key, generation in generations.items():
            if len(in_flight) >= self.max_in_flight:
                break
            if key in progress.reports or key in in_flight:
                continue
            try:
                prepared = generation.prepare()
                existing = generation.existing_result(prepared.fingerprint)
                if existing is not None:
                    progress.reports[key] = {"output_path": key, "status": "skipped", **existing}
                    continue
                status, deadline = generation.resume_or_submit(context, prepared)
            except RateLimitError as exc:  # still refused after the hook's own retries
                return self._capacity_wait(generation, exc, generations, in_flight, progress)
            except ClaimNotWritten as exc:  # every further submit would be paid for and then lost
                progress.reports[key] = self._failure(key, exc, cause="claim_not_written")
                stopped = AirflowFailException(
                    f"not submitted: the claim of {key} could not be written, so a generation submitted now could be "
                    "paid for and never found again. Next: fix write access to the output location, then clear "
                    "the task."
                )
                self._fail_unstarted(generations, in_flight, progress, stopped, cause="not_submitted")
                return None
            except OutcomeUnknown as exc:  # its reservation stays for a person; the others go on
                progress.reports[key] = self._failure(key, exc, cause=OUTCOME_UNKNOWN)
                continue
            except Exception as exc:  # this item's failure is reported; the others go on
                progress.reports[key] = self._failure(key, exc, cause="before_submit")
                continue
            progress.refused_since = None
            if status.state.is_terminal:
                ended = SeedanceEvent.from_status(self.hook.gateway.name, status)
                self._conclude(context, generation, key, ended, progress)
                continue
            in_flight[key] = WatchedTask(output=key, remote_task_id=status.task_id, deadline=deadline.timestamp())
        return None

    def _capacity_wait(
        self,
        generation: Generation,
        exc: RateLimitError,
        generations: dict[str, Generation],
        in_flight: dict[str, WatchedTask],
        progress: Progress,
    ) -> datetime | None:
        """When to try submitting again; past the allowance, every item not yet submitted fails."""
        since = datetime.fromisoformat(progress.refused_since) if progress.refused_since else datetime.now(UTC)
        progress.refused_since = since.isoformat()
        try:
            wait = generation.capacity_wait(exc, since)
        except AirflowException as gave_up:
            self._fail_unstarted(generations, in_flight, progress, gave_up, cause="capacity")
            return None
        self.log.warning(
            "%s takes no new task now (%s) with %d of this batch in flight; asking again in %s or when some "
            "finish (refused since %s, for at most generation_timeout=%s).",
            self.hook.gateway.name,
            exc,
            len(in_flight),
            wait,
            since.isoformat(),
            self.settings().generation_timeout,
        )
        return datetime.now(UTC) + wait

    def _fail_unstarted(
        self,
        generations: dict[str, Generation],
        in_flight: dict[str, WatchedTask],
        progress: Progress,
        exc: AirflowException,
        *,
        cause: str,
    ) -> None:
        """Report every item not yet started as failed for ``exc``: none of them is submitted in this try."""
        for key in generations:
            if key not in progress.reports and key not in in_flight:
                progress.reports[key] = self._failure(key, exc, cause=cause)

    def _conclude(
        self,
        context: Context,
        generation: Generation,
        key: str,
        event: SeedanceEvent,
        progress: Progress,
    ) -> None:
        try:
            result = generation.conclude(context, event)
        except Exception as exc:  # this item's failure is reported; the others go on
            progress.reports[key] = self._failure(key, exc, cause=_cause(event), remote_task_id=event.remote_task_id)
            return
        progress.reports[key] = {"output_path": key, "status": "stored", **result}

    def _wait(
        self,
        context: Context,
        items: list[BatchItem],
        in_flight: dict[str, WatchedTask],
        wake_at: datetime | None,
        progress: Progress,
    ) -> None:
        waiting = len(items) - len(progress.reports) - len(in_flight)
        refill = max(1, math.ceil(self.max_in_flight * REFILL_SHARE))
        hand_back_after = min(len(in_flight), refill) if waiting else len(in_flight)
        ends = [datetime.fromtimestamp(task.deadline, UTC) for task in in_flight.values()]
        latest = max([*ends, *([wake_at] if wake_at else [])])
        self.log.info(
            "%d in flight, %d waiting to be submitted, %d done; handing back after %d end%s.",
            len(in_flight),
            waiting,
            len(progress.reports),
            hand_back_after,
            f" or at {wake_at.isoformat()}" if wake_at else "",
        )
        records = [task_record(self.hook.connection, task.remote_task_id, task.output) for task in in_flight.values()]
        context["ti"].xcom_push(key=SEEDANCE_TASKS_KEY, value=records)
        settings = self.settings()
        note_clearing_keeps_running(self, settings.cancel_on_kill, f"its {len(in_flight)} remote tasks")
        self.defer(
            trigger=SeedanceBatchTrigger(
                seedance_conn_id=settings.seedance_conn_id,
                tasks=[task.model_dump() for task in in_flight.values()],
                hand_back_after=hand_back_after,
                wake_at=wake_at.timestamp() if wake_at else None,
                poll_interval=settings.poll_interval,
                cancel_on_kill=settings.cancel_on_kill,
                carry=progress.carry(),
            ),
            method_name="execute_complete",
            timeout=deferral_timeout(latest),
        )

    def _report(self, context: Context, items: list[BatchItem], progress: Progress) -> list[dict[str, Any]]:
        """Every item's report, in the order of ``requests``; the task fails when any item failed."""
        report = [progress.reports[item.key] for item in items]
        self.report_concluded(context, [(item.fields, entry) for item, entry in zip(items, report, strict=True)])
        failed = [entry for entry in report if entry["status"] == "failed"]
        counts = {status: sum(entry["status"] == status for entry in report) for status in ("stored", "skipped")}
        self.log.info(
            "%d generations: %d stored, %d already there (skipped), %d failed.",
            len(report),
            counts["stored"],
            counts["skipped"],
            len(failed),
        )
        if not failed:
            return report
        context["ti"].xcom_push(key="return_value", value=report)
        lines = "\n".join(f"- {entry['output_path']}: {entry['cause']}: {entry['message']}" for entry in failed)
        summary = (
            f"{len(failed)} of {len(report)} generations made no video; the other {len(report) - len(failed)} "
            f"are stored with their manifests.\n{lines}\n"
        )
        kept = "stored videos are not generated again" if self.settings().skip_existing else "skip_existing is off"
        if any(entry["retryable"] for entry in failed):
            raise AirflowException(
                f"{summary}Next: a retry (or a clear) submits only the items without a video ({kept}); for a cause "
                "a retry cannot pass, fix that item first."
            )
        raise AirflowFailException(
            f"{summary}Next: no retry can pass these causes: fix what each message names (or drop the item), "
            f"then clear the task; only the items without a video are submitted again ({kept})."
        )

    def _failure(self, key: str, exc: Exception, *, cause: str, remote_task_id: str | None = None) -> dict[str, Any]:
        """One item's failure, logged and reported; retryable unless no retry can fix it."""
        known = isinstance(exc, AirflowException)
        # Our messages never hold a key or a signed URL; a foreign error's might, and this one travels on
        # (trigger kwargs, XCom), so URL queries and inline data go.
        message = scrub(str(exc) if known else f"{type(exc).__name__}: {exc}")
        if known:
            self.log.error("%s: %s", key, message)
        else:  # not one of ours: keep the traceback for whoever debugs it
            self.log.exception("%s: generation failed", key)
        return {
            "output_path": key,
            "status": "failed",
            "remote_task_id": remote_task_id,
            "cause": cause,
            "message": message,
            "retryable": not isinstance(exc, AirflowFailException),
        }


def _cause(event: SeedanceEvent) -> str:
    """A short, machine-readable cause: the failure cause of a failed task, else how waiting ended."""
    if event.status == "failed":
        return failure_cause(event.error_code, event.message).value
    if event.status == "succeeded":
        return "storing"  # the video was ready; storing it failed
    return event.status if event.status != "error" else event.reason
