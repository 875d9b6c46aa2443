"""The reviewer's three answers and the record each one leaves in the reviewed take's manifest.

A review record says who answered, when, what and why (the note); it is added to the manifest of the take it
judged (``review``), so the manifest alone tells whether a video was approved, and the result passed down the
DAG keeps every take's record (``history``), so the run says what each take cost and why it was not enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.outputs.layout import manifest_path
from airflow_provider_seedance.outputs.store import read_json, storage_uri, write_json

APPROVE = "Approve"
REJECT = "Reject"
ANOTHER_TAKE = "Another take"
# What the record, the result and the logs call each answer.
ANSWER_KEYS = {APPROVE: "approve", REJECT: "reject", ANOTHER_TAKE: "another_take"}
NOTE = "note"  # the form field for the reject reason or what the next take should change


def options_for(take: int, max_takes: int) -> list[str]:
    """What the reviewer of take ``take`` may answer: no other take once ``max_takes`` were made."""
    return [APPROVE, REJECT, *([ANOTHER_TAKE] if take < max_takes else [])]


def review_record(
    *,
    take: int,
    chosen: str,
    note: str | None,
    responded_by: Mapping[str, Any] | None,
    responded_at: datetime | str,
    timed_out: bool,
) -> dict[str, Any]:
    """The record of one answer: ``by`` is None when the timeout's default answered."""
    at = responded_at.isoformat() if isinstance(responded_at, datetime) else str(responded_at)
    return {
        "take": take,
        "answer": ANSWER_KEYS[chosen],
        "note": (note or "").strip() or None,
        "by": dict(responded_by) if responded_by else None,
        "at": at,
        "timed_out": timed_out,
    }


def record_in_manifest(video: ObjectStoragePath, record: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``record`` to the manifest of the take stored at ``video`` (as ``review``) and return the manifest.

    Writing the same record again (a retried task) changes nothing. Raises ``FileNotFoundError`` when the take
    has no manifest: a review of a video that is not stored would record nothing anyone can find.
    """
    where = manifest_path(video)
    manifest = read_json(where)
    if manifest is None:
        raise FileNotFoundError(f"no manifest at {storage_uri(where)}")
    manifest["review"] = dict(record)
    write_json(where, manifest)
    return manifest
