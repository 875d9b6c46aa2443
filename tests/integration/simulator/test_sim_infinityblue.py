"""Simulated InfinityBlue (Seedance 2.0 route), driven by a plain httpx client as its OpenAPI spec describes it."""

from __future__ import annotations

import time
from contextlib import contextmanager

import httpx
import pytest

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.integration.simulator.conftest import data_uri, image_bytes, poll_until, reachable
from tests.integration.simulator.media_check import decode_mp4, png_size

MODEL = "doubao-seedance-2-0-260128"
FAST = "doubao-seedance-2-0-fast-260128"
PROMPT = "a white kitten walking on a desk"
TERMINAL = {"completed", "failed"}


@pytest.fixture
def videos(simulator) -> str:
    return simulator.gateway_url("infinityblue") + "/v1/videos"


def _create(client: httpx.Client, url: str, **fields) -> httpx.Response:
    return client.post(url, json={"model": MODEL, "prompt": PROMPT, **fields})


def _finish(client: httpx.Client, url: str, video_id: str) -> dict:
    return poll_until(lambda: client.get(f"{url}/{video_id}").json(), lambda video: video["status"] in TERMINAL)


def _script(simulator, *faults: ScriptedFault) -> None:
    simulator.simulator.faults.replace(FaultPlan(script=list(faults)))


@contextmanager
def _clock(simulator, *, queue: float, run: float):
    """Change how long tasks queue and run (simulated seconds); a task's state follows at its next poll."""
    config = simulator.simulator.config
    original = (config.queue_seconds, config.run_seconds)
    config.queue_seconds, config.run_seconds = queue, run
    try:
        yield config
    finally:
        config.queue_seconds, config.run_seconds = original


def test_text_to_video_round_trip(http, simulator, client, videos):
    fields = {"seconds": "4", "resolution": "480p", "ratio": "9:16", "generate_audio": True, "return_last_frame": True}
    with _clock(simulator, queue=10_000, run=10_000) as config:
        created = _create(client, videos, **fields)
        assert created.status_code == 200
        video = created.json()
        assert set(video) == {"id", "object", "model", "status", "progress", "created_at", "seconds"}
        assert video["id"].startswith("video_")
        assert (video["object"], video["model"], video["status"], video["progress"]) == ("video", MODEL, "queued", 0)
        assert video["seconds"] == "4"
        assert video["created_at"] > 10**12  # milliseconds, not seconds
        video_id = video["id"]

        queued = client.get(f"{videos}/{video_id}").json()
        assert (queued["status"], queued["progress"]) == ("queued", 0)
        assert "metadata" not in queued

        config.queue_seconds = 0
        running = client.get(f"{videos}/{video_id}").json()
        assert running["status"] == "in_progress"
        assert 1 <= running["progress"] <= 99
        assert "metadata" not in running

    video = _finish(client, videos, video_id)
    assert (video["status"], video["progress"], video["seconds"], video["size"]) == ("completed", 100, "4", "480x864")
    assert video["completed_at"] - video["created_at"] == 10_000  # 2 s queued + 8 s running, in ms
    assert video["expires_at"] - video["completed_at"] == config.url_ttl_seconds * 1000  # the URL lifetime
    assert "error" not in video

    cdn = http.get(video["metadata"]["url"])  # a CDN link: no key
    assert cdn.headers["content-type"] == "video/mp4"
    assert int(cdn.headers["content-length"]) == len(cdn.content)
    proxied = client.get(f"{videos}/{video_id}/content")
    assert proxied.status_code == 200
    assert proxied.headers["content-type"] == "video/mp4"
    assert proxied.content == cdn.content
    decoded = decode_mp4(proxied.content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (480, 864, 4.0, True)
    assert png_size(http.get(video["metadata"]["last_frame_url"]).content) == (480, 864)

    anonymous = http.get(f"{videos}/{video_id}/content")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"

    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"][f"infinityblue/{video_id}"]
    assert stats["submissions"] == 1
    assert stats["downloads"] == 3
    assert stats["status_polls"] >= 3


def test_image_to_video_uses_the_documented_defaults(client, videos, media):
    created = _create(client, videos, image=media["jpg"], ratio="adaptive")
    assert created.json()["seconds"] == "5"
    video = _finish(client, videos, created.json()["id"])
    assert (video["status"], video["size"]) == ("completed", "1280x720")  # 720p; adaptive renders as 16:9
    assert set(video["metadata"]) == {"url"}
    decoded = decode_mp4(client.get(f"{videos}/{video['id']}/content").content)
    assert (decoded.width, decoded.height, decoded.duration, decoded.has_audio) == (1280, 720, 5.0, False)


def test_content_is_404_until_completed(simulator, client, videos):
    with _clock(simulator, queue=10_000, run=10_000):
        video_id = _create(client, videos).json()["id"]
        early = client.get(f"{videos}/{video_id}/content")
    assert early.status_code == 404
    assert early.json()["error"]["type"] == "not_found_error"
    assert early.json()["error"]["code"] == "resource_not_found"
    assert _finish(client, videos, video_id)["status"] == "completed"
    assert client.get(f"{videos}/{video_id}/content").status_code == 200


def _item(kind: str, role: str | None, url: str) -> dict:
    item = {"type": kind, kind: {"url": url}}
    return item if role is None else {**item, "role": role}


@pytest.mark.parametrize(
    ("fields", "seconds", "size"),
    [
        pytest.param(
            {
                "metadata": {
                    "content": [
                        _item("image_url", "first_frame", "https://example.com/first.jpg"),
                        _item("image_url", "last_frame", "https://example.com/last.jpg"),
                    ]
                }
            },
            "5",
            "1280x720",
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "ratio": "1:1",
                "metadata": {
                    "content": [
                        _item("image_url", "reference_image", "https://example.com/character.png"),
                        _item("video_url", "reference_video", "https://example.com/motion.mp4"),
                        _item("audio_url", "reference_audio", "https://example.com/voice.mp3"),
                        _item("image_url", None, "http://example.com/plain.png"),
                    ]
                },
            },
            "5",
            "960x960",
            id="references",
        ),
        pytest.param(
            {"metadata": {"duration": 6, "resolution": "480p", "ratio": "4:3", "style": "anything goes here"}},
            "6",
            "736x544",
            id="legacy-metadata-fields",
        ),
        pytest.param({"duration": 7, "model": FAST}, "7", "1280x720", id="legacy-duration-number"),
        pytest.param({"size": "720x1280"}, "5", "720x1280", id="sora-size"),
        pytest.param({"size": "1792x1024", "seconds": "15"}, "15", "1920x1080", id="sora-size-nearest"),
        pytest.param(
            {"ref_images": ["https://example.com/a.jpg", data_uri(image_bytes(3))], "seed": 42, "n": 1},
            "5",
            "1280x720",
            id="ref-images-with-data-uri",
        ),
        pytest.param(
            {"response_format": "url", "user": "user-1234", "watermark": False, "camera_fixed": True},
            "5",
            "1280x720",
            id="other-options",
        ),
    ],
)
def test_accepted_requests(client, videos, media, fields, seconds, size):
    created = _create(client, videos, **reachable(fields, media))
    assert created.status_code == 200, created.text
    video = _finish(client, videos, created.json()["id"])
    assert (video["status"], video["seconds"], video["size"]) == ("completed", seconds, size)
    assert video["model"] == fields.get("model", MODEL)


def test_content_items_on_loopback_are_fetched_and_recorded(http, simulator, client, videos, media):
    # Loopback stands for the public internet here (the file server); private networks stay refused.
    content = [
        _item("image_url", "reference_image", media["png"]),
        _item("video_url", "reference_video", media["mp4"]),
        _item("audio_url", "reference_audio", media["mp3"]),
        _item("image_url", None, media["jpg"]),
    ]
    created = _create(client, videos, ratio="1:1", metadata={"content": content})
    assert created.status_code == 200, created.text
    assert _finish(client, videos, created.json()["id"])["status"] == "completed"
    inputs = http.get(f"{simulator.base_url}/_simulator/tasks/infinityblue/{created.json()['id']}").json()["inputs"]
    assert [(each["field"], each["role"], each["via"], each["error"]) for each in inputs] == [
        ("metadata.content[0].image_url.url", "reference_image", "url", None),
        ("metadata.content[1].video_url.url", "reference_video", "url", None),
        ("metadata.content[2].audio_url.url", "reference_audio", "url", None),
        ("metadata.content[3].image_url.url", "reference_image", "url", None),  # no role: a reference
    ]
    assert all(each["sha256"] for each in inputs)


def _content(*items: dict) -> dict:
    return {"metadata": {"content": list(items)}}


IMG = "https://example.com/character.png"
VID = "https://example.com/motion.mp4"
AUD = "https://example.com/voice.mp3"


def _refs(images: int = 0, videos: int = 0, audios: int = 0) -> list[dict]:
    return (
        [_item("image_url", "reference_image", IMG)] * images
        + [_item("video_url", "reference_video", VID)] * videos
        + [_item("audio_url", "reference_audio", AUD)] * audios
    )


# Upstream Seedance 2.0 rules every reseller passes on (shared/reference/gateways.md section 6, "Create
# request body"): resolution row "2.0 fast has no 1080p" (line 779); reference images 1-9, videos <= 3,
# audios <= 3 (lines 796-801); audio "Cannot be the only input: needs >= 1 image or video" (line 802);
# "Total mixed files <= 12" (line 805). How InfinityBlue words the refusal is not documented: a 400 in its
# error shape, naming the field, is the simulator's guess.
UPSTREAM_REJECTIONS = [
    pytest.param(_content(*_refs(audios=1)), "invalid_parameter", "metadata.content", id="audio-only"),
    pytest.param(_content(*_refs(audios=3)), "invalid_parameter", "metadata.content", id="audios-only"),
    pytest.param(
        _content({"type": "audio_url", "audio_url": {"url": AUD}}),
        "invalid_parameter",
        "metadata.content",
        id="audio-only-without-role",
    ),
    pytest.param({"model": FAST, "resolution": "1080p"}, "invalid_parameter", "resolution", id="fast-1080p"),
    pytest.param(
        {"model": FAST, "metadata": {"resolution": "1080p"}},
        "invalid_parameter",
        "metadata.resolution",
        id="fast-1080p-legacy",
    ),
    pytest.param({"model": FAST, "size": "1920x1080"}, "invalid_parameter", "size", id="fast-1080p-sora-size"),
    pytest.param(_content(*_refs(images=10)), "invalid_parameter", "metadata.content", id="10-images"),
    pytest.param(_content(*_refs(images=1, videos=4)), "invalid_parameter", "metadata.content", id="4-videos"),
    pytest.param(_content(*_refs(images=1, audios=4)), "invalid_parameter", "metadata.content", id="4-audios"),
    pytest.param(
        _content(*_refs(images=7, videos=3, audios=3)), "invalid_parameter", "metadata.content", id="13-files"
    ),
]


@pytest.mark.parametrize(
    ("fields", "size"),
    [
        pytest.param(_content(*_refs(images=1, audios=1)), "1280x720", id="audio-with-an-image"),
        pytest.param(_content(*_refs(videos=1, audios=3)), "1280x720", id="audio-with-a-video"),
        pytest.param(
            {"ref_images": [IMG], **_content(*_refs(audios=1))}, "1280x720", id="audio-with-a-top-level-image"
        ),
        pytest.param(_content(*_refs(images=9, videos=3)), "1280x720", id="12-files"),
        pytest.param(_content(*_refs(images=6, videos=3, audios=3)), "1280x720", id="12-mixed-files"),
        pytest.param({"resolution": "1080p"}, "1920x1080", id="standard-1080p"),
        pytest.param({"model": FAST, "resolution": "720p"}, "1280x720", id="fast-720p"),
    ],
)
def test_upstream_rules_leave_these_alone(client, videos, media, fields, size):
    created = _create(client, videos, **reachable(fields, media))
    assert created.status_code == 200, created.text
    video = _finish(client, videos, created.json()["id"])
    assert (video["status"], video["size"]) == ("completed", size)


def test_upstream_refusal_names_the_rule(client, videos):
    error = _create(client, videos, **_content(*_refs(audios=1))).json()["error"]
    assert error["message"] == "audio cannot be the only input: add at least one image or video"
    error = _create(client, videos, model=FAST, resolution="1080p").json()["error"]
    assert error["message"] == f"{FAST} does not support 1080p; use 480p or 720p"


# ---- every request example the documents print, verbatim ----------------------------------------------

# shared/specs/infinityblue-videos.en.yaml, createSeedanceVideo requestBody examples (lines 322-370), the
# SeedanceMetadata.content example (lines 1030-1034, a fragment: model and prompt are the schema's own
# examples), and the curl body of shared/seeds/003_4048e673adbca41c.txt (lines 12-21). Copied as printed;
# only example.com URLs (unreachable here) are swapped for served files of the same kind.
SPEC_EXAMPLES = {
    "standard_text_to_video": {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "A white kitten slowly walking on a clean desk, soft daylight, cinematic lens, stable shot",
        "seconds": "5",
        "resolution": "720p",
        "ratio": "16:9",
        "generate_audio": False,
        "watermark": False,
        "camera_fixed": False,
    },
    "fast_text_to_video": {
        "model": "doubao-seedance-2-0-fast-260128",
        "prompt": "A futuristic city street at night, a blue sports car racing through neon lights, low-angle shot, "
        "strong sense of speed, stable frame",
        "seconds": "4",
        "resolution": "480p",
        "ratio": "16:9",
        "generate_audio": False,
        "watermark": False,
    },
    "image_to_video": {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "Have the kitten in the image gently turn its head toward the camera, keep the background "
        "unchanged, camera slowly pushes in, natural motion",
        "image": "https://example.com/cat.jpg",
        "seconds": "5",
        "resolution": "720p",
        "ratio": "adaptive",
        "generate_audio": False,
        "watermark": False,
    },
    "video_reference": {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "Follow the camera movement from reference video 1 and restyle the whole clip as a soft Japanese "
        "animation, preserving the original action rhythm",
        "seconds": "5",
        "resolution": "720p",
        "ratio": "adaptive",
        "generate_audio": False,
        "watermark": False,
        "metadata": {
            "content": [
                {
                    "type": "video_url",
                    "role": "reference_video",
                    "video_url": {"url": "https://example.com/reference.mp4"},
                }
            ]
        },
    },
    "metadata_content_example": {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "A white kitten slowly walking on a clean desk, soft daylight, cinematic lens, stable shot",
        "metadata": {
            "content": [
                {
                    "type": "image_url",
                    "role": "first_frame",
                    "image_url": {"url": "https://example.com/first-frame.jpg"},
                }
            ]
        },
    },
    "seed_003_curl": {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "A white kitten slowly walking on a clean desk, soft daylight, cinematic lens, stable shot",
        "seconds": "5",
        "resolution": "720p",
        "ratio": "16:9",
        "generate_audio": False,
        "watermark": False,
        "camera_fixed": False,
    },
}
EXAMPLE_RESULTS = {
    "standard_text_to_video": ("5", "1280x720"),
    "fast_text_to_video": ("4", "864x480"),
    "image_to_video": ("5", "1280x720"),  # adaptive renders 16:9 here
    "video_reference": ("5", "1280x720"),
    "metadata_content_example": ("5", "1280x720"),
    "seed_003_curl": ("5", "1280x720"),
}


@pytest.mark.parametrize("name", list(SPEC_EXAMPLES))
def test_every_printed_request_example_is_accepted(client, videos, media, name):
    created = client.post(videos, json=reachable(SPEC_EXAMPLES[name], media))
    assert created.status_code == 200, created.text
    assert created.json()["model"] == SPEC_EXAMPLES[name]["model"]
    video = _finish(client, videos, created.json()["id"])
    assert (video["status"], video["seconds"], video["size"]) == ("completed", *EXAMPLE_RESULTS[name])


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        pytest.param({"seconds": 5}, "invalid_duration", "seconds", id="seconds-as-integer"),
        pytest.param({"seconds": "3"}, "invalid_duration", "seconds", id="seconds-out-of-range"),
        pytest.param({"duration": 16}, "invalid_duration", "duration", id="duration-out-of-range"),
        pytest.param({"duration": 5.5}, "invalid_duration", "duration", id="duration-fractional"),
        pytest.param({"seconds": "5", "duration": 5}, "invalid_duration", "duration", id="seconds-and-duration"),
        pytest.param(
            {"seconds": "5", "metadata": {"duration": 5}},
            "invalid_duration",
            "metadata.duration",
            id="seconds-and-metadata-duration",
        ),
        pytest.param({"prompt": None}, "missing_required_parameter", "prompt", id="no-prompt"),
        pytest.param({"model": "doubao-seedance-1-0-pro"}, "invalid_model", "model", id="unknown-model"),
        pytest.param({"resolution": "4k"}, "invalid_parameter", "resolution", id="resolution"),
        pytest.param({"ratio": "9:21"}, "invalid_parameter", "ratio", id="ratio"),
        pytest.param({"n": 2}, "invalid_parameter", "n", id="n"),
        pytest.param({"response_format": "b64_json"}, "invalid_parameter", "response_format", id="response-format"),
        pytest.param({"generate_audio": "true"}, "invalid_parameter", "generate_audio", id="flag-as-string"),
        pytest.param({"seed": "42"}, "invalid_parameter", "seed", id="seed-as-string"),
        pytest.param({"aspect_ratio": "16:9"}, "unsupported_parameter", "aspect_ratio", id="unknown-field"),
        pytest.param(
            {"resolution": "720p", "metadata": {"resolution": "720p"}},
            "invalid_parameter",
            "metadata.resolution",
            id="top-level-and-metadata",
        ),
        pytest.param(
            {"metadata": {"generate_audio": "yes"}},
            "invalid_parameter",
            "metadata.generate_audio",
            id="bad-legacy-field",
        ),
        pytest.param({"size": "large"}, "invalid_parameter", "size", id="size-format"),
        pytest.param({"size": "1280x720", "ratio": "9:16"}, "invalid_parameter", "size", id="size-contradicts-ratio"),
        pytest.param({"image": "asset://asset-123"}, "invalid_parameter", "image", id="image-asset-uri"),
        pytest.param({"image": "iVBORw0KGgo="}, "invalid_parameter", "image", id="image-bare-base64"),
        pytest.param(
            _content({"type": "text", "text": "hello"}),
            "invalid_parameter",
            "metadata.content[0].type",
            id="content-text-item",
        ),
        pytest.param(
            _content(_item("video_url", "first_frame", "https://example.com/a.mp4")),
            "invalid_parameter",
            "metadata.content[0].role",
            id="content-role-mismatch",
        ),
        pytest.param(
            _content({"type": "image_url", "role": "first_frame"}),
            "missing_required_parameter",
            "metadata.content[0].image_url",
            id="content-without-url-object",
        ),
        pytest.param(
            _content(_item("image_url", "first_frame", "data:image/png;base64,iVBORw0KGgo=")),
            "invalid_parameter",
            "metadata.content[0].image_url.url",
            id="content-data-uri",
        ),
        pytest.param(
            _content(_item("video_url", "reference_video", "http://192.168.1.20/clip.mp4")),
            "invalid_parameter",
            "metadata.content[0].video_url.url",
            id="content-private-address",
        ),
        pytest.param(
            _content(
                _item("image_url", "first_frame", "https://example.com/a.jpg"),
                _item("image_url", "first_frame", "https://example.com/b.jpg"),
            ),
            "invalid_parameter",
            "metadata.content",
            id="two-first-frames",
        ),
        *UPSTREAM_REJECTIONS,
    ],
)
def test_documented_rejections(http, simulator, client, videos, fields, code, param):
    response = _create(client, videos, **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"]
    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()
    assert stats["tasks"] == {}  # nothing was created, nothing billed


def test_malformed_json_body(client, videos):
    response = client.post(videos, content=b'{"model": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "invalid_request_body", None)


def test_missing_key_is_401(http, videos):
    response = http.post(videos, json={"model": MODEL, "prompt": PROMPT})
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    assert http.get(f"{videos}/video_abc123", headers={"Authorization": "Basic c2stdGVzdA=="}).status_code == 401


@pytest.mark.parametrize("suffix", ["", "/content"])
def test_unknown_video_is_404(client, videos, suffix):
    response = client.get(f"{videos}/video_does_not_exist{suffix}")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("not_found_error", "resource_not_found")


def test_rate_limit_has_retry_after_and_rate_limit_headers(http, simulator, client, videos):
    _script(simulator, ScriptedFault(kind="rate_limit", gateway="infinityblue", op="submit"))
    before = time.time()
    limited = _create(client, videos)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert int(limited.headers["X-RateLimit-Limit-Requests"]) > 0
    assert limited.headers["X-RateLimit-Remaining-Requests"] == "0"
    assert before < int(limited.headers["X-RateLimit-Reset-Requests"]) <= time.time() + 2  # a Unix timestamp
    error = limited.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("rate_limit_error", "rate_limit_exceeded", None)
    assert http.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"] == {}

    retried = _create(client, videos)
    assert retried.status_code == 200


@pytest.mark.parametrize(("status", "code"), [(500, "internal_error"), (503, "service_unavailable")])
def test_server_error_on_poll(simulator, client, videos, status, code):
    video_id = _create(client, videos).json()["id"]
    _script(simulator, ScriptedFault(kind="server_error", gateway="infinityblue", op="status", status=status))
    failed = client.get(f"{videos}/{video_id}")
    assert failed.status_code == status
    assert (failed.json()["error"]["type"], failed.json()["error"]["code"]) == ("server_error", code)
    assert client.get(f"{videos}/{video_id}").status_code == 200


def test_moderation_failure(simulator, client, videos):
    _script(simulator, ScriptedFault(kind="moderation", gateway="infinityblue"))
    video = _finish(client, videos, _create(client, videos).json()["id"])
    assert video["status"] == "failed"
    assert video["error"]["code"] == "content_policy_violation"
    assert video["error"]["message"]
    assert "metadata" not in video
    assert "completed_at" not in video
    content = client.get(f"{videos}/{video['id']}/content")
    assert content.status_code == 404
    assert content.json()["error"]["type"] == "not_found_error"


def test_expired_content_is_404(http, simulator, client, videos):
    _script(simulator, ScriptedFault(kind="expire_url", gateway="infinityblue"))
    video = _finish(client, videos, _create(client, videos).json()["id"])
    assert video["status"] == "completed"
    assert video["expires_at"] == video["completed_at"]
    content = client.get(f"{videos}/{video['id']}/content")
    assert content.status_code == 404  # "Task not found, not completed yet, or content already expired"
    assert content.json()["error"]["code"] == "resource_not_found"
    assert http.get(video["metadata"]["url"]).status_code == 403  # the signed CDN link has lapsed too


def _download(client: httpx.Client, url: str) -> tuple[int, int]:
    """(announced Content-Length, bytes received); a protocol error stops the count where it happened."""
    received = 0
    with client.stream("GET", url) as response:
        announced = int(response.headers["content-length"])
        try:
            for chunk in response.iter_raw():
                received += len(chunk)
        except httpx.RemoteProtocolError:
            pass
    return announced, received


def test_truncated_cdn_download(simulator, client, videos):
    video = _finish(client, videos, _create(client, videos).json()["id"])
    _script(simulator, ScriptedFault(kind="truncate", gateway="infinityblue", op="download"))
    announced, received = _download(client, video["metadata"]["url"])
    assert received < announced
    assert _download(client, video["metadata"]["url"]) == (announced, announced)


def test_truncated_content_download(simulator, client, videos):
    video = _finish(client, videos, _create(client, videos).json()["id"])
    _script(simulator, ScriptedFault(kind="truncate", gateway="infinityblue", op="download"))
    announced, received = _download(client, f"{videos}/{video['id']}/content")
    assert received < announced
    assert _download(client, f"{videos}/{video['id']}/content") == (announced, announced)
