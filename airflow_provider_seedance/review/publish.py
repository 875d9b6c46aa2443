"""Publishing an approved take: its video, last frame and manifest copied to the publish location.

The published video keeps the name of the item's first take (``published/boat.mp4`` whichever take was
approved), so downstream readers find one video per item. Its manifest is the take's, with the review and a
``published`` section; the copy is checked against the take's sha256 before the manifest is written, so a
published manifest always describes the bytes beside it. Publishing again (a retry) writes the same files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import SeedanceError
from airflow_provider_seedance.outputs.layout import last_frame_path, manifest_path, manifest_uri
from airflow_provider_seedance.outputs.store import copy_object, read_json, storage_uri, write_json


def publish_take(
    *, take_video: ObjectStoragePath, first_video: ObjectStoragePath, publish_root: ObjectStoragePath
) -> dict[str, Any]:
    """Copy the take stored at ``take_video`` under ``publish_root``; return what the publish task returns."""
    manifest = read_json(manifest_path(take_video))
    if manifest is None:
        raise SeedanceError(f"the approved take {storage_uri(take_video)} has no manifest")
    destination = publish_root / first_video.name
    stored = copy_object(take_video, destination)
    if stored.sha256 != manifest["video"]["sha256"]:
        raise SeedanceError(
            f"the copy at {stored.uri} has sha256 {stored.sha256}, the take's manifest says "
            f"{manifest['video']['sha256']}; the take changed since it was stored"
        )
    published: dict[str, Any] = {"from": storage_uri(take_video), "at": datetime.now(UTC).isoformat()}
    if manifest.get("last_frame"):
        published["last_frame"] = copy_object(last_frame_path(take_video), last_frame_path(destination)).uri
    write_json(manifest_path(destination), {**manifest, "video": stored.as_dict(), "published": published})
    return {
        "video_path": stored.uri,
        "video_sha256": stored.sha256,
        "video_size": stored.size,
        "manifest_path": manifest_uri(stored.uri),
        "published_from": published["from"],
        "review": manifest.get("review"),
    }
