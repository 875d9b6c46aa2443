"""Land a finished generation in storage: the video, its last frame (best effort) and its manifest.

This is the one place the operators call the storage streamer, so a change in how bytes reach a
store (``outputs.store.store_stream``) is a change here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import ResultUnavailableError, SeedanceError
from airflow_provider_seedance.generation.log import Log
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskStatus, VideoRequest
from airflow_provider_seedance.observability import metrics
from airflow_provider_seedance.outputs.layout import last_frame_path, manifest_path
from airflow_provider_seedance.outputs.manifest import build_manifest
from airflow_provider_seedance.outputs.store import StoredObject, store_stream, write_json
from airflow_provider_seedance.pricing import actual


@dataclass(frozen=True)
class Provenance:
    """What the manifest says a video was made from: the request as sent and its inputs' identity."""

    request: VideoRequest
    request_sha256: str
    inputs: list[dict[str, Any]]
    estimated_cost: dict[str, Any] | None
    submitted_at: str | None
    unknown_resubmits: int = 0  # sent again after an unknown outcome (on_unknown_submit="resubmit")
    seedance_conn_id: str | None = None  # the connection that served it
    failover: list[dict[str, Any]] = field(default_factory=list)  # the connections passed over before it


def store_result(
    *,
    hook: SeedanceHook,
    status: TaskStatus,
    output: ObjectStoragePath,
    provenance: Provenance,
    airflow: dict[str, Any],
    log: Log,
) -> dict[str, Any]:
    """Stream the video (and last frame) of a finished task into storage, then write and return the manifest.

    Raises ``ResultUnavailableError`` when the video can no longer be fetched (its URL expired).
    """
    if status.video_expires_at is not None and status.video_expires_at <= datetime.now(UTC):
        raise ResultUnavailableError(
            f"the result URL expired at {status.video_expires_at.isoformat()}", gateway=hook.gateway.name
        )
    video = store_stream(lambda offset: hook.open_artifact(status, "video", offset), output)
    last_frame = _store_last_frame(hook, provenance.request, status, output, log)
    price = hook.connection.price(provenance.request.model)
    spent = actual(provenance.request, price, status.usage) if price else None
    manifest = build_manifest(
        request=provenance.request,
        gateway=hook.gateway.name,
        status=status,
        video=video,
        last_frame=last_frame,
        request_sha256=provenance.request_sha256,
        inputs=provenance.inputs,
        submitted_at=provenance.submitted_at,
        stored_at=datetime.now(UTC),
        airflow=airflow,
        cost={"estimate": provenance.estimated_cost, "actual": spent.as_dict() if spent else None},
        unknown_resubmits=provenance.unknown_resubmits,
        seedance_conn_id=provenance.seedance_conn_id,
        failover=provenance.failover,
    )
    if spent is not None:
        log.info("Actual cost: %.4f %s (%s).", spent.amount, spent.currency, spent.basis)
    write_json(manifest_path(output), manifest)
    metrics.stored(manifest, spent)
    return manifest


def _store_last_frame(
    hook: SeedanceHook,
    request: VideoRequest,
    status: TaskStatus,
    output: ObjectStoragePath,
    log: Log,
) -> StoredObject | None:
    """Best effort: a missing or unreachable last frame never costs the video."""
    if not request.return_last_frame:
        return None
    if not status.last_frame_url:
        log.warning("%s returned no last-frame URL for task %s.", hook.gateway.name, status.task_id)
        return None
    frame_path = last_frame_path(output)
    try:
        return store_stream(lambda offset: hook.open_artifact(status, "last_frame", offset), frame_path)
    except SeedanceError as exc:
        log.warning("Could not store the last frame of task %s: %s", status.task_id, exc)
        return None
