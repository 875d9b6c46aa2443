"""Stream a finished generation into object storage in bounded memory, and read/write its manifest.

The libraries do the writing; this module only chooses which and how:

* ``s3://`` goes through the Amazon provider's ``S3Hook.load_file_obj`` (boto3's s3transfer): the
  connection's credentials and endpoint, its ``service_config.s3.transfer_config_args`` and
  ``service_config.s3.extra_args`` (SSE-KMS headers a bucket policy demands, requester pays,
  checksums, ...), parts uploaded concurrently, the hook's lineage naming the final object. A
  multipart upload that fails is aborted by s3transfer, and a small object is one PUT.
* Every other scheme is written through its fsspec file with ``autocommit=False``, committed only
  when every byte has arrived and discarded otherwise; lineage (``ObjectStoragePath.open``) names the
  final path. Local files are the exception: a hidden sibling renamed into place (see ``_write_local``).

The bytes come from a ``DownloadReader`` (see ``download.py``), which computes sha256 and size as they
pass, resumes a dropped download from the last byte and raises rather than end early: a broken
transfer never completes at the final path.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import mimetypes
import os
import shutil
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.hooks.downloads import ArtifactStream
from airflow_provider_seedance.outputs.download import MAX_RESUMES, DownloadReader, OpenStream
from airflow_provider_seedance.outputs.layout import partial_name

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
LOCAL_SCHEMES = frozenset({"file", "local"})
MIB = 1024 * 1024
# s3transfer reads a stream that cannot seek part by part into memory and holds at most
# ``max_in_memory_upload_chunks`` parts (boto3's default: 10) plus the one being read, so with 8 MiB
# parts and 5 in flight the upload holds at most (5 + 1) x 8 MiB = 48 MiB, plus the part being
# assembled. A connection's own ``transfer_config_args`` replaces these (and this bound) entirely.
S3_TRANSFER_CONFIG = {"multipart_threshold": 8 * MIB, "multipart_chunksize": 8 * MIB, "max_concurrency": 5}
S3_PARTS_IN_MEMORY = 5
COPY_BUFFER = 1 * MIB  # what other schemes are written in
# S3 error codes that no retry of a write can change.
UNWRITABLE_S3_CODES = frozenset(
    {"NoSuchBucket", "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)


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
    same name exactly one wins: S3's conditional write (``If-None-Match: *``) and a hard link on a local
    disk (``link`` fails when the name exists). Other schemes check, then write: two writers within that
    gap can both succeed, which is logged (and said in docs/guides/spend-control.md).
    """
    data = _json_text(document).encode()
    if destination.protocol in S3_SCHEMES:
        return _s3_create(data, destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.protocol in LOCAL_SCHEMES:
        return _local_create(data, destination)
    if destination.exists():
        return False
    log.warning(
        "%s:// offers no write-if-absent, so %s is written after a check: two runs writing it at the same "
        "moment could both go on.",
        destination.protocol,
        storage_uri(destination),
    )
    _upload(io.BytesIO(data), destination)
    return True


def unwritable(exc: BaseException) -> bool:
    """Whether a write to storage failed for a reason no retry changes (no such bucket or folder, no
    permission), rather than a store's passing trouble (a 500, a throttle)."""
    if isinstance(exc, FileNotFoundError | PermissionError | NotADirectoryError):
        return True
    return _s3_error_code(exc) in UNWRITABLE_S3_CODES


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
    """Raise ``ValueError`` now, before anything is paid for, when the destination's upload settings are unusable.

    For S3 that is the output connection's ``service_config.s3`` (the hook built here is the one the upload
    reuses); other schemes have nothing to check before writing.
    """
    if destination.protocol in S3_SCHEMES:
        _s3_hook(storage_conn_id(destination), _content_type(destination))


def _content_type(destination: ObjectStoragePath) -> str:
    guessed = mimetypes.guess_type(destination.name)[0] or "application/octet-stream"
    # Text is written by ``write_text``, as UTF-8; without a charset a browser would guess.
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _upload(source: io.BufferedIOBase, destination: ObjectStoragePath) -> None:
    """Everything ``source`` reads, at ``destination``; nothing there if reading it raises."""
    if destination.protocol in S3_SCHEMES:
        # From the plain path: before Airflow 3.2, ``bucket`` carries the ``conn_id@`` prefix.
        bucket, _, key = destination.path.partition("/")
        _s3_hook(storage_conn_id(destination), _content_type(destination)).load_file_obj(
            source, key=key, bucket_name=bucket, replace=True
        )
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.protocol in LOCAL_SCHEMES:
        _write_local(source, destination)
        return
    # One file's own transaction, not ``fs.transaction``: that is shared by every thread using the
    # (cached) filesystem, and would hold other writes back until this one ends.
    file = destination.open("wb", autocommit=False)
    try:
        with file:
            shutil.copyfileobj(source, file, COPY_BUFFER)
    except BaseException:
        file.discard()
        raise
    file.commit()


def _write_local(source: io.BufferedIOBase, destination: ObjectStoragePath) -> None:
    """A hidden sibling renamed into place, so the commit is atomic.

    fsspec keeps an uncommitted local file in the system temp folder and moves it on commit: a copy,
    not a rename, when that folder is on another device (a mounted output volume), so a worker killed
    meanwhile would leave part of a video at the final path, and a small /tmp would not hold it at all.
    The sibling is written through the filesystem directly, so lineage names only the final path.
    """
    with _hidden_sibling(destination.path) as temporary:
        with destination.fs.open(temporary, "wb") as file:
            shutil.copyfileobj(source, file, COPY_BUFFER)
        os.replace(temporary, destination.path)
    get_hook_lineage_collector().add_output_asset(context=destination, uri=storage_uri(destination))


def _s3_create(data: bytes, destination: ObjectStoragePath) -> bool:
    """One conditional PUT, with the output connection's upload settings (SSE headers a bucket policy demands)."""
    from botocore.exceptions import ClientError

    bucket, _, key = destination.path.partition("/")
    hook = _s3_hook(storage_conn_id(destination), _content_type(destination))
    try:
        hook.get_conn().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", **hook.extra_args)
    except ClientError as exc:
        # 412: the object exists; 409: another conditional write to the same key is in progress.
        if _s3_error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False
        raise
    return True


def _s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (empty for any other error)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _local_create(data: bytes, destination: ObjectStoragePath) -> bool:
    """Written whole to a hidden sibling, then hard-linked to the final name, which fails if the name exists."""
    with _hidden_sibling(destination.path) as temporary:
        with open(temporary, "wb") as file:
            file.write(data)
        try:
            os.link(temporary, destination.path)
        except FileExistsError:
            return False
    return True


@contextlib.contextmanager
def _hidden_sibling(final: str) -> Iterator[str]:
    """A hidden file beside ``final`` to write before it is put in place; gone afterwards, whatever happened."""
    temporary = partial_name(final)
    try:
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


@lru_cache(maxsize=16)
def _s3_hook(conn_id: str | None, content_type: str) -> S3Hook:
    """One S3Hook (and boto3 client) per connection and content type in a process.

    Building a hook and its client costs about 70 ms of CPU, as long as uploading 7 MB locally; a
    task that stores many files pays it once. The content type is fixed per hook because
    ``load_file_obj`` takes its upload arguments from the hook.
    """
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from boto3.s3.transfer import S3Transfer, TransferConfig

    configured = S3Hook(aws_conn_id=conn_id).service_config
    extra_args = _mapping(configured, "extra_args", S3Transfer.ALLOWED_UPLOAD_ARGS, conn_id)
    transfer = _mapping(configured, "transfer_config_args", inspect.signature(TransferConfig).parameters, conn_id)
    hook = S3Hook(
        aws_conn_id=conn_id,
        extra_args={**extra_args, "ContentType": content_type},
        # Passed on: older Amazon providers (9.4.0, the Airflow 3.0 lane's) read it only from here.
        transfer_config_args=dict(transfer or S3_TRANSFER_CONFIG),
    )
    if not transfer:
        hook.transfer_config.max_in_memory_upload_chunks = S3_PARTS_IN_MEMORY
    return hook


def _mapping(
    service_config: dict[str, Any], field: str, allowed: Collection[str], conn_id: str | None
) -> dict[str, Any]:
    """``service_config.s3.<field>`` of the output connection, checked: a JSON object with keys among ``allowed``
    (empty when unset)."""
    value = service_config.get(field) or {}
    unknown = sorted(set(value) - set(allowed)) if isinstance(value, dict) else None
    if unknown is None or unknown:
        found = f"is a {type(value).__name__}" if unknown is None else f"has {', '.join(unknown)}"
        raise ValueError(
            f"service_config.s3.{field} of connection {conn_id!r} {found}; it must be a JSON object with keys "
            f"among {', '.join(allowed)}. Fix the connection's extra."
        )
    return value
