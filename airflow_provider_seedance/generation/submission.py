"""The paid step of one generation: price it, bring its media to the gateway, submit it exactly once.

A submit whose answer was lost (a dropped connection, a 500) may or may not have created a task. Where
the gateway lists its tasks (Ark), the task is looked up by model and seed before anything is sent again;
elsewhere ``on_unknown_submit`` decides. Errors no retry can fix come out as ``AirflowFailException``
with what to do next; transient ones propagate for Airflow's retries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

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
from airflow_provider_seedance.pricing import Cost

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.generation.log import Log
    from airflow_provider_seedance.generation.settings import GenerationSettings

# How failure messages about an input end: what a person does next.
FIX_INPUT = "Next: fix the input, then clear the task."
# Presigned input URLs outlive the deadline by this much: a gateway may fetch an input when a queued
# task starts, or again when it retries internally.
PRESIGNED_URL_MARGIN = timedelta(hours=1)
# After a submit whose answer was lost: how long to let the task appear in the gateway's list, and how
# far before our clock its creation time may lie.
UNKNOWN_SUBMIT_SETTLE_SECONDS = 3.0
UNKNOWN_SUBMIT_CLOCK_SKEW = timedelta(minutes=2)


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
                f"the model's price to connection {self.settings.seedance_conn_id!r} as extra.prices (see "
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

    def submit(self, delivered: DeliveredRequest) -> TaskStatus:
        """Submit; when the answer is lost, find out whether the task was created before sending it again."""
        sent = datetime.now(UTC)
        try:
            return self._submit_once(delivered)
        except SubmitOutcomeUnknownError as exc:
            found = self._resolve_unknown_submit(delivered, sent, exc)
            if found is not None:
                return found
        try:
            return self._submit_once(delivered)
        except SubmitOutcomeUnknownError as exc:
            raise self._unknown_outcome(delivered, sent, exc) from None

    def _submit_once(self, delivered: DeliveredRequest) -> TaskStatus:
        try:
            return self.hook.submit(delivered.request, secrets=delivered.secrets)
        except SubmitOutcomeUnknownError:
            raise
        except GatewayError as exc:
            if not exc.retryable:
                hint = self.hook.gateway.model_hint(delivered.request.model)
                raise AirflowFailException(
                    f"the gateway refused the generation: {exc}.{hint} Next: {exc.next_step}"
                ) from exc
            raise

    def _resolve_unknown_submit(
        self, delivered: DeliveredRequest, sent: datetime, exc: SubmitOutcomeUnknownError
    ) -> TaskStatus | None:
        """The task a lost-answer submit created; None when it provably was not created (or the user allows
        sending again regardless); else fail, since a second submit could pay twice."""
        request, gateway = delivered.request, self.hook.gateway
        if gateway.lists_tasks and request.seed is not None:
            time.sleep(UNKNOWN_SUBMIT_SETTLE_SECONDS)  # a task created a moment ago may not be listed yet
            try:
                found = self.hook.find_task(request.model, request.seed, sent - UNKNOWN_SUBMIT_CLOCK_SKEW)
            except SeedanceError as lookup:
                self.log.warning("Looking for the task in %s's task list failed too: %s", gateway.name, lookup)
                raise self._unknown_outcome(delivered, sent, exc) from None
            if found is not None:
                self.log.warning(
                    "The submit's answer was lost (%s), but %s's task list shows the task it created: %s (model "
                    "%s, seed %d). Resuming it; nothing is submitted again.",
                    exc,
                    gateway.name,
                    found.task_id,
                    request.model,
                    request.seed,
                )
                return found
            self.log.warning(
                "The submit's answer was lost (%s) and %s's task list shows no %s task with seed %d since %s: it "
                "was not created. Submitting once more.",
                exc,
                gateway.name,
                request.model,
                request.seed,
                sent.isoformat(),
            )
            return None
        if self.settings.on_unknown_submit == "resubmit":
            self.log.warning("The submit's answer was lost (%s); submitting once more (on_unknown_submit).", exc)
            return None
        raise self._unknown_outcome(delivered, sent, exc)

    def _unknown_outcome(
        self, delivered: DeliveredRequest, sent: datetime, exc: SubmitOutcomeUnknownError
    ) -> AirflowFailException:
        # A retry would submit (and pay) again without knowing whether this one went through. The message is
        # the whole story, so the chain of transport errors behind it is not repeated.
        gateway = self.hook.gateway.name
        return AirflowFailException(
            f"{exc} Next: in {gateway}'s console, look for a {delivered.request.model} task created around "
            f"{sent.strftime('%Y-%m-%d %H:%M UTC')}. If there is none, clear this task to submit again. If there is "
            "one, it is being generated and billed: take its video from the console, or clear this task only if a "
            "second generation is acceptable. (on_unknown_submit='resubmit' submits again on its own, at the risk "
            "of paying twice.)"
        )
