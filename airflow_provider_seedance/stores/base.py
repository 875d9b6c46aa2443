"""What every object store does the same way through fsspec, and what each cloud store replaces.

``ObjectStore`` is the fallback for any scheme Airflow's object storage reads (``memory://``, ``sftp://``...):
a write is the file's own transaction (``autocommit=False``), committed only when every byte arrived;
create-if-absent is a check, then a write. The cloud stores (``s3.py``, ``gcs.py``, ``azure.py``) and local
files (``local.py``) replace what their own library does better: conditional creates, signed GET URLs,
the connection's upload settings.
"""

from __future__ import annotations

import io
import logging
import shutil
from datetime import timedelta

from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.exceptions import MediaDeliveryError, Problem

log = logging.getLogger(__name__)

MIB = 1024 * 1024
COPY_BUFFER = 1 * MIB  # what a stream is copied in where the store's library does not choose
# Signed GET URLs live at most 7 days: SigV4 (S3), V4 signing (GCS), and SAS of a user delegation key (Azure).
MAX_SIGNED_URL_LIFETIME = timedelta(days=7)


def storage_uri(path: ObjectStoragePath) -> str:
    """``s3://bucket/key`` or ``file:///abs/path``: the path without the ``conn_id@`` Airflow may put in it."""
    return f"{path.protocol}://{path.path}" if path.protocol != "file" else f"file://{path.path}"


class ObjectStore:
    """Any fsspec store Airflow's object storage reads."""

    def check(self, destination: ObjectStoragePath) -> None:
        """Raise ``ValueError`` when the destination's settings cannot work; called before anything is paid."""

    def upload(self, source: io.BufferedIOBase, destination: ObjectStoragePath, content_type: str) -> None:
        """Everything ``source`` reads, at ``destination``; nothing there if reading it raises."""
        self._write(source, destination, content_type)
        report_output(destination)

    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        """Write ``data`` only where nothing exists yet; False when something was there first."""
        self.make_parent(destination)
        if destination.exists():
            return False
        log.warning(
            "%s:// offers no write-if-absent, so %s is written after a check: two runs writing it at the same "
            "moment could both go on.",
            destination.protocol,
            storage_uri(destination),
        )
        self._write(io.BytesIO(data), destination, content_type)  # a claim: no lineage output
        return True

    def denied(self, exc: BaseException) -> bool:
        """Whether the store refused the connection's credentials (its own error for a 401 or 403; fsspec's
        ``PermissionError`` is judged by the caller)."""
        return False

    def unwritable(self, exc: BaseException) -> bool:
        """Whether a write failed for a reason of this store that no retry changes: refused credentials, a
        missing bucket (beyond ``FileNotFoundError`` / ``PermissionError``, which the caller judges)."""
        return self.denied(exc)

    def signed_url(self, path: ObjectStoragePath, lifetime: timedelta) -> str:
        """A GET URL for ``path`` that works without credentials until ``lifetime`` has passed."""
        raise MediaDeliveryError(
            Problem("media", storage_uri(path), f"{path.protocol}:// objects cannot be handed out as signed URLs")
        )

    def _write(self, source: io.BufferedIOBase, destination: ObjectStoragePath, content_type: str) -> None:
        self.make_parent(destination)
        # One file's own transaction, not ``fs.transaction``: that is shared by every thread using the
        # (cached) filesystem, and would hold other writes back until this one ends. Through the filesystem,
        # not ``ObjectStoragePath.open``, whose lineage would name the path with its ``conn_id@``.
        file = destination.fs.open(destination.path, "wb", autocommit=False, **self.open_options(content_type))
        try:
            with file:
                shutil.copyfileobj(source, file, COPY_BUFFER)
        except BaseException:
            file.discard()
            raise
        file.commit()

    def make_parent(self, destination: ObjectStoragePath) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)

    def open_options(self, content_type: str) -> dict[str, object]:
        """What the store's fsspec file takes to set the object's type (nothing for a plain file system)."""
        return {}


def bucket_and_key(path: ObjectStoragePath) -> tuple[str, str]:
    """The bucket (or container) and the object's name, from the plain path: before Airflow 3.2 the path's
    ``bucket`` carries the ``conn_id@`` prefix."""
    bucket, _, key = path.path.partition("/")
    return bucket, key


def cannot_sign(path: ObjectStoragePath, conn_id: str | None, why: str) -> MediaDeliveryError:
    """The error for a media connection that cannot sign a GET URL for ``path``: no retry changes it."""
    return MediaDeliveryError(
        Problem(
            "media_conn_id",
            conn_id,
            f"cannot sign a URL for {storage_uri(path)}: {why}; give media_conn_id credentials that can sign (see "
            "docs/guides/your-cloud.md), or put 'upload' or 'inline' before 'presigned_url' in media_delivery "
            "where the gateway takes them",
        )
    )


def signing_conn_id(path: ObjectStoragePath) -> str:
    """The connection that signs URLs for ``path``; without one, nothing names the credentials to sign with."""
    conn_id = storage_conn_id(path)
    if conn_id is None:
        raise cannot_sign(path, conn_id, "no connection names the credentials to sign with")
    return conn_id


def report_output(destination: ObjectStoragePath) -> None:
    """Tell Airflow's hook lineage that the task wrote ``destination`` (by its plain URI)."""
    get_hook_lineage_collector().add_output_asset(context=destination, uri=storage_uri(destination))


def capped(lifetime: timedelta, kind: str) -> timedelta:
    """``lifetime``, or the longest a signed URL may live (logged when the generation needs longer)."""
    if lifetime <= MAX_SIGNED_URL_LIFETIME:
        return lifetime
    log.warning("A %s lives at most 7 days; %s is longer than that.", kind, lifetime)
    return MAX_SIGNED_URL_LIFETIME
