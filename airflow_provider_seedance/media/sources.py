"""Read the media inputs a request takes from storage (or inline): size, sha256 and header facts.

Each object is streamed once to hash it (bounded memory) and opened once more for its header, which
the probe reads with a handful of small range reads; nothing is decoded. The sha256 is what makes a
rerun with the same inputs recognise its earlier result, whatever form the bytes were delivered in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import MediaProbeUnavailable, MediaSourceError, MediaUnreadableError, Problem
from airflow_provider_seedance.gateways.fields import shorten, shorten_inline
from airflow_provider_seedance.media.limits import MediaInfo, MediaLimits, input_problems, total_duration_problems
from airflow_provider_seedance.media.probe import probe
from airflow_provider_seedance.models import MediaInput, MediaKind, VideoRequest
from airflow_provider_seedance.stores.registry import store_for

log = logging.getLogger(__name__)

HASH_CHUNK_BYTES = 1024 * 1024
PROBE_BLOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class SourceMedia:
    """One input read from where it lives. ``path`` is set for storage inputs, ``data`` for inline ones."""

    input: MediaInput
    size: int
    sha256: str
    content_type: str
    info: MediaInfo | None
    path: ObjectStoragePath | None = None
    data: bytes | None = None

    @property
    def filename(self) -> str:
        if self.path is not None:
            return self.path.name
        extension = mimetypes.guess_extension(self.content_type) or ""
        return f"{self.sha256[:16]}{extension}"

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None  # a source holds its bytes (a data: URI) or names its object
        return self.path.read_bytes()

    def record(self, delivered_as: str | None) -> dict[str, Any]:
        """What the manifest and the claim keep: the source and its identity, never the delivered value."""
        return {
            "field": self.input.field,
            "source": shorten_inline(self.input.uri),
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "delivered_as": delivered_as,
        }


def read_sources(
    request: VideoRequest, conn_id: str | None, paths: Mapping[str, ObjectStoragePath] | None = None
) -> list[SourceMedia]:
    """Read every storage and inline input of ``request``; ``paths`` maps URIs to paths the user gave."""
    paths = paths or {}
    sources = []
    for item in request.media_inputs:
        if item.kind is MediaKind.STORAGE:
            path = paths.get(item.uri) or ObjectStoragePath(item.uri, conn_id=conn_id)
            sources.append(_from_storage(item, path))
        elif item.kind is MediaKind.DATA:
            sources.append(_from_data_uri(item))
    for source in sources:
        log.info(
            "%s: %s (%d bytes, sha256 %s).",
            source.input.field,
            shorten_inline(source.input.uri),
            source.size,
            source.sha256,
        )
    return sources


def source_problems(sources: Sequence[SourceMedia], limits: MediaLimits) -> list[Problem]:
    """Every documented limit an input breaks, per input and for each media type's total duration."""
    problems = [
        problem
        for source in sources
        for problem in input_problems(source.input.field, source.input.uri, source.size, source.info, limits)
    ]
    for media in ("video", "audio"):
        durations = [
            source.info.duration
            for source in sources
            if source.input.media == media and source.info is not None and source.info.duration is not None
        ]
        problems.extend(total_duration_problems(media, f"reference_{media}s", durations, limits))
    return problems


def media_digests(sources: Sequence[SourceMedia]) -> dict[str, str]:
    """Storage URI -> content sha256: what the request fingerprint adds for inputs read from storage."""
    return {source.input.uri: source.sha256 for source in sources if source.path is not None}


def _from_storage(item: MediaInput, path: ObjectStoragePath) -> SourceMedia:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        # Small blocks: s3fs reads ahead a whole block (5 MB by default) on every seek.
        with path.open("rb", block_size=PROBE_BLOCK_BYTES) as stream:
            info = _probe(item, stream)
    except FileNotFoundError:
        raise _unusable(item, "no such object; check the path and media_conn_id") from None
    except Exception as exc:  # a 401/403, each store in its own words; anything else is transient and propagates
        if isinstance(exc, PermissionError) or store_for(path).denied(exc):
            said = " ".join(str(exc).split())  # one line: stores answer in several
            raise _unusable(item, f"access denied ({said}); check media_conn_id's credentials") from None
        raise
    content_type = _content_type(path.name, info)
    return SourceMedia(item, size, digest.hexdigest(), content_type, info, path=path)


def _from_data_uri(item: MediaInput) -> SourceMedia:
    header, _, payload = item.uri.partition(",")
    if not header.lower().endswith(";base64"):
        raise _unusable(item, "a data: URI must be base64 (data:<type>;base64,...)")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _unusable(item, "the data: URI's base64 does not decode") from None
    info = _probe(item, io.BytesIO(data))
    declared = header[5:].split(";", 1)[0].lower()
    content_type = declared or _content_type("", info)
    return SourceMedia(item, len(data), hashlib.sha256(data).hexdigest(), content_type, info, data=data)


def _probe(item: MediaInput, stream: IO[bytes]) -> MediaInfo | None:
    try:
        return probe(item.media, stream)
    except MediaUnreadableError as exc:
        raise _unusable(item, f"is not a readable {item.media} file ({exc})") from None
    except MediaProbeUnavailable as exc:
        log.warning("%s: %s Its duration, size and frame rate are not checked here.", item.field, exc)
        return None


def _content_type(name: str, info: MediaInfo | None) -> str:
    guessed = mimetypes.guess_type(name)[0]
    if guessed is None and info is not None and info.format:
        guessed = mimetypes.guess_type(f"file.{info.format}")[0]
    return guessed or "application/octet-stream"


def _unusable(item: MediaInput, reason: str) -> MediaSourceError:
    return MediaSourceError(Problem(item.field, shorten(item.uri), reason))
