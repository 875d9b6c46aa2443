"""Simulated aiproxy (unified interface format), driven by a plain httpx client as its docs describe the API."""

from __future__ import annotations

import base64
import re
import uuid

import httpx
import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.gateways.base import HttpResponse
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.integration.simulator.conftest import image_bytes, poll_until
from tests.integration.simulator.media_check import decode_mp4, png_size

PRO = "doubao-seedance-1-0-pro-250528"
LITE_T2V = "doubao-seedance-1-0-lite-t2v-250428"
LITE_I2V = "doubao-seedance-1-0-lite-i2v-250428"
TERMINAL = {"SUCCESS", "FAILURE"}
WAITING = {"NOT_START", "SUBMITTED", "QUEUED"}
# For requests refused before anything is fetched; accepted ones use the file server (the ``media`` fixture).
FIRST = "https://example.com/first.png"
LAST = "https://example.com/last.png"
PNG_B64 = base64.b64encode(image_bytes(7)).decode()


@pytest.fixture
def generations(simulator) -> str:
    return simulator.gateway_url("aiproxy") + "/v2/videos/generations"


@pytest.fixture
def slow_clock(simulator):
    """Long enough queue and run phases that a poller sees every state; restored afterwards."""
    config = simulator.simulator.config
    original = config.queue_seconds, config.run_seconds
    config.queue_seconds, config.run_seconds = 200, 600  # 0.2 s and 0.6 s of real time
    try:
        yield config
    finally:
        config.queue_seconds, config.run_seconds = original


def _create(client: httpx.Client, url: str, **fields) -> httpx.Response:
    return client.post(url, json={"prompt": "a lighthouse at dusk", "model": PRO, **fields})


def _finish(client: httpx.Client, url: str, task_id: str) -> dict:
    return poll_until(lambda: client.get(f"{url}/{task_id}").json(), lambda task: task["status"] in TERMINAL)


def _stats(http: httpx.Client, simulator) -> dict:
    return http.get(f"{simulator.base_url}/_simulator/stats").json()


def test_text_to_video_lifecycle_and_download(http, simulator, client, generations, slow_clock):
    created = _create(client, generations, model=LITE_T2V, ratio="9:16", duration=10, seed=42)
    assert created.status_code == 200
    assert set(created.json()) == {"task_id"}
    task_id = created.json()["task_id"]
    assert str(uuid.UUID(task_id)) == task_id
    assert "X-Simulator-Warning" not in created.headers

    seen: list[dict] = []

    def fetch() -> dict:
        response = client.get(f"{generations}/{task_id}")
        assert response.status_code == 200
        seen.append(response.json())
        return seen[-1]

    task = poll_until(fetch, lambda t: t["status"] in TERMINAL, interval=0.01)
    assert task["status"] == "SUCCESS"

    first = seen[0]
    assert first["status"] in WAITING
    assert (first["progress"], first["start_time"], first["finish_time"], first["data"]) == ("0%", 0, 0, {})
    running = [t for t in seen if t["status"] == "IN_PROGRESS"]
    assert running, [t["status"] for t in seen]
    for snapshot in running:
        match = re.fullmatch(r"(\d{1,2})%", snapshot["progress"])
        assert match, snapshot["progress"]
        assert 1 <= int(match.group(1)) <= 99
        assert snapshot["start_time"] > 0
        assert snapshot["finish_time"] == 0
        assert snapshot["data"] == {}
    assert {t["status"] for t in seen} <= WAITING | {"IN_PROGRESS", "SUCCESS"}

    assert task["fail_reason"] == ""
    assert task["progress"] == "100%"
    assert task["submit_time"] <= task["start_time"] <= task["finish_time"]
    assert abs(task["finish_time"] - task["submit_time"] - 800) <= 1  # queue 200 s + run 600 s, simulated
    assert task["data"]["outputs"] == [task["data"]["output"]]
    assert "last_frame_url" not in task["data"]

    video = http.get(task["data"]["output"])  # a CDN URL: no key needed
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    decoded = decode_mp4(video.content)
    # Default resolution is the documented 480p.
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (480, 864, 10.0, False)

    stats = _stats(http, simulator)
    assert stats["gateways"]["aiproxy"]["submissions"] == 1
    task_stats = stats["tasks"][f"aiproxy/{task_id}"]
    assert task_stats["submissions"] == 1
    assert task_stats["downloads"] == 1
    assert task_stats["status_polls"] == len(seen)


def test_options_and_last_frame(http, client, generations):
    created = _create(
        client,
        generations,
        resolution="720p",
        ratio="21:9",
        duration=5,
        watermark=True,
        camerafixed=True,
        return_last_frame=True,
        generate_audio=False,
    )
    assert created.status_code == 200, created.text
    task = _finish(client, generations, created.json()["task_id"])
    assert task["status"] == "SUCCESS"
    decoded = decode_mp4(http.get(task["data"]["output"]).content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (1470, 630, 5.0, False)
    assert png_size(http.get(task["data"]["last_frame_url"]).content) == (1470, 630)


@pytest.mark.parametrize(
    ("model", "images", "ratio"),
    [
        pytest.param(PRO, ["png"], None, id="pro-first-frame"),
        # Pro is a model of the Image-to-Video page, whose images are "first frame / start-end frames"
        # (seeds/002_8f7c2fc1a55ca2ed.txt, `model` enum).
        pytest.param(PRO, ["png", "jpg"], "adaptive", id="pro-first-and-last"),
        # The page's own example sends lite-t2v one image (seeds/002_8f7c2fc1a55ca2ed.txt, "Example").
        pytest.param(LITE_T2V, ["jpg"], None, id="lite-t2v-one-image"),
        pytest.param(LITE_I2V, ["png"], None, id="lite-i2v-first-frame"),
        pytest.param(LITE_I2V, ["png", "jpg"], "keep_ratio", id="lite-i2v-first-and-last"),
        pytest.param(LITE_I2V, ["png", "jpg", "png2", "jpg"], "adaptive", id="lite-i2v-four-references"),
        pytest.param(LITE_I2V, [f"data:image/png;base64,{PNG_B64}"], None, id="lite-i2v-data-uri"),
        pytest.param(PRO, [PNG_B64], "1:1", id="pro-bare-base64"),
    ],
)
def test_image_to_video_accepted(http, client, generations, media, model, images, ratio):
    images = [media.get(image, image) for image in images]  # names of served files become their URLs
    fields = {"model": model, "images": images, **({"ratio": ratio} if ratio else {})}
    created = _create(client, generations, **fields)
    assert created.status_code == 200, created.text
    task = _finish(client, generations, created.json()["task_id"])
    assert task["status"] == "SUCCESS"
    assert task["data"]["output"].startswith("http")


# The request printed in aiproxy's Seedance page (seeds/002_8f7c2fc1a55ca2ed.txt), verbatim: once as its
# "Example" JSON and again as the curl command's --data-raw body, the same object both times.
PRINTED_EXAMPLES = [
    pytest.param(
        {"prompt": "dance", "model": LITE_T2V, "images": ["https://webstatic.aiproxy.vip/dist/demo.jpg"]},
        id="example-and-curl-data-raw",
    ),
]


@pytest.fixture
def quick_fetch(simulator):
    """The printed example's image lives on aiproxy's CDN: give up on it quickly where there is no network."""
    config = simulator.simulator.config
    original = config.input_fetch_timeout_seconds
    config.input_fetch_timeout_seconds = 1.0
    try:
        yield config
    finally:
        config.input_fetch_timeout_seconds = original


@pytest.mark.parametrize("body", PRINTED_EXAMPLES)
def test_printed_example_is_accepted_verbatim(client, generations, quick_fetch, body):
    created = client.post(generations, json=body)
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    # Whether the CDN image can be fetched from here decides how the task ends, not whether it was taken.
    polled = client.get(f"{generations}/{task_id}")
    assert polled.status_code == 200
    assert polled.json()["task_id"] == task_id


def test_dialect_first_and_last_frame_on_pro_round_trips(http, simulator, client, generations, media):
    # The dialect's pro first+last-frame request (seeds/002_8f7c2fc1a55ca2ed.txt) is one the simulator takes.
    gateway = get_gateway("aiproxy")
    call = gateway.build_submit(
        VideoRequest(model=PRO, prompt="morph", first_frame=media["png"], last_frame=media["jpg"])
    )
    created = client.post(generations, json=dict(call.json))
    task_id = gateway.parse_submit(HttpResponse(created.status_code, created.content)).task_id
    assert _finish(client, generations, task_id)["status"] == "SUCCESS"
    inputs = http.get(f"{simulator.base_url}/_simulator/tasks/aiproxy/{task_id}").json()["inputs"]
    assert [item["role"] for item in inputs] == ["first_frame", "last_frame"]


def test_keep_ratio_renders_as_16_9(http, client, generations, media):
    created = _create(client, generations, model=LITE_I2V, images=[media["png"]], ratio="keep_ratio")
    task = _finish(client, generations, created.json()["task_id"])
    decoded = decode_mp4(http.get(task["data"]["output"]).content)
    assert (decoded.width, decoded.height) == (864, 480)


def test_long_prompt_is_truncated_visibly(http, simulator, client, generations):
    prompt = "猫" * 500 + "x" * 500  # 1000 characters: Chinese characters and letters count one each
    created = client.post(generations, json={"prompt": prompt, "model": PRO})
    assert created.status_code == 200
    assert created.headers["X-Simulator-Warning"] == "prompt of 1000 characters truncated to 800"
    task_id = created.json()["task_id"]
    assert simulator.simulator.tasks.get("aiproxy", task_id).prompt == prompt[:800]
    assert _stats(http, simulator)["tasks"][f"aiproxy/{task_id}"]["prompts_truncated"] == 1

    exact = client.post(generations, json={"prompt": "y" * 800, "model": PRO})
    assert exact.status_code == 200
    assert "X-Simulator-Warning" not in exact.headers


TEXT = {"prompt": "x", "model": PRO}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"model": PRO}, "prompt", id="no-prompt"),
        pytest.param({"prompt": "  ", "model": PRO}, "prompt", id="blank-prompt"),
        pytest.param({"prompt": ["x"], "model": PRO}, "prompt", id="prompt-not-string"),
        pytest.param({"prompt": "x"}, "model", id="no-model"),
        pytest.param({"prompt": "x", "model": "doubao-seedance-2-0-260128"}, "model", id="unknown-model"),
        pytest.param({**TEXT, "duration": 6}, "duration", id="duration-6"),
        pytest.param({**TEXT, "duration": "5"}, "duration", id="duration-string"),
        pytest.param({**TEXT, "duration": 5.0}, "duration", id="duration-float"),
        pytest.param({**TEXT, "resolution": "720P"}, "resolution", id="resolution-upper-case"),
        pytest.param({**TEXT, "resolution": "4k"}, "resolution", id="resolution-4k"),
        pytest.param({**TEXT, "ratio": "2:1"}, "ratio", id="ratio"),
        pytest.param({**TEXT, "ratio": "keep_ratio"}, "ratio", id="keep-ratio-without-image"),
        pytest.param({**TEXT, "watermark": "false"}, "watermark", id="watermark-string"),
        pytest.param({**TEXT, "seed": -1}, "seed", id="seed-negative"),
        pytest.param({**TEXT, "seed": 2147483648}, "seed", id="seed-too-big"),
        pytest.param({**TEXT, "seed": True}, "seed", id="seed-bool"),
        pytest.param({**TEXT, "camerafixed": 1}, "camerafixed", id="camerafixed-int"),
        pytest.param({**TEXT, "camera_fixed": True}, "camera_fixed", id="camera_fixed-spelling"),
        pytest.param({**TEXT, "return_last_frame": "yes"}, "return_last_frame", id="return-last-frame"),
        pytest.param({**TEXT, "generate_audio": True}, "generate_audio", id="audio-on-1.0"),
        pytest.param({**TEXT, "aspect_ratio": "16:9"}, "aspect_ratio", id="unknown-aspect_ratio"),
        pytest.param({**TEXT, "videos": ["https://x/v.mp4"]}, "videos", id="unknown-videos"),
        # A guess (see the simulator's docstring): the page's example gives lite-t2v one image, never two.
        pytest.param({"prompt": "x", "model": LITE_T2V, "images": [FIRST, LAST]}, "images", id="t2v-two-images"),
        pytest.param({"prompt": "x", "model": LITE_I2V}, "images", id="i2v-without-image"),
        pytest.param({"prompt": "x", "model": LITE_I2V, "images": []}, "images", id="i2v-empty-images"),
        pytest.param({"prompt": "x", "model": LITE_I2V, "images": [FIRST] * 5}, "images", id="i2v-five-images"),
        pytest.param({**TEXT, "images": [FIRST, LAST, FIRST]}, "images", id="pro-three-images"),
        pytest.param({**TEXT, "images": FIRST}, "images", id="images-not-array"),
        pytest.param({**TEXT, "images": ["ftp://x/a.png"]}, "images[0]", id="image-ftp"),
        pytest.param({**TEXT, "images": ["asset://asset-123"]}, "images[0]", id="image-asset"),
        pytest.param({**TEXT, "images": ["data:text/plain;base64,aGk="]}, "images[0]", id="image-data-not-image"),
        pytest.param({**TEXT, "images": [base64.b64encode(b"hello").decode()]}, "images[0]", id="image-not-image"),
        pytest.param({**TEXT, "images": [7]}, "images[0]", id="image-number"),
    ],
)
def test_documented_rejections(http, simulator, client, generations, body, param):
    response = client.post(generations, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "invalid_parameter", param)
    assert param in error["message"]
    stats = _stats(http, simulator)["gateways"]["aiproxy"]
    assert stats["submit_rejected"] == 1
    assert "submissions" not in stats


def test_body_that_is_not_json(client, generations):
    response = client.post(generations, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_scripted_rate_limit_on_submit(http, simulator, client, generations):
    plan = FaultPlan(retry_after_seconds=3, script=[ScriptedFault(kind="rate_limit", gateway="aiproxy", op="submit")])
    simulator.simulator.faults.replace(plan)
    limited = _create(client, generations)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert "submissions" not in _stats(http, simulator)["gateways"]["aiproxy"]

    retried = _create(client, generations)
    assert retried.status_code == 200
    assert _stats(http, simulator)["gateways"]["aiproxy"]["submissions"] == 1


def test_scripted_server_error_on_status(simulator, client, generations):
    task_id = _create(client, generations).json()["task_id"]
    plan = FaultPlan(script=[ScriptedFault(kind="server_error", gateway="aiproxy", op="status", status=503)])
    simulator.simulator.faults.replace(plan)
    failed = client.get(f"{generations}/{task_id}")
    assert failed.status_code == 503
    assert failed.json()["error"]["type"] == "server_error"
    assert _finish(client, generations, task_id)["status"] == "SUCCESS"


def test_moderation_failure(simulator, client, generations):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="aiproxy")]))
    created = _create(client, generations)
    assert created.status_code == 200
    task = _finish(client, generations, created.json()["task_id"])
    assert task["status"] == "FAILURE"
    assert "moderation" in task["fail_reason"]
    assert task["data"] == {}
    assert task["progress"] == "100%"
    assert task["finish_time"] >= task["start_time"] > 0


def test_missing_key_is_401(http, generations):
    created = http.post(generations, json=TEXT)
    assert created.status_code == 401
    assert created.json()["error"]["type"] == "authentication_error"
    polled = http.get(f"{generations}/{uuid.uuid4()}", headers={"Authorization": "Basic c2stc2ltdWxhdG9y"})
    assert polled.status_code == 401


def test_unknown_task_is_404(client, generations):
    response = client.get(f"{generations}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task_not_exist"


def test_there_is_no_cancel(client, generations):
    task_id = _create(client, generations).json()["task_id"]
    assert client.delete(f"{generations}/{task_id}").status_code == 405
