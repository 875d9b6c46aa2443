"""Claims: the record that lets any later attempt resume a generation that was paid for but not stored.

Right before a submit the operator reserves ``<output>.claim.json`` beside the output: the gateway, the
connection id, the request's fingerprint and the seed it is sent with, when it was sent and until when
its answer may still come, and the identity of each media input. The write succeeds only where no claim
exists (see ``outputs.store.create_json``), so of two runs producing the same output at once one submits
and the other waits for its task. The remote task id is filled in the moment the submit answers. A
retry, a cleared task or a re-triggered run that produces the same output from the same request finds
the claim and resumes that remote task instead of paying again; the manifest replaces the claim once the
video is stored. A reservation whose task id never came (the worker died mid-submit) means "outcome
unknown", never "submit again": ``generation.reservations`` decides what happens to it.

Why a file beside the output rather than Airflow's ``task_state_store``: it needs nothing from
Airflow (the state store exists only from 3.3), it outlives the task instance (a cleared task or a
new run of the DAG still finds it), it survives a wiped metadata database, and anyone listing the
bucket sees which generations are in flight. No library keeps this record for us: it is specific
to paid, asynchronous generations.

A claim holds the request as the manifest records it (inline ``data:`` payloads shortened), so that a
task other than the one that submitted (``SeedanceGenerationSensor``) can store the video with its full
manifest. It never holds a key, a signed URL or inline media.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.outputs.layout import claim_path
from airflow_provider_seedance.outputs.store import create_json, read_json, remove_quietly, storage_uri, write_json

log = logging.getLogger(__name__)

CLAIM_VERSION = 2
# Version 1 claims (before reservations) always carry a task id and read the same way.
READABLE_VERSIONS = (1, CLAIM_VERSION)
# The Airflow task instance's identity in ``Claim.airflow``, without the try.
TASK_INSTANCE_KEYS = ("dag_id", "run_id", "task_id", "map_index")


def same_task_instance(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two ``airflow`` identities (of claims, manifests or a running task) name one task instance."""
    return all(one.get(key) == other.get(key) for key in TASK_INSTANCE_KEYS)


@dataclass(frozen=True)
class Claim:
    """One generation being submitted (a reservation: no task id yet) or submitted, as written beside its output."""

    gateway: str
    seedance_conn_id: str
    # None while the submit has not answered: from a worker that died mid-submit, "outcome unknown".
    remote_task_id: str | None
    request_sha256: str
    submitted_at: str
    deadline: str
    airflow: dict[str, Any]
    # The media read from storage or inline: source, size, sha256, how it was delivered (never the value).
    inputs: list[dict[str, Any]] = field(default_factory=list)
    # What the generation was estimated to cost when it was submitted (amount, currency, basis).
    estimated_cost: dict[str, Any] | None = None
    # Re-seeding after output moderation: the seed this task was sent with instead of the request's, how
    # many seeds were tried before it, and the seed the next attempt is to use (the task failed).
    seed: int | None = None
    reseeds: int = 0
    next_seed: int | None = None
    # The request as sent (``manifest.request_record``: the seed included, inline payloads shortened); None in
    # claims written before it was recorded.
    request: dict[str, Any] | None = None
    # A reservation's submit may still answer until then (another run waits that long for its task id).
    answer_by: str | None = None
    # How many submits of this generation were sent again after one's outcome was unknown
    # (``on_unknown_submit="resubmit"``): each may have been paid for.
    unknown_resubmits: int = 0
    # The connections of the failover chain passed over before this one, and why (``generation.failover``).
    failover: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.remote_task_id == "":
            raise ValueError("a claim's remote task id is None (a reservation) or not empty")
        datetime.fromisoformat(self.deadline)  # a deadline that does not parse is a broken claim
        if self.remote_task_id is None:
            datetime.fromisoformat(self.answer_by or "")  # a reservation says until when it may answer

    def is_for(self, gateway: str, request_sha256: str) -> bool:
        """Whether this claim's task generates ``request_sha256`` on ``gateway`` (so resuming it is right)."""
        return self.gateway == gateway and self.request_sha256 == request_sha256

    @property
    def is_reservation(self) -> bool:
        """Reserved before the submit, whose answer (the task id) has not been recorded."""
        return self.remote_task_id is None

    @property
    def task_id(self) -> str:
        """The remote task id of a claim whose submit answered (a reservation has none: ``ValueError``)."""
        if self.remote_task_id is None:
            raise ValueError("a reservation has no remote task id yet")
        return self.remote_task_id

    @property
    def answer_by_at(self) -> datetime:
        """Until when a reservation's submit may still answer (a claim with a task id has answered)."""
        return datetime.fromisoformat(self.answer_by or self.submitted_at)

    def reserved_by(self, airflow: dict[str, Any]) -> bool:
        """Whether the task instance ``airflow`` names (any try) wrote this claim."""
        return same_task_instance(self.airflow, airflow)

    @property
    def deadline_at(self) -> datetime:
        return datetime.fromisoformat(self.deadline)

    @property
    def allowance(self) -> timedelta:
        """How long the generation was given, from its submit to its deadline (never zero)."""
        return max(self.deadline_at - datetime.fromisoformat(self.submitted_at), timedelta(seconds=1))

    def document(self) -> dict[str, Any]:
        return {"claim_version": CLAIM_VERSION, **asdict(self)}

    @classmethod
    def of_stored(cls, manifest: dict[str, Any], seedance_conn_id: str) -> Claim:
        """The claim a stored video's manifest stands for: its task and request, to resume without paying."""
        timings = manifest["timings"]
        return cls(
            gateway=manifest["gateway"],
            seedance_conn_id=seedance_conn_id,
            remote_task_id=manifest["remote_task_id"],
            request_sha256=manifest["request_sha256"],
            submitted_at=timings.get("submitted_at") or timings["stored_at"],
            deadline=timings["stored_at"],
            airflow=manifest.get("airflow") or {},
            inputs=manifest.get("inputs") or [],
            estimated_cost=(manifest.get("cost") or {}).get("estimate"),
            request=manifest.get("request"),
            failover=manifest.get("failover") or [],
        )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Claim | None:
        """The claim in ``document``; None when it is not one this version can use."""
        if document.get("claim_version") not in READABLE_VERSIONS:
            return None
        try:
            return cls(**{name: document[name] for name in cls.__dataclass_fields__ if name in document})
        except (KeyError, TypeError, ValueError):
            return None


def read_claim(output: ObjectStoragePath) -> Claim | None:
    """The claim beside ``output``, or None (none there, or unreadable: logged, then ignored)."""
    path = claim_path(output)
    document = read_json(path)
    if document is None:
        return None
    claim = Claim.from_document(document)
    if claim is None:
        log.warning("Ignoring %s: not a claim this provider version can read.", storage_uri(path))
    return claim


def write_claim(output: ObjectStoragePath, claim: Claim) -> None:
    """Write the claim so that it appears whole or not at all; errors propagate (the caller must stop)."""
    write_json(claim_path(output), claim.document())


def reserve_claim(output: ObjectStoragePath, claim: Claim) -> bool:
    """Write the claim only where none exists; False when another was there first. Errors propagate."""
    return create_json(claim_path(output), claim.document())


def remove_claim(output: ObjectStoragePath) -> None:
    """Best effort: a claim left behind only makes a later run resume (and re-store) a finished task."""
    remove_quietly(claim_path(output), "it is harmless but may be deleted by hand")
