"""The manifest written beside every video, and the small result dict the operator returns (its XCom)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_seedance.gateways.fields import shorten_inline
from airflow_provider_seedance.models import TaskStatus, VideoRequest
from airflow_provider_seedance.outputs.layout import manifest_path
from airflow_provider_seedance.outputs.store import StoredObject, read_json, storage_uri

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

MANIFEST_VERSION = 1


def request_record(request: VideoRequest) -> dict[str, Any]:
    """The request as sent, minus unset fields; inline data: URIs are shortened (they can be megabytes)."""
    record = request.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    for name in ("first_frame", "last_frame"):
        if name in record:
            record[name] = shorten_inline(record[name])
    for name in ("reference_images", "reference_videos", "reference_audios"):
        if name in record:
            record[name] = [shorten_inline(uri) for uri in record[name]]
    return record


def request_fingerprint(request: VideoRequest, media_sha256: Mapping[str, str] | None = None) -> str:
    """A stable hash of everything that decides what is generated.

    ``media_sha256`` maps each input read from storage to its content's sha256: the same URI with new
    bytes is a new request, and how the bytes were delivered (a presigned URL that differs on every
    try, an upload) never changes the fingerprint.
    """
    document: dict[str, Any] = request.model_dump(mode="json")
    if media_sha256:
        document["media_sha256"] = dict(media_sha256)
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def build_manifest(
    *,
    request: VideoRequest,
    gateway: str,
    status: TaskStatus,
    video: StoredObject,
    last_frame: StoredObject | None,
    request_sha256: str,
    inputs: Sequence[Mapping[str, Any]],
    submitted_at: str | None,
    stored_at: datetime,
    airflow: dict[str, Any],
    cost: dict[str, Any] | None = None,
    unknown_resubmits: int = 0,
    seedance_conn_id: str | None = None,
    failover: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Everything needed to trust and trace a stored video; never any credential.

    ``inputs`` describe the media read from storage or inline (source, size, sha256, how delivered).
    ``unknown_resubmits`` counts submits sent again after one's outcome was unknown (each may be paid for).
    ``seedance_conn_id`` is the connection that served it; ``failover`` the ones passed over before it, and why
    (each refused in a way that proves nothing was created there, or its breaker was open).
    """
    raw = status.raw if isinstance(status.raw, dict) else {}
    seed = request.seed if request.seed is not None else raw.get("seed")
    return {
        "manifest_version": MANIFEST_VERSION,
        "video": video.as_dict(),
        "last_frame": last_frame.as_dict() if last_frame else None,
        "gateway": gateway,
        "seedance_conn_id": seedance_conn_id,
        "failover": [dict(each) for each in failover],
        "model": request.model,
        "remote_task_id": status.task_id,
        "seed": seed,
        "request": request_record(request),
        "request_sha256": request_sha256,
        "inputs": [dict(each) for each in inputs],
        "usage": status.usage,
        "cost": cost or {"estimate": None, "actual": None},
        "timings": {"submitted_at": submitted_at, "stored_at": stored_at.isoformat()},
        "unknown_resubmits": unknown_resubmits,
        "airflow": airflow,
    }


def failure_record(
    *, gateway: str, model: str, remote_task_id: str | None, cause: str, code: str | None, message: str, at: datetime
) -> dict[str, Any]:
    """Why a generation made no video, written beside its output so a night's summary can say (no secrets:
    the message is the gateway's text with URLs scrubbed)."""
    return {
        "gateway": gateway,
        "model": model,
        "remote_task_id": remote_task_id,
        "cause": cause,
        "code": code,
        "message": message,
        "failed_at": at.isoformat(),
    }


def result_from_manifest(manifest: dict[str, Any], manifest_uri: str, *, skipped: bool) -> dict[str, Any]:
    """The operator's return value: paths and identifiers only, small enough for any XCom backend."""
    last_frame = manifest.get("last_frame") or {}
    cost = manifest.get("cost") or {}
    known = cost.get("actual") or cost.get("estimate") or {}
    return {
        "video_path": manifest["video"]["uri"],
        "video_size": manifest["video"]["size"],
        "video_sha256": manifest["video"]["sha256"],
        "last_frame_path": last_frame.get("uri"),
        "manifest_path": manifest_uri,
        "remote_task_id": manifest["remote_task_id"],
        "gateway": manifest["gateway"],
        "seedance_conn_id": manifest.get("seedance_conn_id"),
        "failed_over_from": [each["seedance_conn_id"] for each in manifest.get("failover") or []],
        "model": manifest["model"],
        "seed": manifest.get("seed"),
        "usage": manifest.get("usage"),
        "estimated_cost": (cost.get("estimate") or {}).get("amount"),
        "actual_cost": (cost.get("actual") or {}).get("amount"),
        "currency": known.get("currency"),
        "skipped": skipped,
        # The costs above are the video's; only the run that made it paid them (a sum over results adds paid ones).
        "paid": not skipped,
    }


def stored_manifest(output: ObjectStoragePath) -> dict[str, Any] | None:
    """The manifest of the video stored at ``output``; None unless both are there."""
    manifest = read_json(manifest_path(output))
    return manifest if manifest is not None and output.exists() else None


def stored_result(output: ObjectStoragePath, *, skipped: bool = True) -> dict[str, Any] | None:
    """The operator's result for the video stored at ``output`` (from its manifest); None when there is none."""
    manifest = stored_manifest(output)
    return (
        None
        if manifest is None
        else result_from_manifest(manifest, storage_uri(manifest_path(output)), skipped=skipped)
    )
