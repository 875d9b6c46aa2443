"""Stream a finished generation into object storage in bounded memory, and read/write its manifest.

Bytes flow from the hook's download stream into an ``ObjectStoragePath`` chunk by chunk while their
sha256 and size are computed. S3 destinations use concurrent multipart upload (parts of
``part_size`` bytes, at most ``concurrency`` in flight, so memory stays below part_size x
(concurrency + 2)); other schemes are written to a temporary sibling and renamed. Either way a
broken transfer never leaves a partial object at the final path, and a dropped download resumes
from the last byte received.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.exceptions import IncompleteTransferError, TransportError
from airflow_provider_seedance.hooks.seedance import ArtifactStream

log = logging.getLogger(__name__)

S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_CONCURRENCY = 8
MAX_RESUMES = 5

OpenStream = Callable[[int], AbstractContextManager[ArtifactStream]]


@dataclass(frozen=True)
class StoredObject:
    """Where a file landed and what it was: ``uri`` has no credentials or connection id in it."""

    uri: str
    size: int
    sha256: str
    content_type: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "size": self.size, "sha256": self.sha256, "content_type": self.content_type}


def storage_uri(path: ObjectStoragePath) -> str:
    """``s3://bucket/key`` or ``file:///abs/path``: the path without the ``conn_id@`` Airflow may put in it."""
    return f"{path.protocol}://{path.path}" if path.protocol != "file" else f"file://{path.path}"


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


def beside(output: ObjectStoragePath, suffix: str) -> ObjectStoragePath:
    """A document kept next to ``output``: ``<output>.json``, ``<output>.claim.json`` and so on."""
    return output.with_name(f"{output.name}{suffix}")


def remove_quietly(path: ObjectStoragePath, why_harmless: str) -> None:
    """Best effort removal of a document whose leftover is harmless (logged, never raised)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except Exception as exc:  # any store's own error type
        log.warning("Could not remove %s (%s); %s.", storage_uri(path), exc, why_harmless)


def store_stream(
    open_stream: OpenStream,
    destination: ObjectStoragePath,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_resumes: int = MAX_RESUMES,
) -> StoredObject:
    """Copy the stream ``open_stream(offset)`` opens into ``destination``; resume after a dropped connection."""
    writer = _writer_for(destination, part_size, concurrency)
    digest = hashlib.sha256()
    written = 0
    resumes = 0
    content_type: str | None = None
    try:
        while True:
            try:
                with open_stream(written) as stream:
                    content_type = content_type or stream.content_type
                    skip = written - stream.offset  # a server that ignored our Range resends bytes we have
                    for chunk in stream.chunks:
                        if skip:
                            dropped = min(skip, len(chunk))
                            chunk, skip = chunk[dropped:], skip - dropped
                        if chunk:
                            writer.write(chunk)
                            digest.update(chunk)
                            written += len(chunk)
                    if stream.total_size is not None and written != stream.total_size:
                        raise IncompleteTransferError(
                            f"received {written} of {stream.total_size} bytes for {storage_uri(destination)}"
                        )
                break
            except (TransportError, IncompleteTransferError) as exc:
                resumes += 1
                if resumes > max_resumes:
                    raise
                log.warning(
                    "Download interrupted with %d bytes stored (%s); resuming from there (%d of %d).",
                    written,
                    exc,
                    resumes,
                    max_resumes,
                )
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    stored = StoredObject(storage_uri(destination), written, digest.hexdigest(), content_type)
    log.info("Stored %s (%d bytes, sha256 %s).", stored.uri, stored.size, stored.sha256)
    return stored


def write_json(destination: ObjectStoragePath, document: dict[str, Any]) -> None:
    """Write a small JSON document (the manifest) so that it appears whole or not at all."""
    writer = _writer_for(destination, DEFAULT_PART_SIZE, 1)
    try:
        writer.write((json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def read_json(source: ObjectStoragePath) -> dict[str, Any] | None:
    """The JSON document at ``source``; None when there is none or it cannot be read as JSON."""
    if not source.exists():
        return None
    try:
        document = json.loads(source.read_text())
    except ValueError as exc:
        log.warning("Ignoring %s: not valid JSON (%s).", storage_uri(source), exc)
        return None
    return document if isinstance(document, dict) else None


def _writer_for(destination: ObjectStoragePath, part_size: int, concurrency: int) -> _Writer:
    if destination.protocol in S3_SCHEMES:
        return _S3MultipartWriter(destination, part_size, concurrency)
    return _RenamingWriter(destination)


class _RenamingWriter:
    """Any fsspec scheme: write a hidden temporary sibling, then rename it into place."""

    def __init__(self, destination: ObjectStoragePath) -> None:
        self.destination = destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        self.temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
        self._file = self.temporary.open("wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.close()
        self.temporary.rename(self.destination)

    def abort(self) -> None:
        self._file.close()
        if self.temporary.exists():
            self.temporary.unlink()


class _S3MultipartWriter:
    """S3 through boto3 (the Amazon provider's S3Hook, so endpoint and credentials come from the
    connection): parts upload concurrently; the object appears only when the upload completes."""

    MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last

    def __init__(self, destination: ObjectStoragePath, part_size: int, concurrency: int) -> None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        self.client = S3Hook(aws_conn_id=storage_conn_id(destination)).get_conn()
        # From the plain path: before Airflow 3.2, ``bucket`` carries the ``conn_id@`` prefix.
        self.bucket, _, self.key = destination.path.partition("/")
        self.content_type = mimetypes.guess_type(destination.name)[0] or "application/octet-stream"
        self.part_size = max(part_size, self.MIN_PART_SIZE)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="seedance-s3-part")
        self._slots = threading.BoundedSemaphore(concurrency)
        self._parts: list[Future[dict[str, Any]]] = []
        self._upload_id: str | None = None

    def write(self, data: bytes) -> None:
        # Chunks are kept as they come and joined once per part: one copy per byte, not three.
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= self.part_size:
            joined = b"".join(self._pending)
            whole = len(joined) - len(joined) % self.part_size
            for start in range(0, whole, self.part_size):
                self._send_part(joined[start : start + self.part_size])
            rest = joined[whole:]
            self._pending = [rest] if rest else []
            self._pending_size = len(rest)

    def commit(self) -> None:
        try:
            rest = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            if self._upload_id is None:
                # Smaller than one part: a single PUT is both faster and atomic.
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=rest, ContentType=self.content_type)
                return
            if rest:
                self._send_part(rest)
            parts = [future.result() for future in self._parts]
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
            )
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload_id is not None:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            except Exception as exc:  # keep the original failure; this one only leaves parts to expire
                log.warning("Could not abort the multipart upload of s3://%s/%s: %s", self.bucket, self.key, exc)
            self._upload_id = None

    def _send_part(self, data: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        failed = next((future for future in self._parts if future.done() and future.exception()), None)
        if failed is not None:
            failed.result()  # raise the first part failure now instead of uploading more
        self._slots.acquire()  # bounds memory: at most `concurrency` parts held at once
        number = len(self._parts) + 1
        future = self._pool.submit(self._upload_part, number, data)
        future.add_done_callback(lambda _: self._slots.release())
        self._parts.append(future)

    def _upload_part(self, number: int, data: bytes) -> dict[str, Any]:
        response = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": response["ETag"]}
