"""imini dialect: request bodies, every status word, every documented error, and rejected requests."""

from __future__ import annotations

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

imini = get_gateway("imini")
MODEL = "doubao/seedance-2.0"
FAST = "doubao/seedance-2.0-fast"
IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
DATA_IMG = "data:image/png;base64,iVBORw0KGgo="
VID = "https://example.com/ref.mp4"
AUD = "https://example.com/ref.mp3"


def test_identity_and_paths():
    assert imini.name == "imini"
    assert imini.default_base_url == "https://openapi.imini.ai/imini/router"
    assert imini.build_cancel("task_1") is None


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            # The docs' own curl example, written as a VideoRequest.
            {
                "prompt": "A slow pan across a misty mountain valley at sunrise, cinematic",
                "resolution": "720p",
                "ratio": "16:9",
                "duration": 5,
            },
            {
                "model": MODEL,
                "prompt": "A slow pan across a misty mountain valley at sunrise, cinematic",
                "resolution": "720P",
                "aspect_ratio": "16:9",
                "duration": 5,
            },
            id="text-to-video",
        ),
        pytest.param(
            {"prompt": "wake up", "first_frame": IMG, "resolution": "480P"},
            {
                "model": MODEL,
                "prompt": "wake up",
                "resolution": "480P",
                "reference_images": [{"url": IMG, "reference_type": "first_frame"}],
            },
            id="first-frame",
        ),
        pytest.param(
            {"first_frame": DATA_IMG},
            {"model": MODEL, "reference_images": [{"url": DATA_IMG, "reference_type": "first_frame"}]},
            id="first-frame-data-uri-no-prompt",
        ),
        pytest.param(
            {"prompt": "morph", "first_frame": IMG, "last_frame": IMG2, "ratio": "adaptive"},
            {
                "model": MODEL,
                "prompt": "morph",
                "aspect_ratio": "adaptive",
                "reference_images": [
                    {"url": IMG, "reference_type": "first_frame"},
                    {"url": IMG2, "reference_type": "last_frame"},
                ],
            },
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "prompt": "image 1 dances to audio 1 like video 1",
                "reference_images": [IMG, DATA_IMG],
                "reference_videos": [VID],
                "reference_audios": [AUD],
            },
            {
                "model": MODEL,
                "prompt": "image 1 dances to audio 1 like video 1",
                "reference_images": [
                    {"url": IMG, "reference_type": "asset"},
                    {"url": DATA_IMG, "reference_type": "asset"},
                ],
                "reference_videos": [{"url": VID}],
                "reference_audios": [{"url": AUD}],
            },
            id="multimodal-references",
        ),
        pytest.param(
            {"reference_videos": [VID]},
            {"model": MODEL, "reference_videos": [{"url": VID}]},
            id="video-reference-only-no-prompt",
        ),
        pytest.param(
            {"prompt": "rain on a tin roof", "generate_audio": True, "duration": 15},
            {"model": MODEL, "prompt": "rain on a tin roof", "duration": 15, "generate_audio": True},
            id="audio-generation",
        ),
        pytest.param(
            {"prompt": "silent film", "generate_audio": False, "camera_fixed": False},
            {"model": MODEL, "prompt": "silent film", "generate_audio": False},
            id="audio-off-is-sent-camera-fixed-false-is-not",
        ),
        pytest.param(
            {"prompt": "a cat", "seed": 42, "watermark": False, "return_last_frame": True},
            {
                "model": MODEL,
                "prompt": "a cat",
                "extra_params": {"seed": 42, "watermark": False, "return_last_frame": True},
            },
            id="extra-params",
        ),
        pytest.param(
            {"prompt": "a cat", "seed": -1},
            {"model": MODEL, "prompt": "a cat", "extra_params": {"seed": -1}},
            id="random-seed-only",
        ),
        pytest.param(
            {"model": FAST, "prompt": "fast cat", "resolution": "720p", "extra": {"callback": "x"}},
            {"model": FAST, "prompt": "fast cat", "resolution": "720P", "callback": "x"},
            id="fast-model-with-extra",
        ),
    ],
)
def test_submit_body(fields, body):
    call = imini.build_submit(request(**{"model": MODEL, **fields}))
    assert (call.method, call.path, call.authenticated) == ("POST", "v1/videos/generate", True)
    assert call.json == body


DATA_AUD = "data:audio/mpeg;base64,SUQzBAAAAAAAI1RTU0U="


# seeds/000_4991d4552ef99e7e.txt, reference_audios: "Audio requirements: ... total request body <= 64 MB (avoid
# base64 for large files)" -- audio may come inline, as imini's own helper sends local files (gateways.md section 1).
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"model": MODEL, "reference_images": [IMG]}, id="seedance-2.0"),
        pytest.param({"model": FAST, "reference_videos": [VID]}, id="seedance-2.0-fast"),
        pytest.param({"model": "doubao/seedance-3.0"}, id="unknown-model"),
    ],
)
def test_base64_reference_audio_is_sent_inline(fields):
    body = imini.build_submit(request(prompt="x", reference_audios=[DATA_AUD, AUD], **fields)).json
    assert body["reference_audios"] == [{"url": DATA_AUD}, {"url": AUD}]


# gateways.md section 6 (Ark), "Modes": Seedance 2.0 takes "Total mixed files <= 12"; imini's page names no total
# but relays that model. A model the dialect does not know keeps only the gateway's structural rules.
@pytest.mark.parametrize(
    ("model", "images", "videos", "audios", "refused"),
    [
        pytest.param(MODEL, 9, 3, 0, False, id="twelve"),
        pytest.param(MODEL, 9, 3, 1, True, id="thirteen"),
        pytest.param(FAST, 7, 3, 3, True, id="fast-thirteen"),
        pytest.param(FAST, 6, 3, 3, False, id="fast-twelve"),
        pytest.param("doubao/seedance-3.0", 9, 3, 3, False, id="unknown-model-fifteen"),
    ],
)
def test_reference_files_in_all(model, images, videos, audios, refused):
    fields = {
        "model": model,
        "prompt": "x",
        "reference_images": [f"https://example.com/{index}.png" for index in range(images)],
        "reference_videos": [VID] * videos,
        "reference_audios": [AUD] * audios,
    }
    if refused:
        assert_rejected(imini, fields, "reference_images/videos/audios", "at most 12 reference files")
    else:
        imini.build_submit(request(**fields))


def test_unknown_model_passes_with_warning(caplog):
    call = imini.build_submit(request(model="doubao/seedance-3.0", prompt="hi", duration=30, resolution="1080p"))
    assert call.json == {"model": "doubao/seedance-3.0", "prompt": "hi", "resolution": "1080P", "duration": 30}
    assert "not known to the imini dialect" in caplog.text


def test_unknown_model_keeps_gateway_wide_rules():
    assert_rejected(
        imini, {"model": "doubao/seedance-3.0", "prompt": "x", "camera_fixed": True}, "camera_fixed", "not supported"
    )
    assert_rejected(
        imini,
        {"model": "doubao/seedance-3.0", "prompt": "x", "first_frame": "asset://a-1"},
        "first_frame",
        "an http(s) URL or a data: URI",
    )


def test_status_and_download_calls():
    call = imini.build_status("task_1/../x")
    assert (call.method, call.path) == ("GET", "v1/videos/tasks/task_1%2F..%2Fx")
    status = imini.parse_status(reply(200, SUCCEEDED))
    download = imini.build_download(status)
    assert (download.method, download.path, download.authenticated) == (
        "GET",
        "https://file.iminicdn.com/file/2026/04/11/2042865212863942656.mp4",
        False,
    )
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        imini.build_download(status, "last_frame")


# Verbatim from the imini Seedance 2.0 docs (gateways.md section 1).
SUBMITTED = {
    "task_id": "task_2044275355061448704",
    "model": "doubao/seedance-2.0",
    "created_at": "2026-04-15T04:43:20.233Z",
    "request_id": "67e2e394-cf6f-4998-b293-ebf20d14dc26",
}


def test_parse_submit():
    status = imini.parse_submit(reply(200, SUBMITTED))
    assert (status.task_id, status.state, status.raw) == ("task_2044275355061448704", TaskState.QUEUED, SUBMITTED)
    with pytest.raises(UnexpectedResponseError, match="no task_id"):
        imini.parse_submit(reply(200, {"model": MODEL}))
    with pytest.raises(UnexpectedResponseError, match="expected a JSON body"):
        imini.parse_submit(reply(200, "<html>ok</html>"))


def test_error_envelope_with_2xx_is_not_a_task():
    body = {"error": {"code": "INSUFFICIENT_CREDITS", "message": "top up", "status": 402, "request_id": "req_9"}}
    with pytest.raises(InsufficientCreditError) as caught:
        imini.parse_submit(reply(200, body))
    # The error keeps the HTTP status it really arrived with.
    assert (caught.value.status_code, caught.value.request_id) == (200, "req_9")
    with pytest.raises(InsufficientCreditError):
        imini.parse_status(reply(200, body))


def test_error_envelope_status_classifies_an_unknown_code():
    body = {"error": {"code": "SLOW_DOWN_PLEASE", "message": "busy", "status": 429}}
    with pytest.raises(RateLimitError):
        imini.parse_status(reply(200, body))


# Verbatim from the imini task-query docs (gateways.md section 1); the docs use a Kling model,
# the shape is shared by every video model.
SUCCEEDED = {
    "task_id": "task_2042864638838083584",
    "status": "succeeded",
    "model": "kling/kling-v3",
    "created_at": "2026-04-11T07:17:39.146Z",
    "completed_at": "2026-04-11T07:19:57.844Z",
    "videos": [
        {
            "url": "https://file.iminicdn.com/file/2026/04/11/2042865212863942656.mp4",
            "width": 1284,
            "height": 716,
            "duration": 5,
            "cover_url": "https://file.iminicdn.com/file/2026/04/11/2042865212863942700.jpg",
        }
    ],
    "error": None,
    "request_id": "req_abc123",
}


def test_parse_succeeded():
    status = imini.parse_status(reply(200, SUCCEEDED))
    assert status.task_id == "task_2042864638838083584"
    assert status.state is TaskState.SUCCEEDED
    assert status.video_url == "https://file.iminicdn.com/file/2026/04/11/2042865212863942656.mp4"
    assert status.last_frame_url is None
    assert status.progress is None
    assert status.video_expires_at is None
    assert (status.error_code, status.error_message) == (None, None)
    assert status.raw == SUCCEEDED


def _task(status, **more):
    return {
        "task_id": "task_2044275355061448704",
        "status": status,
        "model": MODEL,
        "created_at": "2026-04-15T04:43:20.233Z",
        "completed_at": None,
        "videos": None,
        "error": None,
        "request_id": "req_1",
        **more,
    }


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("queued"), TaskState.QUEUED, {"video_url": None}, id="queued"),
        pytest.param(_task("processing"), TaskState.RUNNING, {"video_url": None}, id="processing"),
        pytest.param(
            _task(
                "succeeded",
                completed_at="2026-04-15T04:45:01.002Z",
                videos=[{"url": "https://file.iminicdn.com/v.mp4", "width": 1280, "height": 720, "duration": 5}],
            ),
            TaskState.SUCCEEDED,
            {"video_url": "https://file.iminicdn.com/v.mp4", "last_frame_url": None},
            id="succeeded",
        ),
        pytest.param(
            _task("succeeded", videos=[{"cover_url": "https://x/c.jpg"}, {"url": "https://x/2.mp4"}]),
            TaskState.SUCCEEDED,
            {"video_url": "https://x/2.mp4"},
            id="succeeded-first-item-without-url",
        ),
        pytest.param(
            _task("failed", error={"code": "INVALID_PROMPT", "message": "Prompt contains disallowed content"}),
            TaskState.FAILED,
            {"error_code": "INVALID_PROMPT", "error_message": "Prompt contains disallowed content"},
            id="failed",
        ),
        pytest.param(
            _task("failed", error="upstream model error"),
            TaskState.FAILED,
            {"error_code": None, "error_message": "upstream model error"},
            id="failed-with-bare-string-error",
        ),
        pytest.param(_task("completed"), TaskState.RUNNING, {}, id="unknown-word-keeps-polling"),
    ],
)
def test_parse_status_states(body, state, expect):
    status = imini.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == "task_2044275355061448704"
    for key, value in expect.items():
        assert getattr(status, key) == value


# seeds/000_4991d4552ef99e7e.txt, extra_params.return_last_frame: "you can retrieve the generated video's last-frame
# image (PNG, no watermark, same dimensions as the video) via the query endpoint". The documented reply (videos[]:
# url, width, height, duration, cover_url) names no field for it. Guess: ``last_frame_url`` (Ark's name), in the
# video item or beside ``videos``. cover_url is never taken for it: a cover (a .jpg in the docs) is no last frame.
@pytest.mark.parametrize(
    ("body", "last_frame_url"),
    [
        pytest.param(SUCCEEDED, None, id="documented-reply-cover-is-not-read"),
        pytest.param(
            _task("succeeded", videos=[{"url": "https://x/v.mp4", "last_frame_url": "https://x/l.png"}]),
            "https://x/l.png",
            id="in-the-video-item",
        ),
        pytest.param(
            _task("succeeded", videos=[{"url": "https://x/v.mp4"}], last_frame_url="https://x/l.png"),
            "https://x/l.png",
            id="beside-videos",
        ),
        pytest.param(
            _task("succeeded", videos=[{"url": "https://x/v.mp4", "last_frame_url": ""}]),
            None,
            id="blank",
        ),
    ],
)
def test_last_frame_url(body, last_frame_url):
    status = imini.parse_status(reply(200, body))
    assert status.last_frame_url == last_frame_url
    if last_frame_url:
        download = imini.build_download(status, "last_frame")
        assert (download.method, download.path, download.authenticated) == ("GET", last_frame_url, False)


def test_status_reply_that_is_not_a_task():
    with pytest.raises(UnexpectedResponseError, match="not a task"):
        imini.parse_status(reply(200, {"videos": []}))


# Only the five codes in error_codes are documented; the codes used below for 401/403/5xx
# (UNAUTHORIZED, FORBIDDEN, ...) are made-up stand-ins that check the fallback to the HTTP status.
def _err(code, message, status):
    return {"error": {"code": code, "message": message, "status": status, "request_id": "req_abc123"}}


@pytest.mark.parametrize(
    ("status_code", "body", "error", "code"),
    [
        pytest.param(
            400,
            # Verbatim envelope from imini's official skill (gateways.md section 1).
            {
                "error": {
                    "code": "INVALID_PROMPT",
                    "message": "Prompt contains disallowed content",
                    "status": 400,
                    "request_id": "req_abc123",
                }
            },
            ContentModerationError,
            "INVALID_PROMPT",
            id="invalid-prompt",
        ),
        pytest.param(
            400,
            _err("INVALID_PARAMETER", "duration must be 4-15", 400),
            InvalidRequestError,
            "INVALID_PARAMETER",
            id="invalid-parameter",
        ),
        pytest.param(401, _err("UNAUTHORIZED", "invalid api key", 401), AuthenticationError, "UNAUTHORIZED", id="401"),
        pytest.param(
            402,
            _err("INSUFFICIENT_CREDITS", "not enough credits", 402),
            InsufficientCreditError,
            "INSUFFICIENT_CREDITS",
            id="insufficient-credits",
        ),
        pytest.param(403, _err("FORBIDDEN", "quota exhausted", 403), AuthenticationError, "FORBIDDEN", id="403"),
        pytest.param(
            404,
            _err("TASK_NOT_FOUND", "task not found or expired", 404),
            TaskNotFoundError,
            "TASK_NOT_FOUND",
            id="task-not-found",
        ),
        pytest.param(429, _err("RATE_LIMITED", "slow down", 429), RateLimitError, "RATE_LIMITED", id="rate-limited"),
        pytest.param(
            400,
            _err("RATE_LIMITED", "slow down", 400),
            RateLimitError,
            "RATE_LIMITED",
            id="code-wins-over-status",
        ),
        pytest.param(
            400,
            _err("SOME_FUTURE_CODE", "new problem", 400),
            InvalidRequestError,
            "SOME_FUTURE_CODE",
            id="unknown-code-falls-back-to-status",
        ),
        pytest.param(500, _err("INTERNAL_ERROR", "platform error", 500), ServerError, "INTERNAL_ERROR", id="500"),
        pytest.param(502, _err("UPSTREAM_ERROR", "model failed", 502), ServerError, "UPSTREAM_ERROR", id="502"),
        pytest.param(502, "<html>bad gateway</html>", ServerError, None, id="non-json-502"),
        pytest.param(500, b"", ServerError, None, id="empty-500"),
        pytest.param(404, "Not Found", TaskNotFoundError, None, id="non-json-404"),
        pytest.param(401, "Unauthorized", AuthenticationError, None, id="non-json-401"),
        pytest.param(402, "Payment Required", InsufficientCreditError, None, id="non-json-402"),
        pytest.param(400, {"detail": "bad"}, InvalidRequestError, None, id="other-json-400"),
    ],
)
def test_errors(status_code, body, error, code):
    with pytest.raises(error) as caught:
        imini.parse_status(reply(status_code, body))
    assert caught.value.status_code == status_code
    assert caught.value.gateway == "imini"
    assert caught.value.code == code
    if code:
        assert caught.value.request_id == "req_abc123"
    else:
        assert caught.value.request_id is None


def test_invalid_prompt_message():
    with pytest.raises(ContentModerationError, match="Prompt contains disallowed content"):
        imini.parse_submit(reply(400, _err("INVALID_PROMPT", "Prompt contains disallowed content", 400)))


def test_request_id_at_top_level_is_used_when_the_error_has_none():
    body = {"error": {"code": "INVALID_PARAMETER", "message": "bad"}, "request_id": "req_top"}
    with pytest.raises(InvalidRequestError) as caught:
        imini.parse_submit(reply(400, body))
    assert caught.value.request_id == "req_top"


@pytest.mark.parametrize(
    ("body", "headers", "retry_after"),
    [
        pytest.param(_err("RATE_LIMITED", "slow down", 429), {"Retry-After": "12"}, 12, id="json-with-header"),
        pytest.param(_err("RATE_LIMITED", "slow down", 429), {}, None, id="json-without-header"),
        pytest.param("Too Many Requests", {"retry-after": "3"}, 3, id="plain-text"),
    ],
)
def test_rate_limit(body, headers, retry_after):
    with pytest.raises(RateLimitError) as caught:
        imini.parse_submit(reply(429, body, **headers))
    assert caught.value.status_code == 429
    assert caught.value.retry_after == retry_after
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"prompt": "x", "duration": 3}, "duration", "4-15", id="duration-short"),
        pytest.param({"prompt": "x", "duration": 16}, "duration", "4-15", id="duration-long"),
        pytest.param({"prompt": "x", "duration": -1}, "duration", "4-15", id="duration-auto-not-offered"),
        pytest.param({"prompt": "x", "resolution": "1080p"}, "resolution", "480p, 720p", id="resolution-1080p"),
        pytest.param(
            {"model": FAST, "prompt": "x", "resolution": "1080p"}, "resolution", "480p, 720p", id="fast-resolution"
        ),
        pytest.param({"prompt": "x", "ratio": "2:1"}, "ratio", "16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive", id="ratio"),
        pytest.param({"prompt": "x", "seed": 2**32}, "seed", "[-1, 4294967295]", id="seed-high"),
        pytest.param({"prompt": "x", "seed": -2}, "seed", "[-1, 4294967295]", id="seed-low"),
        pytest.param({"prompt": "x", "camera_fixed": True}, "camera_fixed", "not supported", id="camera-fixed"),
        pytest.param({}, "prompt", "a prompt is required", id="no-prompt-no-media"),
        pytest.param({"prompt": "x", "last_frame": IMG}, "last_frame", "needs a first_frame", id="last-without-first"),
        pytest.param(
            {"prompt": "x", "first_frame": IMG, "reference_videos": [VID]},
            "first_frame/last_frame",
            "mutually exclusive",
            id="frames-and-references",
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
            {"prompt": "x", "first_frame": "asset://asset-1"},
            "first_frame",
            "an http(s) URL or a data: URI",
            id="first-frame-asset-id",
        ),
        pytest.param(
            {"prompt": "x", "reference_images": [IMG, "asset://asset-2"]},
            "reference_images[1]",
            "an http(s) URL or a data: URI",
            id="reference-image-asset-id",
        ),
        pytest.param(
            {"prompt": "x", "reference_videos": ["data:video/mp4;base64,AAAA"]},
            "reference_videos[0]",
            "must be an http(s) URL on this gateway",
            id="video-as-data-uri",
        ),
        pytest.param(
            {"prompt": "x", "reference_videos": ["asset://asset-3"]},
            "reference_videos[0]",
            "must be an http(s) URL on this gateway",
            id="video-as-asset-id",
        ),
        pytest.param(
            {"prompt": "x", "seed": 1, "extra": {"extra_params": {"seed": 2}}},
            "extra.extra_params",
            "use that field",
            id="extra-overrides-extra-params",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"aspect_ratio": "1:1"}},
            "extra.aspect_ratio",
            "use that field",
            id="extra-overrides-aspect-ratio",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"reference_images": []}},
            "extra.reference_images",
            "use that field",
            id="extra-overrides-reference-images",
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(imini, {"model": MODEL, **fields}, field, allowed)


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        imini.build_submit(request(model=MODEL, prompt="x", duration=40, resolution="8k", ratio="2:1"))
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "ratio"]
    assert "3 problems" in str(caught.value)
    assert caught.value.gateway == "imini"
