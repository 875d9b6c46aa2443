"""The paid step of one generation: price it, bring its media to the gateway, submit it exactly once.

A submit whose answer was lost (a dropped connection, a 500, or a worker that died mid-submit and left a
reservation without a task id) may or may not have created a task. Where the gateway lists its tasks
(Ark), the task is looked up by model and seed before anything is sent again; elsewhere nothing can find
it, so it fails with what to look for, unless ``on_unknown_submit="resubmit"`` allows paying twice.
Errors no retry can fix come out as ``AirflowFailException`` with what to do next; transient ones
propagate for Airflow's retries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from airflow_provider_seedance.compat import AirflowException, AirflowFailException
from airflow_provider_seedance.exceptions import (
    GatewayError,
    MediaDeliveryError,
    RequestValidationError,
    SeedanceError,
    SubmitOutcomeUnknownError,
)
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.media.assets import AssetRegistry
from airflow_provider_seedance.media.delivery import DeliveredRequest, MediaDelivery
from airflow_provider_seedance.media.sources import SourceMedia
from airflow_provider_seedance.models import MediaKind, TaskStatus, VideoRequest
from airflow_provider_seedance.observability import metrics
from airflow_provider_seedance.pricing import Cost

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.generation.log import Log
    from airflow_provider_seedance.generation.settings import GenerationSettings
    from airflow_provider_seedance.outputs.claims import Claim

# How failure messages about an input end: what a person does next.
FIX_INPUT = "Next: fix the input, then clear the task."
# Presigned input URLs outlive the deadline by this much: a gateway may fetch an input when a queued
# task starts, or again when it retries internally.
PRESIGNED_URL_MARGIN = timedelta(hours=1)
# After a submit whose answer was lost: how long to let the task appear in the gateway's list, and how
# far before our clock its creation time may lie.
UNKNOWN_SUBMIT_SETTLE_SECONDS = 3.0
UNKNOWN_SUBMIT_CLOCK_SKEW = timedelta(minutes=2)
# A reservation's submit has answered, or never will, this long after it was sent: no attempt of it starts
# later than one attempt's longest time (the HTTP client's connect, write and read timeouts) before the end.
ANSWER_WINDOW = timedelta(minutes=5)


class OutcomeUnknown(SeedanceError, AirflowFailException):
    """A submit may have created (and be billed for) a task that nothing can find: it is not sent again, and
    its reservation is left for a person."""


@dataclass(frozen=True)
class Reserved:
    """The reservation a submit is sent under: what finds its task, and what a person is told to look for."""

    model: str
    sent: datetime
    fingerprint: str
    uri: str  # the claim a person resolves
    lookup_seed: int | None  # derived by this provider; None for a seed the DAG set (any output's, maybe)

    @classmethod
    def of(cls, claim: Claim, uri: str) -> Reserved:
        model = str((claim.request or {}).get("model", ""))
        return cls(model, datetime.fromisoformat(claim.submitted_at), claim.request_sha256, uri, claim.seed)


def attempt_time(timeout: httpx.Timeout) -> timedelta:
    """The longest one HTTP attempt can take under ``timeout``: connecting, writing the request, reading."""
    return timedelta(seconds=sum(part or 0.0 for part in (timeout.connect, timeout.write, timeout.read)))


class Submission:
    """Pricing, media delivery and the submit of requests through one connection, under shared settings."""

    def __init__(self, hook: SeedanceHook, settings: GenerationSettings, log: Log) -> None:
        self.hook = hook
        self.settings = settings
        self.log = log

    def estimate(self, request: VideoRequest, sources: Sequence[SourceMedia] | None) -> Cost | None:
        """The estimated cost from the connection's prices; None when no price is known for the model."""
        videos = [source for source in sources or () if source.input.media == "video"]
        return self.hook.connection.estimate(request, [video.info.duration if video.info else None for video in videos])

    def check_cost(self, request: VideoRequest, sources: Sequence[SourceMedia]) -> Cost | None:
        """Log what this submit is estimated to cost; refuse it when it is above ``max_cost``."""
        cost = self.estimate(request, sources)
        gateway, max_cost = self.hook.gateway.name, self.settings.max_cost
        if cost is None:
            message = (
                f"no price is known for {request.model} on {gateway}, so its cost cannot be estimated. Next: add "
                f"the model's price to connection {self.hook.seedance_conn_id!r} as extra.prices (see "
                "docs/guides/spend-control.md, 'Prices from your contract')"
            )
            if max_cost is not None:
                raise AirflowFailException(f"max_cost={max_cost:g} is set but {message}, then clear the task.")
            self.log.info("%s.", message[0].upper() + message[1:])
            return None
        self.log.info("Estimated cost: %.4f %s (%s).", cost.amount, cost.currency, cost.basis)
        if max_cost is not None and cost.amount > max_cost:
            raise AirflowFailException(
                f"the generation is estimated at {cost.amount:.4f} {cost.currency} ({cost.basis}), above "
                f"max_cost={max_cost:g}; nothing was submitted. Next: shorten it, lower its resolution, or "
                "raise max_cost, then clear the task."
            )
        return cost

    def deliver(
        self, request: VideoRequest, sources: Sequence[SourceMedia], registry_root: ObjectStoragePath
    ) -> DeliveredRequest:
        """Bring storage and inline inputs to the gateway in a form it takes; nothing is paid for yet."""
        inputs = [item.field for item in request.media_inputs if item.kind in (MediaKind.STORAGE, MediaKind.DATA)]
        if len(inputs) > len(sources):
            raise AirflowFailException(
                f"the media inputs ({', '.join(inputs)}) could not be read, and the generation the claim recorded "
                "for them is gone; fix the inputs, then clear the task."
            )
        delivery = MediaDelivery(
            hook=self.hook,
            order=self.settings.deliveries,
            url_lifetime=self.settings.generation_timeout + PRESIGNED_URL_MARGIN,
            registry=AssetRegistry(registry_root),
            poll_interval=self.settings.poll_interval,
        )
        try:
            return delivery.deliver(request, list(sources))
        except MediaDeliveryError as exc:
            message = f"{RequestValidationError(self.hook.gateway.name, [exc.problem])}"
            if exc.retryable:
                raise AirflowException(message) from None
            raise AirflowFailException(f"{message}\n{FIX_INPUT}") from None
        except GatewayError as exc:
            if not exc.retryable:
                raise AirflowFailException(
                    f"the gateway refused a media input before the submit: {exc}. Next: {exc.next_step}"
                ) from exc
            raise

    def submit(self, delivered: DeliveredRequest, reserved: Reserved) -> tuple[TaskStatus, int]:
        """Submit; when the answer is lost, find out whether the task was created before sending it again.

        Returns the task and how many times it was sent again after an unknown outcome (``on_unknown_submit``).
        """
        send_by = reserved.sent + ANSWER_WINDOW - attempt_time(self.hook.timeout)
        try:
            return self._submit_once(delivered, send_by), 0
        except SubmitOutcomeUnknownError as exc:
            found = self.resolve_unknown(reserved, f"the submit's answer was lost ({exc})")
            if found is not None:
                return found, 0
        try:
            return self._submit_once(delivered, send_by), self.resends(reserved)
        except SubmitOutcomeUnknownError as exc:
            raise self.outcome_unknown(reserved, f"the submit's answer was lost twice ({exc})") from None

    def _submit_once(self, delivered: DeliveredRequest, send_by: datetime) -> TaskStatus:
        try:
            return self.hook.submit(delivered.request, secrets=delivered.secrets, send_by=send_by)
        except SubmitOutcomeUnknownError:
            raise
        except GatewayError as exc:
            if not exc.retryable:
                hint = self.hook.gateway.model_hint(delivered.request.model)
                raise AirflowFailException(
                    f"the gateway refused the generation: {exc}.{hint} Next: {exc.next_step}"
                ) from exc
            raise

    def resends(self, reserved: Reserved) -> int:
        """1 when ``resolve_unknown`` answering None means sending again at the risk of paying twice (nothing
        could look the task up; ``on_unknown_submit="resubmit"``), 0 when it means the task was not created."""
        return 0 if self._looks_up(reserved) else 1

    def _looks_up(self, reserved: Reserved) -> bool:
        """Whether the gateway's task list can tell if this submit created a task (Ark's can, by a seed this
        provider derived: a seed the DAG set may be another output's too)."""
        return self.hook.gateway.lists_tasks and reserved.lookup_seed is not None

    def resolve_unknown(self, reserved: Reserved, why: str) -> TaskStatus | None:
        """The task a submit of unknown outcome (``why``) created.

        None when it provably was not created (the task list shows none), or when the user allows sending it
        again regardless (``on_unknown_submit="resubmit"``); otherwise raises ``OutcomeUnknown``, since a second
        submit could pay twice.
        """
        gateway, model, seed, said = (
            self.hook.gateway.name,
            reserved.model,
            reserved.lookup_seed,
            why[:1].upper() + why[1:],
        )
        if seed is not None and self._looks_up(reserved):
            time.sleep(UNKNOWN_SUBMIT_SETTLE_SECONDS)  # a task created a moment ago may not be listed yet
            try:
                found = self.hook.find_task(model, seed, reserved.sent - UNKNOWN_SUBMIT_CLOCK_SKEW)
            except SeedanceError as lookup:
                self.log.warning("Looking for the task in %s's task list failed: %s", gateway, lookup)
                raise self.outcome_unknown(reserved, f"{why}, and {gateway}'s task list could not be read") from None
            if found is not None:
                self.log.warning(
                    "%s; %s's task list shows the task it created: %s (model %s, seed %d). Resuming it; nothing is "
                    "submitted again.",
                    said,
                    gateway,
                    found.task_id,
                    model,
                    seed,
                )
                metrics.unknown_submit(gateway, model, "found")
                return found
            self.log.warning(
                "%s; %s's task list shows no %s task with seed %d since %s: it was not created. Submitting it.",
                said,
                gateway,
                model,
                seed,
                reserved.sent.isoformat(),
            )
            metrics.unknown_submit(gateway, model, "not_created")
            return None
        if self.settings.on_unknown_submit == "resubmit":
            self.log.warning(
                "%s; submitting it again (on_unknown_submit='resubmit'): if the first one was created, this "
                "generation is paid twice, and its manifest says so.",
                said,
            )
            metrics.unknown_submit(gateway, model, "resubmitted")
            return None
        raise self.outcome_unknown(reserved, why)

    def outcome_unknown(self, reserved: Reserved, why: str) -> OutcomeUnknown:
        """The failure (counted) that leaves a submit of unknown outcome to a person: what to look for, where."""
        gateway, model = self.hook.gateway, reserved.model
        metrics.unknown_submit(gateway.name, model, "left_for_a_person")
        console = gateway.console_url(self.hook.connection.base_url)
        where = f"{gateway.name}'s console ({console})" if console else f"{gateway.name}'s console or task list"
        until = reserved.sent + ANSWER_WINDOW
        window = f"{reserved.sent.strftime('%Y-%m-%d %H:%M:%S')} to {until.strftime('%H:%M:%S UTC')}"
        return OutcomeUnknown(
            f"outcome unknown: {why}. {gateway.name} may have created, and may bill, a {model} task sent "
            f"between {window} (request fingerprint {reserved.fingerprint}); nothing here can ask {gateway.name} "
            f"which task that submit created, so it is not sent again (that could pay twice). Next: look in {where} "
            f'for a {model} task created in that window. If there is one, write its id as "remote_task_id" into '
            f"{reserved.uri} and clear this task: it resumes that task. If there is none, delete that claim and "
            "clear this task to submit again. (on_unknown_submit='resubmit' sends it again on its own, at the risk of "
            "paying twice.)"
        )
