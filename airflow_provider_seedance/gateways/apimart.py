"""apimart.ai: ``POST v1/videos/generations`` to submit, ``GET v1/tasks/{task_id}`` to poll.

A flat JSON body: the ratio goes in ``size``; first/last frames, and reference images sent alone, go in
``image_with_roles``; reference images that come with videos or audios go in ``image_urls`` beside
``video_urls``/``audio_urls``. Every successful reply is wrapped in
``{"code": 200, "data": ...}`` (a list on submit, an object on poll), so a 200 reply can still carry
an error. Result URLs sit in ``data.result.videos[0].url[0]`` -- ``url`` is a list. No cancel call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeGuard

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GatewayError,
    InsufficientCreditError,
    InvalidRequestError,
    Problem,
    RateLimitError,
    ServerError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpCall, HttpResponse, state_from
from airflow_provider_seedance.gateways.fields import code_text, json_array, json_object, percent, text, unix_time
from airflow_provider_seedance.gateways.spec import URL_ONLY, URL_OR_ASSET, ModelSpec, gateway_wide, seconds
from airflow_provider_seedance.media.limits import MIB, UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import UPSTREAM_SEED_RANGE, TaskState, TaskStatus, VideoRequest

RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive")
# The seed is documented only as "integer"; apimart forwards it to Seedance, so the upstream range is kept.
# apimart "no longer supports passing base64 image data directly"; inputs must be public URLs
# (its upload endpoint turns a local file into one). Approved asset:// ids are documented for the
# plain and fast 2.0 models only ("other models do not support it").
# Images sent through the upload endpoint may be JPEG, PNG, WebP or GIF up to 20 MB; that is kept for every
# image, so none passes here that one of its delivery ways would refuse. The video and audio rules the page
# gives (480P-720P, <= 15 s in all) are the upstream's; nothing else is documented, so the upstream limits
# stand. With no base64 there is no inline media for a request-body limit to bound.
MEDIA_LIMITS = replace(
    UPSTREAM_MEDIA_LIMITS,
    image=replace(UPSTREAM_MEDIA_LIMITS.image, formats=frozenset({"jpeg", "png", "webp", "gif"}), max_bytes=20 * MIB),
    max_request_bytes=None,
)

SEEDANCE_2 = ModelSpec(
    # The parameter block says 4-15 s while the prose and comparison table say 5-15 s; we accept 4-15
    # so a valid 4 s request is never refused here, and let the gateway have the final word.
    durations=seconds(4, 15),
    # The vendor's English page lists 1080p for the standard and -face models (the Chinese copy says
    # -face only); we follow the English page, which also matches upstream, where 2.0 has 1080p.
    resolutions=("480p", "720p", "1080p"),
    ratios=RATIOS,
    max_prompt_chars=4000,
    seed_range=UPSTREAM_SEED_RANGE,
    # The camera-fixed field name for 2.0 is not documented and watermark is not mentioned at all:
    # both are refused, and whoever knows the name can send it through ``extra``.
    camera_fixed=False,
    watermark=False,
    # apimart names no total; it relays to Seedance 2.0, whose mixed references are "<= 12" in all.
    max_reference_files=12,
    image_sources=URL_OR_ASSET,
    video_sources=URL_OR_ASSET,
    audio_sources=URL_OR_ASSET,
    media_limits=MEDIA_LIMITS,
)
SEEDANCE_2_FAST = replace(SEEDANCE_2, resolutions=("480p", "720p"))
SEEDANCE_2_FACE = replace(SEEDANCE_2, image_sources=URL_ONLY, video_sources=URL_ONLY, audio_sources=URL_ONLY)
SEEDANCE_2_FAST_FACE = replace(SEEDANCE_2_FACE, resolutions=("480p", "720p"))

# Models we do not know (other apimart video models, later releases): only the rules that hold for
# the whole endpoint -- URL-only media, the field limits, and no field we cannot name.
GATEWAY_WIDE = gateway_wide(
    seed_range=UPSTREAM_SEED_RANGE,
    camera_fixed=False,
    watermark=False,
    image_sources=URL_ONLY,
    video_sources=URL_ONLY,
    audio_sources=URL_ONLY,
    media_limits=MEDIA_LIMITS,
)

STATES = {
    "pending": TaskState.QUEUED,
    # "submitted" is the word the submit reply uses; the poll endpoint never documents it, but if it
    # shows up there it means the same thing.
    "submitted": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
    "cancelled": TaskState.CANCELLED,
}

# Seedance 1.5 Pro names on the same endpoint; 2.0 uses ``size`` and ``generate_audio`` instead, and
# sending both spellings would leave it to the gateway which one wins.
LEGACY_KEYS = {"aspect_ratio": "ratio", "audio": "generate_audio"}


class ApimartGateway(Gateway):
    name = "apimart"
    default_base_url = "https://api.apimart.ai"
    submit_path = "v1/videos/generations"
    status_path = "v1/tasks/{task_id}"
    # A "cancelled" status exists, but no cancel endpoint is documented.
    cancel_path = None
    # ``POST /v1/tasks/batch`` with ``{"task_ids": [...]}`` (gateways.md section 2). Its reply is not
    # documented; we read a ``data`` list of the status call's task objects, and a poller that cannot read
    # it falls back to polling one by one. No limit is published: 50 ids per call is our own bound.
    batch_status_limit = 50
    batch_status_path = "v1/tasks/batch"
    models = {
        "doubao-seedance-2.0": SEEDANCE_2,
        "doubao-seedance-2.0-fast": SEEDANCE_2_FAST,
        "doubao-seedance-2.0-face": SEEDANCE_2_FACE,
        "doubao-seedance-2.0-fast-face": SEEDANCE_2_FAST_FACE,
    }
    # The -face variants (real people allowed) are apimart's own: no other gateway sells them.
    upstream_models = {"doubao-seedance-2.0": "seedance-2.0", "doubao-seedance-2.0-fast": "seedance-2.0-fast"}
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset(
        {
            "model",
            "prompt",
            "duration",
            "size",
            "resolution",
            "seed",
            "generate_audio",
            "return_last_frame",
            "image_urls",
            "image_with_roles",
            "video_urls",
            "audio_urls",
        }
    )
    # "POST /v1/uploads/images": JPEG, PNG, WebP or GIF up to 20 MB, served from the returned URL for 72 h.
    # Base64 in generation requests is no longer accepted, so files that are not public go this way.
    upload_media_kinds = frozenset({"image"})
    upload_path = "v1/uploads/images"
    # apimart's ``error.type`` words; the numeric ``error.code`` only repeats the HTTP status.
    error_kinds = {
        "invalid_request_error": InvalidRequestError,
        "authentication_error": AuthenticationError,
        "permission_error": AuthenticationError,
        "payment_required": InsufficientCreditError,
        "rate_limit_error": RateLimitError,
        "server_error": ServerError,
        "bad_gateway": ServerError,
    }

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        if request.model in self.models:
            for key, field in LEGACY_KEYS.items():
                if key in request.extra:
                    yield Problem(
                        f"extra.{key}",
                        request.extra[key],
                        f"a Seedance 1.5 Pro parameter; Seedance 2.0 on apimart takes the {field} field instead",
                    )
        tools = request.extra.get("tools")
        if tools is not None and not (
            isinstance(tools, list) and all(isinstance(tool, dict) and "type" in tool for tool in tools)
        ):
            yield Problem("extra.tools", tools, 'a list of objects such as [{"type": "web_search"}]')

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model}
        for key, field in (
            ("prompt", "prompt"),
            ("duration", "duration"),
            ("size", "ratio"),
            ("resolution", "resolution"),
            ("seed", "seed"),
            ("generate_audio", "generate_audio"),
            ("return_last_frame", "return_last_frame"),
        ):
            value = getattr(request, field)
            if value is not None:
                body[key] = value
        body.update(_images(request))
        for key, urls in (("video_urls", request.reference_videos), ("audio_urls", request.reference_audios)):
            if urls:
                body[key] = list(urls)
        return body

    def build_upload(self, filename: str, content_type: str, data: bytes) -> HttpCall:
        return HttpCall("POST", self.upload_path, files={"file": (filename, data, content_type)})

    # ---- replies ------------------------------------------------------------------------------

    def parse_upload(self, response: HttpResponse) -> str:
        body = self.checked_json(response)
        url = text(body.get("url")) if isinstance(body, dict) else None
        if not url:
            raise UnexpectedResponseError(f"upload reply has no url: {str(body)[:200]}", gateway=self.name)
        return url

    def business_error(self, body: Any) -> ErrorBody | None:
        """A 200 reply whose business ``code`` is not 200, or that carries an ``error``, is an error."""
        if not isinstance(body, dict) or not (body.get("error") or str(body.get("code", 200)) != "200"):
            return None
        return self.parse_error_body(body) or ErrorBody(
            message=f"reply carries business code {body.get('code')!r}: {str(body)[:200]}",
            code=code_text(body.get("code")),
            status=_status(body.get("code")),
        )

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        data = body.get("data") if isinstance(body, dict) else None
        # One request creates one task; ``data`` is documented as a list holding it.
        task = data[0] if isinstance(data, list) and data else data
        task_id = task.get("task_id") if isinstance(task, dict) else None
        if not task_id:
            raise UnexpectedResponseError(f"submit reply has no task id: {body!r}", gateway=self.name)
        return TaskStatus(task_id=str(task_id), state=TaskState.QUEUED, raw=body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not _is_task(data):
            raise UnexpectedResponseError(f"status reply is not a task: {body!r}", gateway=self.name)
        return self._task(data, body)

    def build_batch_status(self, task_ids: Sequence[str]) -> HttpCall:
        return HttpCall("POST", self.batch_status_path, json={"task_ids": list(task_ids)})

    def parse_batch_status(self, response: HttpResponse) -> dict[str, TaskStatus]:
        body = self.checked_json(response)
        data = body.get("data") if isinstance(body, dict) else None
        items = data.get("tasks", data.get("items")) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"batch status reply has no task list: {str(body)[:200]}", gateway=self.name)
        # An entry that is not a task (an id the gateway does not know, say) is left out: it is polled alone.
        tasks = [item for item in items if _is_task(item)]
        if items and not tasks:
            raise UnexpectedResponseError(
                f"batch status reply holds no task objects: {str(body)[:200]}", gateway=self.name
            )
        return {str(task["id"]): self._task(task, {**body, "data": task}) for task in tasks}

    def _task(self, data: Mapping[str, Any], body: Any) -> TaskStatus:
        """A task object (``data`` of the status reply, or one entry of the batch reply); ``body`` becomes ``raw``."""
        state = state_from(data["status"], STATES, self.name)
        result = json_object(data.get("result"))
        videos = json_array(result.get("videos"))
        video = videos[0] if videos and isinstance(videos[0], dict) else {}
        expires = video.get("expires_at")
        error = data.get("error")
        if isinstance(error, str):
            error = {"message": error}
        error = error if isinstance(error, dict) else {}
        progress = data.get("progress")
        return TaskStatus(
            task_id=str(data["id"]),
            state=state,
            progress=percent(progress),
            video_url=_first_url(video.get("url")),
            last_frame_url=_last_frame_url(result, video),
            video_expires_at=unix_time(expires),
            error_code=_error_code(error),
            error_message=str(error["message"]) if error.get("message") is not None else None,
            usage=_usage(data),
            raw=body,
        )

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        code = body.get("code")
        if isinstance(error, dict) and error.get("message") is not None:
            # A top-level business code, when present, stands in for a missing type/code.
            return ErrorBody(
                message=str(error["message"]),
                code=_error_code(error) or code_text(code),
                kind=text(error.get("type")),
                status=_status(error.get("code", code)),
            )
        # Not documented, but cheap to read: a bare business code with a top-level message.
        message = body.get("message", body.get("msg"))
        if code is not None and code != 200 and message is not None:
            return ErrorBody(message=str(message), code=str(code), status=_status(code))
        return None

    def classify(self, code: str | None, message: str) -> type[GatewayError] | None:
        # The moderation refusal arrives as a 500 "server_error"; the message is what tells it apart.
        lowered = message.lower()
        if "content moderation" in lowered or "sensitive content" in lowered:
            return ContentModerationError
        # The documented reply for a task past its retention ("task does not exist or has expired").
        if "任务不存在" in message:
            return TaskNotFoundError
        return super().classify(code, message)


def _images(request: VideoRequest) -> dict[str, Any]:
    """The image field that says what each image is for (Cases are the vendor page's printed use cases).

    A lone ``image_urls`` entry is a first frame (Case 2), so frames (Case 3) and reference images sent on
    their own (Case 11, role ``reference_image``) go in ``image_with_roles``. That field cannot be combined
    with ``video_urls``/``audio_urls``, so reference images that come with a video or an audio go in
    ``image_urls``, as Cases 9 and 13 send them.
    """
    # Guess: Case 11 prints role reference_image with an asset:// URL only; the field takes plain URLs for
    # frames (Case 3), so it is taken to take them for references too. Guess: images with audio but no video
    # (printed nowhere) are references in image_urls, as with a video: audio "must be used together with
    # reference images" and is "not available" beside image_with_roles.
    if request.reference_images and (request.reference_videos or request.reference_audios):
        return {"image_urls": list(request.reference_images)}
    # Validation has made frames and reference images mutually exclusive: at most one group is set.
    roles = [(request.first_frame, "first_frame"), (request.last_frame, "last_frame")]
    roles += [(url, "reference_image") for url in request.reference_images]
    items = [{"url": url, "role": role} for url, role in roles if url]
    return {"image_with_roles": items} if items else {}


def _is_task(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and "id" in value and "status" in value


def _status(code: Any) -> int | None:
    """apimart's numeric ``code`` repeats an HTTP status; it classifies errors that arrive in a 200."""
    number = code_text(code)
    return int(number) if number and number.isdigit() and int(number) != 200 else None


def _error_code(error: Mapping[str, Any]) -> str | None:
    """The symbolic ``type`` when given, else the numeric or textual ``code``."""
    for key in ("type", "code"):
        if error.get(key) is not None:
            return str(error[key])
    return None


def _first_url(value: Any) -> str | None:
    """A URL given as a string, a list of strings, or an object with a ``url``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _first_url(value.get("url"))
    return value if isinstance(value, str) and value else None


def _last_frame_url(result: Mapping[str, Any], video: Mapping[str, Any]) -> str | None:
    # Guess: the docs say the task result "additionally returns" the last frame's URL but never name the
    # field. Only fields named for it are read, beside the video or in the result (``last_frame_url`` is
    # the upstream's name for it). An image list is not read: it may hold a cover, and a cover stored as
    # the last frame would start the next clip of a chain from the wrong picture.
    for holder, key in (
        (video, "last_frame_url"),
        (video, "last_frame"),
        (result, "last_frame_url"),
        (result, "last_frame"),
    ):
        url = _first_url(holder.get(key))
        if url:
            return url
    return None


def _usage(data: Mapping[str, Any]) -> dict[str, Any] | None:
    # No usage block is documented; some observed replies carry ``cost`` and ``credits_cost``. We keep
    # whichever of them is present, since they say what the task was billed and cost nothing to read.
    usage = dict(data["usage"]) if isinstance(data.get("usage"), dict) else {}
    usage.update({key: data[key] for key in ("cost", "credits_cost") if data.get(key) is not None})
    return usage or None
