"""How a generation that made no video fails: by what a retry can change.

Output moderation can pass with another seed (when the user allows reseeding); a refused input, a real
person or an invalid request never pass by retrying; anything else may. A timed-out task is cancelled
where the gateway can, so that a retry submits anew instead of resuming it. The claim beside the
output stays where a retry should resume, and goes where a retry should submit anew. Failed tasks are
not billed by the gateways.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import AirflowException, AirflowFailException
from airflow_provider_seedance.exceptions import SeedanceError
from airflow_provider_seedance.gateways.failures import FailureCause, failure_cause
from airflow_provider_seedance.generation.log import Log
from airflow_provider_seedance.generation.settings import GenerationSettings
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskStatus, VideoRequest
from airflow_provider_seedance.observability import metrics
from airflow_provider_seedance.outputs.claims import read_claim, remove_claim, write_claim
from airflow_provider_seedance.outputs.layout import failure_path
from airflow_provider_seedance.outputs.manifest import failure_record
from airflow_provider_seedance.outputs.store import storage_uri, write_json
from airflow_provider_seedance.triggers.events import SeedanceEvent

# How many other seeds a generation that failed output moderation may try (reseed_on_output_moderation).
MAX_RESEEDS = 2
# The cause a submit of unknown outcome is recorded and counted under (no task id is known for it).
OUTCOME_UNKNOWN = "outcome_unknown"
# Why a generation ended without a video, and what happens next.
AFTER_NO_VIDEO = {
    "failed": "Next: a retry submits it again; if it fails the same way, change what the message names.",
    "cancelled": "Next: a retry submits it again, unless it was cancelled on purpose (then mark the task skipped).",
    "expired": "Next: a retry submits it again; the gateway dropped it unstarted, so its queue was full or slow.",
    "timeout": "Next: a retry resumes it, or submits anew if it was cancelled; raise generation_timeout if "
    "this gateway is often this slow.",
}


def after_failure(
    hook: SeedanceHook,
    settings: GenerationSettings,
    output: ObjectStoragePath,
    event: SeedanceEvent,
    request: VideoRequest,
    log: Log,
) -> None:
    """Raise for a failed task: ``AirflowException`` when a retry may pass it, ``AirflowFailException``
    when none can; ``<output>.failure.json`` records the cause either way."""
    cause = failure_cause(event.error_code, event.message)
    metrics.failed(event.gateway, request.model, cause)
    what = f"Seedance generation did not produce a video: {event.message} ({event.reason})"
    _record_failure(output, event, request, cause, log)
    seed_range = hook.gateway.spec_for(request.model).seed_range
    reseed = cause is FailureCause.OUTPUT_MODERATION and settings.reseed_on_output_moderation
    if reseed and seed_range is None:
        remove_claim(output)
        raise AirflowException(
            f"{what}. Output moderation can pass on another try: this model takes no seed, so the next retry "
            "submits it again and the gateway picks one."
        )
    if reseed and seed_range:
        claim = read_claim(output)
        tried = claim.reseeds if claim is not None else 0
        if claim is not None and tried < MAX_RESEEDS:
            next_seed = derived_seed(f"{claim.request_sha256}:{storage_uri(output)}", tried + 1, seed_range)
            write_claim(output, replace(claim, next_seed=next_seed))
            raise AirflowException(
                f"{what}. Output moderation can pass with another seed: the next retry submits it with seed "
                f"{next_seed} (reseed {tried + 1} of {MAX_RESEEDS}; the task needs retries for it)."
            )
        remove_claim(output)
        raise AirflowFailException(
            f"{what}. {tried + 1} seeds failed output moderation. Next: change the prompt or the inputs, then "
            "clear the task."
        )
    remove_claim(output)
    if cause is FailureCause.OUTPUT_MODERATION:
        raise AirflowFailException(
            f"{what}. Output moderation can pass with another seed. Next: set "
            "reseed_on_output_moderation=True (with retries) to try others, or change the prompt, then clear "
            "the task."
        )
    if cause is FailureCause.INPUT_REFUSED:
        raise AirflowFailException(
            f"{what}. A retry cannot pass it. Next: change the input or prompt it names, then clear the task."
        )
    if cause is FailureCause.INVALID_REQUEST:
        raise AirflowFailException(f"{what}. Next: fix what it names, then clear the task.")
    raise AirflowException(f"{what}. {AFTER_NO_VIDEO['failed']}")


def cancel_after_timeout(hook: SeedanceHook, output: ObjectStoragePath, status: TaskStatus, log: Log) -> None:
    """Cancel where the gateway can (then a retry submits anew); otherwise a retry resumes the same task."""
    gateway = hook.gateway
    if not gateway.can_cancel(status.state):
        log.warning(
            "Task %s is %s and cannot be cancelled on %s; a retry will resume it.",
            status.task_id,
            status.state.value,
            gateway.name,
        )
        return
    try:
        hook.cancel(status.task_id)
    except SeedanceError as exc:
        log.warning("Could not cancel task %s: %s; a retry will resume it.", status.task_id, exc)
        return
    remove_claim(output)


def derived_seed(identity: str, reseed: int, seed_range: tuple[int, int]) -> int:
    """A seed derived from a generation's identity and the reseed count, within what the model takes."""
    low, high = max(seed_range[0], 0), seed_range[1]  # -1 means "random": a derived seed names one
    digest = hashlib.sha256(f"{identity}:reseed:{reseed}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _record_failure(
    output: ObjectStoragePath, event: SeedanceEvent, request: VideoRequest, cause: FailureCause, log: Log
) -> None:
    record = failure_record(
        gateway=event.gateway,
        model=request.model,
        remote_task_id=event.remote_task_id,
        cause=cause.value,
        code=event.error_code,
        message=event.message,
        at=datetime.now(UTC),
    )
    write_failure_record(output, record, log)


def write_failure_record(output: ObjectStoragePath, record: dict[str, Any], log: Log) -> None:
    """Best effort: ``<output>.failure.json`` tells a night's summary why this output is missing."""
    try:
        write_json(failure_path(output), record)
    except Exception as exc:  # any store's error: the task fails with the same text either way
        log.warning("Could not write %s (%s).", storage_uri(failure_path(output)), exc)
