"""The store that reads and writes a path, by its scheme (``schemes.py``): S3, Google Cloud Storage and Azure
Blob Storage on their providers' hooks and libraries, local files, and any other fsspec scheme through its
generic file."""

from __future__ import annotations

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.stores.azure import AzureStore
from airflow_provider_seedance.stores.base import ObjectStore
from airflow_provider_seedance.stores.gcs import GcsStore
from airflow_provider_seedance.stores.local import LocalStore
from airflow_provider_seedance.stores.s3 import S3Store
from airflow_provider_seedance.stores.schemes import AZURE, GCS, LOCAL_SCHEMES, S3

_STORES: dict[str, ObjectStore] = {
    **dict.fromkeys(S3.schemes, S3Store()),
    **dict.fromkeys(GCS.schemes, GcsStore()),
    **dict.fromkeys(AZURE.schemes, AzureStore()),
    **dict.fromkeys(LOCAL_SCHEMES, LocalStore()),
}
_ANY_FSSPEC_STORE = ObjectStore()


def store_for(path: ObjectStoragePath) -> ObjectStore:
    """The store that reads and writes ``path`` by its scheme."""
    return _STORES.get(path.protocol, _ANY_FSSPEC_STORE)
