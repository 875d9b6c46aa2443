"""aiproxy dialect: flat bodies with a role-less images list, upper-case statuses, defensive error parsing."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
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

aiproxy = get_gateway("aiproxy")
PRO = "doubao-seedance-1-0-pro-250528"
LITE_T2V = "doubao-seedance-1-0-lite-t2v-250428"
LITE_I2V = "doubao-seedance-1-0-lite-i2v-250428"
IMG = "https://webstatic.aiproxy.vip/dist/demo.jpg"
IMG2 = "https://example.com/b.png"
IMG3 = "https://example.com/c.png"
DATA_IMG = "data:image/png;base64,iVBORw0KGgo="
VID = "https://example.com/ref.mp4"
AUD = "https://example.com/ref.mp3"


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        pytest.param(
            {"model": LITE_T2V, "prompt": "dance"},
            {"model": LITE_T2V, "prompt": "dance"},
            id="minimal-sends-only-what-was-set",
        ),
        pytest.param(
            {
                "model": PRO,
                "prompt": "a kitten runs under the moonlight",
                "duration": 10,
                "resolution": "1080P",
                "ratio": "21:9",
                "seed": 2147483647,
                "watermark": False,
                "camera_fixed": True,
            },
            {
                "model": PRO,
                "prompt": "a kitten runs under the moonlight",
                "duration": 10,
                "resolution": "1080p",
                "ratio": "21:9",
                "seed": 2147483647,
                "watermark": False,
                "camerafixed": True,
            },
            id="text-to-video",
        ),
        pytest.param(
            {"model": PRO, "prompt": "wake up", "first_frame": IMG, "ratio": "keep_ratio", "return_last_frame": True},
            {"model": PRO, "prompt": "wake up", "images": [IMG], "ratio": "keep_ratio", "return_last_frame": True},
            id="first-frame",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "morph", "first_frame": DATA_IMG, "last_frame": IMG2, "ratio": "adaptive"},
            {"model": LITE_I2V, "prompt": "morph", "images": [DATA_IMG, IMG2], "ratio": "adaptive"},
            id="first-and-last-frame",
        ),
        pytest.param(
            # 1.0 pro is a model of the Seedance "Image-to-Video" page (seeds/002_8f7c2fc1a55ca2ed.txt, `model`
            # enum), whose role-less `images` list takes "first frame / start-end frames": first, then last.
            {"model": PRO, "prompt": "morph", "first_frame": IMG, "last_frame": IMG2, "resolution": "1080p"},
            {"model": PRO, "prompt": "morph", "images": [IMG, IMG2], "resolution": "1080p"},
            id="pro-first-and-last-frame",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "the three of them", "reference_images": [IMG, IMG2, IMG3]},
            {"model": LITE_I2V, "prompt": "the three of them", "images": [IMG, IMG2, IMG3]},
            id="three-reference-images",
        ),
        pytest.param(
            {"model": LITE_T2V, "prompt": "rain", "generate_audio": False, "extra": {"callback_url": "https://x/cb"}},
            {"model": LITE_T2V, "prompt": "rain", "generate_audio": False, "callback_url": "https://x/cb"},
            id="audio-off-and-extra",
        ),
    ],
)
def test_submit_body(fields, body):
    call = aiproxy.build_submit(request(**fields))
    assert (call.method, call.path, call.authenticated) == ("POST", "v2/videos/generations", True)
    assert call.json == body


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param(
            {
                "model": LITE_I2V,
                "prompt": "image 1 dances to audio 1 like video 1",
                "reference_images": [IMG, IMG2, IMG3],
                "reference_videos": [VID],
                "reference_audios": [AUD],
            },
            "reference_videos",
            "none on this model",
            id="multimodal-references-video",
        ),
        pytest.param(
            {
                "model": LITE_I2V,
                "prompt": "image 1 dances to audio 1",
                "reference_images": [IMG, IMG2, IMG3],
                "reference_audios": [AUD],
            },
            "reference_audios",
            "none on this model",
            id="multimodal-references-audio",
        ),
        pytest.param(
            {"model": PRO, "prompt": "rain", "generate_audio": True},
            "generate_audio",
            "not supported by this model",
            id="audio-generation",
        ),
    ],
)
def test_shapes_aiproxy_cannot_send(fields, field, allowed):
    assert_rejected(aiproxy, fields, field, allowed)


def test_unknown_model_passes_with_warning(caplog):
    fields = {"prompt": "hi", "duration": 30, "resolution": "4k", "seed": -1, "generate_audio": True}
    call = aiproxy.build_submit(request(model="doubao-seedance-1-5-pro-251215", **fields))
    assert call.json == {
        "model": "doubao-seedance-1-5-pro-251215",
        "prompt": "hi",
        "duration": 30,
        "resolution": "4k",
        "seed": -1,
        "generate_audio": True,
    }
    assert "not known to the aiproxy dialect" in caplog.text


def test_prompt_of_exactly_800_characters_is_sent():
    call = aiproxy.build_submit(request(model=LITE_T2V, prompt="猫" * 800))
    assert call.json["prompt"] == "猫" * 800


def test_calls_and_endpoints():
    assert aiproxy.default_base_url is None
    assert aiproxy.build_status("f4a94d75/../x").path == "v2/videos/generations/f4a94d75%2F..%2Fx"
    assert aiproxy.build_status("t-1").method == "GET"
    assert aiproxy.build_cancel("t-1") is None
    status = aiproxy.parse_status(reply(200, _task("SUCCESS", data={"output": "https://cdn/v.mp4"})))
    download = aiproxy.build_download(status)
    assert (download.path, download.authenticated) == ("https://cdn/v.mp4", False)
    with pytest.raises(UnexpectedResponseError, match="no last_frame URL"):
        aiproxy.build_download(status, "last_frame")


def test_managed_keys_cover_every_key_the_dialect_sets():
    everything = request(
        model=LITE_I2V,
        prompt="x",
        first_frame=IMG,
        duration=5,
        resolution="720p",
        ratio="16:9",
        seed=1,
        watermark=True,
        camera_fixed=False,
        return_last_frame=True,
        generate_audio=False,
    )
    assert set(aiproxy.submit_body(everything)) == aiproxy.managed_body_keys


@pytest.mark.parametrize(
    "body",
    [
        # Verbatim from the seed document's example response.
        pytest.param({"task_id": "cgt-20250831141439-sqmgf"}, id="seed-doc-example"),
        # Verbatim from the unified-format docs (gateways.md section 3).
        pytest.param({"task_id": "f186f65a-8657-4e83-b0e3-67facf1b2576"}, id="unified-doc-example"),
    ],
)
def test_parse_submit(body):
    status = aiproxy.parse_submit(reply(200, body))
    assert (status.task_id, status.state, status.raw) == (body["task_id"], TaskState.QUEUED, body)


# The docs' query example with its trailing comma and "other..." placeholder removed; every field kept.
QUERY_EXAMPLE = {
    "task_id": "f4a94d75-087b-4bb1-bd45-53ba293faf96",
    "status": "SUCCESS",
    "fail_reason": "",
    "submit_time": 1716192124,
    "start_time": 1716192124,
    "finish_time": 1716192124,
    "progress": "100%",
    "data": {"output": "", "outputs": ["", ""]},
}


def test_parse_documented_query_example():
    status = aiproxy.parse_status(reply(200, QUERY_EXAMPLE))
    assert status.task_id == "f4a94d75-087b-4bb1-bd45-53ba293faf96"
    assert (status.state, status.progress) == (TaskState.SUCCEEDED, 100)
    # The example's URLs are blank placeholders, and a blank fail_reason is no error.
    assert (status.video_url, status.last_frame_url, status.error_message) == (None, None, None)
    assert status.raw == QUERY_EXAMPLE


def _task(status, **more):
    return {**QUERY_EXAMPLE, "status": status, **more}


@pytest.mark.parametrize(
    ("body", "state", "expect"),
    [
        pytest.param(_task("NOT_START", progress=""), TaskState.QUEUED, {"progress": None}, id="NOT_START"),
        pytest.param(_task("SUBMITTED", progress="0%"), TaskState.QUEUED, {"progress": 0}, id="SUBMITTED"),
        pytest.param(_task("QUEUED", progress="0"), TaskState.QUEUED, {"progress": 0}, id="QUEUED"),
        pytest.param(_task("IN_PROGRESS", progress="45%"), TaskState.RUNNING, {"progress": 45}, id="IN_PROGRESS"),
        pytest.param(
            _task("SUCCESS", data={"output": "https://cdn/v.mp4", "outputs": ["https://cdn/v.mp4"]}),
            TaskState.SUCCEEDED,
            {"video_url": "https://cdn/v.mp4", "progress": 100},
            id="SUCCESS-output",
        ),
        pytest.param(
            _task("SUCCESS", data={"output": "", "outputs": ["", "https://cdn/2.mp4"]}),
            TaskState.SUCCEEDED,
            {"video_url": "https://cdn/2.mp4"},
            id="SUCCESS-outputs-only",
        ),
        pytest.param(
            _task("SUCCESS", data={"output": "https://cdn/v.mp4", "last_frame_url": "https://cdn/l.png"}),
            TaskState.SUCCEEDED,
            {"last_frame_url": "https://cdn/l.png"},
            id="SUCCESS-passed-through-last-frame",
        ),
        pytest.param(
            _task("FAILURE", progress="100%", fail_reason="The output video may contain sensitive content"),
            TaskState.FAILED,
            {"error_message": "The output video may contain sensitive content", "video_url": None},
            id="FAILURE",
        ),
        pytest.param(_task("in_progress"), TaskState.RUNNING, {}, id="lower-case-word"),
        pytest.param(_task("WARMING_UP"), TaskState.RUNNING, {}, id="unknown-word-keeps-polling"),
        pytest.param(_task("IN_PROGRESS", data=None), TaskState.RUNNING, {"video_url": None}, id="null-data"),
    ],
)
def test_parse_status_states(body, state, expect):
    status = aiproxy.parse_status(reply(200, body))
    assert status.state is state
    assert status.task_id == "f4a94d75-087b-4bb1-bd45-53ba293faf96"
    for key, value in expect.items():
        assert getattr(status, key) == value


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        pytest.param("100%", 100, id="percent-string"),
        pytest.param("45%", 45, id="partial-percent"),
        pytest.param(" 45 % ", 45, id="spaces"),
        pytest.param("45", 45, id="bare-number-string"),
        pytest.param("45.9%", 45, id="decimal-string"),
        pytest.param("", None, id="empty-string"),
        pytest.param("n/a", None, id="unreadable"),
        pytest.param(45, 45, id="int"),
        pytest.param(45.5, 45, id="float"),
        pytest.param(150, 100, id="clamped-high"),
        pytest.param(-3, 0, id="clamped-low"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="null"),
    ],
)
def test_progress_variants(progress, expected):
    assert aiproxy.parse_status(reply(200, _task("IN_PROGRESS", progress=progress))).progress == expected


def test_missing_progress():
    body = {"task_id": "t-1", "status": "QUEUED"}
    assert aiproxy.parse_status(reply(200, body)).progress is None


@pytest.mark.parametrize(
    ("status_code", "body", "headers", "error", "message", "code"),
    [
        pytest.param(
            400,
            {"error": {"message": "invalid ratio", "code": "invalid_request", "type": "invalid_request_error"}},
            {},
            InvalidRequestError,
            "invalid ratio",
            "invalid_request",
            id="400-error-envelope",
        ),
        pytest.param(400, {"foo": "bar"}, {}, InvalidRequestError, '{"foo": "bar"}', None, id="400-unknown-json"),
        pytest.param(401, {"message": "invalid token"}, {}, AuthenticationError, "invalid token", None, id="401"),
        pytest.param(
            402,
            {"fail_reason": "insufficient balance"},
            {},
            InsufficientCreditError,
            "insufficient balance",
            None,
            id="402-fail-reason",
        ),
        pytest.param(
            403,
            {"error": {"message": "model not allowed", "code": 403, "type": "permission_error"}},
            {},
            AuthenticationError,
            "model not allowed",
            "403",
            id="403-numeric-code",
        ),
        pytest.param(
            404,
            {"message": "task not found", "code": "not_found"},
            {},
            TaskNotFoundError,
            "task not found",
            "not_found",
            id="404",
        ),
        pytest.param(
            429,
            {"error": "too many requests"},
            {"Retry-After": "12"},
            RateLimitError,
            "too many requests",
            None,
            id="429-string-error",
        ),
        pytest.param(
            500,
            {"error": {"message": "upstream failed", "type": "upstream_error"}},
            {},
            ServerError,
            "upstream failed",
            None,
            id="500",
        ),
        pytest.param(
            503,
            "<html><body>Service Unavailable</body></html>",
            {},
            ServerError,
            "Service Unavailable",
            None,
            id="503-html",
        ),
        pytest.param(502, b"", {}, ServerError, "HTTP 502 with an empty body", None, id="502-empty"),
        pytest.param(
            400, {"error": {"message": ""}, "message": "bad"}, {}, InvalidRequestError, "bad", None, id="blank-error"
        ),
    ],
)
def test_errors(status_code, body, headers, error, message, code):
    for parse in (aiproxy.parse_submit, aiproxy.parse_status):
        # On submit nothing exists yet to be "not found": a 404 there means a wrong base URL.
        expected = InvalidRequestError if parse == aiproxy.parse_submit and error is TaskNotFoundError else error
        with pytest.raises(expected) as caught:
            parse(reply(status_code, body, **headers))
        assert caught.value.status_code == status_code
        assert caught.value.gateway == "aiproxy"
        assert message in caught.value.message
        assert caught.value.code == code


def test_rate_limit_keeps_retry_after():
    with pytest.raises(RateLimitError) as caught:
        aiproxy.parse_submit(reply(429, {"message": "slow down"}, **{"Retry-After": "12"}))
    assert caught.value.retry_after == 12
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"OK", "expected a JSON body", id="not-json"),
        pytest.param({}, "no task_id", id="empty-object"),
        pytest.param([{"task_id": "t-1"}], "no task_id", id="list"),
        pytest.param({"task_id": ""}, "no task_id", id="blank-id"),
        pytest.param({"task_id": {"id": "t-1"}}, "no task_id", id="object-id"),
        pytest.param({"message": "quota exceeded", "code": "quota"}, "quota exceeded", id="error-envelope-in-200"),
    ],
)
def test_submit_200_that_is_not_a_task(body, message):
    with pytest.raises(UnexpectedResponseError, match=message):
        aiproxy.parse_submit(reply(200, body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"task_id": "t-1"}, "not a task", id="no-status"),
        pytest.param({"status": "SUCCESS"}, "not a task", id="no-task-id"),
        pytest.param({"code": "success", "data": {"task_id": "t-1"}}, "not a task", id="unknown-envelope"),
        pytest.param({"error": {"message": "no such task"}}, "no such task", id="error-envelope-in-200"),
    ],
)
def test_status_200_that_is_not_a_task(body, message):
    with pytest.raises(UnexpectedResponseError, match=message):
        aiproxy.parse_status(reply(200, body))


def test_numeric_task_id_is_read_as_text():
    assert aiproxy.parse_submit(reply(200, {"task_id": 42})).task_id == "42"


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        pytest.param({"prompt": "x", "duration": 4}, "duration", "seconds in 5, 10", id="duration-4"),
        pytest.param({"prompt": "x", "duration": 15}, "duration", "seconds in 5, 10", id="duration-15"),
        pytest.param({"prompt": "x", "resolution": "4k"}, "resolution", "480p, 720p, 1080p", id="resolution"),
        pytest.param({"prompt": "x", "ratio": "2:1"}, "ratio", "9:21, keep_ratio, adaptive", id="ratio"),
        pytest.param({"prompt": "x", "seed": -1}, "seed", "[0, 2147483647]", id="seed-low"),
        pytest.param({"prompt": "x", "seed": 2**31}, "seed", "[0, 2147483647]", id="seed-high"),
        pytest.param({"prompt": "x" * 801}, "prompt", "at most 800 characters", id="prompt-too-long"),
        pytest.param(
            {"model": LITE_I2V, "first_frame": IMG}, "prompt", "required for this model", id="image-without-prompt"
        ),
        pytest.param({"prompt": "x", "first_frame": IMG}, "input mode", "takes: text", id="t2v-given-image"),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x"},
            "input mode",
            "first_frame, first_last_frame, reference",
            id="i2v-without-image",
        ),
        pytest.param(
            {"model": PRO, "prompt": "x", "first_frame": "asset://asset-1"},
            "first_frame",
            "an http(s) URL or a data: URI",
            id="asset-id-image",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x", "reference_images": [IMG]},
            "reference_images",
            "at least 3 on this gateway",
            id="one-reference-reads-as-first-frame",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x", "reference_images": [IMG, IMG2]},
            "reference_images",
            "2 as first + last frames",
            id="two-references-read-as-frames",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x", "reference_images": [IMG] * 5},
            "reference_images",
            "at most 4",
            id="too-many-references",
        ),
        pytest.param(
            {"model": PRO, "prompt": "x", "reference_images": [IMG, IMG2, IMG3]},
            "reference_images",
            "none on this model",
            id="pro-references",
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x", "last_frame": IMG}, "last_frame", "needs a first_frame", id="last-only"
        ),
        pytest.param(
            {"model": LITE_I2V, "prompt": "x", "first_frame": IMG, "reference_images": [IMG, IMG2, IMG3]},
            "first_frame/last_frame",
            "mutually exclusive",
            id="frames-and-references",
        ),
        pytest.param(
            {"prompt": "x", "extra": {"camerafixed": True}}, "extra.camerafixed", "use that field", id="extra-camera"
        ),
        pytest.param(
            {"model": PRO, "prompt": "x", "extra": {"images": [IMG]}}, "extra.images", "use that field", id="extra-imgs"
        ),
        pytest.param(
            {"model": "some-future-model", "prompt": "x", "reference_images": [IMG, IMG2]},
            "reference_images",
            "at least 3 on this gateway",
            id="unknown-model-two-references",
        ),
        pytest.param(
            {"model": "some-future-model", "prompt": "x", "reference_videos": [VID], "reference_images": [IMG] * 3},
            "reference_videos",
            "none on this model",
            id="unknown-model-video",
        ),
    ],
)
def test_rejected(fields, field, allowed):
    assert_rejected(aiproxy, {"model": LITE_T2V, **fields}, field, allowed)


def test_every_problem_in_one_error():
    with pytest.raises(RequestValidationError) as caught:
        aiproxy.build_submit(request(model=PRO, prompt="x", duration=7, resolution="2k", seed=-1, generate_audio=True))
    assert [p.field for p in caught.value.problems] == ["duration", "resolution", "seed", "generate_audio"]
    assert "4 problems" in str(caught.value)
