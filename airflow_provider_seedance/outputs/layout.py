"""Every file this provider writes beside a video, named here and nowhere else.

For an output ``s3://bucket/clips/boat.mp4``:

=================  ========================================  ==========================================
file               where                                     written by
=================  ========================================  ==========================================
video              ``clips/boat.mp4``                        ``generation.storing``
manifest           ``clips/boat.mp4.json``                   ``generation.storing`` (replaces the claim)
claim              ``clips/boat.mp4.claim.json``             ``generation.lifecycle``, while in flight
failure record     ``clips/boat.mp4.failure.json``           ``generation.failure_policy``
last frame         ``clips/boat.last_frame.png``             ``generation.storing``, when asked for
another take       ``clips/boat.take-2.mp4`` (and its own    ``operators.review``, when a reviewer asks
                   manifest, claim, last frame)              for one
partial file       ``clips/boat.mp4.<random>.partial``       ``outputs.store``, local stores only
asset registry     ``bucket/.seedance-assets/``              ``media.assets`` (top of the bucket)
=================  ========================================  ==========================================

A leaf module (no Airflow import at run time), so the report renderer can name manifests too.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

MANIFEST_SUFFIX = ".json"
CLAIM_SUFFIX = ".claim.json"
FAILURE_SUFFIX = ".failure.json"
LAST_FRAME_SUFFIX = ".last_frame.png"
PARTIAL_SUFFIX = ".partial"
TAKE_INFIX = ".take-"
ASSET_REGISTRY_FOLDER = ".seedance-assets"


def beside(output: ObjectStoragePath, suffix: str) -> ObjectStoragePath:
    """A document kept next to ``output``, named by its full name plus ``suffix``."""
    return output.with_name(f"{output.name}{suffix}")


def manifest_path(output: ObjectStoragePath) -> ObjectStoragePath:
    return beside(output, MANIFEST_SUFFIX)


def manifest_uri(video_uri: str) -> str:
    """The manifest of the video at ``video_uri``, as a URI."""
    return video_uri + MANIFEST_SUFFIX


def claim_path(output: ObjectStoragePath) -> ObjectStoragePath:
    return beside(output, CLAIM_SUFFIX)


def failure_path(output: ObjectStoragePath) -> ObjectStoragePath:
    return beside(output, FAILURE_SUFFIX)


def last_frame_path(output: ObjectStoragePath) -> ObjectStoragePath:
    """The last frame replaces the video's extension (``boat.last_frame.png``): it is an image, not a sidecar."""
    return output.with_name(f"{output.stem}{LAST_FRAME_SUFFIX}")


def take_path(first: ObjectStoragePath, take: int) -> ObjectStoragePath:
    """Where take ``take`` of the video first stored at ``first`` goes: beside it, never over it (take 1 is
    ``first`` itself)."""
    return first if take == 1 else first.with_name(f"{first.stem}{TAKE_INFIX}{take}{first.suffix}")


def partial_name(final: str) -> str:
    """A hidden sibling of ``final`` that a local write goes to before it is renamed into place."""
    return f"{final}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
