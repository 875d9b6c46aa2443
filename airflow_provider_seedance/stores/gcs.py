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

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.stores.base import ObjectStore, capped
from airflow_provider_seedance.stores.schemes import GCS

# The endpoint signed URLs point at: the connection's ``gcs.endpoint`` extra (the one gcsfs writes through),
# else Google's.
ENDPOINT_EXTRA = "gcs.endpoint"
PUBLIC_ENDPOINT = "https://storage.googleapis.com"
DEFAULT_CONN_ID = "google_cloud_default"


class GcsStore(ObjectStore):
    exclusive_create = True

    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        try:
            destination.fs.pipe_file(destination.path, data, mode="create", content_type=content_type)
        except FileExistsError:  # gcsfs's reading of 412 Precondition Failed
            return False
        return True

    def signed_url(self, path: ObjectStoragePath, lifetime: timedelta) -> str:
        from airflow.providers.google.cloud.hooks.gcs import GCSHook
        from google.auth.credentials import Signing
        from google.auth.transport.requests import Request

        hook = GCSHook(gcp_conn_id=storage_conn_id(path) or DEFAULT_CONN_ID)
        credentials = hook.get_credentials()
        signer: dict[str, Any] = {"credentials": credentials}
        if not isinstance(credentials, Signing):  # no private key here: IAM signs as the account
            credentials.refresh(Request())
            email = getattr(credentials, "service_account_email", None)  # compute and impersonated credentials have it
            signer = {"service_account_email": email, "access_token": credentials.token}
        bucket, _, name = path.path.partition("/")
        blob = hook.get_conn().bucket(bucket).blob(name)
        return str(
            blob.generate_signed_url(
                version="v4",
                method="GET",
                expiration=capped(lifetime, GCS.signed_url),
                api_access_endpoint=hook.extras.get(ENDPOINT_EXTRA) or PUBLIC_ENDPOINT,
                **signer,
            )
        )

    def make_parent(self, destination: ObjectStoragePath) -> None:
        """Nothing: GCS has no folders, and gcsfs's ``mkdir`` would create a missing bucket."""

    def open_options(self, content_type: str) -> dict[str, object]:
        return {"content_type": content_type}
