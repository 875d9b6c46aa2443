"""InfinityBlue dialect: request bodies, every status word, ms timestamps, every documented error, rejected requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ContentModerationError,
    InsufficientCreditError,
    InvalidRequestError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways import get_gateway, infinityblue
from airflow_provider_seedance.gateways.delivery import Delivery
from airflow_provider_seedance.gateways.infinityblue import InfinityBlueGateway
from airflow_provider_seedance.models import TaskState
from tests.unit.gateways.support import assert_rejected, reply, request

ib = get_gateway("infinityblue")
MODEL = "doubao-seedance-2-0-260128"
FAST = "doubao-seedance-2-0-fast-260128"
IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
DATA_IMG = "data:image/png;base64,iVBORw0KGgo="
VID = "https://example.com/ref.mp4"
AUD = "https://example.com/ref.mp3"
NOW = 1_800_000_000.0


def _image(url, role):
    return {"type": "image_url", "role": role, "image_url": {"url": url}}


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            # The spec's "standard_text_to_video" example, built from our fields.
            {
                "model": MODEL,
                "prompt": "A white kitten slowly walking on a clean desk, soft daylight, cinematic lens, stable shot",
                "duration": 5,
                "resolution": "720P",
                "ratio": "16:9",
                "generate_audio": False,
                "watermark": False,
                "camera_fixed": False,
            },
            {
                "model": MODEL,
                "prompt": "A white kitten slowly walking on a clean desk, soft daylight, cinematic lens, stable shot",
                "seconds": "5",
                "resolution": "720p",
                "ratio": "16:9",
                "generate_audio": False,
                "watermark": False,
                "camera_fixed": False,
            },
            id="text-to-video-spec-example",
        ),
        pytest.param(
            {"model": FAST, "prompt": "neon city", "duration": 15, "resolution": "720p", "ratio": "auto", "seed": -1},
            {
                "model": FAST,
                "prompt": "neon city",
                "seconds": "15",
                "resolution": "720p",
                "ratio": "auto",
                "seed": -1,
            },
            id="fast-text-to-video-720p",
        ),
        pytest.param(
            {"model": MODEL, "prompt": "neon city", "resolution": "1080p"},
            {"model": MODEL, "prompt": "neon city", "resolution": "1080p"},
            id="standard-1080p",
        ),
        pytest.param(
            {"model": MODEL, "prompt": "turn to camera", "first_frame": IMG, "return_last_frame": True},
            {
                "model": MODEL,
                "prompt": "turn to camera",
                "return_last_frame": True,
                "metadata": {"content": [_image(IMG, "first_frame")]},
            },
            id="first-frame",
        ),
        pytest.param(
            {"model": MODEL, "prompt": "morph", "first_frame": IMG, "last_frame": IMG2, "ratio": "adaptive"},
            {
                "model": MODEL,
                "prompt": "morph",
                "ratio": "adaptive",
                "metadata": {"content": [_image(IMG, "first_frame"), _image(IMG2, "last_frame")]},
            },
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "model": MODEL,
                "prompt": "image 1 dances to audio 1 like video 1",
                "reference_images": [IMG, IMG2],
                "reference_videos": [VID],
                "reference_audios": [AUD],
                "duration": 8,
            },
            {
                "model": MODEL,
                "prompt": "image 1 dances to audio 1 like video 1",
                "seconds": "8",
                "metadata": {
                    "content": [
                        _image(IMG, "reference_image"),
                        _image(IMG2, "reference_image"),
                        {"type": "video_url", "role": "reference_video", "video_url": {"url": VID}},
                        {"type": "audio_url", "role": "reference_audio", "audio_url": {"url": AUD}},
                    ]
                },
            },
            id="multimodal-references",
        ),
        pytest.param(
            # The spec's "video_reference" example, built from our fields.
            {
                "model": MODEL,
                "prompt": "Follow the camera movement from reference video 1 and restyle the whole clip as a soft "
                "Japanese animation, preserving the original action rhythm",
                "duration": 5,
                "resolution": "720p",
                "ratio": "adaptive",
                "generate_audio": False,
                "watermark": False,
                "reference_videos": ["https://example.com/reference.mp4"],
            },
            {
                "model": MODEL,
                "prompt": "Follow the camera movement from reference video 1 and restyle the whole clip as a soft "
                "Japanese animation, preserving the original action rhythm",
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
            id="video-reference-spec-example",
        ),
        pytest.param(
            {
                "model": MODEL,
                "prompt": "rain on a tin roof, a man whispers 'finally'",
                "generate_audio": True,
                "watermark": True,
                "camera_fixed": True,
                "seed": 20231234,
                "extra": {"user": "user-1234", "n": 1, "response_format": "url"},
            },
            {
                "model": MODEL,
                "prompt": "rain on a tin roof, a man whispers 'finally'",
                "generate_audio": True,
                "watermark": True,
                "camera_fixed": True,
                "seed": 20231234,
                "user": "user-1234",
                "n": 1,
                "response_format": "url",
            },
            id="audio-generation-with-extra",
        ),
    ],
)
def test_submit_body(fields, body):
    call = ib.build_submit(request(**fields))
    assert (call.method, call.path, call.authenticated) == ("POST", "v1/videos", True)
    assert call.json == body


@pytest.mark.parametrize("duration", range(4, 16))
def test_duration_goes_out_as_a_seconds_string_only(duration):
    body = ib.build_submit(request(model=MODEL, prompt="x", duration=duration)).json
    assert body["seconds"] == str(duration)
    assert "duration" not in body
    assert "duration" not in body.get("metadata", {})


def test_gateway_identity():
    assert isinstance(ib, InfinityBlueGateway)
    assert ib.name == "infinityblue"
    assert ib.default_base_url == "https://api.getinfinityblue.com"
    assert ib.auth_headers("sk-test") == {"Authorization": "Bearer sk-test"}


def test_unknown_model_passes_with_warning(caplog):
    call = ib.build_submit(request(model="doubao-seedance-3-0-270101", prompt="hi", duration=30, resolution="4k"))
    assert call.json == {"model": "doubao-seedance-3-0-270101", "prompt": "hi", "seconds": "30", "resolution": "4k"}
    assert "not known to the infinityblue dialect" in caplog.text


def test_status_cancel_and_download_calls():
    status_call = ib.build_status("video_1/../x")
    assert (status_call.method, status_call.path, status_call.authenticated) == (
        "GET",
        "v1/videos/video_1%2F..%2Fx",
        True,
    )
    assert ib.build_cancel("video_abc123") is None

    status = ib.parse_status(reply(200, COMPLETED))
    download = ib.build_download(status)
    assert (download.method, download.path, download.authenticated) == ("GET", "v1/videos/video_abc123/content", True)
    assert not download.is_absolute
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        ib.build_download(status, "last_frame")


def test_last_frame_download_is_unauthenticated():
    body = _task("completed", metadata={"url": "https://cdn.x/v.mp4", "last_frame_url": "https://cdn.x/l.png"})
    download = ib.build_download(ib.parse_status(reply(200, body)), "last_frame")
    assert (download.method, download.path, download.authenticated) == ("GET", "https://cdn.x/l.png", False)


@pytest.mark.parametrize("word", ["queued", "in_progress", "failed"])
def test_no_download_before_completion(word):
    with pytest.raises(UnexpectedResponseError, match="no video to download yet"):
        ib.build_download(ib.parse_status(reply(200, _task(word))))


# Verbatim from the spec (createSeedanceVideo 200 example).
CREATED = {
    "id": "video_abc123",
    "object": "video",
    "model": "doubao-seedance-2-0-fast-260128",
    "status": "queued",
    "progress": 0,
    "created_at": 1764347090922,
    "seconds": "5",
}

# Verbatim from the spec (getSeedanceVideo "completed" example).
COMPLETED = {
    "id": "video_abc123",
    "object": "video",
    "model": "doubao-seedance-2-0-fast-260128",
    "status": "completed",
    "progress": 100,
    "created_at": 1764347090922,
    "completed_at": 1764347170000,
    "seconds": "5",
    "size": "1280x720",
    "metadata": {"url": "https://example.com/generated-video.mp4"},
}


def test_parse_submit():
    status = ib.parse_submit(reply(200, CREATED))
    assert (status.task_id, status.state, status.progress) == ("video_abc123", TaskState.QUEUED, 0)
    assert status.raw == CREATED
    assert ib.parse_submit(reply(200, {"id": "video_x"})).state is TaskState.QUEUED
    for bad in ({}, {"id": ""}, ["video_abc123"]):
        with pytest.raises(UnexpectedResponseError, match="no task id"):
            ib.parse_submit(reply(200, bad))


def test_parse_completed():
    status = ib.parse_status(reply(200, COMPLETED))
    assert status.state is TaskState.SUCCEEDED
    assert status.progress == 100
    assert status.video_url == "https://example.com/generated-video.mp4"
    assert status.last_frame_url is None
    assert status.video_expires_at is None  # the example carries no expires_at
    assert (status.error_code, status.error_message, status.usage) == (None, None, None)
    assert status.raw == COMPLETED


def _task(status, **more):
    return {
        "id": "video_abc123",
        "object": "video",
        "model": MODEL,
        "status": status,
        "progress": 0,
        "created_at": 1764347090922,
        "seconds": "5",
        **more,
    }


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("queued"), TaskState.QUEUED, {"progress": 0}, id="queued"),
        pytest.param(_task("in_progress", progress=42), TaskState.RUNNING, {"progress": 42}, id="in-progress"),
        pytest.param(
            _task(
                "completed",
                progress=100,
                completed_at=1764347170000,
                expires_at=1764433570000,
                metadata={"url": "https://cdn.x/v.mp4", "last_frame_url": "https://cdn.x/l.png"},
            ),
            TaskState.SUCCEEDED,
            {
                "progress": 100,
                "video_url": "https://cdn.x/v.mp4",
                "last_frame_url": "https://cdn.x/l.png",
                "video_expires_at": datetime(2025, 11, 29, 16, 26, 10, tzinfo=UTC),
            },
            id="completed-with-expiry-and-last-frame",
        ),
        pytest.param(
            _task("completed", progress=100, last_frame_url="https://cdn.x/top.png", metadata={"url": "https://v"}),
            TaskState.SUCCEEDED,
            {"last_frame_url": "https://cdn.x/top.png", "video_url": "https://v"},
            id="completed-last-frame-at-top-level",
        ),
        pytest.param(
            _task("failed", error={"message": "generation failed", "code": "generation_failed"}),
            TaskState.FAILED,
            {"error_code": "generation_failed", "error_message": "generation failed", "video_url": None},
            id="failed",
        ),
        pytest.param(_task("failed"), TaskState.FAILED, {"error_code": None}, id="failed-without-error"),
        pytest.param(_task("cancelled"), TaskState.RUNNING, {}, id="unknown-word-keeps-polling"),
    ],
)
def test_parse_status_states(body, state, expect):
    status = ib.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == "video_abc123"
    for key, value in expect.items():
        assert getattr(status, key) == value


@pytest.mark.parametrize(
    ("more", "expires"),
    [
        pytest.param({"expires_at": 1764433570000}, datetime(2025, 11, 29, 16, 26, 10, tzinfo=UTC), id="ms"),
        pytest.param(
            {"expires_at": 1764433570123}, datetime(2025, 11, 29, 16, 26, 10, 123000, tzinfo=UTC), id="ms-frac"
        ),
        pytest.param({"completed_at": 1764347170000}, None, id="completed-at-alone-is-no-expiry"),
        pytest.param({"expires_at": "1764433570000"}, None, id="string-ignored"),
        pytest.param({"expires_at": True}, None, id="bool-ignored"),
        pytest.param({"expires_at": 10**20}, None, id="out-of-range-ignored"),
    ],
)
def test_millisecond_timestamps(more, expires):
    status = ib.parse_status(reply(200, _task("completed", metadata={"url": "https://v"}, **more)))
    assert status.video_expires_at == expires
    if expires is not None:
        assert status.video_expires_at.tzinfo is UTC


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": "queued"}, id="no-id"),
        pytest.param({"id": "video_abc123"}, id="no-status"),
        pytest.param(["video_abc123"], id="not-an-object"),
    ],
)
def test_status_reply_not_a_task(body):
    with pytest.raises(UnexpectedResponseError, match="not a video task"):
        ib.parse_status(reply(200, body))


def test_status_reply_not_json():
    with pytest.raises(UnexpectedResponseError, match="expected a JSON body"):
        ib.parse_status(reply(200, b"\x00\x00\x00\x18ftypmp4"))


def _err(status_type, code, message="boom", param=None):
    return {"error": {"message": message, "type": status_type, "param": param, "code": code}}


@pytest.mark.parametrize(
    ("status_code", "body", "error", "code"),
    [
        pytest.param(
            400,
            # The spec's ErrorResponse, assembled from its per-field examples.
            _err(
                "invalid_request_error",
                "invalid_duration",
                "Invalid duration. Supported range is 4 to 15 seconds.",
                "seconds",
            ),
            InvalidRequestError,
            "invalid_duration",
            id="invalid-duration",
        ),
        pytest.param(
            400,
            _err("invalid_request_error", "content_policy_violation"),
            ContentModerationError,
            "content_policy_violation",
            id="content-policy",
        ),
        pytest.param(
            401, _err("authentication_error", "invalid_api_key"), AuthenticationError, "invalid_api_key", id="401"
        ),
        pytest.param(
            403, _err("permission_error", "model_not_accessible"), AuthenticationError, "model_not_accessible", id="403"
        ),
        pytest.param(
            404, _err("not_found_error", "resource_not_found"), TaskNotFoundError, "resource_not_found", id="not-found"
        ),
        pytest.param(
            404, _err("not_found_error", "model_not_found"), InvalidRequestError, "model_not_found", id="model-404"
        ),
        pytest.param(
            429, _err("rate_limit_error", "rate_limit_exceeded"), RateLimitError, "rate_limit_exceeded", id="rpm"
        ),
        pytest.param(
            429,
            _err("rate_limit_error", "concurrent_requests_exceeded"),
            RateLimitError,
            "concurrent_requests_exceeded",
            id="concurrency",
        ),
        pytest.param(
            429,
            _err("rate_limit_error", "insufficient_quota"),
            InsufficientCreditError,
            "insufficient_quota",
            id="quota-on-429",
        ),
        pytest.param(500, _err("server_error", "upstream_error"), ServerError, "upstream_error", id="upstream-error"),
        pytest.param(
            504, _err("server_error", "upstream_timeout"), ServerError, "upstream_timeout", id="upstream-timeout"
        ),
        pytest.param(
            400,
            _err("rate_limit_error", "brand_new_code"),
            RateLimitError,
            "brand_new_code",
            id="unknown-code-type-decides",
        ),
        pytest.param(403, _err("not_found_error", None), TaskNotFoundError, None, id="null-code-type-decides"),
        pytest.param(409, _err("mystery_error", None), UnexpectedResponseError, None, id="unknown-type-status-decides"),
        pytest.param(400, {"error": "bad JSON"}, InvalidRequestError, None, id="bare-string-error"),
        pytest.param(502, "<html>bad gateway</html>", ServerError, None, id="non-json-502"),
        pytest.param(404, "Not Found", TaskNotFoundError, None, id="non-json-404"),
        pytest.param(401, b"", AuthenticationError, None, id="empty-401"),
        pytest.param(503, {"detail": "maintenance"}, ServerError, None, id="json-not-an-error-envelope"),
        pytest.param(418, "teapot", UnexpectedResponseError, None, id="odd-status-plain-text"),
    ],
)
def test_errors(status_code, body, error, code):
    with pytest.raises(error) as caught:
        ib.parse_status(reply(status_code, body))
    assert type(caught.value) is error
    assert caught.value.status_code == status_code
    assert caught.value.gateway == "infinityblue"
    assert caught.value.code == code


def test_error_message_keeps_param():
    body = _err("invalid_request_error", "invalid_duration", "Invalid duration.", "seconds")
    with pytest.raises(InvalidRequestError) as caught:
        ib.parse_submit(reply(400, body))
    assert caught.value.message == "Invalid duration. (param: seconds)"


def test_non_json_error_message():
    with pytest.raises(ServerError) as caught:
        ib.parse_status(reply(502, "<html>bad gateway</html>"))
    assert caught.value.message == "<html>bad gateway</html>"
    with pytest.raises(AuthenticationError) as caught:
        ib.parse_status(reply(401, b""))
    assert caught.value.message == "HTTP 401 with an empty body"


def test_failed_download_maps_like_any_error():
    # The content endpoint answers 404 for an unfinished or expired task.
    with pytest.raises(TaskNotFoundError):
        raise ib.error_from(reply(404, _err("not_found_error", "resource_not_found", "video not ready")))


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(infinityblue.time, "time", lambda: NOW)


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        pytest.param({"Retry-After": "12"}, 12, id="retry-after"),
        pytest.param({"Retry-After": "7", "X-RateLimit-Reset-Requests": str(int(NOW) + 60)}, 7, id="retry-after-wins"),
        pytest.param({"X-RateLimit-Reset-Requests": str(int(NOW) + 30)}, 30, id="reset-unix-seconds"),
        pytest.param({"x-ratelimit-reset-requests": str(int(NOW * 1000) + 4500)}, 4.5, id="reset-unix-ms"),
        pytest.param({"X-RateLimit-Reset-Requests": str(int(NOW) - 5)}, 0, id="reset-in-the-past"),
        pytest.param({"Retry-After": "soon", "X-RateLimit-Reset-Requests": str(int(NOW) + 3)}, 3, id="bad-retry-after"),
        pytest.param({"X-RateLimit-Reset-Requests": "1s"}, None, id="reset-not-a-number"),
        pytest.param({"X-RateLimit-Reset-Requests": "60"}, None, id="reset-not-a-timestamp"),
        pytest.param({"X-RateLimit-Reset-Requests": "inf"}, None, id="reset-infinite"),
        pytest.param({}, None, id="no-headers"),
    ],
)
def test_rate_limit_wait(headers, retry_after):
    with pytest.raises(RateLimitError) as caught:
        ib.parse_submit(reply(429, _err("rate_limit_error", "rate_limit_exceeded"), **headers))
    assert caught.value.retry_after == retry_after
    assert caught.value.retryable


@pytest.mark.usefixtures("frozen_clock")
def test_quota_429_is_not_retryable_despite_headers():
    headers = {"Retry-After": "12", "X-RateLimit-Reset-Requests": str(int(NOW) + 30)}
    with pytest.raises(InsufficientCreditError) as caught:
        ib.parse_submit(reply(429, _err("rate_limit_error", "insufficient_quota"), **headers))
    assert not caught.value.retryable


def test_error_from_does_not_touch_other_errors():
    error = ib.error_from(reply(429, "slow down", **{"X-RateLimit-Reset-Requests": "nope"}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None
    assert error.message == "slow down"


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"duration": 3}, "duration", "4-15", id="duration-short"),
        pytest.param({"duration": 16}, "duration", "4-15", id="duration-long"),
        pytest.param({"duration": -1}, "duration", "4-15", id="duration-auto-not-documented"),
        pytest.param({"resolution": "4k"}, "resolution", "480p, 720p, 1080p", id="resolution"),
        pytest.param({"model": FAST, "resolution": "360p"}, "resolution", "one of 480p, 720p", id="fast-resolution"),
        pytest.param({"ratio": "2:1"}, "ratio", "adaptive, auto, 21:9", id="ratio"),
        # Upstream seed range [-1, 2^32-1] (gateways.md section 6, seed row), though the spec types it int64.
        pytest.param({"seed": 2**32}, "seed", f"[-1, {2**32 - 1}]", id="seed-above-uint32"),
        pytest.param({"seed": -2}, "seed", f"[-1, {2**32 - 1}]", id="seed-below-random"),
        pytest.param({"prompt": None}, "prompt", "a prompt is required for this model", id="no-prompt"),
        pytest.param(
            {"prompt": None, "first_frame": IMG}, "prompt", "required for this model", id="no-prompt-with-image"
        ),
        pytest.param({"last_frame": IMG}, "last_frame", "needs a first_frame", id="last-without-first"),
        pytest.param(
            {"first_frame": IMG, "reference_images": [IMG2]},
            "first_frame/last_frame",
            "mutually exclusive",
            id="frames-and-references",
        ),
        pytest.param({"reference_audios": [AUD]}, "reference_audios", "at least one reference", id="audio-alone"),
        pytest.param({"reference_images": [IMG] * 10}, "reference_images", "at most 9", id="too-many-images"),
        pytest.param({"reference_videos": [VID] * 4}, "reference_videos", "at most 3", id="too-many-videos"),
        pytest.param(
            {"reference_images": [IMG], "reference_audios": [AUD] * 4},
            "reference_audios",
            "at most 3",
            id="too-many-audios",
        ),
        pytest.param(
            {"reference_videos": ["data:video/mp4;base64,AAAA"]},
            "reference_videos[0]",
            "must be an http(s) URL on this gateway",
            id="video-as-data-uri",
        ),
        pytest.param(
            {"reference_videos": [VID], "reference_audios": ["data:audio/mpeg;base64,AAAA"]},
            "reference_audios[0]",
            "must be an http(s) URL on this gateway",
            id="audio-as-data-uri",
        ),
        pytest.param(
            {"first_frame": "asset://asset-1"},
            "first_frame",
            "must be an http(s) URL on this gateway",
            id="first-frame-asset-id",
        ),
        pytest.param(
            {"reference_images": ["asset://asset-1"]},
            "reference_images[0]",
            "must be an http(s) URL on this gateway",
            id="reference-image-asset-id",
        ),
        pytest.param(
            # Base64 is documented for the top-level image/ref_images only, never inside metadata.content.
            {"first_frame": DATA_IMG, "ratio": "auto"},
            "first_frame",
            "must be an http(s) URL on this gateway",
            id="inline-first-frame",
        ),
        pytest.param({"extra": {"seconds": "5"}}, "extra.seconds", "use that field", id="extra-seconds"),
        pytest.param({"extra": {"metadata": {"seed": 1}}}, "extra.metadata", "use that field", id="extra-metadata"),
        pytest.param({"extra": {"duration": 5}}, "extra.duration", "legacy alias of seconds", id="extra-duration"),
        pytest.param({"extra": {"n": 2}}, "extra.n", "must be 1", id="extra-n"),
        pytest.param(
            {"extra": {"response_format": "b64_json"}}, "extra.response_format", "only 'url'", id="extra-format"
        ),
        pytest.param(
            {"resolution": "720p", "extra": {"size": "1280x720"}},
            "extra.size",
            "conflicts with resolution/ratio",
            id="size-and-resolution",
        ),
        pytest.param(
            {"first_frame": IMG, "extra": {"image": IMG2}},
            "extra.image",
            "conflicts with first_frame",
            id="image-and-first-frame",
        ),
        pytest.param(
            {"reference_images": [IMG], "extra": {"ref_images": [IMG2]}},
            "extra.ref_images",
            "use one",
            id="ref-images-and-references",
        ),
        pytest.param(
            {"model": "doubao-seedance-3-0-270101", "prompt": None},
            "prompt",
            "a prompt is required",
            id="unknown-model-still-needs-prompt",
        ),
        pytest.param(
            {"model": "doubao-seedance-3-0-270101", "reference_videos": ["asset://v1"]},
            "reference_videos[0]",
            "an http(s) URL",
            id="unknown-model-still-checks-sources",
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(ib, {"model": MODEL, "prompt": "x", **fields}, field, allowed)


def test_long_inline_image_is_shortened_in_the_message():
    image = "data:image/png;base64," + "A" * 5000
    with pytest.raises(RequestValidationError) as caught:
        ib.build_submit(request(model=MODEL, prompt="x", first_frame=IMG, extra={"image": image}))
    assert "(5022 characters)" in str(caught.value)
    assert len(str(caught.value)) < 500


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"extra": {"image": IMG}}, id="plain-image-without-media-fields"),
        pytest.param({"extra": {"size": "1280x720"}}, id="size-without-resolution-or-ratio"),
        pytest.param({"camera_fixed": True, "model": FAST}, id="camera-fixed-documented-here"),
        pytest.param({"seed": 2**32 - 1}, id="seed-uint32-max"),
    ],
)
def test_accepted(fields):
    ib.build_submit(request(**{"model": MODEL, "prompt": "x", **fields}))


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        ib.build_submit(request(model=MODEL, prompt="x", duration=40, resolution="8k", ratio="2:1", extra={"n": 3}))
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "ratio", "extra.n"]
    assert "4 problems" in str(caught.value)


# ---- inline images: never inside metadata.content -------------------------------------------------------


# shared/specs/infinityblue-videos.en.yaml, lines 1073-1087 (SeedanceMediaURL, the url of every
# metadata.content item): "Publicly accessible URL of the media file". Base64 is documented only for the
# top-level ``image`` (lines 874-881, "URL or Base64") and ``ref_images`` (lines 882-892, "URLs or
# Base64"), which carry no role. Every media field goes into metadata.content, so a data: image is refused,
# both as sent (build_submit) and before delivery (validate, as the operator checks it; nothing can turn a
# data: URI into a URL here: no upload endpoint, and it is not in object storage).
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"first_frame": DATA_IMG}, "first_frame", id="first-frame"),
        pytest.param({"first_frame": IMG, "last_frame": DATA_IMG}, "last_frame", id="last-frame"),
        pytest.param({"reference_images": [IMG, DATA_IMG]}, "reference_images[1]", id="reference-image"),
        pytest.param(
            {"reference_images": ["data:image/jpeg;base64,/9j/4AAQSkZJRg=="]},
            "reference_images[0]",
            id="reference-image-jpeg",
        ),
    ],
)
@pytest.mark.parametrize(
    "check",
    [
        pytest.param(ib.build_submit, id="as-sent"),
        pytest.param(lambda req: ib.validate(req, delivery_order=(Delivery.INLINE,)), id="inline-allowed"),
        pytest.param(ib.validate, id="default-delivery-order"),
    ],
)
def test_inline_images_never_go_into_metadata_content(fields, field, check):
    req = request(model=MODEL, prompt="x", **fields)
    with pytest.raises(RequestValidationError) as caught:
        check(req)
    (problem,) = caught.value.problems
    assert problem.field == field
    assert problem.allowed.startswith("must be an http(s) URL on this gateway and model")
    assert "data:image/" in str(problem.value)


def test_inline_image_stays_possible_through_the_documented_top_level_field():
    # Lines 874-881: the top-level ``image`` takes "URL or Base64"; it reaches the gateway through ``extra``.
    call = ib.build_submit(request(model=MODEL, prompt="x", extra={"image": DATA_IMG}))
    assert call.json["image"] == DATA_IMG
    assert "metadata" not in call.json


# ---- totals the upstream enforces through the reseller --------------------------------------------------


# InfinityBlue resells the upstream Seedance 2.0 models, so the upstream's limits hold (shared/reference/
# gateways.md section 6, "Create request body"): resolution row "2.0 fast has no 1080p" (line 779); seed
# row "[-1, 2^32-1]" (line 783); content[] modes "Total mixed files <= 12" (line 805) on top of 9 images,
# 3 videos and 3 audios (lines 796-801).
@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"model": FAST, "resolution": "1080p"}, "resolution", "one of 480p, 720p", id="fast-1080p"),
        pytest.param({"seed": 2**32}, "seed", f"an integer in [-1, {2**32 - 1}]", id="seed-2^32"),
        pytest.param({"model": FAST, "seed": -2}, "seed", f"an integer in [-1, {2**32 - 1}]", id="fast-seed-(-2)"),
        pytest.param(
            {"reference_images": [IMG] * 9, "reference_videos": [VID] * 3, "reference_audios": [AUD]},
            "reference_images/videos/audios",
            "at most 12 reference files in all",
            id="13-files",
        ),
        pytest.param(
            {
                "model": FAST,
                "reference_images": [IMG] * 7,
                "reference_videos": [VID] * 3,
                "reference_audios": [AUD] * 3,
            },
            "reference_images/videos/audios",
            "at most 12 reference files in all",
            id="fast-13-files",
        ),
    ],
)
def test_upstream_totals_refused(fields, field, allowed):
    assert_rejected(ib, {"model": MODEL, "prompt": "x", **fields}, field, allowed)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"model": MODEL, "resolution": "1080p"}, id="standard-1080p"),
        pytest.param({"model": FAST, "resolution": "720p"}, id="fast-720p"),
        pytest.param({"seed": -1}, id="seed-random"),
        pytest.param({"seed": 2**32 - 1}, id="seed-uint32-max"),
        pytest.param({"reference_images": [IMG] * 9, "reference_videos": [VID] * 3}, id="12-files"),
        pytest.param(
            {"reference_images": [IMG] * 6, "reference_videos": [VID] * 3, "reference_audios": [AUD] * 3},
            id="12-mixed-files",
        ),
    ],
)
def test_upstream_totals_accepted(fields):
    ib.build_submit(request(**{"model": MODEL, "prompt": "x", **fields}))


def test_reference_total_is_a_family_limit_not_a_gateway_wide_one():
    # A model this release does not know may be newer than 2.0 (2.5 takes 50 files, gateways.md section 10).
    assert {name: spec.max_reference_files for name, spec in ib.models.items()} == {MODEL: 12, FAST: 12}
    assert infinityblue.GATEWAY_WIDE.max_reference_files is None
    newer = {"reference_images": [IMG] * 9, "reference_videos": [VID] * 3, "reference_audios": [AUD] * 3}
    ib.build_submit(request(model="doubao-seedance-2-5-260628", prompt="x", resolution="1080p", **newer))
