"""apimart dialect: request bodies, the documented replies, every status word and error, rejected requests."""

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
from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.models import TaskState
from tests.unit.gateways.support import assert_rejected, reply, request

apimart = get_gateway("apimart")
MODEL = "doubao-seedance-2.0"
FAST = "doubao-seedance-2.0-fast"
IMG = "https://example.com/day.jpg"
IMG2 = "https://example.com/night.jpg"
VID = "https://example.com/reference.mp4"
AUD = "https://example.com/speech.wav"
TASK = "task_01KBS40K78KGHZ9SDBWQSGSXRK"


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            {
                "prompt": "A kitten yawning at the camera",
                "resolution": "720P",
                "ratio": "16:9",
                "duration": 5,
                "seed": 42,
            },
            {
                "model": MODEL,
                "prompt": "A kitten yawning at the camera",
                "duration": 5,
                "size": "16:9",
                "resolution": "720p",
                "seed": 42,
            },
            id="text-to-video",
        ),
        pytest.param(
            {"prompt": "walks toward the camera", "first_frame": IMG, "return_last_frame": True},
            {
                "model": MODEL,
                "prompt": "walks toward the camera",
                "return_last_frame": True,
                "image_with_roles": [{"url": IMG, "role": "first_frame"}],
            },
            id="first-frame",
        ),
        pytest.param(
            {"prompt": "Transition from day to night", "first_frame": IMG, "last_frame": IMG2, "duration": 5},
            {
                "model": MODEL,
                "prompt": "Transition from day to night",
                "duration": 5,
                "image_with_roles": [{"url": IMG, "role": "first_frame"}, {"url": IMG2, "role": "last_frame"}],
            },
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "model": "doubao-seedance-2.0-face",
                "prompt": "image 1 drinks tea to audio 1, filmed like video 1",
                "reference_images": [IMG, IMG2],
                "reference_videos": [VID],
                "reference_audios": [AUD],
                "ratio": "adaptive",
                "resolution": "1080p",
                "duration": 11,
            },
            {
                "model": "doubao-seedance-2.0-face",
                "prompt": "image 1 drinks tea to audio 1, filmed like video 1",
                "duration": 11,
                "size": "adaptive",
                "resolution": "1080p",
                "image_urls": [IMG, IMG2],
                "video_urls": [VID],
                "audio_urls": [AUD],
            },
            id="multimodal-references",
        ),
        pytest.param(
            {"prompt": "A man says: never point at the moon.", "generate_audio": True},
            {"model": MODEL, "prompt": "A man says: never point at the moon.", "generate_audio": True},
            id="audio-generation",
        ),
        pytest.param(
            {
                "model": FAST,
                "prompt": "City nightscape timelapse",
                "ratio": "21:9",
                "duration": 4,
                "generate_audio": False,
                "extra": {"tools": [{"type": "web_search"}], "camerafixed": True},
            },
            {
                "model": FAST,
                "prompt": "City nightscape timelapse",
                "duration": 4,
                "size": "21:9",
                "generate_audio": False,
                "tools": [{"type": "web_search"}],
                "camerafixed": True,
            },
            id="fast-with-extra",
        ),
        pytest.param(
            {"reference_videos": [VID], "camera_fixed": False, "watermark": False},
            {"model": MODEL, "video_urls": [VID]},
            id="video-reference-no-prompt-false-flags-not-sent",
        ),
    ],
)
def test_submit_body(fields, body):
    call = apimart.build_submit(request(**{"model": MODEL, **fields}))
    assert (call.method, call.path, call.authenticated) == ("POST", "v1/videos/generations", True)
    assert call.json == body


CAT = "https://example.com/cat.jpg"


# What each image is for, in the fields of seeds/001_479842cd5f855424.txt ("Use Cases"). A lone image_urls entry
# is a first frame (Case 2), so reference images on their own go in image_with_roles with role reference_image
# (Case 11); image_with_roles cannot sit beside video_urls/audio_urls, so there they go in image_urls (Cases 9, 13).
@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            # Case 11, printed body.
            {
                "prompt": "Using the reference portrait, the character walks elegantly toward the camera",
                "reference_images": ["asset://asset_a"],
                "resolution": "720p",
                "duration": 5,
            },
            {
                "model": MODEL,
                "prompt": "Using the reference portrait, the character walks elegantly toward the camera",
                "image_with_roles": [{"url": "asset://asset_a", "role": "reference_image"}],
                "resolution": "720p",
                "duration": 5,
            },
            id="case-11-one-reference-image",
        ),
        pytest.param(
            # Case 11's role with plain URLs (a guess: Case 11 prints an asset:// URL only).
            {"prompt": "p", "reference_images": [CAT, IMG, IMG2]},
            {
                "model": MODEL,
                "prompt": "p",
                "image_with_roles": [{"url": url, "role": "reference_image"} for url in (CAT, IMG, IMG2)],
            },
            id="three-reference-images",
        ),
        pytest.param(
            # Case 2's first frame, named by its role as the image_with_roles field documents.
            {"prompt": "The kitten stands up and walks toward the camera", "first_frame": CAT, "duration": 5},
            {
                "model": MODEL,
                "prompt": "The kitten stands up and walks toward the camera",
                "image_with_roles": [{"url": CAT, "role": "first_frame"}],
                "duration": 5,
            },
            id="case-2-first-frame",
        ),
        pytest.param(
            # Case 13, printed body.
            {
                "prompt": "The character dances to the rhythm of the reference video with smooth and natural movements",
                "reference_images": ["https://example.com/dance_reference.jpg", "asset://asset_a"],
                "reference_videos": ["https://example.com/dance_reference.mp4", "asset://asset_a"],
                "duration": 8,
                "resolution": "720p",
            },
            {
                "model": MODEL,
                "prompt": "The character dances to the rhythm of the reference video with smooth and natural movements",
                "image_urls": ["https://example.com/dance_reference.jpg", "asset://asset_a"],
                "video_urls": ["https://example.com/dance_reference.mp4", "asset://asset_a"],
                "duration": 8,
                "resolution": "720p",
            },
            id="case-13-images-with-videos",
        ),
        pytest.param(
            # Case 9's inputs (its long prompt shortened).
            {
                "prompt": "p",
                "reference_images": ["https://example.com/tea_pic1.jpg", "https://example.com/tea_pic2.jpg"],
                "reference_videos": ["https://example.com/tea_video1.mp4"],
                "reference_audios": ["https://example.com/tea_audio1.mp3"],
                "generate_audio": True,
                "ratio": "16:9",
                "duration": 11,
            },
            {
                "model": MODEL,
                "prompt": "p",
                "image_urls": ["https://example.com/tea_pic1.jpg", "https://example.com/tea_pic2.jpg"],
                "video_urls": ["https://example.com/tea_video1.mp4"],
                "audio_urls": ["https://example.com/tea_audio1.mp3"],
                "generate_audio": True,
                "size": "16:9",
                "duration": 11,
            },
            id="case-9-images-with-video-and-audio",
        ),
        pytest.param(
            # A guess (printed nowhere): with audio alone the images are references too, in image_urls, since
            # audio "must be used together with reference images" and is "not available" beside image_with_roles.
            {"prompt": "p", "reference_images": [CAT], "reference_audios": [AUD]},
            {"model": MODEL, "prompt": "p", "image_urls": [CAT], "audio_urls": [AUD]},
            id="one-image-with-audio",
        ),
    ],
)
def test_images_say_what_they_are_for(fields, body):
    assert apimart.build_submit(request(model=MODEL, **fields)).json == body


def test_unknown_model_passes_with_warning(caplog):
    call = apimart.build_submit(
        request(model="doubao-seedance-1-5-pro", prompt="hi", duration=30, resolution="4k", ratio="2:1")
    )
    assert call.json == {
        "model": "doubao-seedance-1-5-pro",
        "prompt": "hi",
        "duration": 30,
        "size": "2:1",
        "resolution": "4k",
    }
    assert "not known to the apimart dialect" in caplog.text


def test_unknown_model_keeps_gateway_wide_rules():
    assert_rejected(
        apimart,
        {"model": "some-new-model", "prompt": "x", "first_frame": "data:image/png;base64,AAAA"},
        "first_frame",
        "an http(s) URL",
    )


def test_status_cancel_and_download_calls():
    assert apimart.default_base_url == "https://api.apimart.ai"
    status_call = apimart.build_status("task_1/../x")
    assert (status_call.method, status_call.path) == ("GET", "v1/tasks/task_1%2F..%2Fx")
    assert apimart.build_cancel(TASK) is None
    status = apimart.parse_status(reply(200, COMPLETED))
    download = apimart.build_download(status)
    assert (download.method, download.path, download.authenticated) == ("GET", VIDEO_URL, False)
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        apimart.build_download(status, "last_frame")


# Verbatim create response from the vendor's page (gateways.md section 2).
SUBMITTED = {"code": 200, "data": [{"status": "submitted", "task_id": "task_01KMCGF6BQGN3X28H3KSR50X5T"}]}


def test_parse_submit():
    status = apimart.parse_submit(reply(200, SUBMITTED))
    assert (status.task_id, status.state, status.raw) == (
        "task_01KMCGF6BQGN3X28H3KSR50X5T",
        TaskState.QUEUED,
        SUBMITTED,
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"code": 200, "data": []}, id="empty-list"),
        pytest.param({"code": 200, "data": [{"status": "submitted"}]}, id="no-task-id"),
        pytest.param({"code": 200}, id="no-data"),
        pytest.param(["task_1"], id="not-an-object"),
        pytest.param("<html>ok</html>", id="not-json"),
    ],
)
def test_parse_submit_unreadable(body):
    with pytest.raises(UnexpectedResponseError):
        apimart.parse_submit(reply(200, body))


# Real observed poll replies, verbatim (gateways.md section 2).
PROCESSING = {
    "code": 200,
    "data": {
        "created": 1765000891,
        "estimated_time": 600,
        "id": "task_01KBS40K78KGHZ9SDBWQSGSXRK",
        "progress": 91,
        "status": "processing",
    },
}
VIDEO_URL = (
    "https://upload.apimart.ai/f/video/9998234998953836-b97ab050-d420-446e-8a3b-387822f0045f"
    "-video_task_01KBS40K78KGHZ9SDBWQSGSXRK.mp4"
)
COMPLETED = {
    "code": 200,
    "data": {
        "actual_time": 155,
        "completed": 1765001046,
        "created": 1765000891,
        "estimated_time": 600,
        "id": "task_01KBS40K78KGHZ9SDBWQSGSXRK",
        "progress": 100,
        "result": {"videos": [{"expires_at": 1765087446, "url": [VIDEO_URL]}]},
        "status": "completed",
    },
}


def test_parse_processing():
    status = apimart.parse_status(reply(200, PROCESSING))
    assert (status.task_id, status.state, status.progress) == (TASK, TaskState.RUNNING, 91)
    assert status.video_url is None
    assert status.raw == PROCESSING


def test_parse_completed():
    status = apimart.parse_status(reply(200, COMPLETED))
    assert (status.state, status.progress, status.video_url) == (TaskState.SUCCEEDED, 100, VIDEO_URL)
    assert status.video_expires_at == datetime.fromtimestamp(1765087446, UTC)
    assert status.last_frame_url is None
    assert status.usage is None
    assert status.raw == COMPLETED


def _task(status, **more):
    return {"code": 200, "data": {"id": TASK, "status": status, "created": 1765000891, **more}}


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("pending", progress=0), TaskState.QUEUED, {"progress": 0}, id="pending"),
        pytest.param(_task("submitted"), TaskState.QUEUED, {}, id="submitted"),
        pytest.param(_task("processing", progress=40), TaskState.RUNNING, {"progress": 40}, id="processing"),
        pytest.param(
            _task(
                "completed",
                progress=100,
                result={"videos": [{"url": ["https://x/v.mp4"], "last_frame_url": "https://x/l.png"}]},
                cost=0.5,
                credits_cost=50,
            ),
            TaskState.SUCCEEDED,
            {
                "video_url": "https://x/v.mp4",
                "last_frame_url": "https://x/l.png",
                "usage": {"cost": 0.5, "credits_cost": 50},
                "video_expires_at": None,
            },
            id="completed-with-last-frame-and-cost",
        ),
        pytest.param(
            _task("failed", error={"code": "content_rejected", "message": "content rejected", "type": "moderation"}),
            TaskState.FAILED,
            {"error_code": "moderation", "error_message": "content rejected"},
            id="failed",
        ),
        pytest.param(
            _task("failed", error={"message": "content rejected"}),
            TaskState.FAILED,
            {"error_code": None, "error_message": "content rejected"},
            id="failed-message-only",
        ),
        pytest.param(_task("cancelled"), TaskState.CANCELLED, {}, id="cancelled"),
        pytest.param(_task("warming_up", progress="5"), TaskState.RUNNING, {"progress": 5}, id="unknown-word"),
    ],
)
def test_parse_status_states(body, state, expect):
    status = apimart.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == TASK
    for key, value in expect.items():
        assert getattr(status, key) == value


def _completed(**result):
    return _task("completed", result={"videos": [{"url": ["https://x/v.mp4"]}], **result})


# seeds/001_479842cd5f855424.txt, return_last_frame: "the task result will additionally return the URL of the video's
# last frame image" -- in a field the page never names (gateways.md section 2: "Last-frame URL field: not found").
# Only a field named for the last frame is read; an image list may hold a cover, which is no last frame.
@pytest.mark.parametrize(
    ("body", "last_frame_url"),
    [
        pytest.param(COMPLETED, None, id="observed-reply-has-none"),
        pytest.param(_completed(images=[{"url": ["https://x/cover.png"]}]), None, id="image-list-is-not-read"),
        pytest.param(
            _task("completed", result={"videos": [{"url": ["https://x/v.mp4"], "cover_url": "https://x/c.jpg"}]}),
            None,
            id="cover-is-not-read",
        ),
        pytest.param(_completed(last_frame_url="https://x/l.png"), "https://x/l.png", id="in-result"),
        pytest.param(_completed(last_frame={"url": ["https://x/l.png"]}), "https://x/l.png", id="in-result-as-list"),
        pytest.param(
            _task("completed", result={"videos": [{"url": ["https://x/v.mp4"], "last_frame_url": "https://x/l.png"}]}),
            "https://x/l.png",
            id="beside-the-video",
        ),
    ],
)
def test_last_frame_only_from_a_field_named_for_it(body, last_frame_url):
    assert apimart.parse_status(reply(200, body)).last_frame_url == last_frame_url


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"code": 200, "data": {"status": "processing"}}, id="no-id"),
        pytest.param({"code": 200, "data": [{"id": TASK, "status": "pending"}]}, id="data-is-a-list"),
        pytest.param({"id": TASK, "status": "pending"}, id="no-envelope"),
    ],
)
def test_parse_status_unreadable(body):
    with pytest.raises(UnexpectedResponseError, match="not a task"):
        apimart.parse_status(reply(200, body))


def _err(code, message, type_):
    return {"error": {"code": code, "message": message, "type": type_}}


MODERATION = "build_request_failed: content moderation failed: sensitive content detected"


@pytest.mark.parametrize(
    ("status_code", "body", "error", "code"),
    [
        # The seven documented bodies, verbatim (gateways.md section 2).
        pytest.param(
            400,
            _err(400, "请求参数无效", "invalid_request_error"),
            InvalidRequestError,
            "invalid_request_error",
            id="400",
        ),
        pytest.param(
            401,
            _err(401, "身份验证失败，请检查您的API密钥", "authentication_error"),
            AuthenticationError,
            "authentication_error",
            id="401",
        ),
        pytest.param(
            402,
            _err(402, "账户余额不足，请充值后再试", "payment_required"),
            InsufficientCreditError,
            "payment_required",
            id="402",
        ),
        pytest.param(
            403,
            _err(403, "访问被禁止，您没有权限访问此资源", "permission_error"),
            AuthenticationError,
            "permission_error",
            id="403",
        ),
        pytest.param(
            429, _err(429, "请求过于频繁，请稍后再试", "rate_limit_error"), RateLimitError, "rate_limit_error", id="429"
        ),
        pytest.param(
            500, _err(500, "服务器内部错误，请稍后重试", "server_error"), ServerError, "server_error", id="500"
        ),
        pytest.param(502, _err(502, "网关错误，服务器暂时不可用", "bad_gateway"), ServerError, "bad_gateway", id="502"),
        pytest.param(
            500, _err(500, MODERATION, "server_error"), ContentModerationError, "server_error", id="moderation-500"
        ),
        pytest.param(
            404,
            _err(404, "任务不存在或已过期", "invalid_request_error"),
            TaskNotFoundError,
            "invalid_request_error",
            id="task-expired",
        ),
        pytest.param(404, {"error": {"code": 404, "message": "not found"}}, TaskNotFoundError, "404", id="no-type"),
        pytest.param(502, "<html>502 Bad Gateway</html>", ServerError, None, id="non-json-502"),
        pytest.param(401, b"Unauthorized", AuthenticationError, None, id="non-json-401"),
        pytest.param(503, b"", ServerError, None, id="empty-503"),
        # 200 replies whose body is an error: the business code decides, not the HTTP status.
        pytest.param(
            200,
            _err(402, "账户余额不足，请充值后再试", "payment_required"),
            InsufficientCreditError,
            "payment_required",
            id="200-with-error-object",
        ),
        pytest.param(200, {"code": 429, "message": "slow down"}, RateLimitError, "429", id="200-business-429"),
        pytest.param(200, {"code": 500, "msg": "upstream failed"}, ServerError, "500", id="200-business-500"),
        pytest.param(200, {"code": 0, "data": None}, UnexpectedResponseError, "0", id="200-business-unknown"),
        pytest.param(200, {"code": 500, "error": {"message": MODERATION}}, ContentModerationError, "500", id="200-mod"),
    ],
)
@pytest.mark.parametrize("parse", ["parse_submit", "parse_status"])
def test_errors(parse, status_code, body, error, code):
    if parse == "parse_submit" and error is TaskNotFoundError:
        error = InvalidRequestError  # nothing exists yet on submit: a 404 means a wrong URL
    with pytest.raises(error) as caught:
        getattr(apimart, parse)(reply(status_code, body))
    assert caught.value.status_code == status_code
    assert caught.value.gateway == "apimart"
    assert caught.value.code == code


def test_rate_limit_keeps_retry_after():
    with pytest.raises(RateLimitError) as caught:
        apimart.parse_submit(
            reply(429, _err(429, "请求过于频繁，请稍后再试", "rate_limit_error"), **{"Retry-After": "7"})
        )
    assert caught.value.retry_after == 7
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"prompt": "x", "duration": 3}, "duration", "4-15", id="duration-short"),
        pytest.param({"prompt": "x", "duration": 16}, "duration", "4-15", id="duration-long"),
        pytest.param({"prompt": "x", "duration": -1}, "duration", "4-15", id="duration-auto"),
        pytest.param({"prompt": "x", "resolution": "4k"}, "resolution", "480p, 720p, 1080p", id="resolution"),
        pytest.param(
            {"model": FAST, "prompt": "x", "resolution": "1080p"}, "resolution", "480p, 720p", id="fast-no-1080p"
        ),
        pytest.param(
            {"model": "doubao-seedance-2.0-fast-face", "prompt": "x", "resolution": "1080p"},
            "resolution",
            "480p, 720p",
            id="fast-face-no-1080p",
        ),
        pytest.param({"prompt": "x", "ratio": "9:21"}, "ratio", "16:9, 9:16, 1:1", id="ratio"),
        pytest.param({"prompt": "x", "seed": 2**32}, "seed", "[-1, 4294967295]", id="seed-high"),
        pytest.param({"prompt": "x", "camera_fixed": True}, "camera_fixed", "not supported", id="camera-fixed"),
        pytest.param({"prompt": "x", "watermark": True}, "watermark", "not supported", id="watermark"),
        pytest.param({}, "prompt", "a prompt is required", id="no-prompt-no-media"),
        pytest.param({"prompt": "x" * 4001}, "prompt", "at most 4000 characters", id="prompt-too-long"),
        pytest.param({"prompt": "x", "last_frame": IMG}, "last_frame", "needs a first_frame", id="last-without-first"),
        pytest.param(
            {"prompt": "x", "first_frame": IMG, "reference_videos": [VID]},
            "first_frame/last_frame",
            "mutually exclusive",
            id="frames-and-video",
        ),
        pytest.param(
            {"prompt": "x", "reference_audios": [AUD]}, "reference_audios", "at least one reference", id="audio-alone"
        ),
        pytest.param(
            {"prompt": "x", "reference_images": [IMG] * 10}, "reference_images", "at most 9", id="too-many-images"
        ),
        pytest.param(
            {"prompt": "x", "reference_videos": [VID] * 4}, "reference_videos", "at most 3", id="too-many-videos"
        ),
        pytest.param(
            {"prompt": "x", "reference_images": [IMG], "reference_audios": [AUD] * 4},
            "reference_audios",
            "at most 3",
            id="too-many-audios",
        ),
        pytest.param(
            {"prompt": "x", "first_frame": "data:image/png;base64,AAAA"},
            "first_frame",
            "an http(s) URL",
            id="base64-first-frame",
        ),
        pytest.param(
            {"prompt": "x", "reference_images": ["data:image/png;base64,AAAA"]},
            "reference_images[0]",
            "an http(s) URL",
            id="base64-reference-image",
        ),
        pytest.param(
            {"model": "doubao-seedance-2.0-face", "prompt": "x", "reference_videos": ["asset://asset_a"]},
            "reference_videos[0]",
            "must be an http(s) URL on this gateway",
            id="asset-video-on-face-model",
        ),
        pytest.param(
            {"prompt": "x", "first_frame": IMG, "extra": {"image_urls": [IMG2]}},
            "extra.image_urls",
            "use that field",
            id="frames-with-image-urls-in-extra",
        ),
        pytest.param(
            {"prompt": "x", "reference_images": [IMG], "extra": {"image_with_roles": [{"url": IMG2, "role": "x"}]}},
            "extra.image_with_roles",
            "use that field",
            id="references-with-roles-in-extra",
        ),
        pytest.param(
            {"prompt": "x", "first_frame": IMG, "extra": {"audio_urls": [AUD]}},
            "extra.audio_urls",
            "use that field",
            id="frames-with-audio-in-extra",
        ),
        pytest.param({"prompt": "x", "extra": {"size": "16:9"}}, "extra.size", "use that field", id="extra-size"),
        pytest.param(
            {"prompt": "x", "extra": {"aspect_ratio": "16:9"}},
            "extra.aspect_ratio",
            "takes the ratio field",
            id="extra-legacy-aspect-ratio",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"audio": True}}, "extra.audio", "takes the generate_audio field", id="extra-audio"
        ),
        pytest.param(
            {"prompt": "x", "extra": {"tools": "web_search"}}, "extra.tools", "a list of objects", id="tools-shape"
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(apimart, {"model": MODEL, **fields}, field, allowed)


# gateways.md section 6 (Ark), "Modes": Seedance 2.0 takes "Total mixed files <= 12"; apimart's page names no
# total but resells that model. A model the dialect does not know keeps only the gateway's structural rules.
@pytest.mark.parametrize(
    ("model", "images", "videos", "audios", "refused"),
    [
        pytest.param(MODEL, 9, 3, 0, False, id="twelve"),
        pytest.param(MODEL, 9, 3, 1, True, id="thirteen"),
        pytest.param(FAST, 9, 2, 2, True, id="fast-thirteen"),
        pytest.param("doubao-seedance-2.0-face", 7, 3, 3, True, id="face-thirteen"),
        pytest.param("doubao-seedance-2.0-fast-face", 6, 3, 3, False, id="fast-face-twelve"),
        pytest.param("some-new-model", 9, 3, 3, False, id="unknown-model-fifteen"),
    ],
)
def test_reference_files_in_all(model, images, videos, audios, refused):
    fields = {
        "model": model,
        "prompt": "x",
        "reference_images": [f"https://example.com/{index}.jpg" for index in range(images)],
        "reference_videos": [VID] * videos,
        "reference_audios": [AUD] * audios,
    }
    if refused:
        assert_rejected(apimart, fields, "reference_images/videos/audios", "at most 12 reference files")
    else:
        apimart.build_submit(request(**fields))


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        apimart.build_submit(request(model=MODEL, prompt="x", duration=40, resolution="8k", ratio="2:1"))
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "ratio"]
    assert "3 problems" in str(caught.value)


def test_asset_ids_on_plain_and_fast_models():
    # The vendor page's "Case 13": an approved asset image with a reference video.
    call = apimart.build_submit(
        request(
            model="doubao-seedance-2.0-fast",
            prompt="asset 1 copies the motion of video 1",
            reference_images=["asset://asset_a"],
            reference_videos=["https://example.com/reference.mp4"],
        )
    )
    assert call.json["image_urls"] == ["asset://asset_a"]
    assert call.json["video_urls"] == ["https://example.com/reference.mp4"]
