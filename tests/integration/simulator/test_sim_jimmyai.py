"""Simulated JimmyAI, driven by a plain httpx client exactly as its docs describe the API."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.gateways.base import HttpResponse
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.simulator.fake_gateways import jimmyai as jimmyai_sim
from tests.integration.simulator.conftest import poll_until
from tests.integration.simulator.media_check import decode_mp4, png_size

TERMINAL = {"completed", "failed"}
VIDEOS = "/api/open-api/v1/seedance/videos"
QUERY = "/api/open-api/v1/videos"
ASSETS = "/api/open-api/v1/seedance/sp/assets"


@pytest.fixture
def jimmy(simulator) -> str:
    return simulator.gateway_url("jimmyai")


def _create(client: httpx.Client, base: str, **fields) -> httpx.Response:
    body = {"model": "seedance2.0-mini", "prompt": "a paper boat on a rainy street", "duration": 4, **fields}
    return client.post(base + VIDEOS, json=body)


def _task_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    reply = response.json()
    assert (reply["code"], reply["msg"]) == ("20000", "ok")
    return reply["data"]["task_id"]


def _poll(client: httpx.Client, base: str, task_id: str) -> dict:
    reply = client.get(f"{base}{QUERY}/{task_id}").json()
    assert reply["code"] == "20000"
    return reply["data"]


def _finish(client: httpx.Client, base: str, task_id: str) -> dict:
    return poll_until(lambda: _poll(client, base, task_id), lambda task: task["status"] in TERMINAL)


def _upload(client: httpx.Client, base: str, url: str, kind: str = "image", name: str = "reference-1") -> str:
    reply = client.post(f"{base}{ASSETS}/upload", json={"name": name, "type": kind, "url": url}).json()
    assert reply["code"] == 0  # the asset endpoints use an integer code
    assert reply["msg"] == "ok"
    return reply["data"]["asset_id"]


def _asset_status(client: httpx.Client, base: str, *asset_ids: str) -> list[dict]:
    reply = client.post(f"{base}{ASSETS}/status", json={"asset_ids": list(asset_ids)}).json()
    assert reply["code"] == 0
    return reply["data"]["items"]


@pytest.fixture
def slow_assets(monkeypatch):
    """Assets stay Processing for 500 simulated seconds (0.5 s real), long enough to be seen."""
    monkeypatch.setattr(jimmyai_sim, "ASSET_PROCESSING_SECONDS", 500.0)


def test_mini_route_from_submit_to_download(http, simulator, client, jimmy):
    config = simulator.simulator.config
    original = (config.queue_seconds, config.run_seconds)
    config.queue_seconds, config.run_seconds = 200.0, 600.0  # 0.2 s queued, 0.6 s running: polls see both
    try:
        created = _create(client, jimmy, resolution="480p", ratio="9:16")
        task_id = _task_id(created)
        data = created.json()["data"]
        assert (data["status"], data["model"]) == ("submitted", "seedance2.0-mini")
        assert isinstance(data["created_at"], int)

        seen: list[tuple[str, int]] = []

        def poll() -> dict:
            task = _poll(client, jimmy, task_id)
            seen.append((task["status"], task["progress"]))
            return task

        task = poll_until(poll, lambda t: t["status"] in TERMINAL)
    finally:
        config.queue_seconds, config.run_seconds = original

    assert task["status"] == "completed"
    assert task["progress"] == 100
    assert task["error_message"] is None
    assert task["completed_at"] >= task["created_at"] == data["created_at"]
    assert ("queued", 0) in seen
    running = [progress for status, progress in seen if status == "processing"]
    assert running, seen
    assert all(1 <= progress <= 99 for progress in running)
    assert running == sorted(running)

    video = http.get(task["result"]["video_url"])  # a CDN link: no key
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    decoded = decode_mp4(video.content)
    assert (decoded.width, decoded.height, decoded.duration) == (480, 864, 4.0)
    assert decoded.has_audio
    assert png_size(http.get(task["result"]["image_url"]).content) == (480, 864)

    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()
    assert stats["gateways"]["jimmyai"]["submissions"] == 1
    counters = stats["tasks"][f"jimmyai/{task_id}"]
    assert counters["submissions"] == 1
    assert counters["status_polls"] == len(seen)
    assert counters["downloads"] == 2


def test_sp_asset_flow_end_to_end(http, client, jimmy, media, slow_assets):
    asset_id = _upload(client, jimmy, media["jpg"])
    assert asset_id.startswith("asset_")
    assert _asset_status(client, jimmy, asset_id) == [
        {"asset_id": asset_id, "status": "Processing", "name": "reference-1"}
    ]

    body = {"model": "seedance2.0-sp", "prompt": "she turns to the camera", "duration": 5}
    early = client.post(jimmy + VIDEOS, json={**body, "images": [f"asset://{asset_id}"]})
    assert early.status_code == 400
    assert early.json()["code"] == "40000"
    assert "images[0]" in early.json()["msg"]
    assert "Processing" in early.json()["msg"]

    items = poll_until(lambda: _asset_status(client, jimmy, asset_id), lambda items: items[0]["status"] != "Processing")
    assert items[0]["status"] == "Active"
    detail = client.post(f"{jimmy}{ASSETS}/detail", json={"asset_id": asset_id}).json()
    assert detail["code"] == 0
    assert detail["data"]["status"] == "Active"
    assert detail["data"]["official_id"]
    assert detail["data"]["image_url"] == media["jpg"]
    assert isinstance(detail["data"]["created_at"], int)

    task_id = _task_id(client.post(jimmy + VIDEOS, json={**body, "images": [f"asset://{asset_id}"], "ratio": "1:1"}))
    task = _finish(client, jimmy, task_id)
    assert task["status"] == "completed"
    assert task["model"] == "seedance2.0-sp"
    assert png_size(http.get(task["result"]["image_url"]).content) == (960, 960)

    # An image asset cannot stand in for a reference audio, and an unknown id is not in the library.
    wrong_type = client.post(
        jimmy + VIDEOS,
        json={**body, "images": [f"asset://{asset_id}"], "reference_audios": [f"asset://{asset_id}"]},
    )
    assert wrong_type.status_code == 400
    assert "reference_audios[0]" in wrong_type.json()["msg"]
    unknown = client.post(jimmy + VIDEOS, json={**body, "images": ["asset://asset_missing"]})
    assert unknown.status_code == 400
    assert "images[0]" in unknown.json()["msg"]
    assert "asset_missing" in unknown.json()["msg"]


def test_asset_with_a_non_http_url_fails(client, jimmy, slow_assets):
    asset_id = _upload(client, jimmy, "ftp://example.com/clip.mp4", kind="video")
    items = poll_until(lambda: _asset_status(client, jimmy, asset_id), lambda items: items[0]["status"] != "Processing")
    assert items[0]["status"] == "Failed"
    rejected = client.post(
        jimmy + VIDEOS,
        json={
            "model": "seedance2.0-fast-sp",
            "prompt": "x",
            "duration": 4,
            "reference_videos": [f"asset://{asset_id}"],
        },
    )
    assert rejected.status_code == 400
    assert "reference_videos[0]" in rejected.json()["msg"]
    assert "Failed" in rejected.json()["msg"]


def test_unknown_asset_is_404(client, jimmy):
    for path, body in (("detail", {"asset_id": "asset_nope"}), ("status", {"asset_ids": ["asset_nope"]})):
        response = client.post(f"{jimmy}{ASSETS}/{path}", json=body)
        assert response.status_code == 404
        assert response.json() == {"code": "40400", "msg": "asset_id asset_nope does not exist", "data": None}


def test_full_route_takes_asset_ids_only(http, client, jimmy):
    body = {"model": "sd2_mx_1080p", "prompt": "a dancer in the rain", "duration": 4, "orientation": "portrait"}
    raw = client.post(jimmy + VIDEOS, json={**body, "images": ["https://example.com/dancer.png"]})
    assert raw.status_code == 400
    assert raw.json()["code"] == "40000"
    assert "images[0]" in raw.json()["msg"]
    assert "asset://" in raw.json()["msg"]

    accepted = client.post(
        jimmy + VIDEOS,
        json={**body, "images": ["asset://asset_img_001"], "reference_audios": ["asset://asset_aud_002"]},
    )
    task = _finish(client, jimmy, _task_id(accepted))
    assert task["status"] == "completed"
    assert task["model"] == "sd2_mx_1080p"
    # resolution comes from the model name, orientation picks the ratio
    assert png_size(http.get(task["result"]["image_url"]).content) == (1080, 1920)


def test_fixed_routes_ignore_resolution(http, client, jimmy, media):
    # Fast I2V rather than MD: MD takes https URLs only, and the local file server speaks plain http.
    created = client.post(
        jimmy + VIDEOS,
        json={
            "model": "seedance2.0-fast-i2v",
            "prompt": "a door opens onto the sea",
            "duration": 4,
            "resolution": "1080p",
            "first_image": media["png"],
            "last_image": media["png2"],
        },
    )
    task = _finish(client, jimmy, _task_id(created))
    assert png_size(http.get(task["result"]["image_url"]).content) == (1280, 720)


def test_fast_i2v_accepts_one_second(client, jimmy, media):
    created = _create(client, jimmy, model="seedance2.0-fast-i2v", duration=1, images=[media["png"]])
    assert _finish(client, jimmy, _task_id(created))["status"] == "completed"


MINI = {"model": "seedance2.0-mini", "prompt": "x", "duration": 5}
MD = {"model": "seedance2.0-md", "prompt": "x", "duration": 5}
FAST_I2V = {"model": "seedance2.0-fast-i2v", "prompt": "x", "duration": 5, "images": ["https://x/a.png"]}
STD = {"model": "seedance2.0-std", "prompt": "x", "duration": 5}
FULL = {"model": "sd2_mx_720p", "prompt": "x", "duration": 5}
SP = {"model": "seedance2.0-sp", "prompt": "x", "duration": 5}
IMG = "https://example.com/a.png"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param({**MINI, "model": "seedance9"}, "model", id="unknown-model"),
        pytest.param({"model": "seedance2.0-mini", "duration": 5}, "prompt", id="missing-prompt"),
        pytest.param({**MINI, "seed": 7}, "seed", id="unknown-field"),
        pytest.param({**MINI, "orientation": "portrait"}, "orientation", id="orientation-outside-full"),
        pytest.param({**MINI, "duration": "5"}, "duration", id="duration-as-string"),
        pytest.param({**MINI, "duration": 3}, "duration", id="mini-duration-3"),
        pytest.param({**MINI, "resolution": "2k"}, "resolution", id="mini-2k"),
        pytest.param({**MINI, "model": "seedance2.0-mini-sp", "resolution": "1080p"}, "resolution", id="mini-sp-1080p"),
        pytest.param({**MINI, "images": ["asset://asset_1"]}, "images[0]", id="mini-asset-id"),
        pytest.param({**MINI, "images": [IMG], "first_image": IMG}, "images", id="images-and-frames"),
        pytest.param({**MINI, "reference_audios": ["https://x/a.mp3"]}, "reference_audios", id="audio-alone"),
        pytest.param({**MINI, "last_image": IMG}, "last_image", id="last-without-first"),
        pytest.param({"model": "sd2_mx_720p", "prompt": "x"}, "duration", id="full-missing-duration"),
        pytest.param({**FULL, "resolution": "720p"}, "resolution", id="full-resolution-field"),
        pytest.param({**FULL, "orientation": "sideways"}, "orientation", id="full-orientation"),
        pytest.param({**FULL, "first_image": IMG}, "first_image", id="full-raw-url"),
        pytest.param({**SP, "duration": 16}, "duration", id="sp-duration-16"),
        pytest.param({**SP, "model": "seedance2.0-fast-sp", "resolution": "1080p"}, "resolution", id="fast-sp-1080p"),
        pytest.param({**SP, "images": [IMG]}, "images[0]", id="sp-raw-url"),
        pytest.param({**SP, "images": ["asset://asset_unknown"]}, "images[0]", id="sp-unknown-asset"),
        pytest.param(
            {**MD, "images": [IMG], "reference_audios": ["https://x/a.mp3"]}, "reference_audios", id="md-audio"
        ),
        pytest.param({**MD, "images": [IMG] * 5}, "images", id="md-five-images"),
        pytest.param({**MD, "images": ["https://x/cat.GIF?v=2"]}, "images[0]", id="md-gif"),
        pytest.param({**MD, "first_image": IMG}, "last_image", id="md-first-only"),
        pytest.param({**MD, "ratio": "4:3"}, "ratio", id="md-ratio-4:3"),
        pytest.param({**MD, "prompt": "x" * 5001}, "prompt", id="md-prompt-5001"),
        pytest.param({**MD, "images": ["http://x/a.png"]}, "images[0]", id="md-plain-http"),
        pytest.param({**MD, "reference_videos": ["https://x/v.mp4"] * 4}, "reference_videos", id="md-four-videos"),
        pytest.param({**FAST_I2V, "duration": 16}, "duration", id="fast-i2v-duration-16"),
        pytest.param({**FAST_I2V, "reference_videos": ["https://x/v.mp4"]}, "reference_videos", id="fast-i2v-video"),
        pytest.param({**FAST_I2V, "images": [IMG] * 10}, "images", id="fast-i2v-ten-images"),
        pytest.param({**FAST_I2V, "images": []}, "images", id="fast-i2v-no-image"),
        pytest.param({**STD, "duration": 3}, "duration", id="std-duration-3"),
        pytest.param({**STD, "ratio": "adaptive"}, "ratio", id="std-adaptive"),
        pytest.param(
            {**STD, "images": [IMG], "reference_audios": ["https://x/a.mp3"] * 4}, "reference_audios", id="std-4-audios"
        ),
        pytest.param({**STD, "prompt": "y" * 5001}, "prompt", id="std-prompt-5001"),
    ],
)
def test_route_rules_reject(client, jimmy, body, named):
    response = client.post(jimmy + VIDEOS, json=body)
    assert response.status_code == 400
    reply = response.json()
    assert reply["code"] == "40000"
    assert reply["data"] is None
    assert named in reply["msg"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {**STD, "ratio": "21:9", "images": [IMG] * 9, "reference_audios": ["https://x/a.mp3"] * 3}, id="std"
        ),
        pytest.param({**MD, "images": [IMG] * 4, "reference_videos": ["https://x/v.mp4"] * 3}, id="md"),
        pytest.param(
            {**MINI, "model": "seedance2.0-mini-video", "reference_videos": ["http://x/v.mp4"]}, id="mini-video"
        ),
        pytest.param({**FULL, "model": "sd2_mx_4k", "ratio": "Adaptive"}, id="full-4k"),
        pytest.param({**MINI, "model": "seedance2.0-mini-sp", "resolution": "480p"}, id="mini-sp"),
    ],
)
def test_route_rules_accept(client, jimmy, body):
    data = client.post(jimmy + VIDEOS, json=body).json()
    assert data["code"] == "20000"
    assert data["data"]["model"] == body["model"]


# The only request printed in JimmyAI's create page (seeds/004_90938c39c6c7b52c.txt, the curl --data body),
# verbatim. It is a type template, not a request: every value is a placeholder ("<string>", 123), and it sets
# images together with first_image/last_image, which the routes' pages forbid (gateways.md section 5,
# "Mutual exclusion"). A gateway refuses it, so the simulator does, naming the first field it cannot take;
# its fields, given the Full route's values and split by that exclusion, are all accepted.
PRINTED_TEMPLATE = {
    "model": "<string>",
    "prompt": "<string>",
    "duration": 123,
    "images": ["<string>"],
    "ratio": "<string>",
    "first_image": "<string>",
    "last_image": "<string>",
    "reference_videos": ["<string>"],
    "reference_audios": ["<string>"],
}


def test_printed_template_verbatim_and_filled_in(client, jimmy):
    verbatim = client.post(jimmy + VIDEOS, json=PRINTED_TEMPLATE)
    assert verbatim.status_code == 400
    assert (verbatim.json()["code"], verbatim.json()["data"]) == ("40000", None)
    assert "model" in verbatim.json()["msg"]

    filled = {"model": "sd2_mx_720p", "prompt": "a dancer", "duration": 5, "ratio": "Adaptive"}
    references = {
        "images": ["asset://asset_img_001"],
        "reference_videos": ["asset://asset_vid_001"],
        "reference_audios": ["asset://asset_aud_001"],
    }
    frames = {"first_image": "asset://asset_img_001", "last_image": "asset://asset_img_002"}
    for media in (references, frames):
        accepted = client.post(jimmy + VIDEOS, json={**filled, **media})
        assert accepted.json()["code"] == "20000", accepted.text


def test_dialect_adaptive_on_full_route_round_trips(client, jimmy):
    # The dialect sends the request's "adaptive" as the Full route's page spells it (seeds/004_90938c39c6c7b52c.txt,
    # "ratio": "e.g., ..., Adaptive"); the simulator takes it.
    gateway = get_gateway("jimmyai")
    request = VideoRequest(model="sd2_mx_720p", prompt="a dancer", duration=5, ratio="adaptive")
    call = gateway.build_submit(request)
    assert call.json["ratio"] == "Adaptive"
    created = client.post(jimmy + VIDEOS, json=dict(call.json))
    task_id = gateway.parse_submit(HttpResponse(created.status_code, created.content)).task_id
    assert _finish(client, jimmy, task_id)["status"] == "completed"


def test_missing_key_is_401(http, jimmy):
    response = http.post(jimmy + VIDEOS, json=MINI)
    assert response.status_code == 401
    assert response.json()["code"] == "40100"
    assert http.post(f"{jimmy}{ASSETS}/upload", json={"type": "image", "url": IMG}).status_code == 401


def test_unknown_task_is_404(client, jimmy):
    response = client.get(f"{jimmy}{QUERY}/vid_does_not_exist")
    assert response.status_code == 404
    reply = response.json()
    assert (reply["code"], reply["data"]) == ("40400", None)
    assert "vid_does_not_exist" in reply["msg"]


def test_scripted_rate_limit(http, simulator, client, jimmy):
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="rate_limit", gateway="jimmyai", op="submit")], retry_after_seconds=2)
    )
    limited = _create(client, jimmy)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert limited.json()["code"] == "42900"
    assert limited.json()["data"] is None
    _task_id(_create(client, jimmy))  # only the next request was limited
    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()["gateways"]["jimmyai"]
    assert (stats["fault_rate_limit"], stats["submissions"], stats["submit_requests"]) == (1, 1, 2)


def test_scripted_server_error_on_poll(simulator, client, jimmy):
    task_id = _task_id(_create(client, jimmy))
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="server_error", gateway="jimmyai", op="status", status=500)])
    )
    failed = client.get(f"{jimmy}{QUERY}/{task_id}")
    assert failed.status_code == 500
    assert failed.json()["code"] == "50000"
    assert client.get(f"{jimmy}{QUERY}/{task_id}").status_code == 200


def test_moderation_failure(simulator, client, jimmy):
    simulator.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", gateway="jimmyai")]))
    task = _finish(client, jimmy, _task_id(_create(client, jimmy)))
    assert task["status"] == "failed"
    assert task["progress"] == 0
    assert task["error_message"] == "PROVIDER_MODERATION_ERROR: TRADEMARK"
    assert task["result"] is None
    assert isinstance(task["completed_at"], int)
