"""Simulated Ark, driven by a plain httpx client exactly as its docs describe the API."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.integration.simulator.conftest import poll_until
from tests.integration.simulator.media_check import decode_mp4, png_size

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


def test_text_to_video_with_audio_and_last_frame(http, simulator, client, ark):
    created = _create(client, ark, resolution="480p", ratio="9:16", duration=4, return_last_frame=True)
    assert created.status_code == 200
    task_id = created.json()["id"]
    assert task_id.startswith("cgt-")

    task = _finish(client, ark, task_id)
    assert task["status"] == "succeeded"
    assert (task["resolution"], task["ratio"], task["duration"], task["generate_audio"]) == ("480p", "9:16", 4, True)
    assert task["usage"]["completion_tokens"] == 480 * 864 * 24 * 4 // 1024

    video = http.get(task["content"]["video_url"])  # a CDN URL: no key needed
    assert video.headers["content-type"] == "video/mp4"
    assert int(video.headers["content-length"]) == len(video.content)
    decoded = decode_mp4(video.content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (480, 864, 4.0, True)
    assert decoded.frames == 4 * 24
    assert png_size(http.get(task["content"]["last_frame_url"]).content) == (480, 864)

    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"][f"ark/{task_id}"]
    assert stats["submissions"] == 1
    assert stats["downloads"] == 2
    assert stats["status_polls"] >= 1


def test_image_to_video_without_audio(http, client, ark, media):
    content = [
        {"type": "text", "text": "the cat wakes up"},
        {"type": "image_url", "image_url": {"url": media["png"]}, "role": "first_frame"},
    ]
    created = client.post(ark, json={"model": MODEL, "content": content, "generate_audio": False, "ratio": "1:1"})
    task = _finish(client, ark, created.json()["id"])
    decoded = decode_mp4(http.get(task["content"]["video_url"]).content)
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


def test_missing_key_is_401_in_ark_shape(http, ark):
    response = http.post(ark, json={"model": MODEL, "content": [{"type": "text", "text": "x"}]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationError"


def test_moderation_failure(simulator, client, ark):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="ark")]))
    task = _finish(client, ark, _create(client, ark).json()["id"])
    assert task["status"] == "failed"
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected.PolicyViolation"


# ---- Seedance 2.5 (gateway notes section 10, third-party docs) ----------------------------------------

V25 = "dreamina-seedance-2-5-260628"


def _refs(kind: str, role: str, url: str, count: int) -> list[dict]:
    return [{"type": kind, kind: {"url": url}, "role": role} for _ in range(count)]


def test_seedance_2_5_takes_thirty_seconds_and_twelve_reference_images(client, ark, media):
    content = [
        {"type": "text", "text": "the product turns on a table"},
        *_refs("image_url", "reference_image", media["png"], 12),
        *_refs("audio_url", "reference_audio", media["mp3"], 2),
    ]
    created = client.post(ark, json={"model": V25, "content": content, "duration": 30, "resolution": "480p"})
    assert created.status_code == 200, created.text
    task = _finish(client, ark, created.json()["id"])
    assert (task["status"], task["duration"]) == ("succeeded", 30)


def test_seedance_2_5_takes_audio_as_the_only_reference_and_picks_its_length(client, ark, media):
    content = [
        {"type": "text", "text": "a dance to this song"},
        *_refs("audio_url", "reference_audio", media["mp3"], 1),
    ]
    created = client.post(ark, json={"model": V25, "content": content})
    assert created.status_code == 200, created.text
    task = _finish(client, ark, created.json()["id"])
    assert (task["status"], task["duration"]) == ("succeeded", 10)  # duration -1 by default: the model picks


@pytest.mark.parametrize(
    ("model", "extra", "parts", "message"),
    [
        pytest.param(V25, {"duration": 31}, [], "must be -1 or in [4, 30]", id="2.5-longer-than-30"),
        pytest.param(V25, {"omni_reference_task_type": "edit"}, [], "TaskTypeConstraint", id="edit-without-video"),
        pytest.param(
            V25,
            {"omni_reference_task_type": "edit", "duration": 5},
            [("video_url", "reference_video", "mp4")],
            "TaskTypeConstraint: task type edit needs duration -1",
            id="edit-with-duration",
        ),
        pytest.param(
            V25,
            {"ratio": "16:9"},
            [("image_url", "first_frame", "png")],
            "ratio must be adaptive",
            id="first-frame-with-ratio",
        ),
        pytest.param(V25, {"output_format": "avi"}, [], "output_format", id="output-format"),
        pytest.param(MODEL, {"omni_reference_task_type": "auto"}, [], "not supported for model", id="task-type-on-2.0"),
        pytest.param(
            MODEL,
            {},
            [("image_url", "reference_image", "png")] * 9
            + [("video_url", "reference_video", "mp4")] * 3
            + [("audio_url", "reference_audio", "mp3")],
            "at most 12 reference files in all",
            id="2.0-more-than-12-files",
        ),
    ],
)
def test_seedance_2_5_rules_and_the_2_0_total(client, ark, media, model, extra, parts, message):
    content = [{"type": "text", "text": "x"}, *({"type": k, k: {"url": media[m]}, "role": r} for k, r, m in parts)]
    response = client.post(ark, json={"model": model, "content": content, **extra})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_base64_audio_is_taken_as_documented(client, ark, media):
    content = [
        {"type": "text", "text": "x"},
        {"type": "image_url", "image_url": {"url": media["png"]}, "role": "reference_image"},
        {
            "type": "audio_url",
            "audio_url": {"url": "data:audio/mpeg;base64,SUQzBAAAAAAAAA=="},
            "role": "reference_audio",
        },
    ]
    assert client.post(ark, json={"model": MODEL, "content": content}).status_code == 200


def test_list_filters_and_pages_newest_first(client, ark):
    # The vendor SDK's tasks.list: page_num, page_size, filter.model, filter.status, repeatable filter.task_ids.
    ids = [_create(client, ark, seed=seed).json()["id"] for seed in (11, 12, 13)]
    fast = client.post(
        ark, json={"model": "dreamina-seedance-2-0-fast-260128", "content": [{"type": "text", "text": "x"}]}
    ).json()["id"]
    listed = client.get(ark, params={"filter.model": MODEL, "page_size": 2}).json()
    assert listed["total"] >= 3
    assert [item["id"] for item in listed["items"]] == ids[::-1][:2]
    second = client.get(ark, params={"filter.model": MODEL, "page_size": 2, "page_num": 2}).json()
    assert second["items"][0]["id"] == ids[0]
    chosen = client.get(ark, params=[("filter.task_ids", ids[0]), ("filter.task_ids", fast)]).json()
    assert {item["id"] for item in chosen["items"]} == {ids[0], fast}
    assert {item["seed"] for item in chosen["items"] if item["id"] == ids[0]} == {11}
    assert client.get(ark, params={"page_size": 0}).status_code == 400
