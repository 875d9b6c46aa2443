"""JimmyAI dialect: request bodies per route, every status word, envelopes and errors, rejected requests."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ContentModerationError,
    InvalidRequestError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.hooks.retry import RetryPolicy, outcome_unknown
from airflow_provider_seedance.models import TaskState
from tests.unit.gateways.support import assert_rejected, reply, request

jimmy = get_gateway("jimmyai")
RETRY = RetryPolicy()
SUBMIT = "api/open-api/v1/seedance/videos"
IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
GIF = "https://example.com/dance.GIF?v=2"
VID = "https://example.com/ref.mp4"
AUD = "https://example.com/ref.mp3"
A_IMG = "asset://asset_img_001"
A_VID = "asset://asset_vid_001"
A_AUD = "asset://asset_aud_001"


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            {"model": "seedance2.0-mini", "prompt": "a cat", "duration": 8, "resolution": "1080P", "ratio": "16:9"},
            {"model": "seedance2.0-mini", "prompt": "a cat", "duration": 8, "resolution": "1080p", "ratio": "16:9"},
            id="text-to-video-mini",
        ),
        pytest.param(
            # Fixed-720p route: 720p is accepted but not sent; the unset duration goes as the default 5.
            {"model": "seedance2.0-std", "prompt": "rain on a window", "resolution": "720p"},
            {"model": "seedance2.0-std", "prompt": "rain on a window", "duration": 5},
            id="text-to-video-std-default-duration",
        ),
        pytest.param(
            {"model": "seedance2.0-sp", "prompt": "wake up", "first_frame": A_IMG, "duration": 4, "resolution": "480p"},
            {"model": "seedance2.0-sp", "prompt": "wake up", "duration": 4, "first_image": A_IMG, "resolution": "480p"},
            id="first-frame-sp",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "morph", "first_frame": IMG, "last_frame": IMG2, "ratio": "9:16"},
            {
                "model": "seedance2.0-md",
                "prompt": "morph",
                "duration": 5,
                "first_image": IMG,
                "last_image": IMG2,
                "ratio": "9:16",
            },
            id="first-and-last-frame-md",
        ),
        pytest.param(
            {
                "model": "sd2_mx_1080p",
                "prompt": "image 1 dances to audio 1 like video 1",
                "duration": 10,
                "resolution": "1080p",
                "reference_images": [A_IMG, "asset://asset_img_002"],
                "reference_videos": [A_VID],
                "reference_audios": [A_AUD],
                "extra": {"orientation": "portrait"},
            },
            {
                "model": "sd2_mx_1080p",
                "prompt": "image 1 dances to audio 1 like video 1",
                "duration": 10,
                "images": [A_IMG, "asset://asset_img_002"],
                "reference_videos": [A_VID],
                "reference_audios": [A_AUD],
                "orientation": "portrait",
            },
            id="multimodal-references-full-route",
        ),
        pytest.param(
            {
                "model": "seedance2.0-std",
                "prompt": "the singer in image 1 sings audio 1",
                "duration": 6,
                "ratio": "21:9",
                "reference_images": [IMG],
                "reference_audios": [AUD, "https://example.com/b.wav"],
            },
            {
                "model": "seedance2.0-std",
                "prompt": "the singer in image 1 sings audio 1",
                "duration": 6,
                "ratio": "21:9",
                "images": [IMG],
                "reference_audios": [AUD, "https://example.com/b.wav"],
            },
            id="reference-audio-std",
        ),
        pytest.param(
            # JimmyAI pairs audio with frames too, which the common rules alone would refuse.
            {"model": "seedance2.0-std", "prompt": "she speaks", "first_frame": IMG, "reference_audios": [AUD]},
            {
                "model": "seedance2.0-std",
                "prompt": "she speaks",
                "duration": 5,
                "first_image": IMG,
                "reference_audios": [AUD],
            },
            id="audio-with-first-frame-std",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "prompt": "blink", "duration": 1, "reference_images": [IMG] * 9},
            {"model": "seedance2.0-fast-i2v", "prompt": "blink", "duration": 1, "images": [IMG] * 9},
            id="fast-i2v-one-second-nine-images",
        ),
    ],
)
def test_submit_body(fields, body):
    call = jimmy.build_submit(request(**fields))
    assert (call.method, call.path, call.authenticated) == ("POST", SUBMIT, True)
    assert call.json == body


# The Full route's create page (seeds/004_90938c39c6c7b52c.txt, body field "ratio": "e.g., 16:9, 9:16, 1:1,
# 4:3, 3:4, 21:9, Adaptive") spells adaptive with a capital; the request's spelling is every gateway's
# lower-case one, and either goes out as the page spells it. Other routes' pages show no such spelling.
@pytest.mark.parametrize(
    ("model", "ratio", "sent"),
    [
        pytest.param("sd2_mx_720p", "adaptive", "Adaptive", id="full-lower-case"),
        pytest.param("sd2_mx_4k", "Adaptive", "Adaptive", id="full-page-spelling"),
        pytest.param("sd2_mx_1080p", "21:9", "21:9", id="full-plain-ratio"),
        pytest.param("seedance2.0-mini", "adaptive", "adaptive", id="mini-as-given"),
    ],
)
def test_adaptive_ratio_spelling(model, ratio, sent):
    assert jimmy.build_submit(request(model=model, prompt="x", duration=5, ratio=ratio)).json["ratio"] == sent


def test_unknown_model_passes_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        call = jimmy.build_submit(
            request(model="seedance3.0-pro", prompt="hi", duration=30, resolution="4k", first_frame=A_IMG)
        )
    assert call.json == {
        "model": "seedance3.0-pro",
        "prompt": "hi",
        "duration": 30,
        "resolution": "4k",
        "first_image": A_IMG,
    }
    assert "not known to the jimmyai dialect" in caplog.text


def test_status_download_and_no_cancel():
    call = jimmy.build_status("task/../x")
    assert (call.method, call.path) == ("GET", "api/open-api/v1/videos/task%2F..%2Fx")
    assert jimmy.build_cancel("task_1") is None
    assert jimmy.default_base_url == "https://www.jimmyai.cn"
    status = jimmy.parse_status(reply(200, COMPLETED))
    download = jimmy.build_download(status)
    assert (download.path, download.authenticated) == (COMPLETED["data"]["result"]["video_url"], False)
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        jimmy.build_download(status, "last_frame")


# ---- replies -------------------------------------------------------------------------------------

# The create page's schema sample, verbatim.
CREATE_SAMPLE = {
    "code": "20000",
    "msg": "ok",
    "data": {"task_id": "<string>", "status": "<string>", "model": "<string>", "created_at": 123},
}
CREATED = {
    "code": "20000",
    "msg": "ok",
    "data": {"task_id": "vt_8f3a1c", "status": "queued", "model": "seedance2.0-std", "created_at": 1779348818},
}
# The query page's schema sample with realistic values in place of the placeholders.
COMPLETED = {
    "code": "20000",
    "msg": "ok",
    "data": {
        "task_id": "vt_8f3a1c",
        "status": "completed",
        "progress": 100,
        "model": "seedance2.0-std",
        "created_at": 1779348818,
        "completed_at": 1779348874,
        "result": {"video_url": "https://cdn.jimmyai.cn/v/vt_8f3a1c.mp4", "image_url": "https://cdn.jimmyai.cn/c.jpg"},
        "error_message": "",
    },
}


@pytest.mark.parametrize(
    ("body", "task_id", "state"),
    [
        pytest.param(CREATE_SAMPLE, "<string>", TaskState.RUNNING, id="schema-sample-placeholder-status"),
        pytest.param(CREATED, "vt_8f3a1c", TaskState.QUEUED, id="queued"),
        pytest.param({**CREATED, "data": {"task_id": "vt_1"}}, "vt_1", TaskState.QUEUED, id="no-status"),
        pytest.param({**CREATED, "code": 20000}, "vt_8f3a1c", TaskState.QUEUED, id="integer-code"),
        pytest.param({"task_id": "vt_2", "status": "submitted"}, "vt_2", TaskState.QUEUED, id="unenveloped"),
    ],
)
def test_parse_submit(body, task_id, state):
    status = jimmy.parse_submit(reply(200, body))
    assert (status.task_id, status.state, status.raw) == (task_id, state, body)


def test_parse_submit_without_task_id():
    with pytest.raises(UnexpectedResponseError, match="no task id"):
        jimmy.parse_submit(reply(200, {"code": "20000", "msg": "ok", "data": {"status": "queued"}}))


def test_parse_completed():
    status = jimmy.parse_status(reply(200, COMPLETED))
    assert status.state is TaskState.SUCCEEDED
    assert status.progress == 100
    assert status.video_url == "https://cdn.jimmyai.cn/v/vt_8f3a1c.mp4"
    assert status.last_frame_url is None  # result.image_url is undocumented, not claimed as a last frame
    assert status.video_expires_at == datetime.fromtimestamp(1779348874 + 3 * 86400, UTC)
    assert (status.error_code, status.error_message) == (None, None)
    assert status.raw == COMPLETED


def _task(status, progress=0, **more):
    data = {
        "task_id": "vt_8f3a1c",
        "status": status,
        "progress": progress,
        "model": "seedance2.0-md",
        "created_at": 1779348818,
        **more,
    }
    return {"code": "20000", "msg": "ok", "data": data}


def _old(status, **more):
    # The older ZH query page: same fields, no envelope, no result.image_url.
    return {"task_id": "vt_8f3a1c", "status": status, "model": "seedance2.0-md", "created_at": 1779348818, **more}


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("queued"), TaskState.QUEUED, {"progress": 0}, id="queued"),
        pytest.param(_task("pending"), TaskState.QUEUED, {}, id="pending"),
        pytest.param(_task("submitted"), TaskState.QUEUED, {}, id="submitted"),
        pytest.param(_task("processing", 42), TaskState.RUNNING, {"progress": 42}, id="processing"),
        pytest.param(
            _task("completed", 100, completed_at=1779348874, result={"video_url": "https://x/v.mp4"}),
            TaskState.SUCCEEDED,
            {"video_url": "https://x/v.mp4", "video_expires_at": datetime.fromtimestamp(1779608074, UTC)},
            id="completed",
        ),
        pytest.param(
            _task("completed", 100, completed_at=1779348874000, result={"video_url": "https://x/v.mp4"}),
            TaskState.SUCCEEDED,
            {"video_expires_at": datetime.fromtimestamp(1779608074, UTC)},
            id="completed-at-in-milliseconds",
        ),
        pytest.param(
            _task("failed", error_message="PROVIDER_MODERATION_ERROR: TRADEMARK", result=None),
            TaskState.FAILED,
            {
                "error_code": "PROVIDER_MODERATION_ERROR",
                "error_message": "PROVIDER_MODERATION_ERROR: TRADEMARK",
                "video_url": None,
                "video_expires_at": None,
            },
            id="failed-moderation",
        ),
        pytest.param(
            _task("failed", error_message="Read timed out"),
            TaskState.FAILED,
            {"error_code": None, "error_message": "Read timed out"},
            id="failed-timeout",
        ),
        pytest.param(
            _task("failed", error_message="video_reference[0] DURATION_TOO_LONG"),
            TaskState.FAILED,
            {"error_code": None, "error_message": "video_reference[0] DURATION_TOO_LONG"},
            id="failed-reference-too-long",
        ),
        pytest.param(_task("Processing", 7), TaskState.RUNNING, {"progress": 7}, id="word-case-ignored"),
        pytest.param(_task("warming_up"), TaskState.RUNNING, {}, id="unknown-word-keeps-polling"),
        pytest.param(_old("pending", progress=0), TaskState.QUEUED, {"progress": 0}, id="unenveloped-pending"),
        pytest.param(
            _old("completed", progress=100, completed_at=1779348874, result={"video_url": "https://x/old.mp4"}),
            TaskState.SUCCEEDED,
            {"video_url": "https://x/old.mp4", "progress": 100},
            id="unenveloped-completed",
        ),
        pytest.param(
            _old("failed", error_message="s3 upload failed"),
            TaskState.FAILED,
            {"error_message": "s3 upload failed", "error_code": None},
            id="unenveloped-failed",
        ),
    ],
)
def test_parse_status_states(body, state, expect):
    status = jimmy.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == "vt_8f3a1c"
    assert status.raw == body
    for key, value in expect.items():
        assert getattr(status, key) == value


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"code": "20000", "msg": "ok", "data": None}, id="no-data"),
        pytest.param({"code": "20000", "msg": "ok", "data": {"task_id": "vt_1"}}, id="no-status"),
        pytest.param([1, 2], id="not-an-object"),
        pytest.param("<html>ok</html>", id="not-json"),
    ],
)
def test_unreadable_status(body):
    with pytest.raises(UnexpectedResponseError):
        jimmy.parse_status(reply(200, body))


# ---- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_code", "body", "headers", "error", "code", "message"),
    [
        pytest.param(
            401,
            {"code": "40100", "msg": "invalid token"},
            {},
            AuthenticationError,
            "40100",
            "invalid token",
            id="401",
        ),
        pytest.param(
            403,
            {"error": {"message": "no access to sd2_mx_4k", "code": "forbidden"}},
            {},
            AuthenticationError,
            "forbidden",
            "no access to sd2_mx_4k",
            id="403-error-object",
        ),
        pytest.param(
            404,
            {"code": "40400", "msg": "task not found"},
            {},
            TaskNotFoundError,
            "40400",
            "task not found",
            id="404",
        ),
        pytest.param(
            400, {"error": "bad duration"}, {}, InvalidRequestError, None, "bad duration", id="400-error-string"
        ),
        pytest.param(
            429,
            {"code": "42900", "msg": "too many requests"},
            {"Retry-After": "30"},
            RateLimitError,
            "42900",
            "too many requests",
            id="429-retry-after",
        ),
        pytest.param(500, {"code": "50000", "msg": "internal"}, {}, ServerError, "50000", "internal", id="500"),
        pytest.param(
            502,
            "<html><body>502 Bad Gateway</body></html>",
            {},
            ServerError,
            None,
            "502 Bad Gateway",
            id="502-html",
        ),
        pytest.param(503, b"", {}, ServerError, None, "HTTP 503 with an empty body", id="503-empty"),
        pytest.param(418, {"unexpected": True}, {}, UnexpectedResponseError, None, "unexpected", id="418-unknown"),
    ],
)
def test_errors(status_code, body, headers, error, code, message):
    for parse in (jimmy.parse_submit, jimmy.parse_status):
        # On submit nothing exists yet to be "not found": a 404 there means a wrong base URL.
        expected = InvalidRequestError if parse == jimmy.parse_submit and error is TaskNotFoundError else error
        with pytest.raises(expected) as caught:
            parse(reply(status_code, body, **headers))
        assert caught.value.status_code == status_code
        assert caught.value.gateway == "jimmyai"
        assert caught.value.code == code
        assert message in caught.value.message


# An error reported inside an HTTP 200. JimmyAI documents no business code but "20000" (gateways.md section 5,
# "Cancel / errors / limits": "business codes other than "20000": not found"), so what an unknown one means is
# a guess, made per call: on a status poll the paid task may still finish, so it is retried until the
# deadline; on submit it stays an answer we cannot read, which the hook never resends (it may hide a created
# task). A code whose meaning we do know (moderation) keeps its class on both.
@pytest.mark.parametrize(
    ("body", "on_submit", "on_poll", "code", "message"),
    [
        pytest.param(
            {"code": "50001", "msg": "system busy, try again later", "data": None},
            UnexpectedResponseError,
            ServerError,
            "50001",
            "system busy",
            id="string-code-busy",
        ),
        pytest.param(
            {"code": 500, "msg": "upstream busy"},
            UnexpectedResponseError,
            ServerError,
            "500",
            "upstream busy",
            id="integer-code",
        ),
        pytest.param(
            {"code": "40001", "msg": "invalid model", "data": None},
            UnexpectedResponseError,
            ServerError,
            "40001",
            "invalid model",
            id="string-code",
        ),
        pytest.param(
            {"code": "40003"},
            UnexpectedResponseError,
            ServerError,
            "40003",
            "business code '40003'",
            id="code-without-msg",
        ),
        pytest.param(
            {"error": {"message": "quota exhausted", "code": "quota"}},
            UnexpectedResponseError,
            ServerError,
            "quota",
            "quota exhausted",
            id="error-object",
        ),
        pytest.param(
            {"code": "40010", "msg": "PROVIDER_MODERATION_ERROR: PORN"},
            ContentModerationError,
            ContentModerationError,
            "40010",
            "PROVIDER_MODERATION_ERROR: PORN",
            id="moderation-keeps-its-meaning",
        ),
    ],
)
def test_business_codes(body, on_submit, on_poll, code, message):
    with pytest.raises(on_submit) as submitted:
        jimmy.parse_submit(reply(200, body))
    assert type(submitted.value) is on_submit
    assert (submitted.value.code, submitted.value.status_code) == (code, 200)
    assert message in submitted.value.message
    # Never resent; an unreadable reply may stand for a created, billed task (the hook says so, not "refused").
    assert not RETRY.should_retry(1, submitted.value, submit=True)
    assert outcome_unknown(submitted.value) is (on_submit is UnexpectedResponseError)

    with pytest.raises(on_poll) as polled:
        jimmy.parse_status(reply(200, body))
    assert type(polled.value) is on_poll
    assert polled.value.code == code
    assert message in polled.value.message
    # The trigger polls on after a retryable error; the hook's own loop retries it too.
    assert polled.value.retryable is (on_poll is ServerError)
    assert RETRY.should_retry(1, polled.value, submit=False) is (on_poll is ServerError)


def test_rate_limit_keeps_retry_after():
    with pytest.raises(RateLimitError) as caught:
        jimmy.parse_submit(reply(429, "slow down", **{"Retry-After": "12"}))
    assert caught.value.retry_after == 12
    assert caught.value.retryable


# ---- rejected requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param(
            {"model": "sd2_mx_720p", "prompt": "x", "reference_images": [IMG]},
            "reference_images[0]",
            "must be an asset:// id",
            id="full-raw-url-image",
        ),
        pytest.param(
            {"model": "sd2_mx_4k", "prompt": "x", "first_frame": IMG},
            "first_frame",
            "must be an asset:// id",
            id="full-raw-url-frame",
        ),
        pytest.param(
            {"model": "sd2_mx_720p", "prompt": "x", "resolution": "1080p"},
            "resolution",
            "one of 720p",
            id="full-resolution-disagrees-with-name",
        ),
        pytest.param(
            {"model": "sd2_mx_2k", "prompt": "x", "ratio": "2:1"},
            "ratio",
            "21:9, adaptive, Adaptive",
            id="full-ratio",
        ),
        pytest.param(
            {"model": "seedance2.0-of-fast-sp", "prompt": "x", "reference_images": [A_IMG], "reference_videos": [VID]},
            "reference_videos[0]",
            "must be an asset:// id",
            id="sp-raw-url-video",
        ),
        pytest.param({"model": "seedance2.0-sp", "prompt": "x", "duration": 3}, "duration", "4-15", id="sp-duration"),
        pytest.param(
            {"model": "seedance2.0-mini", "prompt": "x", "resolution": "2k"},
            "resolution",
            "480p, 720p, 1080p",
            id="mini-resolution",
        ),
        pytest.param(
            {"model": "seedance2.0-mini", "prompt": "x", "first_frame": A_IMG},
            "first_frame",
            "must be an http(s) URL",
            id="mini-asset-id",
        ),
        pytest.param(
            {"model": "seedance2.0-mini-sp", "prompt": "x", "resolution": "1080p"},
            "resolution",
            "480p, 720p",
            id="mini-sp-no-1080p",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "reference_images": [IMG], "reference_audios": [AUD]},
            "reference_audios",
            "none on this model",
            id="md-audio",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-md", "prompt": "x", "first_frame": IMG},
            "input mode",
            "first_last_frame, reference, text",
            id="md-unpaired-first-frame",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "reference_images": [IMG] * 5},
            "reference_images",
            "at most 4",
            id="md-five-images",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "reference_images": [IMG, GIF]},
            "reference_images[1]",
            "GIF images are not accepted",
            id="md-gif",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "first_frame": "data:image/gif;base64,R0lG", "last_frame": IMG},
            "first_frame",
            "an http(s) URL",
            id="md-data-uri",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "reference_videos": [VID] * 4},
            "reference_videos",
            "at most 3",
            id="md-four-videos",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x", "resolution": "1080p"},
            "resolution",
            "one of 720p",
            id="md-fixed-720p",
        ),
        pytest.param(
            {"model": "seedance2.0-md", "prompt": "x" * 5001},
            "prompt",
            "at most 5000 characters",
            id="md-long-prompt",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-md", "prompt": "x", "ratio": "4:3"},
            "ratio",
            "16:9, 9:16, 1:1",
            id="md-ratio",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "prompt": "x", "reference_images": [IMG], "reference_videos": [VID]},
            "reference_videos",
            "none on this model",
            id="fast-i2v-video",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "prompt": "x", "first_frame": IMG, "reference_audios": [AUD]},
            "reference_audios",
            "none on this model",
            id="fast-i2v-audio-on-frame",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "prompt": "x", "duration": -1},
            "duration",
            "1-15",
            id="fast-i2v-auto-seconds",
        ),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "prompt": "x", "reference_images": [IMG] * 10},
            "reference_images",
            "at most 9",
            id="fast-i2v-ten-images",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "reference_images": [IMG], "reference_audios": [AUD] * 4},
            "reference_audios",
            "at most 3",
            id="std-four-audios",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "ratio": "adaptive"},
            "ratio",
            "4:3, 3:4, 21:9",
            id="std-ratio",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "duration": 16}, "duration", "4-15", id="std-duration"
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "generate_audio": True},
            "generate_audio",
            "not supported",
            id="generate-audio",
        ),
        pytest.param(
            {"model": "seedance2.0-mini", "prompt": "x", "watermark": True},
            "watermark",
            "not supported",
            id="watermark",
        ),
        pytest.param(
            {"model": "sd2_mx_720p", "prompt": "x", "return_last_frame": True},
            "return_last_frame",
            "not supported",
            id="return-last-frame",
        ),
        pytest.param({"model": "seedance2.0-sp", "prompt": "x", "seed": 7}, "seed", "takes no seed", id="seed"),
        pytest.param(
            {"model": "seedance2.0-fast-i2v", "first_frame": IMG},
            "prompt",
            "a prompt is required for this model",
            id="prompt-required-with-image",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "first_frame": IMG, "reference_images": [IMG2]},
            "first_frame/last_frame",
            "mutually exclusive",
            id="images-and-frames",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "reference_audios": [AUD]},
            "reference_audios",
            "at least one first frame, reference image or video",
            id="audio-alone",
        ),
        pytest.param(
            {
                "model": "seedance2.0-std",
                "prompt": "x",
                "first_frame": IMG,
                "reference_videos": [VID],
                "reference_audios": [AUD],
            },
            "first_frame/last_frame",
            "mutually exclusive",
            id="frames-with-video-still-refused",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "last_frame": IMG, "reference_audios": [AUD]},
            "last_frame",
            "needs a first_frame",
            id="audio-on-last-frame-alone",
        ),
        pytest.param(
            {"model": "sd2_mx_720p", "prompt": "x", "extra": {"orientation": "square"}},
            "extra.orientation",
            "landscape, portrait",
            id="orientation-value",
        ),
        pytest.param(
            {"model": "sd2_mx_720p", "prompt": "x", "ratio": "16:9", "extra": {"orientation": "portrait"}},
            "extra.orientation",
            "ignored when ratio is set",
            id="orientation-with-ratio",
        ),
        pytest.param(
            {"model": "seedance2.0-std", "prompt": "x", "extra": {"images": [IMG]}},
            "extra.images",
            "use that field",
            id="extra-overrides-field",
        ),
        pytest.param(
            {"model": "seedance9-unknown", "prompt": "x", "reference_images": ["data:image/png;base64,AAAA"]},
            "reference_images[0]",
            "an http(s) URL or an asset:// id",
            id="unknown-model-data-uri",
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(jimmy, fields, field, allowed)


# Upstream Seedance 2.0: "Total mixed files <= 12" (gateways.md section 6, "Modes"). JimmyAI's route pages
# name no total; every known route resells 2.0, so each keeps the upstream's (a guess, noted in the dialect).
# Nine images and three videos pass; one audio more is a 13th file. A model the dialect does not know gets
# no family limit at all (tests/unit/gateways/test_unknown_models.py sends it 12 images).
@pytest.mark.parametrize(
    ("model", "image", "video", "audio"),
    [
        pytest.param("sd2_mx_1080p", A_IMG, A_VID, A_AUD, id="full"),
        pytest.param("seedance2.0-of-sp", A_IMG, A_VID, A_AUD, id="sp"),
        pytest.param("seedance2.0-mini", IMG, VID, AUD, id="mini"),
        pytest.param("seedance2.0-mini-sp", IMG, VID, AUD, id="mini-sp"),
        pytest.param("seedance2.0-std", IMG, VID, AUD, id="std"),
    ],
)
def test_at_most_twelve_reference_files(model, image, video, audio):
    twelve = {"model": model, "prompt": "x", "reference_images": [image] * 9, "reference_videos": [video] * 3}
    assert len(jimmy.build_submit(request(**twelve)).json["images"]) == 9
    thirteen = {**twelve, "reference_audios": [audio]}
    assert_rejected(jimmy, thirteen, "reference_images/videos/audios", "at most 12 reference files in all")


def test_every_known_route_has_the_seedance_2_total():
    assert {spec.max_reference_files for spec in jimmy.models.values()} == {12}
    assert jimmy.unknown_model_spec.max_reference_files is None


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        jimmy.build_submit(
            request(model="seedance2.0-md", prompt="x", duration=40, resolution="1080p", ratio="2:1", seed=1)
        )
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "ratio", "seed"]
    assert "4 problems" in str(caught.value)


def test_audio_on_frames_keeps_other_checks():
    # The frames + audio allowance drops only the two clash problems; counts and sources still apply.
    with pytest.raises(RequestValidationError) as caught:
        jimmy.build_submit(
            request(model="seedance2.0-std", prompt="x", first_frame=IMG, reference_audios=[AUD, AUD, AUD, A_AUD])
        )
    assert [p.field for p in caught.value.problems] == ["reference_audios", "reference_audios[3]"]
