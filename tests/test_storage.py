"""Streaming into object storage: a real S3-protocol server (moto server mode) and file://, over real HTTP."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager

import httpx
import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import TransportError
from airflow_provider_seedance.hooks.retry import RetryPolicy
from airflow_provider_seedance.hooks.seedance import ArtifactStream, SeedanceHook
from airflow_provider_seedance.models import TaskState, TaskStatus
from airflow_provider_seedance.storage import (
    IncompleteTransferError,
    read_json,
    storage_uri,
    store_stream,
    write_json,
)
from tests.conftest import AWS_CONN_ID, BUCKET, s3_client

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def big_file(file_server) -> tuple[str, bytes]:
    """13 MiB of random bytes served over HTTP with Range support: three 5 MiB parts, the last one short."""
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


def test_multipart_upload_to_s3_is_byte_for_byte(moto_server, hook, big_file):
    url, data = big_file
    destination = ObjectStoragePath(f"s3://{BUCKET}/videos/big.mp4", conn_id=AWS_CONN_ID)
    stored = store_stream(_opener(hook, url), destination, part_size=5 * MIB, concurrency=2)
    assert stored.uri == f"s3://{BUCKET}/videos/big.mp4"
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert _s3_object(moto_server, "videos/big.mp4") == data


def test_small_object_is_one_put(moto_server, hook, file_server):
    base_url, root = file_server
    (root / "small.bin").write_bytes(b"tiny video")
    destination = ObjectStoragePath(f"s3://{BUCKET}/videos/small.mp4", conn_id=AWS_CONN_ID)
    store_stream(_opener(hook, f"{base_url}/small.bin"), destination)
    assert _s3_object(moto_server, "videos/small.mp4") == b"tiny video"


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


def test_broken_download_resumes_with_range(moto_server, hook, big_file):
    url, data = big_file
    flaky = _Flaky(_opener(hook, url), breaks=2, after=3 * MIB)
    destination = ObjectStoragePath(f"s3://{BUCKET}/videos/resumed.mp4", conn_id=AWS_CONN_ID)
    stored = store_stream(flaky, destination, part_size=5 * MIB)
    assert flaky.offsets == [0, 3 * MIB, 6 * MIB]
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert _s3_object(moto_server, "videos/resumed.mp4") == data


def test_truncated_simulator_download_resumes(simulator, hook, tmp_path, caplog):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
    from tests.simulator.conftest import poll_until

    url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    auth = {"Authorization": "Bearer k"}
    body = {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": "x"}]}
    task_id = httpx.post(url, json=body, headers=auth).json()["id"]
    final = poll_until(lambda: httpx.get(f"{url}/{task_id}", headers=auth).json(), lambda t: t["status"] == "succeeded")
    whole = httpx.get(final["content"]["video_url"]).content
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="truncate")]))
    destination = ObjectStoragePath(f"file://{tmp_path}/sim.mp4")
    stored = store_stream(_opener(hook, final["content"]["video_url"]), destination)
    assert (tmp_path / "sim.mp4").read_bytes() == whole
    assert stored.size == len(whole)
    # The half that arrived before the cut was kept: the resume asked only for the rest.
    (interrupted,) = [record.getMessage() for record in caplog.records if "Download interrupted" in record.message]
    stored_before = int(interrupted.split(" with ", 1)[1].split(" bytes", 1)[0])
    assert 0 < stored_before <= len(whole) // 2


def test_persistent_failure_leaves_nothing_behind(moto_server, hook, big_file, tmp_path):
    url, _ = big_file
    always_broken = _Flaky(_opener(hook, url), breaks=100, after=6 * MIB)
    s3_destination = ObjectStoragePath(f"s3://{BUCKET}/videos/never.mp4", conn_id=AWS_CONN_ID)
    with pytest.raises(TransportError):
        store_stream(always_broken, s3_destination, part_size=5 * MIB, max_resumes=1)
    client = s3_client(moto_server)
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix="videos/never")
    assert "Uploads" not in client.list_multipart_uploads(Bucket=BUCKET)

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


def test_manifest_round_trip(moto_server):
    manifest = ObjectStoragePath(f"s3://{BUCKET}/videos/m.mp4.json", conn_id=AWS_CONN_ID)
    assert read_json(manifest) is None
    write_json(manifest, {"video": {"size": 3}})
    assert read_json(manifest) == {"video": {"size": 3}}
    assert storage_uri(manifest) == f"s3://{BUCKET}/videos/m.mp4.json"
