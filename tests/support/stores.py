"""The three cloud object stores as the tests see them: each on its real protocol server (moto, fake-gcs-server,
Azurite), reached by the code under test through its Airflow connection and checked here through the server's
own client, not through that code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from tests.conftest import AWS_CONN_ID, AZURE_CONN_ID, BUCKET, GCS_CONN_ID, s3_client


@dataclass(frozen=True)
class CloudStore:
    name: str  # the test id: s3, gcs, azure
    scheme: str
    conn_id: str
    server: Any  # moto's endpoint URL, a LocalGcs or a LocalAzurite

    @classmethod
    def started(cls, name: str, request: Any) -> CloudStore:
        fixture, scheme, conn_id = {
            "s3": ("moto_server", "s3", AWS_CONN_ID),
            "gcs": ("gcs_server", "gs", GCS_CONN_ID),
            "azure": ("azurite_server", "abfs", AZURE_CONN_ID),
        }[name]
        return cls(name, scheme, conn_id, request.getfixturevalue(fixture))

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{BUCKET}/{key}"

    def path(self, key: str) -> ObjectStoragePath:
        return ObjectStoragePath(self.uri(key), conn_id=self.conn_id)

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` at ``key`` with the server's own client; its URI."""
        if self.name == "s3":
            s3_client(self.server).put_object(Bucket=BUCKET, Key=key, Body=data)
        elif self.name == "gcs":
            self.server.upload(BUCKET, key, data)
        else:
            self.server.service().get_blob_client(BUCKET, key).upload_blob(data, overwrite=True)
        return self.uri(key)

    def read(self, key: str) -> bytes:
        if self.name == "s3":
            return bytes(s3_client(self.server).get_object(Bucket=BUCKET, Key=key)["Body"].read())
        return bytes(self.server.read(BUCKET, key))

    def keys(self, prefix: str) -> list[str]:
        if self.name == "s3":
            listing = s3_client(self.server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
            return sorted(item["Key"] for item in listing.get("Contents", []))
        return list(self.server.names(BUCKET, prefix))

    def content_type(self, key: str) -> str:
        if self.name == "s3":
            return str(s3_client(self.server).head_object(Bucket=BUCKET, Key=key)["ContentType"])
        if self.name == "gcs":
            return str(self.server.object(BUCKET, key).json()["contentType"])
        properties = self.server.service().get_blob_client(BUCKET, key).get_blob_properties()
        return str(properties.content_settings.content_type)
