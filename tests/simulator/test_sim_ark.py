"""Simulated Ark, driven by a plain httpx client exactly as its docs describe the API."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.simulator.conftest import poll_until
from tests.simulator.media_check import decode_mp4, png_size

MODEL = "dreamina-seedance-2-0-260128"
TERMINAL = {"succeeded", "failed", "cancelled", "expired"}


@pytest.fixture
def ark(simulator) -> str:
    return simulator.gateway_url("ark") + "/contents/generations/tasks"


def _create(client: httpx.Client, url: str, **fields) -> httpx.Response:
    body = {"model": MODEL, "content": [{"type": "text", "text": "a lighthouse at dusk"}], **fields}
    return client.post(url, json=body)


def _finish(client: httpx.Client, url: str, task_id: str) -> dict:
    return poll_until(lambda: client.get(f"{url}/{task_id}").json(), lambda task: task["status"] in TERMINAL)


def test_text_to_video_with_audio_and_last_frame(simulator, client, ark):
    created = _create(client, ark, resolution="480p", ratio="9:16", duration=4, return_last_frame=True)
    assert created.status_code == 200
    task_id = created.json()["id"]
    assert task_id.startswith("cgt-")

    task = _finish(client, ark, task_id)
    assert task["status"] == "succeeded"
    assert (task["resolution"], task["ratio"], task["duration"], task["generate_audio"]) == ("480p", "9:16", 4, True)
    assert task["usage"]["completion_tokens"] == 480 * 864 * 24 * 4 // 1024

    video = httpx.get(task["content"]["video_url"])  # a CDN URL: no key needed
    assert video.headers["content-type"] == "video/mp4"
    assert int(video.headers["content-length"]) == len(video.content)
    decoded = decode_mp4(video.content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (480, 864, 4.0, True)
    assert decoded.frames == 4 * 24
    assert png_size(httpx.get(task["content"]["last_frame_url"]).content) == (480, 864)

    stats = httpx.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"][f"ark/{task_id}"]
    assert stats["submissions"] == 1
    assert stats["downloads"] == 2
    assert stats["status_polls"] >= 1


def test_image_to_video_without_audio(client, ark, media):
    content = [
        {"type": "text", "text": "the cat wakes up"},
        {"type": "image_url", "image_url": {"url": media["png"]}, "role": "first_frame"},
    ]
    created = client.post(ark, json={"model": MODEL, "content": content, "generate_audio": False, "ratio": "1:1"})
    task = _finish(client, ark, created.json()["id"])
    decoded = decode_mp4(httpx.get(task["content"]["video_url"]).content)
    assert (decoded.width, decoded.height, decoded.has_audio) == (960, 960, False)
    assert "last_frame_url" not in task["content"]


def test_progress_states_on_a_slow_clock(simulator, client, ark):
    # Stretch the clock for this test only: the task is queued long enough to see it.
    config = simulator.simulator.config
    original = config.queue_seconds
    config.queue_seconds = 10_000
    try:
        task_id = _create(client, ark).json()["id"]
        assert client.get(f"{ark}/{task_id}").json()["status"] == "queued"
        assert client.delete(f"{ark}/{task_id}").json() == {}
        assert client.get(f"{ark}/{task_id}").json()["status"] == "cancelled"
    finally:
        config.queue_seconds = original


def test_deleting_a_finished_task_removes_it(client, ark):
    task_id = _create(client, ark).json()["id"]
    _finish(client, ark, task_id)
    assert client.delete(f"{ark}/{task_id}").status_code == 200
    gone = client.get(f"{ark}/{task_id}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NotFound.Task"


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        pytest.param({"model": MODEL}, 400, "InvalidParameter", "content", id="no-content"),
        pytest.param(
            {"model": "seedance-9", "content": [{"type": "text", "text": "x"}]},
            404,
            "InvalidEndpointOrModel.NotFound",
            "",
            id="unknown-model",
        ),
        pytest.param(
            {"model": MODEL, "content": [{"type": "text", "text": "x"}], "duration": 3},
            400,
            "InvalidParameter",
            "duration",
            id="duration",
        ),
        pytest.param(
            {
                "model": "dreamina-seedance-2-0-fast-260128",
                "content": [{"type": "text", "text": "x"}],
                "resolution": "1080p",
            },
            400,
            "InvalidParameter",
            "resolution",
            id="fast-1080p",
        ),
        pytest.param(
            {"model": MODEL, "content": [{"type": "text", "text": "x"}], "aspect_ratio": "16:9"},
            400,
            "InvalidParameter",
            "aspect_ratio",
            id="unknown-field",
        ),
        pytest.param(
            {"model": MODEL, "content": [{"type": "text", "text": "x"}], "camera_fixed": True},
            400,
            "InvalidParameter",
            "camera_fixed",
            id="camera-fixed",
        ),
        pytest.param(
            {"model": MODEL, "content": [{"type": "text", "text": "x"}], "execution_expires_after": 60},
            400,
            "InvalidParameter",
            "execution_expires_after",
            id="expires-after",
        ),
        pytest.param(
            {
                "model": MODEL,
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x/a.png"}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": "https://x/b.png"}, "role": "reference_image"},
                ],
            },
            400,
            "InvalidParameter",
            "content",
            id="mixed-modes",
        ),
        pytest.param(
            {
                "model": MODEL,
                "content": [{"type": "audio_url", "audio_url": {"url": "https://x/a.mp3"}, "role": "reference_audio"}],
            },
            400,
            "InvalidParameter",
            "content",
            id="audio-alone",
        ),
    ],
)
def test_documented_rejections(client, ark, body, status, code, param):
    response = client.post(ark, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert "Request id:" in error["message"]


def test_missing_key_is_401_in_ark_shape(ark):
    response = httpx.post(ark, json={"model": MODEL, "content": [{"type": "text", "text": "x"}]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationError"


def test_moderation_failure(simulator, client, ark):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="ark")]))
    task = _finish(client, ark, _create(client, ark).json()["id"])
    assert task["status"] == "failed"
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected.PolicyViolation"
