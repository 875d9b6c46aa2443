"""A local Azure Blob Storage server (Azurite) as the Azure provider reaches it: a ``wasb`` connection with
Azurite's development account, which signs SAS URLs for real (Azurite checks them). Used by the tests; handy
for your own DAG tests (``npm install azurite``; ``make install-azurite`` puts it in .venv/azurite).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_seedance.testing.processes import ProcessGroup, answers, free_port

# Azurite's one account and its key: public, the same in every Azurite (Microsoft's documentation prints it).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Where ``make install-azurite`` puts it, relative to the repository root; else ``azurite-blob`` on PATH.
AZURITE_IN_VENV = Path(".venv/azurite/node_modules/.bin/azurite-blob")


@dataclass(frozen=True)
class LocalAzurite:
    """A running Azurite blob service at ``blob_endpoint`` (``http://127.0.0.1:<port>/devstoreaccount1``)."""

    blob_endpoint: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def connection(self) -> str:
        """A ``wasb`` connection as an ``AIRFLOW_CONN_*`` value (read by adlfs and ``WasbHook`` alike)."""
        return json.dumps({"conn_type": "wasb", "extra": {"connection_string": self.connection_string}})

    def service(self) -> Any:
        """An ``azure.storage.blob.BlobServiceClient`` for the account (Any: loaded only when asked for)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name: str) -> None:
        self.service().create_container(name)

    def read(self, container: str, name: str) -> bytes:
        return bytes(self.service().get_blob_client(container, name).download_blob().readall())

    def names(self, container: str, prefix: str) -> list[str]:
        return sorted(blob.name for blob in self.service().get_container_client(container).list_blobs(prefix))


def azurite_command() -> str:
    """The ``azurite-blob`` to run: .venv/azurite's, else the one on PATH."""
    found = str(AZURITE_IN_VENV.resolve()) if AZURITE_IN_VENV.exists() else shutil.which("azurite-blob")
    if found is None:
        raise FileNotFoundError(
            f"azurite-blob is neither at {AZURITE_IN_VENV} nor on PATH; run `make install-azurite` "
            "(or `npm install -g azurite`)"
        )
    return found


@contextlib.contextmanager
def local_azurite() -> Iterator[LocalAzurite]:
    """Azurite's blob service on a free port, in memory, checking every request's signature."""
    port = free_port()
    argv = [azurite_command(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"]
    # The newest SDKs send API versions Azurite may not know yet; what they ask of it here, it serves.
    argv += ["--skipApiVersionCheck", "--disableTelemetry", "--silent"]
    blob_endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    with tempfile.TemporaryDirectory() as workspace:
        server = ProcessGroup(Path(workspace) / "logs")
        try:
            server.start("azurite", argv, os.environ, cwd=Path(workspace))
            server.wait_for(lambda: answers(blob_endpoint), "Azurite did not start", 30, interval=0.1, log_of="azurite")
            yield LocalAzurite(blob_endpoint)
        finally:
            server.stop()
