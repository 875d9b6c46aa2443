"""Streaming into object storage over real HTTP: S3 (moto's server mode), GCS (fake-gcs-server), Azure Blob Storage
(Azurite) and file://."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import IncompleteTransferError, TransportError
from airflow_provider_seedance.hooks.downloads import ArtifactStream
from airflow_provider_seedance.hooks.retry import RetryPolicy
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskState, TaskStatus
from airflow_provider_seedance.outputs.store import (
    read_json,
    storage_uri,
    store_stream,
    write_json,
    write_text,
)
from airflow_provider_seedance.testing.s3 import s3_connection
from tests.conftest import BUCKET, s3_client

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def big_file(file_server) -> tuple[str, bytes]:
    """13 MiB of random bytes served over HTTP with Range support: two 8 MiB parts, the last one short."""
    base_url, root = file_server
    data = os.urandom(13 * MIB)
    (root / "big.bin").write_bytes(data)
    return f"{base_url}/big.bin", data


@pytest.fixture
def hook(simulator, monkeypatch) -> SeedanceHook:
    conn = {"conn_type": "seedance", "password": "k", "extra": {"gateway": "ark"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_STORAGE", json.dumps(conn))
    return SeedanceHook("seedance_storage", retry_policy=RetryPolicy(base_delay=0.01, max_delay=0.02))


def _opener(hook: SeedanceHook, url: str):
    status = TaskStatus(task_id="t", state=TaskState.SUCCEEDED, video_url=url)
    return lambda offset: hook.open_artifact(status, "video", offset)


def _s3_object(moto_server: str, key: str) -> bytes:
    return s3_client(moto_server).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_big_video_lands_byte_for_byte_and_typed(cloud_store, hook, big_file):
    url, data = big_file
    stored = store_stream(_opener(hook, url), cloud_store.path("videos/big.mp4"))
    assert stored.uri == cloud_store.uri("videos/big.mp4")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert cloud_store.read("videos/big.mp4") == data
    assert cloud_store.content_type("videos/big.mp4") == "video/mp4"
    if cloud_store.name == "s3":  # two parts: s3transfer's multipart upload
        assert s3_client(cloud_store.server).head_object(Bucket=BUCKET, Key="videos/big.mp4")["ETag"].endswith('-2"')


def test_small_object_is_one_put(cloud_store, hook, file_server):
    base_url, root = file_server
    (root / "small.bin").write_bytes(b"tiny video")
    store_stream(_opener(hook, f"{base_url}/small.bin"), cloud_store.path("videos/small.mp4"))
    assert cloud_store.read("videos/small.mp4") == b"tiny video"


def test_file_scheme_lands_atomically(tmp_path, hook, big_file):
    url, data = big_file
    destination = ObjectStoragePath(f"file://{tmp_path}/out/clip.mp4")
    stored = store_stream(_opener(hook, url), destination)
    assert (tmp_path / "out" / "clip.mp4").read_bytes() == data
    assert stored.uri == f"file://{tmp_path}/out/clip.mp4"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.mp4"]


class _Flaky:
    """Wraps a real opener; the first ``breaks`` streams die after ``after`` bytes, like a dropped connection."""

    def __init__(self, opener, *, breaks: int, after: int) -> None:
        self.opener, self.breaks, self.after = opener, breaks, after
        self.offsets: list[int] = []

    @contextmanager
    def __call__(self, offset: int):
        self.offsets.append(offset)
        with self.opener(offset) as stream:
            if len(self.offsets) > self.breaks:
                yield stream
                return
            yield ArtifactStream(self._cut(stream.chunks), stream.offset, stream.total_size, stream.content_type)

    def _cut(self, chunks):
        sent = 0
        for chunk in chunks:
            if sent + len(chunk) > self.after:
                yield chunk[: self.after - sent]
                raise TransportError("connection reset mid-body", gateway="test", request_sent=True)
            sent += len(chunk)
            yield chunk


def test_broken_download_resumes_with_range(cloud_store, hook, big_file):
    url, data = big_file
    flaky = _Flaky(_opener(hook, url), breaks=2, after=3 * MIB)
    stored = store_stream(flaky, cloud_store.path("videos/resumed.mp4"))
    assert flaky.offsets == [0, 3 * MIB, 6 * MIB]
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert cloud_store.read("videos/resumed.mp4") == data


def test_truncated_simulator_download_resumes(http, simulator, hook, tmp_path, caplog):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
    from tests.integration.simulator.conftest import poll_until

    url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    auth = {"Authorization": "Bearer k"}
    body = {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": "x"}]}
    task_id = http.post(url, json=body, headers=auth).json()["id"]
    final = poll_until(lambda: http.get(f"{url}/{task_id}", headers=auth).json(), lambda t: t["status"] == "succeeded")
    whole = http.get(final["content"]["video_url"]).content
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="truncate")]))
    destination = ObjectStoragePath(f"file://{tmp_path}/sim.mp4")
    stored = store_stream(_opener(hook, final["content"]["video_url"]), destination)
    assert (tmp_path / "sim.mp4").read_bytes() == whole
    assert stored.size == len(whole)
    # The half that arrived before the cut was kept: the resume asked only for the rest.
    (interrupted,) = [record.getMessage() for record in caplog.records if "Download interrupted" in record.message]
    stored_before = int(interrupted.split(" with ", 1)[1].split(" bytes", 1)[0])
    assert 0 < stored_before <= len(whole) // 2


def test_persistent_failure_leaves_nothing_behind(cloud_store, hook, big_file, tmp_path):
    url, _ = big_file
    always_broken = _Flaky(_opener(hook, url), breaks=100, after=6 * MIB)
    with pytest.raises(TransportError):
        store_stream(always_broken, cloud_store.path("videos/never.mp4"), max_resumes=1)
    assert cloud_store.keys("videos/never") == []
    if cloud_store.name == "s3":  # S3 keeps (and bills) a multipart upload until it is aborted
        assert "Uploads" not in s3_client(cloud_store.server).list_multipart_uploads(Bucket=BUCKET)

    file_destination = ObjectStoragePath(f"file://{tmp_path}/never.mp4")
    with pytest.raises(TransportError):
        store_stream(_Flaky(_opener(hook, url), breaks=100, after=MIB), file_destination, max_resumes=0)
    assert list(tmp_path.iterdir()) == []


def test_short_body_is_detected_and_resumed(hook, big_file, tmp_path):
    url, data = big_file

    @contextmanager
    def lying(offset: int):
        # The first response ends early without an error, as a proxy might; Content-Length catches it.
        with _opener(hook, url)(offset) as stream:
            if offset == 0:
                chunks = iter([next(stream.chunks)])
                yield ArtifactStream(chunks, stream.offset, stream.total_size, stream.content_type)
            else:
                yield stream

    stored = store_stream(lying, ObjectStoragePath(f"file://{tmp_path}/short.mp4"))
    assert stored.size == len(data)
    with pytest.raises(IncompleteTransferError):
        store_stream(lying, ObjectStoragePath(f"file://{tmp_path}/never.mp4"), max_resumes=0)
    assert not (tmp_path / "never.mp4").exists()


@pytest.mark.parametrize("cut", [MIB, 10 * MIB], ids=["one-put", "in-parts"])
def test_a_body_that_ends_early_never_completes(cloud_store, hook, big_file, cut):
    """No error from the connection, just too few bytes: the upload must not complete (one request or parts)."""
    url, _ = big_file

    @contextmanager
    def short(offset: int):
        with _opener(hook, url)(offset) as stream:
            yield ArtifactStream(_first_bytes(stream.chunks, cut), stream.offset, stream.total_size, None)

    with pytest.raises(IncompleteTransferError, match=f"received {cut} of {13 * MIB} bytes"):
        store_stream(short, cloud_store.path(f"videos/short-{cut}.mp4"), max_resumes=0)
    assert cloud_store.keys("videos/short-") == []
    if cloud_store.name == "s3":
        assert "Uploads" not in s3_client(cloud_store.server).list_multipart_uploads(Bucket=BUCKET)


def _first_bytes(chunks, limit: int):
    sent = 0
    for chunk in chunks:
        if sent + len(chunk) >= limit:
            yield chunk[: limit - sent]
            return
        sent += len(chunk)
        yield chunk


def test_manifest_round_trip(cloud_store):
    manifest = cloud_store.path("videos/m.mp4.json")
    assert read_json(manifest) is None
    write_json(manifest, {"video": {"size": 3}})
    assert read_json(manifest) == {"video": {"size": 3}}
    write_json(manifest, {"video": {"size": 4}})  # replaced whole
    assert read_json(manifest) == {"video": {"size": 4}}
    assert storage_uri(manifest) == cloud_store.uri("videos/m.mp4.json")
    assert cloud_store.content_type("videos/m.mp4.json") == "application/json"


def test_a_text_document_is_typed_by_its_name(cloud_store, tmp_path):
    write_text(cloud_store.path("reports/report.html"), "<!doctype html><p>café</p>\n")
    assert cloud_store.read("reports/report.html").decode() == "<!doctype html><p>café</p>\n"
    assert cloud_store.content_type("reports/report.html") == "text/html; charset=utf-8"
    write_text(ObjectStoragePath(f"file://{tmp_path}/report.html"), "café")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == "café"


@pytest.fixture
def sse_connection(moto_server, monkeypatch) -> str:
    """An aws connection whose extra asks for server-side encryption and 5 MiB parts on every upload."""
    conn_id = "aws_moto_sse"
    service_config = {
        "s3": {
            "extra_args": {"ServerSideEncryption": "AES256", "Metadata": {"team": "video"}},
            "transfer_config_args": {"multipart_threshold": 5 * MIB, "multipart_chunksize": 5 * MIB},
        }
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", s3_connection(moto_server, service_config=service_config))
    return conn_id


def test_the_connection_upload_arguments_and_transfer_config_are_honoured(moto_server, hook, big_file, sse_connection):
    url, data = big_file
    video = ObjectStoragePath(f"s3://{BUCKET}/sse/big.mp4", conn_id=sse_connection)
    manifest = ObjectStoragePath(f"s3://{BUCKET}/sse/big.mp4.json", conn_id=sse_connection)
    store_stream(_opener(hook, url), video)
    write_json(manifest, {"video": "big.mp4"})
    client = s3_client(moto_server)
    for key, content_type in [("sse/big.mp4", "video/mp4"), ("sse/big.mp4.json", "application/json")]:
        head = client.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        assert head["Metadata"] == {"team": "video"}
        assert head["ContentType"] == content_type
    # The connection's 5 MiB parts, not our 8 MiB default: 13 MiB is three parts.
    assert client.head_object(Bucket=BUCKET, Key="sse/big.mp4")["ETag"].endswith('-3"')
    assert _s3_object(moto_server, "sse/big.mp4") == data


@pytest.mark.parametrize(
    ("service_config", "message"),
    [
        ({"extra_args": {"ServerSideEncription": "AES256"}}, "extra_args of connection 'aws_moto_typo' has Server"),
        ({"extra_args": "AES256"}, "extra_args of connection 'aws_moto_typo' is a str"),
        ({"transfer_config_args": {"chunk": 1}}, "transfer_config_args of connection 'aws_moto_typo' has chunk"),
    ],
)
def test_a_wrong_upload_setting_fails_before_any_download(moto_server, monkeypatch, service_config, message):
    connection = s3_connection(moto_server, service_config={"s3": service_config})
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO_TYPO", connection)
    opened: list[int] = []
    destination = ObjectStoragePath(f"s3://{BUCKET}/typo.mp4", conn_id="aws_moto_typo")
    with pytest.raises(ValueError, match=message) as failure:
        store_stream(opened.append, destination)
    assert str(failure.value).endswith("Fix the connection's extra.")
    assert opened == []


@pytest.fixture
def hook_lineage(monkeypatch):
    """A real HookLineageCollector collecting for this test, as when a lineage reader plugin is installed."""
    try:
        from airflow.sdk import lineage, plugins_manager  # Airflow 3.2+
    except ImportError:  # 3.0 and 3.1: a module-level singleton
        from airflow.lineage import hook as lineage

        collector = lineage.HookLineageCollector()
        monkeypatch.setattr(lineage, "_hook_lineage_collector", collector)
        yield collector
        return
    monkeypatch.setattr(plugins_manager, "get_hook_lineage_readers_plugins", lambda: [lineage.HookLineageReader])
    lineage.get_hook_lineage_collector.cache_clear()
    yield lineage.get_hook_lineage_collector()
    lineage.get_hook_lineage_collector.cache_clear()


def test_lineage_names_the_final_object(cloud_store, hook, file_server, tmp_path, hook_lineage):
    base_url, root = file_server
    (root / "lineage.bin").write_bytes(b"a small video")
    file_destination = ObjectStoragePath(f"file://{tmp_path}/lineage/clip.mp4")
    for destination in (cloud_store.path("lineage/clip.mp4"), file_destination):
        store_stream(_opener(hook, f"{base_url}/lineage.bin"), destination)
    outputs = [info.asset.uri for info in hook_lineage.collected_assets.outputs]
    assert outputs == [cloud_store.uri("lineage/clip.mp4"), f"file://{tmp_path}/lineage/clip.mp4"]


def test_a_create_whose_first_try_landed_is_ours_not_another_writers(cloud_store):
    # The store's client retries a conditional write whose answer was lost; the first one had landed, so the
    # retry is refused as "exists". The same document there means it was this writer's own create.
    from airflow_provider_seedance.outputs.store import create_json

    claim = cloud_store.path("videos/retried.mp4.claim.json")
    document = {"request_sha256": "a" * 64, "submitted_at": "2026-12-07T10:00:00.123456+00:00"}
    assert create_json(claim, document)
    assert create_json(claim, document)  # the retry of the same create
    assert not create_json(claim, {**document, "submitted_at": "2026-12-07T10:00:00.654321+00:00"})
