"""Issue 11's bar for Seedance 2.5 on Ark: the request validates, and it round-trips through the simulator.

The hook validates (no network), submits over real HTTP, waits and downloads; the simulator fetches every
reference it was given and renders a real MP4 of the requested length.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import av
import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.hooks.retry import RetryPolicy
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskState, VideoRequest
from tests.integration.simulator.conftest import image_bytes

V25 = "dreamina-seedance-2-5-260628"


@pytest.fixture
def hook(simulator, monkeypatch):
    conn = {
        "conn_type": "seedance",
        "host": simulator.gateway_url("ark"),
        "password": "sk-2-5-test-key",
        "extra": {"gateway": "ark"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_25", json.dumps(conn))
    hook = SeedanceHook("seedance_25", retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    yield hook
    hook.close()


def _round_trip(hook: SeedanceHook, request: VideoRequest) -> tuple[float, int, str]:
    """(seconds of the downloaded MP4, duration the task reports, remote task id)."""
    get_gateway("ark").validate(request)
    status = hook.submit(request)
    final = hook.wait(status.task_id, poll_interval=0.01, deadline=datetime.now(UTC) + timedelta(seconds=120))
    assert final.state is TaskState.SUCCEEDED
    with hook.open_artifact(final) as stream:
        data = b"".join(stream.chunks)
    with av.open(io.BytesIO(data)) as container:
        return container.duration / 1e6, final.raw["duration"], final.task_id


def test_thirty_seconds_from_twelve_reference_images(http, simulator, hook, serve):
    images = [image_bytes(500 + index) for index in range(12)]
    request = VideoRequest(
        model=V25,
        prompt="the twelve products in turn",
        duration=30,
        resolution="480p",
        reference_images=tuple(serve(image) for image in images),
    )
    seconds, reported, task_id = _round_trip(hook, request)
    assert (seconds, reported) == (30.0, 30)
    received = http.get(f"{simulator.base_url}/_simulator/tasks/ark/{task_id}").json()["inputs"]
    assert [item["sha256"] for item in received] == [hashlib.sha256(image).hexdigest() for image in images]


def test_audio_only_references_with_the_model_picking_the_length(hook, media):
    request = VideoRequest(model=V25, prompt="dance to this", reference_audios=(media["mp3"],), resolution="480p")
    seconds, reported, _ = _round_trip(hook, request)
    assert seconds == reported > 0
