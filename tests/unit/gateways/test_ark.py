"""Ark dialect: request bodies, every status, every documented error, and rejected requests."""

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

ark = get_gateway("ark")
MODEL = "dreamina-seedance-2-0-260128"
IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
VID = "https://example.com/ref.mp4"
AUD = "https://example.com/ref.mp3"


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            {"prompt": "a cat", "duration": 5, "resolution": "720P", "ratio": "16:9", "seed": 7},
            {
                "model": MODEL,
                "content": [{"type": "text", "text": "a cat"}],
                "resolution": "720p",
                "ratio": "16:9",
                "duration": 5,
                "seed": 7,
            },
            id="text-to-video",
        ),
        pytest.param(
            {"prompt": "wake up", "first_frame": IMG, "return_last_frame": True},
            {
                "model": MODEL,
                "content": [
                    {"type": "text", "text": "wake up"},
                    {"type": "image_url", "image_url": {"url": IMG}, "role": "first_frame"},
                ],
                "return_last_frame": True,
            },
            id="first-frame",
        ),
        pytest.param(
            {"prompt": "morph", "first_frame": IMG, "last_frame": "asset://asset-1"},
            {
                "model": MODEL,
                "content": [
                    {"type": "text", "text": "morph"},
                    {"type": "image_url", "image_url": {"url": IMG}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": "asset://asset-1"}, "role": "last_frame"},
                ],
            },
            id="first-and-last-frame",
        ),
        pytest.param(
            {
                "prompt": "image 1 dances to audio 1 like video 1",
                "reference_images": [IMG, IMG2],
                "reference_videos": [VID],
                "reference_audios": [AUD],
            },
            {
                "model": MODEL,
                "content": [
                    {"type": "text", "text": "image 1 dances to audio 1 like video 1"},
                    {"type": "image_url", "image_url": {"url": IMG}, "role": "reference_image"},
                    {"type": "image_url", "image_url": {"url": IMG2}, "role": "reference_image"},
                    {"type": "video_url", "video_url": {"url": VID}, "role": "reference_video"},
                    {"type": "audio_url", "audio_url": {"url": AUD}, "role": "reference_audio"},
                ],
            },
            id="multimodal-references",
        ),
        pytest.param(
            {"prompt": "rain", "generate_audio": True, "watermark": False, "extra": {"service_tier": "default"}},
            {
                "model": MODEL,
                "content": [{"type": "text", "text": "rain"}],
                "generate_audio": True,
                "watermark": False,
                "service_tier": "default",
            },
            id="audio-generation-with-extra",
        ),
    ],
)
def test_submit_body(fields, body):
    call = ark.build_submit(request(model=MODEL, **fields))
    assert (call.method, call.path, call.authenticated) == ("POST", "contents/generations/tasks", True)
    assert call.json == body


def test_unknown_model_passes_with_warning(caplog):
    call = ark.build_submit(request(model="ep-20260101-abcde", prompt="hi", duration=30, resolution="4k"))
    assert call.json["model"] == "ep-20260101-abcde"
    assert "not known to the ark dialect" in caplog.text


def test_status_cancel_and_download_calls():
    assert ark.build_status("cgt-1/../x").path == "contents/generations/tasks/cgt-1%2F..%2Fx"
    cancel = ark.build_cancel("cgt-1")
    assert cancel is not None
    assert (cancel.method, cancel.path) == ("DELETE", "contents/generations/tasks/cgt-1")
    status = ark.parse_status(reply(200, SUCCEEDED))
    download = ark.build_download(status)
    assert (download.path, download.authenticated) == (SUCCEEDED["content"]["video_url"], False)
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        ark.build_download(status, "last_frame")


def test_parse_submit():
    status = ark.parse_submit(reply(200, {"id": "cgt-2025****-****"}))
    assert (status.task_id, status.state) == ("cgt-2025****-****", TaskState.QUEUED)
    with pytest.raises(UnexpectedResponseError):
        ark.parse_submit(reply(200, {}))


# Verbatim from the BytePlus-compatible doc mirror (gateways.md section 6).
SUCCEEDED = {
    "id": "cgt-2026****-****",
    "model": "doubao-seedance-2-0-260128",
    "status": "succeeded",
    "content": {"video_url": "https://ark-content-generation-cn-beijing.tos-cn-beijing.volces.com/xxx"},
    "usage": {"completion_tokens": 108900, "total_tokens": 108900},
    "created_at": 1779348818,
    "updated_at": 1779348874,
    "seed": 78674,
    "resolution": "720p",
    "ratio": "16:9",
    "duration": 5,
    "framespersecond": 24,
    "service_tier": "default",
    "execution_expires_after": 172800,
    "generate_audio": True,
    "draft": False,
    "priority": 0,
}


def test_parse_succeeded():
    status = ark.parse_status(reply(200, SUCCEEDED))
    assert status.state is TaskState.SUCCEEDED
    assert status.video_url == "https://ark-content-generation-cn-beijing.tos-cn-beijing.volces.com/xxx"
    assert status.usage == {"completion_tokens": 108900, "total_tokens": 108900}
    assert status.video_expires_at == datetime.fromtimestamp(1779348874 + 86400, UTC)
    assert status.raw == SUCCEEDED


def _task(status, **more):
    return {"id": "cgt-20260514183217-t8rzv", "model": MODEL, "status": status, "created_at": 1778754737, **more}


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("queued"), TaskState.QUEUED, {}, id="queued"),
        pytest.param(_task("running"), TaskState.RUNNING, {}, id="running"),
        pytest.param(
            _task("succeeded", content={"video_url": "https://x/v.mp4", "last_frame_url": "https://x/l.png"}),
            TaskState.SUCCEEDED,
            {"video_url": "https://x/v.mp4", "last_frame_url": "https://x/l.png"},
            id="succeeded-with-last-frame",
        ),
        pytest.param(
            _task(
                "failed",
                error={
                    "code": "OutputVideoSensitiveContentDetected.PolicyViolation",
                    "message": "The request failed because the output video may be related to copyright restrictions.",
                },
            ),
            TaskState.FAILED,
            {"error_code": "OutputVideoSensitiveContentDetected.PolicyViolation"},
            id="failed",
        ),
        pytest.param(_task("cancelled"), TaskState.CANCELLED, {}, id="cancelled"),
        pytest.param(_task("expired"), TaskState.EXPIRED, {}, id="expired"),
        pytest.param(_task("warming_up"), TaskState.RUNNING, {}, id="unknown-word-keeps-polling"),
    ],
)
def test_parse_status_states(body, state, expect):
    status = ark.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == "cgt-20260514183217-t8rzv"
    for key, value in expect.items():
        assert getattr(status, key) == value


def _err(code, message, type_="BadRequest", param=None):
    return {"error": {"code": code, "message": message, "param": param, "type": type_}}


@pytest.mark.parametrize(
    ("status_code", "body", "error", "code"),
    [
        pytest.param(
            400,
            # Verbatim client-observed body (gateways.md section 6).
            {
                "error": {
                    "code": "InvalidParameter",
                    "message": "The parameter `content[0].image_url.url` specified in the request is not valid: "
                    "The specified asset asset-20260924140015-hczmn is not found. Request id: "
                    "0217902300389568808fc7e9ca3b6569f64b75b5a4eb61eb8841c",
                    "param": "content[0].image_url.url",
                    "type": "BadRequest",
                }
            },
            InvalidRequestError,
            "InvalidParameter",
            id="invalid-parameter",
        ),
        pytest.param(400, _err("MissingParameter", "missing model"), InvalidRequestError, None, id="missing"),
        pytest.param(400, _err("InputTextRiskDetection", "risky"), ContentModerationError, None, id="text-moderation"),
        pytest.param(
            400,
            _err("InputImageSensitiveContentDetected.PrivacyInformation", "input image may contain real person"),
            ContentModerationError,
            None,
            id="image-privacy",
        ),
        pytest.param(401, _err("AuthenticationError", "bad key", "Unauthorized"), AuthenticationError, None, id="401"),
        pytest.param(403, _err("AccountOverdueError", "overdue"), InsufficientCreditError, None, id="overdue"),
        pytest.param(403, _err("AccessDenied", "denied"), AuthenticationError, None, id="access-denied"),
        pytest.param(404, _err("NotFound.Task", "no such task"), TaskNotFoundError, None, id="task-not-found"),
        pytest.param(
            404,
            _err("InvalidEndpointOrModel.ModelIDAccessDisabled", "disabled"),
            AuthenticationError,
            None,
            id="model-disabled",
        ),
        pytest.param(
            429,
            _err("RateLimitExceeded.EndpointRPMExceeded", "RPM exceeded"),
            RateLimitError,
            None,
            id="rpm",
        ),
        pytest.param(429, _err("ServerOverloaded", "busy"), RateLimitError, None, id="overloaded"),
        # A quota or a spending limit the account set (gateways.md section 6 error table, section 10): waiting
        # cannot lift it, so it is the credit error, not a rate limit to retry.
        pytest.param(429, _err("QuotaExceeded", "quota used up"), InsufficientCreditError, None, id="quota"),
        pytest.param(429, _err("SetLimitExceeded", "limit you set"), InsufficientCreditError, None, id="set-limit"),
        pytest.param(400, _err("TaskTypeConstraint", "edit needs a video"), InvalidRequestError, None, id="task-type"),
        pytest.param(500, _err("InternalServiceError", "oops"), ServerError, None, id="500"),
        pytest.param(502, "<html>bad gateway</html>", ServerError, None, id="non-json-502"),
    ],
)
def test_errors(status_code, body, error, code):
    with pytest.raises(error) as caught:
        ark.parse_status(reply(status_code, body))
    assert caught.value.status_code == status_code
    assert caught.value.gateway == "ark"
    if code:
        assert caught.value.code == code
        assert caught.value.request_id == "0217902300389568808fc7e9ca3b6569f64b75b5a4eb61eb8841c"


def test_404_on_submit_points_at_the_base_url():
    with pytest.raises(InvalidRequestError, match="check the connection's base URL") as caught:
        ark.parse_submit(reply(404, "404 page not found"))
    assert caught.value.status_code == 404
    with pytest.raises(TaskNotFoundError):
        ark.parse_status(reply(404, "404 page not found"))


def test_rate_limit_keeps_retry_after():
    with pytest.raises(RateLimitError) as caught:
        ark.parse_submit(reply(429, _err("ModelAccountRpmRateLimitExceeded", "slow down"), **{"Retry-After": "12"}))
    assert caught.value.retry_after == 12
    assert caught.value.retryable


def test_error_retryability():
    assert not AuthenticationError("x", gateway="ark").retryable
    assert ServerError("x", gateway="ark").retryable


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"prompt": "x", "duration": 3}, "duration", "-1, 4-15", id="duration-short"),
        pytest.param({"prompt": "x", "duration": 16}, "duration", "-1, 4-15", id="duration-long"),
        pytest.param(
            {"model": "doubao-seedance-2-0-260128", "prompt": "x", "resolution": "4k"},
            "resolution",
            "480p, 720p, 1080p",
            id="4k-only-on-the-byteplus-id",
        ),
        pytest.param(
            {"model": "dreamina-seedance-2-0-fast-260128", "prompt": "x", "resolution": "1080p"},
            "resolution",
            "480p, 720p",
            id="fast-no-1080p",
        ),
        pytest.param({"prompt": "x", "ratio": "9:21"}, "ratio", "16:9", id="ratio"),
        pytest.param({"prompt": "x", "seed": 2**32}, "seed", "[-1, 4294967295]", id="seed-high"),
        pytest.param({"prompt": "x", "seed": -2}, "seed", "[-1, 4294967295]", id="seed-low"),
        pytest.param({"prompt": "x", "camera_fixed": True}, "camera_fixed", "not supported", id="camera-fixed-2.0"),
        pytest.param({}, "prompt", "a prompt is required", id="no-prompt-no-media"),
        pytest.param({"prompt": "x", "last_frame": IMG}, "last_frame", "needs a first_frame", id="last-without-first"),
        pytest.param(
            {"prompt": "x", "first_frame": IMG, "reference_images": [IMG2]},
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
            {"prompt": "x", "reference_videos": ["data:video/mp4;base64,AAAA"]},
            "reference_videos[0]",
            "an http(s) URL or an asset:// id",
            id="video-as-data-uri",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"duration": 5}}, "extra.duration", "use that field", id="extra-overrides-field"
        ),
        pytest.param(
            {"prompt": "x", "extra": {"execution_expires_after": 345600}},
            "extra.execution_expires_after",
            "[3600, 259200]",
            id="execution-expires-after",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"service_tier": "flex"}}, "extra.service_tier", "only 'default'", id="flex"
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(ark, {"model": MODEL, **fields}, field, allowed)


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        ark.build_submit(request(model=MODEL, prompt="x", duration=40, resolution="8k", ratio="2:1"))
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "ratio"]
    assert "3 problems" in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [{"code": 123, "message": "numeric code"}, "a bare string", None, ["not", "an", "object"]],
    ids=["numeric-code", "string", "null", "list"],
)
def test_odd_error_fields_still_parse(error):
    status = ark.parse_status(reply(200, _task("failed", error=error)))
    assert status.state is TaskState.FAILED


# ---- Seedance 2.5, 2.0 mini and the newer fields (gateways.md section 10, third-party docs [T]) ----------

V25 = "dreamina-seedance-2-5-260628"
V25_CN = "doubao-seedance-2-5-260628"


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"model": V25, "duration": 30}, id="2.5-thirty-seconds"),
        pytest.param({"model": V25_CN, "duration": -1}, id="2.5-model-picks-the-length"),
        pytest.param({"model": V25, "reference_images": [IMG] * 12}, id="2.5-twelve-images"),
        pytest.param(
            {
                "model": V25,
                "reference_images": [IMG] * 30,
                "reference_videos": [VID] * 10,
                "reference_audios": [AUD] * 10,
            },
            id="2.5-fifty-files",
        ),
        pytest.param({"model": V25, "reference_audios": [AUD, AUD]}, id="2.5-audio-only-references"),
        pytest.param(
            {
                "model": V25,
                "reference_videos": [VID],
                "duration": -1,
                "ratio": "adaptive",
                "extra": {"omni_reference_task_type": "edit"},
            },
            id="2.5-edit",
        ),
        pytest.param(
            {"model": V25, "reference_videos": [VID], "duration": 10, "extra": {"omni_reference_task_type": "extend"}},
            id="2.5-extend",
        ),
        pytest.param({"model": V25, "extra": {"output_format": "mov"}}, id="2.5-mov"),
        pytest.param({"model": V25, "first_frame": IMG, "ratio": "adaptive"}, id="2.5-first-frame-adaptive"),
        pytest.param({"model": "dreamina-seedance-2-0-mini-260615", "duration": 8}, id="2.0-mini-byteplus"),
        pytest.param({"model": "doubao-seedance-2-0-mini-260615", "resolution": "720p"}, id="2.0-mini-volcengine"),
        pytest.param({"resolution": "4k"}, id="2.0-4k-on-dreamina"),
        # content[] audio_url takes a URL, an asset id or base64 (gateways.md section 6, content items).
        pytest.param(
            {"reference_images": [IMG], "reference_audios": ["data:audio/mpeg;base64,SUQz"]}, id="base64-audio"
        ),
    ],
)
def test_accepted_newer_models_and_fields(fields):
    body = ark.build_submit(request(**{"model": MODEL, "prompt": "x", **fields})).json
    assert body["model"] == fields.get("model", MODEL)
    for key, value in fields.get("extra", {}).items():
        assert body[key] == value


def test_seedance_2_5_and_2_0_mini_are_known_models():
    for model in (V25, V25_CN, "dreamina-seedance-2-0-mini-260615", "doubao-seedance-2-0-mini-260615"):
        assert model in ark.models


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"model": V25, "duration": 31}, "duration", "-1, 4-30", id="2.5-too-long"),
        pytest.param({"model": V25, "reference_images": [IMG] * 31}, "reference_images", "at most 30", id="2.5-images"),
        pytest.param({"model": V25, "reference_videos": [VID] * 11}, "reference_videos", "at most 10", id="2.5-videos"),
        pytest.param(
            {"reference_images": [IMG] * 9, "reference_videos": [VID] * 3, "reference_audios": [AUD]},
            "reference_images/videos/audios",
            "at most 12 reference files in all",
            id="2.0-total-of-twelve",
        ),
        pytest.param(
            {"model": V25, "extra": {"omni_reference_task_type": "remix"}},
            "extra.omni_reference_task_type",
            "auto, edit, extend",
            id="2.5-unknown-task-type",
        ),
        pytest.param(
            {"model": V25, "reference_images": [IMG], "extra": {"omni_reference_task_type": "edit"}},
            "reference_videos",
            "works on a source video",
            id="2.5-edit-without-video",
        ),
        pytest.param(
            {"model": V25, "reference_videos": [VID], "duration": 5, "extra": {"omni_reference_task_type": "edit"}},
            "duration",
            "-1 for task type 'edit'",
            id="2.5-edit-with-a-duration",
        ),
        pytest.param(
            {"model": V25, "reference_videos": [VID], "ratio": "16:9", "extra": {"omni_reference_task_type": "extend"}},
            "ratio",
            "'adaptive' for task type 'extend'",
            id="2.5-extend-with-a-ratio",
        ),
        pytest.param(
            {"model": V25, "first_frame": IMG, "ratio": "16:9"},
            "ratio",
            "'adaptive' for first-frame",
            id="2.5-first-frame-with-a-ratio",
        ),
        pytest.param({"model": V25, "extra": {"output_format": "avi"}}, "extra.output_format", "mp4, mov", id="avi"),
        pytest.param(
            {"extra": {"omni_reference_task_type": "edit"}},
            "extra.omni_reference_task_type",
            "only Seedance 2.5 takes it",
            id="task-type-on-2.0",
        ),
        pytest.param(
            {"extra": {"output_format": "mov"}}, "extra.output_format", "only Seedance 2.5 takes it", id="mov-on-2.0"
        ),
    ],
)
def test_rejected_newer_models_and_fields(fields, field, allowed):
    assert_rejected(ark, {"model": MODEL, "prompt": "x", **fields}, field, allowed)
