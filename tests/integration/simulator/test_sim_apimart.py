"""Simulated apimart.ai, driven by a plain httpx client exactly as its docs describe the API."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.gateways.base import HttpCall, HttpResponse
from airflow_provider_seedance.models import TaskState, VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.integration.simulator.conftest import image_bytes, poll_until, reachable
from tests.integration.simulator.media_check import decode_mp4, png_size

MODEL = "doubao-seedance-2.0"
FAST = "doubao-seedance-2.0-fast"
TERMINAL = {"completed", "failed", "cancelled"}
TASK_ID = re.compile(r"^task_[0-9A-Z]{26}$")
PNG = image_bytes(11)


@pytest.fixture
def apimart(simulator) -> str:
    return simulator.gateway_url("apimart")


def _create(client: httpx.Client, base: str, **fields) -> httpx.Response:
    body = {"model": MODEL, "prompt": "a lighthouse at dusk", **fields}
    return client.post(f"{base}/v1/videos/generations", json=body)


def _task_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["task_id"]


def _finish(client: httpx.Client, base: str, task_id: str, seen: list | None = None) -> dict:
    def fetch() -> dict:
        reply = client.get(f"{base}/v1/tasks/{task_id}")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["code"] == 200
        if seen is not None:
            seen.append(body["data"])
        return body["data"]

    return poll_until(fetch, lambda data: data["status"] in TERMINAL)


def _stats(http: httpx.Client, simulator) -> dict:
    return http.get(f"{simulator.base_url}/_simulator/stats").json()


# ---- the happy paths ----------------------------------------------------------------------------------------


def test_text_to_video_with_audio_and_last_frame(http, simulator, client, apimart):
    created = _create(
        client, apimart, size="9:16", resolution="720p", duration=4, generate_audio=True, return_last_frame=True
    )
    assert created.status_code == 200
    body = created.json()
    assert body == {"code": 200, "data": [{"status": "submitted", "task_id": body["data"][0]["task_id"]}]}
    task_id = body["data"][0]["task_id"]
    assert TASK_ID.match(task_id)

    seen: list[dict] = []
    data = _finish(client, apimart, task_id, seen)
    assert data["status"] == "completed"
    assert data["id"] == task_id
    for snapshot in seen:
        assert isinstance(snapshot["progress"], int)
        assert 0 <= snapshot["progress"] <= 100
        assert snapshot["status"] in {"pending", "processing", "completed"}
    assert data["progress"] == 100
    for key in ("created", "completed", "actual_time", "estimated_time"):
        assert isinstance(data[key], int), key
    assert data["completed"] >= data["created"]
    assert "error" not in data

    video = data["result"]["videos"][0]
    assert isinstance(video["url"], list)
    assert video["expires_at"] - data["completed"] == simulator.simulator.config.url_ttl_seconds
    download = http.get(video["url"][0])  # a CDN URL: no key
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    decoded = decode_mp4(download.content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (720, 1280, 4.0, True)

    # Where the "additionally returned" last frame sits is a guess (see the simulator): result.last_frame_url.
    assert "images" not in data["result"]
    last_frame = http.get(data["result"]["last_frame_url"])
    assert png_size(last_frame.content) == (720, 1280)

    stats = _stats(http, simulator)
    assert stats["gateways"]["apimart"]["submissions"] == 1
    task_stats = stats["tasks"][f"apimart/{task_id}"]
    assert task_stats["submissions"] == 1
    assert task_stats["status_polls"] == len(seen)
    assert task_stats["downloads"] == 2


def test_defaults_are_480p_16_9_five_seconds_silent(http, client, apimart):
    data = _finish(client, apimart, _task_id(_create(client, apimart, model=FAST)))
    assert data["status"] == "completed"
    assert "last_frame_url" not in data["result"]
    decoded = decode_mp4(http.get(data["result"]["videos"][0]["url"][0]).content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (864, 480, 5.0, False)


def test_pending_then_processing_on_a_slow_clock(simulator, client, apimart):
    config = simulator.simulator.config
    original = (config.queue_seconds, config.run_seconds)
    try:
        config.queue_seconds = 10_000
        pending = client.get(f"{apimart}/v1/tasks/{_task_id(_create(client, apimart))}").json()["data"]
        assert (pending["status"], pending["progress"]) == ("pending", 0)
        assert "result" not in pending
        assert "completed" not in pending

        config.queue_seconds, config.run_seconds = 0, 10_000_000
        task_id = _task_id(_create(client, apimart))
        running = poll_until(
            lambda: client.get(f"{apimart}/v1/tasks/{task_id}").json()["data"],
            lambda data: data["progress"] > 0,
        )
        assert running["status"] == "processing"
        assert isinstance(running["progress"], int)
        assert 1 <= running["progress"] <= 99
        assert "result" not in running
    finally:
        config.queue_seconds, config.run_seconds = original


def test_first_and_last_frames_with_adaptive_size(http, client, apimart, media):
    frames = [{"url": media["jpg"], "role": "first_frame"}, {"url": media["png"], "role": "last_frame"}]
    created = _create(client, apimart, prompt="day turns to night", image_with_roles=frames, size="adaptive")
    data = _finish(client, apimart, _task_id(created))
    assert data["status"] == "completed"
    decoded = decode_mp4(http.get(data["result"]["videos"][0]["url"][0]).content)
    assert (decoded.width, decoded.height) == (864, 480)  # adaptive renders as 16:9


def test_reference_images_video_and_audio(http, client, apimart, media):
    created = client.post(
        f"{apimart}/v1/videos/generations",
        json={
            "model": MODEL,
            "image_urls": [media["jpg"], media["png"]],
            "video_urls": [media["mp4"]],
            "audio_urls": [media["mp3"]],
            "generate_audio": True,
            "size": "1:1",
            "duration": 6,
            "seed": 42,
            "tools": [{"type": "web_search"}],
        },
    )
    data = _finish(client, apimart, _task_id(created))  # no prompt: optional with references
    decoded = decode_mp4(http.get(data["result"]["videos"][0]["url"][0]).content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (640, 640, 6.0, True)


@pytest.mark.parametrize("model", [MODEL, "doubao-seedance-2.0-face"])
def test_1080p_on_the_standard_and_face_models(client, apimart, model):
    assert _create(client, apimart, model=model, resolution="1080p").status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"image_with_roles": [{"url": "asset://asset_a", "role": "reference_image"}]}, id="roles"),
        pytest.param({"image_urls": ["https://example.com/a.jpg", "asset://asset_a"]}, id="image-urls"),
        pytest.param({"model": FAST, "video_urls": ["asset://asset_b"]}, id="fast-video"),
    ],
)
def test_asset_urls_accepted_on_standard_and_fast(client, apimart, media, fields):
    created = _create(client, apimart, **reachable(fields, media))
    assert _finish(client, apimart, _task_id(created))["status"] == "completed"


# ---- the vendor page's printed requests, and what each image is for -----------------------------------------

# Every request body printed on apimart's Seedance 2.0 page (seeds/001_479842cd5f855424.txt: the curl example
# and "Use Cases" 1-13), character for character.
PRINTED_EXAMPLES = [
    pytest.param(
        r"""{
    "model": "doubao-seedance-2.0",
    "prompt": "A kitten yawning at the camera",
    "resolution": "720p",
    "size": "16:9",
    "duration": 5,
    "generate_audio": true
  }""",
        id="curl-example",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "A kitten yawning at the camera",
  "resolution": "720p",
  "size": "16:9",
  "duration": 5,
  "seed": 42,
  "generate_audio": true
}""",
        id="case-1",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "The kitten stands up and walks toward the camera",
  "image_urls": ["https://example.com/cat.jpg"],
  "duration": 5
}""",
        id="case-2",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "Transition from day to night",
  "image_with_roles": [
    {"url": "https://example.com/day.jpg", "role": "first_frame"},
    {"url": "https://example.com/night.jpg", "role": "last_frame"}
  ],
  "duration": 5
}""",
        id="case-3",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "Convert the video style to anime style",
  "video_urls": ["https://example.com/reference.mp4"]
}""",
        id="case-4",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "A scene of a person speaking",
  "video_urls": ["https://example.com/reference.mp4"],
  "audio_urls": ["https://example.com/speech.wav"],
  "size": "16:9",
  "duration": 11
}""",
        id="case-5",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "A man stops a woman and says: \"Remember, you must never point your finger at the moon.\"",
  "generate_audio": true
}""",
        id="case-6",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "The kitten continues walking toward the camera",
  "image_urls": ["https://example.com/last_frame_from_prev.png"],
  "return_last_frame": true
}""",
        id="case-7",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0-fast",
  "prompt": "City nightscape timelapse photography",
  "size": "21:9",
  "duration": 8
}""",
        id="case-8",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "Use video 1's first-person perspective throughout, and use audio 1 as the background music throughout. First-person POV fruit tea advertisement for seedance brand 'Peace Apple' apple fruit tea limited edition. First frame is image 1: your hand picks a dewy Aksu red apple with a crisp apple collision sound. 2-4s: quick cut, your hand drops apple chunks into a shaker cup, adds ice and tea base, shakes vigorously, ice collision and shaking sounds sync with upbeat drum beats, background voice: 'Fresh-cut, fresh-shaken'. 4-6s: first-person close-up of the finished product, layered fruit tea poured into a clear cup, your hand gently squeezes cream cap spreading on top, sticks a pink label on the cup, camera zooms in on the layered texture of cream cap and fruit tea. 6-8s: first-person handheld cup raise, you lift the fruit tea from image 2 toward the camera (simulating handing it to the viewer), cup label clearly visible, background voice 'Take a sip of freshness', final frame freezes on image 2. Background voice consistently uses a female tone.",
  "image_urls": [
    "https://example.com/tea_pic1.jpg",
    "https://example.com/tea_pic2.jpg"
  ],
  "video_urls": ["https://example.com/tea_video1.mp4"],
  "audio_urls": ["https://example.com/tea_audio1.mp3"],
  "generate_audio": true,
  "size": "16:9",
  "duration": 11
}""",  # noqa: E501 - the printed prompt is one long line
        id="case-9",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "The character walks naturally on a city street under bright sunshine",
  "image_urls": ["asset://asset_a"],
  "duration": 5,
  "resolution": "720p"
}""",
        id="case-10",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "Using the reference portrait, the character walks elegantly toward the camera",
  "image_with_roles": [
    {
      "url": "asset://asset_a",
      "role": "reference_image"
    }
  ],
  "resolution": "720p",
  "duration": 5
}""",
        id="case-11",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0-fast",
  "prompt": "The character strolls in a park with a gentle breeze",
  "image_urls": ["asset://asset_a"],
  "duration": 5,
  "resolution": "720p"
}""",
        id="case-12",
    ),
    pytest.param(
        r"""{
  "model": "doubao-seedance-2.0",
  "prompt": "The character dances to the rhythm of the reference video with smooth and natural movements",
  "image_urls": ["https://example.com/dance_reference.jpg", "asset://asset_a"],
  "video_urls": ["https://example.com/dance_reference.mp4", "asset://asset_a"],
  "duration": 8,
  "resolution": "720p"
}""",
        id="case-13",
    ),
]


@pytest.mark.parametrize("text", PRINTED_EXAMPLES)
def test_printed_examples_are_accepted(client, apimart, media, text):
    headers = {"Content-Type": "application/json"}
    created = client.post(f"{apimart}/v1/videos/generations", content=text.encode(), headers=headers)
    assert created.json() == {"code": 200, "data": [{"status": "submitted", "task_id": _task_id(created)}]}
    # example.com cannot be fetched here: with its URLs pointing at served files of the same kind, the task
    # the example describes is generated.
    served = _create(client, apimart, **reachable(json.loads(text), media))
    assert _finish(client, apimart, _task_id(served))["status"] == "completed"


def _roles(http: httpx.Client, simulator, task_id: str) -> list[str]:
    """The role the simulator took each media input for, in the order of the request's fields."""
    task = http.get(f"{simulator.base_url}/_simulator/tasks/apimart/{task_id}").json()
    return [item["role"] for item in task["inputs"]]


@pytest.mark.parametrize(
    ("fields", "roles"),
    [
        # seeds/001_479842cd5f855424.txt, Case 2 "Image-to-Video (First Frame)": one image_urls entry is the first
        # frame.
        pytest.param({"image_urls": ["https://example.com/cat.jpg"]}, ["first_frame"], id="case-2"),
        # Case 11: image_with_roles with role reference_image.
        pytest.param(
            {"image_with_roles": [{"url": "https://example.com/cat.jpg", "role": "reference_image"}]},
            ["reference_image"],
            id="case-11",
        ),
        # Case 13: image_urls beside video_urls are references.
        pytest.param(
            {"image_urls": ["https://example.com/a.jpg"], "video_urls": ["https://example.com/b.mp4"]},
            ["reference_image", "reference_video"],
            id="case-13",
        ),
    ],
)
def test_what_each_image_is_for(http, simulator, client, apimart, media, fields, roles):
    assert _roles(http, simulator, _task_id(_create(client, apimart, **reachable(fields, media)))) == roles


def _send(client: httpx.Client, base: str, call: HttpCall) -> HttpResponse:
    reply = client.request(call.method, f"{base}/{call.path}", json=call.json)
    return HttpResponse(reply.status_code, reply.content, dict(reply.headers))


@pytest.mark.parametrize(
    ("fields", "roles"),
    [
        pytest.param({"reference_images": ["png"]}, ["reference_image"], id="one-reference-image"),
        pytest.param({"reference_images": ["png", "jpg"]}, ["reference_image"] * 2, id="two-reference-images"),
        pytest.param({"first_frame": "png"}, ["first_frame"], id="first-frame"),
        pytest.param(
            {"reference_images": ["png"], "reference_audios": ["mp3"]},
            ["reference_image", "reference_audio"],
            id="reference-image-with-audio",
        ),
    ],
)
def test_the_dialect_is_understood_and_reads_the_last_frame(http, simulator, client, apimart, media, fields, roles):
    """The dialect's request means to the simulator what the user asked for (a lone reference image is no first
    frame), and the last frame the simulator returns is the one the dialect reads."""
    gateway = get_gateway("apimart")
    inputs = {
        key: media[value] if isinstance(value, str) else tuple(media[each] for each in value)
        for key, value in fields.items()
    }
    request = VideoRequest(model=MODEL, prompt="a lighthouse", return_last_frame=True, **inputs)
    task_id = gateway.parse_submit(_send(client, apimart, gateway.build_submit(request))).task_id
    assert _roles(http, simulator, task_id) == roles
    status = poll_until(
        lambda: gateway.parse_status(_send(client, apimart, gateway.build_status(task_id))),
        lambda status: status.state.is_terminal,
    )
    assert status.state is TaskState.SUCCEEDED
    download = gateway.build_download(status, "last_frame")
    assert png_size(http.get(download.path).content) == (864, 480)


def test_upload_image_and_fetch_it_back(http, simulator, client, apimart):
    reply = client.post(f"{apimart}/v1/uploads/images", files={"file": ("my photo.png", PNG, "image/png")})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"url", "filename", "content_type", "bytes", "created_at"}
    assert (body["content_type"], body["bytes"]) == ("image/png", len(PNG))
    assert body["filename"] == "my_photo.png"
    assert isinstance(body["created_at"], int)

    fetched = http.get(body["url"])  # public, like the upload CDN
    assert fetched.status_code == 200
    assert fetched.content == PNG
    assert fetched.headers["content-type"] == "image/png"

    # The returned URL is what generation requests take instead of base64.
    created = _create(client, apimart, image_urls=[body["url"]])
    assert _finish(client, apimart, _task_id(created))["status"] == "completed"
    assert _stats(http, simulator)["gateways"]["apimart"]["upload_requests"] == 1


@pytest.mark.parametrize(
    ("files", "status"),
    [
        pytest.param({"image": ("a.png", PNG, "image/png")}, 400, id="no-file-field"),
        pytest.param({"file": ("a.bmp", b"BM" + bytes(100), "image/bmp")}, 400, id="unsupported-format"),
        pytest.param({"file": ("big.png", PNG + bytes(20 * 1024 * 1024), "image/png")}, 413, id="too-large"),
    ],
)
def test_upload_rejections(client, apimart, files, status):
    reply = client.post(f"{apimart}/v1/uploads/images", files=files)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert (error["code"], error["type"]) == (status, "invalid_request_error")
    assert "file" in error["message"]


def test_upload_without_multipart_body(client, apimart):
    reply = client.post(f"{apimart}/v1/uploads/images", json={"file": "aGVsbG8="})
    assert reply.status_code == 400
    assert "file" in reply.json()["error"]["message"]


# ---- documented rejections ----------------------------------------------------------------------------------


def _frames(*roles: str) -> list[dict]:
    return [{"url": f"https://x.test/{index}.jpg", "role": role} for index, role in enumerate(roles)]


URLS = [f"https://x.test/{index}.jpg" for index in range(10)]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        pytest.param({"model": "doubao-seedance-1.5-pro"}, "model", id="unknown-model"),
        pytest.param({"model": None}, "model", id="missing-model"),
        pytest.param({"prompt": None}, "prompt", id="text-to-video-without-prompt"),
        pytest.param({"prompt": "   "}, "prompt", id="blank-prompt"),
        pytest.param({"prompt": "x" * 4001}, "prompt", id="prompt-too-long"),
        pytest.param({"duration": 3}, "duration", id="duration-short"),
        pytest.param({"duration": 16}, "duration", id="duration-long"),
        pytest.param({"duration": "5"}, "duration", id="duration-string"),
        pytest.param({"size": "16:10"}, "size", id="size"),
        pytest.param({"size": "1280x720"}, "size", id="size-pixels"),
        pytest.param({"resolution": "720P"}, "resolution", id="resolution-upper-case"),
        pytest.param({"model": FAST, "resolution": "1080p"}, "resolution", id="fast-1080p"),
        pytest.param({"model": "doubao-seedance-2.0-fast-face", "resolution": "1080p"}, "resolution", id="ff-1080p"),
        pytest.param({"seed": "42"}, "seed", id="seed-string"),
        pytest.param({"generate_audio": "true"}, "generate_audio", id="audio-string"),
        pytest.param({"return_last_frame": 1}, "return_last_frame", id="last-frame-int"),
        pytest.param({"tools": {"type": "web_search"}}, "tools", id="tools-object"),
        pytest.param({"tools": [{"kind": "web_search"}]}, "kind", id="tools-unknown-key"),
        pytest.param({"tools": [{"type": "code_interpreter"}]}, "tools", id="tools-type"),
        pytest.param({"image_urls": URLS}, "image_urls", id="ten-images"),
        pytest.param({"image_urls": [{"url": URLS[0]}]}, "image_urls", id="image-object"),
        pytest.param({"image_urls": "https://x.test/a.jpg"}, "image_urls", id="image-urls-string"),
        pytest.param(
            {"image_urls": URLS[:1], "image_with_roles": _frames("first_frame")}, "image_with_roles", id="both-images"
        ),
        pytest.param({"image_with_roles": _frames("middle_frame")}, "role", id="bad-role"),
        pytest.param({"image_with_roles": [{"url": URLS[0]}]}, "role", id="missing-role"),
        pytest.param({"image_with_roles": _frames("last_frame")}, "image_with_roles", id="last-without-first"),
        pytest.param(
            {"image_with_roles": _frames("first_frame", "reference_image")}, "image_with_roles", id="frames-and-refs"
        ),
        pytest.param(
            {"image_with_roles": _frames("first_frame"), "video_urls": ["https://x.test/v.mp4"]},
            "video_urls",
            id="roles-with-video",
        ),
        pytest.param(
            {"image_with_roles": _frames("first_frame"), "audio_urls": ["https://x.test/a.mp3"]},
            "audio_urls",
            id="roles-with-audio",
        ),
        pytest.param({"video_urls": [f"https://x.test/{i}.mp4" for i in range(4)]}, "video_urls", id="four-videos"),
        pytest.param(
            {"video_urls": URLS[:1], "audio_urls": [f"https://x.test/{i}.mp3" for i in range(4)]},
            "audio_urls",
            id="four-audios",
        ),
        pytest.param({"audio_urls": ["https://x.test/a.mp3"]}, "audio_urls", id="audio-alone"),
        pytest.param(
            {"model": "doubao-seedance-2.0-face", "image_urls": ["asset://asset_a"]}, "asset://", id="asset-on-face"
        ),
        pytest.param(
            {"model": "doubao-seedance-2.0-fast-face", "video_urls": ["asset://asset_a"]},
            "asset://",
            id="asset-video-on-fast-face",
        ),
        pytest.param({"image_urls": ["data:image/png;base64,iVBORw0KGgo="]}, "base64", id="data-uri"),
        pytest.param(
            {"image_with_roles": [{"url": "data:image/png;base64,iVBORw0KGgo=", "role": "first_frame"}]},
            "base64",
            id="data-uri-in-roles",
        ),
        pytest.param({"image_urls": ["iVBORw0KGgoAAAANSUhEUg=="]}, "image_urls", id="bare-base64"),
        pytest.param({"aspect_ratio": "16:9"}, "aspect_ratio", id="unknown-field"),
        pytest.param({"callback_url": "https://x.test/hook"}, "callback_url", id="undocumented-callback"),
    ],
)
def test_documented_rejections(http, simulator, client, apimart, fields, param):
    body = {key: value for key, value in {"model": MODEL, "prompt": "x", **fields}.items() if value is not None}
    response = client.post(f"{apimart}/v1/videos/generations", json=body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (400, "invalid_request_error")
    assert error["message"].startswith("请求参数无效")
    assert param in error["message"]
    assert not _stats(http, simulator)["tasks"]  # a rejected request creates no task


def test_body_that_is_not_json(client, apimart):
    response = client.post(f"{apimart}/v1/videos/generations", content=b"model=doubao-seedance-2.0")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_language_is_rejected(client, apimart):
    task_id = _task_id(_create(client, apimart))
    response = client.get(f"{apimart}/v1/tasks/{task_id}", params={"language": "fr"})
    assert response.status_code == 400
    assert "language" in response.json()["error"]["message"]
    assert client.get(f"{apimart}/v1/tasks/{task_id}", params={"language": "ja"}).status_code == 200


# ---- auth, missing tasks and faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic c2stMQ=="}, {"Authorization": "Token sk-simulator-test"}]
)
def test_missing_key_is_401_in_apimart_shape(http, apimart, headers):
    response = http.post(f"{apimart}/v1/videos/generations", json={"model": MODEL, "prompt": "x"}, headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (401, "authentication_error")
    assert error["message"].startswith("身份验证失败")


def test_unknown_task_is_404(client, apimart):
    response = client.get(f"{apimart}/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 404
    assert error["message"].startswith("任务不存在或已过期")  # "task not found or expired"


def test_scripted_rate_limit_then_success(http, simulator, client, apimart):
    simulator.simulator.faults.replace(
        FaultPlan(retry_after_seconds=3, script=[ScriptedFault(kind="rate_limit", gateway="apimart", op="submit")])
    )
    limited = _create(client, apimart)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    error = limited.json()["error"]
    assert (error["code"], error["type"]) == (429, "rate_limit_error")
    assert error["message"].startswith("请求过于频繁")
    assert not _stats(http, simulator)["tasks"]  # nothing was submitted

    task_id = _task_id(_create(client, apimart))
    assert _stats(http, simulator)["tasks"][f"apimart/{task_id}"]["submissions"] == 1


@pytest.mark.parametrize(("status", "kind"), [(502, "bad_gateway"), (500, "server_error"), (503, "server_error")])
def test_scripted_server_errors_on_status(simulator, client, apimart, status, kind):
    task_id = _task_id(_create(client, apimart))
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="server_error", gateway="apimart", op="status", status=status)])
    )
    failed = client.get(f"{apimart}/v1/tasks/{task_id}")
    assert failed.status_code == status
    error = failed.json()["error"]
    assert (error["code"], error["type"]) == (status, kind)
    assert _finish(client, apimart, task_id)["status"] == "completed"  # the next poll is fine


def test_scripted_server_error_on_upload(simulator, client, apimart):
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="server_error", gateway="apimart", op="upload", status=502)])
    )
    reply = client.post(f"{apimart}/v1/uploads/images", files={"file": ("a.png", PNG, "image/png")})
    assert reply.status_code == 502
    assert reply.json()["error"]["type"] == "bad_gateway"


@pytest.mark.parametrize(("language", "fragment"), [(None, "content moderation failed"), ("zh", "内容审核未通过")])
def test_moderation_failure(simulator, client, apimart, language, fragment):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="apimart")]))
    task_id = _task_id(_create(client, apimart))
    params = {"language": language} if language else {}
    data = poll_until(
        lambda: client.get(f"{apimart}/v1/tasks/{task_id}", params=params).json()["data"],
        lambda data: data["status"] in TERMINAL,
    )
    assert data["status"] == "failed"
    assert set(data["error"]) == {"code", "message", "type"}
    assert fragment in data["error"]["message"]
    assert "result" not in data
    assert "completed" not in data
