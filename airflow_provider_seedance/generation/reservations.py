"""What a reservation without a task id means to the next producer of the same output.

Every submit is reserved first (``outputs.claims``), and its task id is filled in when it answers. A
reservation still without one was left by either:

- another run producing the same output right now, whose submit has not answered yet: this producer waits
  for its task id (until the reservation's ``answer_by``) and resumes that task, so two racing runs pay once;
- a producer that died mid-submit (an OOM kill, a node eviction) or whose answer was lost twice: an earlier
  try of this very task instance, or any producer past its ``answer_by``. The outcome is unknown, never
  "submit again": where the gateway's task list can tell (Ark: model and seed since the send), the task is
  resumed, or it provably was not created and this producer submits; elsewhere the generation fails for a
  person (``Submission.outcome_unknown``), unless ``on_unknown_submit="resubmit"`` accepts paying twice.

No library keeps such a record: it is specific to paid, asynchronous submits.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.generation.log import Log
from airflow_provider_seedance.generation.submission import Reserved, Submission
from airflow_provider_seedance.outputs.claims import Claim, read_claim, write_claim
from airflow_provider_seedance.outputs.layout import claim_path
from airflow_provider_seedance.outputs.store import storage_uri

# How often a producer that found another's live reservation reads it again for the task id.
RESERVATION_POLL_SECONDS = 1.0


def settle(
    reservation: Claim, me: dict[str, Any], *, output: ObjectStoragePath, submission: Submission, log: Log
) -> Claim | None:
    """Where an unanswered ``reservation`` of this request leaves this producer (``me``: its Airflow identity).

    Returns a claim with a task id (resume it), or a reservation to replace by submitting (its submit
    provably created nothing, or resubmitting is allowed and counted in ``unknown_resubmits``), or None
    when the reservation went away (its submit was refused, or the other producer already stored the video:
    the caller looks at the manifest). Raises ``OutcomeUnknown`` when nothing can tell whether its submit
    created a task.
    """
    claim: Claim | None = reservation
    if not reservation.reserved_by(me) and datetime.now(UTC) < reservation.answer_by_at:
        claim = wait_for_answer(reservation, output, log)
    if claim is None or not claim.is_reservation or superseded(reservation, claim):
        return claim  # answered, gone, or moved to another connection (the caller settles it there)
    reserved = Reserved.of(claim, storage_uri(claim_path(output)))
    why = (
        f"the submit sent at {claim.submitted_at} by {producer(claim)} never recorded its answer (its worker "
        "stopped mid-submit, or the answer was lost)"
    )
    found = submission.resolve_unknown(reserved, why)
    if found is not None:
        resumed = replace(claim, remote_task_id=found.task_id)
        write_claim(output, resumed)
        return resumed
    return replace(claim, unknown_resubmits=claim.unknown_resubmits + submission.resends(reserved))


def superseded(reservation: Claim, claim: Claim) -> bool:
    """Whether ``claim`` is no longer ``reservation``'s generation on the same connection: another request, or the
    same one reserved again through another connection (its producer's failover chain moved it on)."""
    same = (claim.gateway, claim.seedance_conn_id) == (reservation.gateway, reservation.seedance_conn_id)
    return not (same and claim.request_sha256 == reservation.request_sha256)


def wait_for_answer(reservation: Claim, output: ObjectStoragePath, log: Log) -> Claim | None:
    """Wait while another producer's submit may still answer (until ``answer_by``); the claim as it then stands
    (None: gone, since its submit was refused or its video is stored already)."""
    log.info(
        "%s is reserved by %s, whose submit was sent at %s; waiting until %s for its task id instead of "
        "submitting the same generation again.",
        storage_uri(claim_path(output)),
        producer(reservation),
        reservation.submitted_at,
        reservation.answer_by,
    )
    claim: Claim | None = reservation
    while claim is not None and claim.is_reservation and datetime.now(UTC) < claim.answer_by_at:
        time.sleep(RESERVATION_POLL_SECONDS)
        claim = read_claim(output)
    if claim is None:
        log.info("The reservation went away: its submit was refused, or its video is already stored.")
    elif not claim.is_reservation:
        log.info("%s answered: task %s.", producer(reservation), claim.remote_task_id)
    return claim


def producer(claim: Claim) -> str:
    """The task instance (and try) that wrote ``claim``, as a person finds it in Airflow."""
    who = claim.airflow
    map_index = who.get("map_index", -1)
    mapped = f"[{map_index}]" if map_index not in (-1, None) else ""
    return f"{who.get('dag_id')}.{who.get('task_id')}{mapped} (run {who.get('run_id')}, try {who.get('try_number')})"
