"""Stream a finished generation into object storage in bounded memory, and read/write its manifest.

How bytes are written is each store's own (``stores/``: S3 through the Amazon provider's s3transfer, GCS
through gcsfs, Azure Blob Storage through the Azure provider's ``WasbHook``, local files by rename); this
module decides what is written, typed how, and reads documents back.

The bytes come from a ``DownloadReader`` (see ``download.py``), which computes sha256 and size as they
pass, resumes a dropped download from the last byte and raises rather than end early: a broken
transfer never completes at the final path.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.hooks.downloads import ArtifactStream
from airflow_provider_seedance.outputs.download import MAX_RESUMES, DownloadReader, OpenStream
from airflow_provider_seedance.stores.base import COPY_BUFFER, storage_uri
from airflow_provider_seedance.stores.registry import store_for

__all__ = ["StoredObject", "storage_uri"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    """Where a file landed and what it was: ``uri`` has no credentials or connection id in it."""

    uri: str
    size: int
    sha256: str
    content_type: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "size": self.size, "sha256": self.sha256, "content_type": self.content_type}


def storage_path(path: str | ObjectStoragePath, conn_id: str | None) -> ObjectStoragePath:
    """``path`` as an ``ObjectStoragePath`` read and written through ``conn_id``; a path object keeps its own."""
    return path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path, conn_id=conn_id)


def remove_quietly(path: ObjectStoragePath, why_harmless: str) -> None:
    """Best effort removal of a document whose leftover is harmless (logged, never raised)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except Exception as exc:  # any store's own error type
        log.warning("Could not remove %s (%s); %s.", storage_uri(path), exc, why_harmless)


def store_stream(
    open_stream: OpenStream, destination: ObjectStoragePath, *, max_resumes: int = MAX_RESUMES
) -> StoredObject:
    """Copy the download ``open_stream(offset)`` opens into ``destination``; resume after a dropped connection."""
    uri = storage_uri(destination)
    with DownloadReader(open_stream, uri, max_resumes=max_resumes) as reader:
        _upload(reader, destination)
    stored = StoredObject(uri, reader.size, reader.sha256, reader.content_type)
    log.info("Stored %s (%d bytes, sha256 %s).", stored.uri, stored.size, stored.sha256)
    return stored


def copy_object(source: ObjectStoragePath, destination: ObjectStoragePath) -> StoredObject:
    """Copy a stored object (a video being published) to ``destination`` the way a download is stored: in
    bounded memory, hashed as it passes, resumed from the last byte when a read fails."""
    size = source.stat().st_size

    @contextlib.contextmanager
    def open_stream(offset: int) -> Iterator[ArtifactStream]:
        with source.open("rb") as file:
            file.seek(offset)
            chunks = iter(lambda: file.read(COPY_BUFFER), b"")
            yield ArtifactStream(chunks, offset, size, mimetypes.guess_type(source.name)[0])

    return store_stream(open_stream, destination)


def write_json(destination: ObjectStoragePath, document: dict[str, Any]) -> None:
    """Write a small JSON document (the manifest) so that it appears whole or not at all."""
    write_text(destination, _json_text(document))


def write_text(destination: ObjectStoragePath, text: str) -> None:
    """Write a small text document (a manifest, a report page) as UTF-8, whole or not at all.

    It is typed by its name (``report.html`` as ``text/html; charset=utf-8``, so a browser opening it
    from the bucket shows it) and, on S3, uploaded with the output connection's settings, as a video is.
    """
    _upload(io.BytesIO(text.encode()), destination)


def create_json(destination: ObjectStoragePath, document: dict[str, Any]) -> bool:
    """Write a small JSON document only where none exists yet; False when one was there first.

    The check and the write are one step where the store offers it, so of two writers racing for the
    same name exactly one wins: S3's ``If-None-Match: *``, GCS's ``ifGenerationMatch=0``, Azure's
    ``If-None-Match: *`` and a hard link on a local disk. Other schemes check, then write: two writers
    within that gap can both succeed, which is logged (and said in docs/guides/spend-control.md).

    A store's client retries a write whose answer was lost; when the first one had landed, the retry is
    refused as "exists". The document found then is this one (a claim holds its try and the moment it was
    made), so that is a success, not another writer's claim.
    """
    data = _json_text(document).encode()
    if store_for(destination).create(data, destination, _content_type(destination)):
        return True
    return bool(read_json(destination) == json.loads(data))


def unwritable(exc: BaseException, destination: ObjectStoragePath) -> bool:
    """Whether a write to ``destination`` failed for a reason no retry changes (no such bucket or folder, no
    permission), rather than a store's passing trouble (a 500, a throttle)."""
    if isinstance(exc, FileNotFoundError | PermissionError | NotADirectoryError):
        return True
    return store_for(destination).unwritable(exc)


def _json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def read_json(source: ObjectStoragePath) -> dict[str, Any] | None:
    """The JSON document at ``source``; None when there is none or it cannot be read as JSON.

    One whole-object read (``cat_file``), not a file opened after a listing: another writer may replace the
    document meanwhile (a claim getting its task id), and s3fs would then refuse an opened file's read of an
    object that changed since it looked (``FileExpired``). A single GET returns one version whole.
    """
    try:
        data = source.fs.cat_file(source.path)
    except FileNotFoundError:
        return None
    try:
        document = json.loads(data)
    except ValueError as exc:
        log.warning("Ignoring %s: not valid JSON (%s).", storage_uri(source), exc)
        return None
    return document if isinstance(document, dict) else None


def check_destination(destination: ObjectStoragePath) -> None:
    """Raise ``ValueError`` now, before anything is paid for, when the destination's settings are unusable
    (an S3 connection's ``service_config.s3``, an ``abfs://`` path without a connection)."""
    store_for(destination).check(destination)


def _content_type(destination: ObjectStoragePath) -> str:
    guessed = mimetypes.guess_type(destination.name)[0] or "application/octet-stream"
    # Text is written by ``write_text``, as UTF-8; without a charset a browser would guess.
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _upload(source: io.BufferedIOBase, destination: ObjectStoragePath) -> None:
    """Everything ``source`` reads, at ``destination``; nothing there if reading it raises."""
    store_for(destination).upload(source, destination, _content_type(destination))
