"""Simulated imini, driven by a plain httpx client exactly as imini's docs describe the API."""

from __future__ import annotations

import json
import re
from datetime import datetime

import httpx
import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.gateways.base import HttpCall, HttpResponse
from airflow_provider_seedance.models import TaskState, VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.simulator.fake_gateways.base import ErrorKind
from airflow_provider_seedance.simulator.fake_gateways.imini import IminiSim
from tests.integration.simulator.conftest import data_uri, image_bytes, poll_until, reachable
from tests.integration.simulator.media_check import decode_mp4, png_size

MODEL = "doubao/seedance-2.0"
TERMINAL = {"succeeded", "failed"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
IMAGE = "https://example.com/still.png"
CLIP = "https://example.com/clip.mp4"
SOUND = "https://example.com/sound.mp3"


@pytest.fixture
def imini(simulator) -> str:
    return simulator.gateway_url("imini")


def _create(client: httpx.Client, base: str, **fields) -> httpx.Response:
    return client.post(f"{base}/v1/videos/generate", json={"model": MODEL, "prompt": "a lighthouse at dusk", **fields})


def _query(client: httpx.Client, base: str, task_id: str) -> httpx.Response:
    return client.get(f"{base}/v1/videos/tasks/{task_id}")


def _finish(client: httpx.Client, base: str, task_id: str) -> dict:
    return poll_until(lambda: _query(client, base, task_id).json(), lambda task: task["status"] in TERMINAL)


def _stats(http: httpx.Client, simulator, task_id: str) -> dict:
    return http.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"][f"imini/{task_id}"]


def test_text_to_video_with_audio_and_last_frame(http, simulator, client, imini):
    created = _create(
        client, imini, resolution="480P", aspect_ratio="9:16", duration=4, extra_params={"return_last_frame": True}
    )
    assert created.status_code == 200
    reply = created.json()
    assert set(reply) == {"task_id", "model", "created_at", "request_id"}
    assert re.fullmatch(r"task_\d{19}", reply["task_id"])
    assert reply["model"] == MODEL
    assert ISO_MS.match(reply["created_at"])
    task_id = reply["task_id"]

    task = _finish(client, imini, task_id)
    assert task["status"] == "succeeded"
    assert set(task) == {
        "task_id",
        "status",
        "model",
        "created_at",
        "completed_at",
        "videos",
        "error",
        "request_id",
    }
    assert (task["task_id"], task["model"], task["created_at"], task["error"]) == (
        task_id,
        MODEL,
        reply["created_at"],
        None,
    )
    assert ISO_MS.match(task["completed_at"])
    created_at = datetime.fromisoformat(task["created_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(task["completed_at"].replace("Z", "+00:00")) > created_at

    [item] = task["videos"]
    assert (item["width"], item["height"], item["duration"]) == (480, 864, 4)
    video = http.get(item["url"])  # a CDN URL: no key needed
    assert video.headers["content-type"] == "video/mp4"
    assert int(video.headers["content-length"]) == len(video.content)
    decoded = decode_mp4(video.content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (480, 864, 4.0, True)
    assert decoded.frames == 4 * 24
    assert png_size(http.get(item["last_frame_url"]).content) == (480, 864)
    assert png_size(http.get(item["cover_url"]).content) == (480, 864)

    stats = _stats(http, simulator, task_id)
    assert stats["submissions"] == 1
    assert stats["downloads"] == 3
    assert stats["status_polls"] >= 1


# Every request body printed on imini's Seedance 2.0 page (seeds/000_4991d4552ef99e7e.txt: its curl example; the
# page prints no other), character for character.
PRINTED_EXAMPLES = [
    pytest.param(
        """{
  "model": "doubao/seedance-2.0",
  "prompt": "A slow pan across a misty mountain valley at sunrise, cinematic",
  "resolution": "720P",
  "aspect_ratio": "16:9",
  "duration": 5
}""",
        id="curl-example",
    ),
]


@pytest.mark.parametrize("text", PRINTED_EXAMPLES)
def test_printed_examples_are_accepted(client, imini, text):
    created = client.post(
        f"{imini}/v1/videos/generate", content=text.encode(), headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"task_id", "model", "created_at", "request_id"}
    assert _finish(client, imini, created.json()["task_id"])["status"] == "succeeded"


def test_defaults(http, client, imini):
    # A prompt-only request takes every default.
    fast = client.post(f"{imini}/v1/videos/generate", json={"model": "doubao/seedance-2.0-fast", "prompt": "rain"})
    assert fast.status_code == 200
    task = _finish(client, imini, fast.json()["task_id"])
    assert task["model"] == "doubao/seedance-2.0-fast"
    [item] = task["videos"]
    # 720P, adaptive (rendered as 16:9), 5 s, with audio.
    assert (item["width"], item["height"], item["duration"]) == (1280, 720, 5)
    assert "last_frame_url" not in item
    decoded = decode_mp4(http.get(item["url"]).content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (1280, 720, 5.0, True)


def test_image_to_video_first_frame_without_audio(http, client, imini, media):
    created = _create(
        client,
        imini,
        aspect_ratio="1:1",
        duration=4,
        generate_audio=False,
        reference_images=[{"url": media["png"], "reference_type": "first_frame"}],
    )
    assert created.status_code == 200
    task = _finish(client, imini, created.json()["task_id"])
    [item] = task["videos"]
    decoded = decode_mp4(http.get(item["url"]).content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (960, 960, 4.0, False)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            {
                "reference_images": [
                    {"url": IMAGE, "reference_type": "first_frame"},
                    {"url": "https://example.com/end.png", "reference_type": "last_frame"},
                ]
            },
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "reference_images": [{"url": IMAGE, "reference_type": "asset"}] * 9,
                "reference_videos": [{"url": CLIP}] * 3,
                "reference_audios": [{"url": SOUND}] * 3,
            },
            id="multimodal-maximum",
        ),
        pytest.param(
            {"reference_videos": [{"url": CLIP}], "reference_audios": [{"url": "data:audio/mpeg;base64,SUQz"}]},
            id="video-with-audio",
        ),
        pytest.param(
            {"reference_images": [{"url": data_uri(image_bytes(5)), "reference_type": "first_frame"}]},
            id="image-data-uri",
        ),
        pytest.param(
            {"prompt": None, "reference_images": [{"url": IMAGE, "reference_type": "asset"}]},
            id="no-prompt-with-image",
        ),
        pytest.param(
            {"extra_params": {"seed": 2**32 - 1, "watermark": True, "return_last_frame": False}},
            id="all-extra-params",
        ),
        pytest.param({"extra_params": {"seed": -1}}, id="random-seed"),
    ],
)
def test_documented_inputs_are_accepted(client, imini, media, fields):
    created = _create(client, imini, **reachable(fields, media))
    assert created.status_code == 200, created.text
    assert _finish(client, imini, created.json()["task_id"])["status"] == "succeeded"


def _send(client: httpx.Client, base: str, call: HttpCall) -> HttpResponse:
    reply = client.request(call.method, f"{base}/{call.path}", json=call.json)
    return HttpResponse(reply.status_code, reply.content, dict(reply.headers))


@pytest.mark.parametrize(
    ("inputs", "received"),
    [
        pytest.param({}, [], id="text"),
        # seeds/000_4991d4552ef99e7e.txt, reference_audios: "(avoid base64 for large files)" -- base64 is taken.
        pytest.param(
            {"reference_images": ("png",), "reference_audios": ("data-mp3",)},
            [("reference_image", "url"), ("reference_audio", "data")],
            id="reference-image-and-base64-audio",
        ),
    ],
)
def test_the_dialect_is_understood_and_reads_the_last_frame(http, simulator, client, imini, media, inputs, received):
    """The simulator takes what the dialect sends, and returns the last frame where the dialect reads it."""
    sources = {**media, "data-mp3": data_uri(b"ID3\x04\x00\x00" + bytes(64), "audio/mpeg")}
    gateway = get_gateway("imini")
    fields = {key: tuple(sources[name] for name in names) for key, names in inputs.items()}
    request = VideoRequest(model=MODEL, prompt="a lighthouse", return_last_frame=True, **fields)
    task_id = gateway.parse_submit(_send(client, imini, gateway.build_submit(request))).task_id
    task = http.get(f"{simulator.base_url}/_simulator/tasks/imini/{task_id}").json()
    assert [(item["role"], item["via"]) for item in task["inputs"]] == received
    status = poll_until(
        lambda: gateway.parse_status(_send(client, imini, gateway.build_status(task_id))),
        lambda status: status.state.is_terminal,
    )
    assert status.state is TaskState.SUCCEEDED
    download = gateway.build_download(status, "last_frame")
    assert png_size(http.get(download.path).content) == (1280, 720)


def test_queued_task_reads_as_queued_with_nulls(simulator, client, imini):
    config = simulator.simulator.config
    original = config.queue_seconds
    config.queue_seconds = 10_000
    try:
        task_id = _create(client, imini).json()["task_id"]
        task = _query(client, imini, task_id).json()
        assert (task["status"], task["completed_at"], task["videos"], task["error"]) == ("queued", None, None, None)
    finally:
        config.queue_seconds = original


def test_running_task_reads_as_processing(simulator, client, imini):
    config = simulator.simulator.config
    original = config.run_seconds
    config.run_seconds = 100_000
    try:
        task_id = _create(client, imini).json()["task_id"]
        task = poll_until(lambda: _query(client, imini, task_id).json(), lambda t: t["status"] != "queued")
        assert (task["status"], task["completed_at"], task["videos"]) == ("processing", None, None)
    finally:
        config.run_seconds = original


def _body(**fields) -> dict:
    return {"model": MODEL, "prompt": "x", **fields}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"prompt": "x"}, "model", id="no-model"),
        pytest.param(_body(model="doubao/seedance-1.0-pro"), "model", id="unknown-model"),
        pytest.param(_body(model="doubao-seedance-2-0-260128"), "model", id="ark-model-id"),
        pytest.param(_body(resolution="720p"), "resolution", id="lower-case-resolution"),
        pytest.param(_body(resolution="1080P"), "resolution", id="1080P"),
        pytest.param(_body(aspect_ratio="9:21"), "aspect_ratio", id="ratio-value"),
        pytest.param(_body(ratio="16:9"), "ratio", id="unknown-field-ratio"),
        pytest.param(_body(seed=7), "seed", id="top-level-seed"),
        pytest.param(_body(return_last_frame=True), "return_last_frame", id="top-level-last-frame"),
        pytest.param(_body(duration=3), "duration", id="duration-short"),
        pytest.param(_body(duration=16), "duration", id="duration-long"),
        pytest.param(_body(duration="5"), "duration", id="duration-string"),
        pytest.param(_body(generate_audio="false"), "generate_audio", id="audio-string"),
        pytest.param(_body(prompt=42), "prompt", id="prompt-type"),
        pytest.param({"model": MODEL}, "prompt", id="nothing-to-generate"),
        pytest.param({"model": MODEL, "prompt": "   "}, "prompt", id="blank-prompt"),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "asset"}] * 10),
            "reference_images",
            id="ten-images",
        ),
        pytest.param(_body(reference_images=[IMAGE]), "reference_images[0]", id="image-as-string"),
        pytest.param(_body(reference_images={"url": IMAGE}), "reference_images", id="images-not-array"),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "reference_image"}]),
            "reference_images[0].reference_type",
            id="reference-type-value",
        ),
        pytest.param(
            _body(reference_images=[{"url": IMAGE}]),
            "reference_images[0].reference_type",
            id="reference-type-missing",
        ),
        pytest.param(
            _body(reference_images=[{"reference_type": "asset"}]), "reference_images[0].url", id="image-url-missing"
        ),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "asset", "role": "x"}]),
            "reference_images[0].role",
            id="image-item-unknown-key",
        ),
        pytest.param(
            _body(reference_images=[{"url": "ftp://example.com/a.png", "reference_type": "asset"}]),
            "reference_images[0].url",
            id="image-ftp-url",
        ),
        pytest.param(
            _body(reference_images=[{"url": "asset://asset-123", "reference_type": "asset"}]),
            "reference_images[0].url",
            id="image-asset-scheme",
        ),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "last_frame"}]),
            "reference_images",
            id="last-frame-alone",
        ),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "first_frame"}] * 2),
            "reference_images",
            id="two-first-frames",
        ),
        pytest.param(
            _body(
                reference_images=[
                    {"url": IMAGE, "reference_type": "first_frame"},
                    {"url": IMAGE, "reference_type": "asset"},
                ]
            ),
            "reference_images",
            id="frame-with-asset",
        ),
        pytest.param(
            _body(reference_images=[{"url": IMAGE, "reference_type": "first_frame"}], reference_videos=[{"url": CLIP}]),
            "reference_images",
            id="frame-with-video",
        ),
        pytest.param(_body(reference_videos=[{"url": CLIP}] * 4), "reference_videos", id="four-videos"),
        pytest.param(
            _body(reference_videos=[{"url": "data:video/mp4;base64,AAAA"}]),
            "reference_videos[0].url",
            id="video-data-uri",
        ),
        pytest.param(_body(reference_videos=[CLIP]), "reference_videos[0]", id="video-as-string"),
        pytest.param(_body(reference_audios=[{"url": SOUND}]), "reference_audios", id="audio-alone"),
        pytest.param(
            _body(reference_videos=[{"url": CLIP}], reference_audios=[{"url": SOUND}] * 4),
            "reference_audios",
            id="four-audios",
        ),
        pytest.param(_body(extra_params=[1]), "extra_params", id="extra-params-type"),
        pytest.param(_body(extra_params={"fps": 24}), "extra_params.fps", id="extra-params-unknown"),
        pytest.param(_body(extra_params={"seed": 2**32}), "extra_params.seed", id="seed-too-big"),
        pytest.param(_body(extra_params={"seed": -2}), "extra_params.seed", id="seed-too-small"),
        pytest.param(_body(extra_params={"watermark": "no"}), "extra_params.watermark", id="watermark-type"),
        pytest.param(
            _body(extra_params={"return_last_frame": 1}), "extra_params.return_last_frame", id="last-frame-type"
        ),
    ],
)
def test_documented_rejections(http, simulator, client, imini, body, field):
    response = client.post(f"{imini}/v1/videos/generate", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "status", "request_id"}
    assert (error["code"], error["status"]) == ("INVALID_PARAMETER", 400)
    assert field in error["message"]
    assert error["request_id"]
    gateway = http.get(f"{simulator.base_url}/_simulator/stats").json()["gateways"]["imini"]
    assert gateway["submit_rejected"] == 1
    assert "submissions" not in gateway


def test_body_that_is_not_json_is_invalid_parameter(client, imini):
    response = client.post(f"{imini}/v1/videos/generate", content=b"{not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMETER"


def test_missing_key_is_401_in_imini_shape(http, imini):
    response = http.post(f"{imini}/v1/videos/generate", json=_body())
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["status"]) == ("UNAUTHORIZED", 401)
    assert "API key" in error["message"]


def test_unknown_task_is_404_task_not_found(client, imini):
    response = _query(client, imini, "task_1234567890123456789")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["status"]) == ("TASK_NOT_FOUND", 404)
    assert "task_1234567890123456789" in error["message"]


def test_no_cancel_endpoint(client, imini):
    task_id = _create(client, imini).json()["task_id"]
    assert client.delete(f"{imini}/v1/videos/tasks/{task_id}").status_code == 405


def test_scripted_rate_limit_on_submit(http, simulator, client, imini):
    plan = FaultPlan(retry_after_seconds=3, script=[ScriptedFault(kind="rate_limit", gateway="imini", op="submit")])
    simulator.simulator.faults.replace(plan)
    limited = _create(client, imini)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    error = limited.json()["error"]
    assert (error["code"], error["status"]) == ("RATE_LIMITED", 429)
    assert error["message"]

    retried = _create(client, imini)  # the script is used up: the retry goes through
    assert retried.status_code == 200
    task_id = retried.json()["task_id"]
    assert _stats(http, simulator, task_id)["submissions"] == 1
    gateway = http.get(f"{simulator.base_url}/_simulator/stats").json()["gateways"]["imini"]
    assert (gateway["submit_requests"], gateway["submissions"], gateway["fault_rate_limit"]) == (2, 1, 1)


def test_scripted_502_on_status(simulator, client, imini):
    task_id = _create(client, imini).json()["task_id"]
    plan = FaultPlan(script=[ScriptedFault(kind="server_error", gateway="imini", op="status", status=502)])
    simulator.simulator.faults.replace(plan)
    failed = _query(client, imini, task_id)
    assert failed.status_code == 502
    error = failed.json()["error"]
    assert (error["code"], error["status"]) == ("UPSTREAM_ERROR", 502)
    assert _finish(client, imini, task_id)["status"] == "succeeded"


def test_moderation_failure_is_a_failed_task_with_an_error(simulator, client, imini):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="imini")]))
    created = _create(client, imini)
    assert created.status_code == 200  # accepted and paid for; it fails later
    task = _finish(client, imini, created.json()["task_id"])
    assert task["status"] == "failed"
    assert task["videos"] is None
    assert ISO_MS.match(task["completed_at"])
    assert set(task["error"]) == {"code", "message"}
    assert task["error"]["code"] == "CONTENT_POLICY_VIOLATION"
    assert "content safety" in task["error"]["message"]


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, ErrorKind.INVALID_REQUEST, "INVALID_PARAMETER"),
        (400, ErrorKind.MODERATION, "INVALID_PROMPT"),
        (401, ErrorKind.AUTHENTICATION, "UNAUTHORIZED"),
        (402, ErrorKind.INSUFFICIENT_CREDIT, "INSUFFICIENT_CREDITS"),
        (404, ErrorKind.NOT_FOUND, "TASK_NOT_FOUND"),
        (429, ErrorKind.RATE_LIMITED, "RATE_LIMITED"),
        (500, ErrorKind.SERVER_ERROR, "INTERNAL_ERROR"),
        (502, ErrorKind.SERVER_ERROR, "UPSTREAM_ERROR"),
    ],
)
def test_every_error_kind_in_imini_shape(status, kind, code):
    # No fault produces 402 or a synchronous prompt rejection yet, so check the error shape directly.
    response = IminiSim().error(status, kind, "something went wrong", param="prompt")
    assert response.status == status
    error = json.loads(response.body)["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert error["message"] == "prompt: something went wrong"
    assert re.fullmatch(r"[0-9a-f-]{36}", error["request_id"])
