"""S3 through the Amazon provider's ``S3Hook`` (boto3's s3transfer), with the output connection's settings.

The connection's credentials and endpoint, its ``service_config.s3.transfer_config_args`` and
``service_config.s3.extra_args`` (SSE-KMS headers a bucket policy demands, requester pays, checksums...)
apply to every write; parts are uploaded concurrently and the hook's lineage names the final object. A
multipart upload that fails is aborted by s3transfer, and a small object is one PUT. Claims are one
conditional PUT (``If-None-Match: *``).
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Collection
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.exceptions import MediaDeliveryError, Problem
from airflow_provider_seedance.stores.base import MIB, ObjectStore, bucket_and_key, capped, storage_uri
from airflow_provider_seedance.stores.schemes import S3

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

# s3transfer reads a stream that cannot seek part by part into memory and holds at most
# ``max_in_memory_upload_chunks`` parts (boto3's default: 10) plus the one being read, so with 8 MiB
# parts and 5 in flight the upload holds at most (5 + 1) x 8 MiB = 48 MiB, plus the part being
# assembled. A connection's own ``transfer_config_args`` replaces these (and this bound) entirely.
S3_TRANSFER_CONFIG = {"multipart_threshold": 8 * MIB, "multipart_chunksize": 8 * MIB, "max_concurrency": 5}
S3_PARTS_IN_MEMORY = 5
# S3 error codes of refused credentials; with a missing bucket, what no retry of a write can change.
DENIED_S3_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


class S3Store(ObjectStore):
    def check(self, destination: ObjectStoragePath) -> None:
        """The output connection's ``service_config.s3`` (the hook built here is the one the upload reuses)."""
        _s3_hook(storage_conn_id(destination), "application/octet-stream")

    def upload(self, source: io.BufferedIOBase, destination: ObjectStoragePath, content_type: str) -> None:
        bucket, key = bucket_and_key(destination)
        _s3_hook(storage_conn_id(destination), content_type).load_file_obj(
            source, key=key, bucket_name=bucket, replace=True
        )

    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        """One conditional PUT, with the output connection's upload settings (SSE headers a bucket policy demands)."""
        from botocore.exceptions import ClientError

        bucket, key = bucket_and_key(destination)
        hook = _s3_hook(storage_conn_id(destination), content_type)
        try:
            hook.get_conn().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", **hook.extra_args)
        except ClientError as exc:
            # 412: the object exists; 409: another conditional write to the same key is in progress.
            if _s3_error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def denied(self, exc: BaseException) -> bool:
        return _s3_error_code(exc) in DENIED_S3_CODES

    def unwritable(self, exc: BaseException) -> bool:
        return self.denied(exc) or _s3_error_code(exc) == "NoSuchBucket"

    def signed_url(self, path: ObjectStoragePath, lifetime: timedelta) -> str:
        """A SigV4 GET URL signed with the path's connection."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, key = bucket_and_key(path)
        url = S3Hook(aws_conn_id=storage_conn_id(path)).generate_presigned_url(
            client_method="get_object",
            params={"Bucket": bucket, "Key": key},
            expires_in=int(capped(lifetime, S3.signed_url).total_seconds()),
        )
        if not url:
            raise MediaDeliveryError(
                Problem("media", storage_uri(path), "could not be presigned; check the media connection's credentials"),
                retryable=True,
            )
        return url


def _s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (empty for any other error)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


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
