"""Azure Blob Storage and ADLS Gen2 (``abfs://container/name``) through the Azure provider's ``wasb`` connection,
which names the storage account (Airflow reads a ``container@account`` host as ``conn_id@host``).

adlfs reads; the provider's ``WasbHook`` writes, because adlfs commits every block as it goes (an
``autocommit=False`` file is visible before its commit), so a broken transfer would leave part of a video.
``upload_blob`` stages the stream's blocks and commits the block list only once the stream ended, in
bounded memory (4 MiB blocks, one at a time). A claim is one upload with ``If-None-Match: *``
(``overwrite=False``). Media inputs go to a gateway as SAS URLs for that one blob, read-only: signed with
the account key when the connection has one, else with a user delegation key (Azure AD credentials).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.stores.base import (
    MAX_SIGNED_URL_LIFETIME,
    ObjectStore,
    bucket_and_key,
    cannot_sign,
    capped,
    report_output,
    signing_conn_id,
    storage_uri,
)
from airflow_provider_seedance.stores.schemes import AZURE

if TYPE_CHECKING:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

# Error codes of Blob Storage, beyond refused credentials (any 401 or 403), that no retry of a write can change.
UNWRITABLE_AZURE_CODES = frozenset({"ContainerNotFound", "AccountIsDisabled"})
# A SAS is valid from a few minutes back, so a gateway whose clock runs behind ours can use it at once.
CLOCK_SKEW = timedelta(minutes=5)


class AzureStore(ObjectStore):
    def check(self, destination: ObjectStoragePath) -> None:
        _wasb_hook(_conn_id(destination))

    def upload(self, source: io.BufferedIOBase, destination: ObjectStoragePath, content_type: str) -> None:
        self._upload(destination, source, content_type, overwrite=True)
        report_output(destination)

    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._upload(destination, data, content_type, overwrite=False)
        except ResourceExistsError as exc:
            if getattr(exc, "error_code", None) != "BlobAlreadyExists":  # a container being deleted, a folder...
                raise
            return False  # another writer was first
        return True

    def denied(self, exc: BaseException) -> bool:
        return getattr(exc, "status_code", None) in (401, 403)

    def unwritable(self, exc: BaseException) -> bool:
        return self.denied(exc) or getattr(exc, "error_code", None) in UNWRITABLE_AZURE_CODES

    def signed_url(self, path: ObjectStoragePath, lifetime: timedelta) -> str:
        from azure.core.credentials import AzureSasCredential
        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        conn_id = signing_conn_id(path)
        service = _wasb_hook(conn_id).get_conn()
        container, blob = bucket_and_key(path)
        now = datetime.now(UTC)
        account_key = getattr(service.credential, "account_key", None)
        if account_key:
            expiry = now + capped(lifetime, AZURE.signed_url)
            signing: dict[str, Any] = {"account_key": account_key}
        elif service.credential is None or isinstance(service.credential, AzureSasCredential):
            raise cannot_sign(path, conn_id, "it connects with a SAS token or anonymously, and neither can sign")
        else:
            # A user delegation key lives at most 7 days from now: a little less, for a clock ahead of Azure's.
            expiry = now + min(capped(lifetime, AZURE.signed_url), MAX_SIGNED_URL_LIFETIME - CLOCK_SKEW)
            try:
                signing = {"user_delegation_key": service.get_user_delegation_key(now - CLOCK_SKEW, expiry)}
            except HttpResponseError as exc:
                if self.denied(exc):
                    raise cannot_sign(path, conn_id, f"Azure refused it a user delegation key ({exc.reason})") from None
                raise
        sas = generate_blob_sas(
            account_name=str(service.account_name),
            container_name=container,
            blob_name=blob,
            permission=BlobSasPermissions(read=True),
            start=now - CLOCK_SKEW,
            expiry=expiry,
            **signing,
        )
        return f"{service.get_blob_client(container, blob).url}?{sas}"

    def _upload(self, path: ObjectStoragePath, data: object, content_type: str, *, overwrite: bool) -> None:
        from azure.storage.blob import ContentSettings

        container, blob = bucket_and_key(path)
        _wasb_hook(_conn_id(path)).upload(
            container,
            blob,
            data,
            length=len(data) if isinstance(data, bytes) else None,
            overwrite=overwrite,
            content_settings=ContentSettings(content_type=content_type),
        )


def _conn_id(path: ObjectStoragePath) -> str:
    conn_id = storage_conn_id(path)
    if conn_id is None:
        raise ValueError(
            f"{storage_uri(path)} has no connection; abfs:// paths are written and signed through an Azure "
            "connection (conn_type wasb): give its id as output_conn_id (outputs) or media_conn_id (inputs)."
        )
    return conn_id


@lru_cache(maxsize=16)
def _wasb_hook(conn_id: str) -> WasbHook:
    """One hook (and its blob service client) per connection in a process."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    return WasbHook(wasb_conn_id=conn_id)
