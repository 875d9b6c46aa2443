"""Google Cloud Storage through the Google provider's connection: gcsfs writes, ``GCSHook`` signs.

A video is one resumable upload (``autocommit=False``) finalised only once every byte arrived and cancelled
otherwise, so a broken transfer never leaves an object. A claim is one upload with ``ifGenerationMatch=0``
(gcsfs's ``mode="create"``): of two writers, the server lets exactly one create it. Media inputs go to a
gateway as V4 signed URLs made with the connection's credentials: a service account key signs locally;
other credentials (Composer's, Workload Identity) sign through the IAM ``signBlob`` call as that account.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import MediaDeliveryError, Problem
from airflow_provider_seedance.stores.base import (
    ObjectStore,
    bucket_and_key,
    cannot_sign,
    capped,
    signing_conn_id,
    storage_uri,
)
from airflow_provider_seedance.stores.schemes import GCS

# The endpoint signed URLs point at: the connection's ``gcs.endpoint`` extra (the one gcsfs writes through),
# else Google's.
ENDPOINT_EXTRA = "gcs.endpoint"
PUBLIC_ENDPOINT = "https://storage.googleapis.com"


class GcsStore(ObjectStore):
    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        try:
            destination.fs.pipe_file(destination.path, data, mode="create", content_type=content_type)
        except FileExistsError:  # gcsfs's reading of 412 Precondition Failed
            return False
        return True

    def denied(self, exc: BaseException) -> bool:
        # gcsfs raises a plain OSError for a 403 and its HttpError (``code``) for a 401.
        forbidden = isinstance(exc, OSError) and str(exc).startswith("Forbidden:")
        return forbidden or getattr(exc, "code", None) in (401, 403)

    def signed_url(self, path: ObjectStoragePath, lifetime: timedelta) -> str:
        from airflow.providers.google.cloud.hooks.gcs import GCSHook
        from google.auth.credentials import Signing
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        conn_id = signing_conn_id(path)
        hook = GCSHook(gcp_conn_id=conn_id)
        credentials = hook.get_credentials()
        signer: dict[str, Any] = {"credentials": credentials}
        try:
            if not isinstance(credentials, Signing):  # no private key here: IAM signs as the account
                email = getattr(credentials, "service_account_email", None)  # compute, impersonated credentials
                if not email:
                    raise cannot_sign(path, conn_id, "its credentials hold no key and belong to no service account")
                credentials.refresh(Request())
                signer = {"service_account_email": email, "access_token": credentials.token}
            bucket, name = bucket_and_key(path)
            url = (
                hook.get_conn()
                .bucket(bucket)
                .blob(name)
                .generate_signed_url(
                    version="v4",
                    method="GET",
                    expiration=capped(lifetime, GCS.signed_url),
                    api_access_endpoint=hook.extras.get(ENDPOINT_EXTRA) or PUBLIC_ENDPOINT,
                    **signer,
                )
            )
        except GoogleAuthError as exc:  # the token or IAM's signBlob refused or failed: a retry may get through
            raise MediaDeliveryError(
                Problem("media_conn_id", conn_id, f"could not sign a URL for {storage_uri(path)} ({exc})"),
                retryable=True,
            ) from None
        return str(url)

    def make_parent(self, destination: ObjectStoragePath) -> None:
        """Nothing: GCS has no folders, and gcsfs's ``mkdir`` would create a missing bucket."""

    def open_options(self, content_type: str) -> dict[str, object]:
        return {"content_type": content_type}
