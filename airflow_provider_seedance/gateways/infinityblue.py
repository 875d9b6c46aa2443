"""InfinityBlue (getinfinityblue.com): the Seedance 2.0 route ``/v1/videos``, an OpenAI/Sora-style video object.

Flat top-level parameters (``seconds`` as a *string*, ``resolution``, ``ratio``, the four switches,
``seed``); every media input goes into ``metadata.content[]`` as typed parts with explicit roles.
Four status words, the video URL in ``metadata.url``, timestamps in **milliseconds**, no cancel,
and the bytes served (authenticated) by ``GET /v1/videos/{id}/content``. Errors are the OpenAI
envelope ``{"error": {"message", "type", "param", "code"}}``: the code decides first, then the type
(the vendor says to branch on it), then the HTTP status.

A 404 while waiting does not end the wait at once. The spec gives one meaning to the 404 of
``GET /v1/videos/{task_id}``: "Task not found, not completed yet, or content already expired", so a 404
can come for a task that exists and will still finish. While ``hook.wait`` or the trigger polls a task
(one this provider submitted, or saw queued or in progress), a 404 means "gone" only after
``NOT_FOUND_POLLS`` consecutive 404s spanning at least ``NOT_FOUND_SECONDS`` (3 over 10 minutes); any
status read in between starts the count again, each tolerated 404 is logged as a warning, and at the
deadline a 404 run ends the wait as "not found" whatever its length. A single status call (the
connection test, the operator's resume check) still takes a 404 as final.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

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
from airflow_provider_seedance.gateways.base import (
    Artifact,
    ErrorBody,
    Gateway,
    HttpCall,
    HttpResponse,
    state_from,
)
from airflow_provider_seedance.gateways.fields import code_text, json_object, percent, shorten, text, unix_time
from airflow_provider_seedance.gateways.spec import URL_ONLY, ModelSpec, gateway_wide, seconds
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import UPSTREAM_SEED_RANGE, InputMode, TaskState, TaskStatus, VideoRequest

RATIOS = ("adaptive", "auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
# The spec types seed as int64, but the upstream model takes a uint32 (or -1) and InfinityBlue passes it on.
# The spec states no media limits; InfinityBlue passes media on to the upstream (``metadata.content`` is
# its content[] list), so the upstream's are kept [I].
MEDIA_LIMITS = UPSTREAM_MEDIA_LIMITS
# Every input goes in ``metadata.content`` (roles need it), whose parts the spec describes only as public
# URLs (SeedanceMediaURL.url: "Publicly accessible URL of the media file"): base64 ("URL or Base64") is
# documented just for the top-level ``image`` and ``ref_images``, which carry no role. So images, videos
# and audios are URLs here (storage inputs go as presigned URLs) and a data: image is refused, naming
# its field; a user who wants the top-level base64 fields can still send them through ``extra``.
# asset:// ids are never accepted: InfinityBlue documents no asset upload.

# The spec lists 480p-1080p for both models (1080p "depends on upstream account permissions", which only
# the gateway can judge for the standard model). Reference counts are not documented here; InfinityBlue
# resells the upstream model, so the upstream Seedance 2.0 limits hold (gateways.md section 6): 9 images,
# 3 videos, 3 audios, and "Total mixed files <= 12".
SEEDANCE_2 = ModelSpec(
    durations=seconds(4, 15),
    resolutions=("480p", "720p", "1080p"),
    ratios=RATIOS,
    prompt_required=True,
    seed_range=UPSTREAM_SEED_RANGE,
    image_sources=URL_ONLY,
    video_sources=URL_ONLY,
    audio_sources=URL_ONLY,
    media_limits=MEDIA_LIMITS,
    max_reference_files=12,
)
# Upstream "2.0 fast has no 1080p" (gateways.md section 6, resolution row); no account permission on a
# reseller can add a resolution the upstream model lacks.
SEEDANCE_2_FAST = replace(SEEDANCE_2, resolutions=("480p", "720p"))

# Models added after this release: only what the request schema itself demands (a prompt, an int64
# seed, the media forms the route accepts); durations, resolutions and ratios may differ per model.
GATEWAY_WIDE = gateway_wide(
    prompt_required=True,
    seed_range=UPSTREAM_SEED_RANGE,
    image_sources=URL_ONLY,
    video_sources=URL_ONLY,
    audio_sources=URL_ONLY,
    media_limits=MEDIA_LIMITS,
)

STATES = {
    "queued": TaskState.QUEUED,
    "in_progress": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}

CONTENT_PATH = "v1/videos/{task_id}/content"

# error.type is the vendor's "top-level branching" category; each has one documented HTTP status.
ERROR_TYPES: dict[str, type[GatewayError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "not_found_error": TaskNotFoundError,
    "rate_limit_error": RateLimitError,
    "server_error": ServerError,
}

# Earliest plausible Unix timestamp (2001) for the rate-limit reset header; anything smaller is not one.
_MIN_TIMESTAMP = 1e9

# When a 404 on a task being waited for means "gone" (see the module docstring). The spec documents a 404
# for tasks "not completed yet" but not how long one lasts, so both numbers are guesses: 10 minutes is
# longer than the documented typical generation ("30 seconds to a few minutes"), so even a task answered
# 404 until it completes is not given up, and 3 polls keep one long poll interval from deciding alone.
# Waiting longer costs little (the deadline bounds it); giving up early may abandon a paid generation.
NOT_FOUND_POLLS = 3
NOT_FOUND_SECONDS = 600.0


class InfinityBlueGateway(Gateway):
    name = "infinityblue"
    default_base_url = "https://api.getinfinityblue.com"
    submit_path = "v1/videos"
    status_path = "v1/videos/{task_id}"
    cancel_path = None
    not_found_grace = (NOT_FOUND_POLLS, NOT_FOUND_SECONDS)
    models = {
        "doubao-seedance-2-0-260128": SEEDANCE_2,
        "doubao-seedance-2-0-fast-260128": SEEDANCE_2_FAST,
    }
    upstream_models = {
        "doubao-seedance-2-0-260128": "seedance-2.0",
        "doubao-seedance-2-0-fast-260128": "seedance-2.0-fast",
    }
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset(
        {
            "model",
            "prompt",
            "seconds",
            "resolution",
            "ratio",
            "seed",
            "generate_audio",
            "watermark",
            "camera_fixed",
            "return_last_frame",
            # Owned whole: every documented metadata key is either a legacy twin of a top-level field
            # (the spec forbids sending both) or ``content``, which we build from the media fields.
            "metadata",
        }
    )
    error_kinds = ERROR_TYPES
    error_codes = {
        "invalid_duration": InvalidRequestError,
        "content_policy_violation": ContentModerationError,
        "resource_not_found": TaskNotFoundError,
        # Filed under not_found_error (404), but they mean a wrong model or path, not a missing task.
        "model_not_found": InvalidRequestError,
        "endpoint_not_found": InvalidRequestError,
        "rate_limit_exceeded": RateLimitError,
        "concurrent_requests_exceeded": RateLimitError,
        # Filed under rate_limit_error (429), yet waiting does not help: the account is out of credit.
        "insufficient_quota": InsufficientCreditError,
        "upstream_error": ServerError,
        "upstream_timeout": ServerError,
    }

    # ---- validation -----------------------------------------------------------------------------

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        extra = request.extra
        if "duration" in extra:
            # The legacy twin of ``seconds``; the spec says never to combine the two.
            yield Problem("extra.duration", extra["duration"], "legacy alias of seconds; use the duration field")
        if "n" in extra and extra["n"] != 1:
            yield Problem("extra.n", extra["n"], "must be 1 (one video per task)")
        if "response_format" in extra and extra["response_format"] != "url":
            yield Problem("extra.response_format", extra["response_format"], "only 'url'")
        if "size" in extra and (request.resolution or request.ratio):
            # The spec prefers resolution + ratio "to avoid mismatches"; what wins when both are sent
            # is undocumented, so we refuse the mix rather than pay for a guess.
            yield Problem("extra.size", extra["size"], "conflicts with resolution/ratio; set one or the other")
        if request.input_mode is not InputMode.TEXT:
            for key in ("image", "ref_images"):
                if key in extra:
                    yield Problem(
                        f"extra.{key}",
                        shorten(extra[key]),
                        "conflicts with first_frame/last_frame/reference_* (sent in metadata.content); use one",
                    )

    # ---- calls ----------------------------------------------------------------------------------

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model}
        if request.prompt:
            body["prompt"] = request.prompt
        if request.duration is not None:
            # The route documents ``seconds`` as a string enum "4".."15"; the numeric ``duration`` is legacy.
            body["seconds"] = str(request.duration)
        for key in ("resolution", "ratio", "seed", "generate_audio", "watermark", "camera_fixed", "return_last_frame"):
            value = getattr(request, key)
            if value is not None:
                body[key] = value
        content = _content(request)
        if content:
            body["metadata"] = {"content": content}
        return body

    def build_download(self, status: TaskStatus, artifact: Artifact = "video") -> HttpCall:
        """The video through the authenticated content endpoint; the last frame from its URL, without the key."""
        if artifact != "video":
            return super().build_download(status, artifact)
        if status.state is not TaskState.SUCCEEDED:
            # The endpoint answers 404 until the task is completed; say why before making the call.
            raise UnexpectedResponseError(
                f"task {status.task_id} has no video to download yet (state {status.state})", gateway=self.name
            )
        return HttpCall("GET", CONTENT_PATH.format(task_id=quote(status.task_id, safe="")))

    # ---- replies --------------------------------------------------------------------------------

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        if not isinstance(body, dict) or not body.get("id"):
            raise UnexpectedResponseError(f"submit reply has no task id: {body!r}", gateway=self.name)
        # Create answers with the whole video object (status "queued"); read it like any status reply.
        if "status" not in body:
            return TaskStatus(task_id=str(body["id"]), state=TaskState.QUEUED, raw=body)
        return self._task(body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response)
        if not isinstance(body, dict) or "id" not in body or "status" not in body:
            raise UnexpectedResponseError(f"status reply is not a video task: {body!r}", gateway=self.name)
        return self._task(body)

    def _task(self, body: dict[str, Any]) -> TaskStatus:
        metadata = json_object(body.get("metadata"))
        error = json_object(body.get("error"))
        progress = body.get("progress")
        return TaskStatus(
            task_id=str(body["id"]),
            state=state_from(body["status"], STATES, self.name),
            progress=percent(progress),
            video_url=text(metadata.get("url")),
            last_frame_url=_last_frame_url(body, metadata),
            video_expires_at=unix_time(body.get("expires_at")),
            error_code=code_text(error.get("code")),
            error_message=text(error.get("message")),
            raw=body,
        )

    # ---- errors ---------------------------------------------------------------------------------

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, str) and error:
            # Not the documented shape, but a proxy in front may send a bare message; keep it readable.
            return ErrorBody(message=error)
        if not isinstance(error, dict) or "message" not in error:
            return None
        message = str(error["message"])
        param = error.get("param")
        if param:
            message = f"{message} (param: {param})"
        return ErrorBody(message=message, code=code_text(error.get("code")), kind=text(error.get("type")))

    def retry_after(self, response: HttpResponse) -> float | None:
        """Retry-After when given, else the wait until ``X-RateLimit-Reset-Requests``."""
        return super().retry_after(response) or _seconds_until(response.header("x-ratelimit-reset-requests"))


def _content(request: VideoRequest) -> list[dict[str, Any]]:
    # Every media input goes into metadata.content with an explicit role, including a lone first frame:
    # the spec's "Multimodal inputs" section asks for metadata.content for first/last frames, and the
    # top-level ``image`` does not say whether it becomes a first frame or a plain reference.
    parts: list[dict[str, Any]] = []
    if request.first_frame:
        parts.append(_part("image_url", request.first_frame, "first_frame"))
    if request.last_frame:
        parts.append(_part("image_url", request.last_frame, "last_frame"))
    parts.extend(_part("image_url", url, "reference_image") for url in request.reference_images)
    parts.extend(_part("video_url", url, "reference_video") for url in request.reference_videos)
    parts.extend(_part("audio_url", url, "reference_audio") for url in request.reference_audios)
    return parts


def _part(kind: str, url: str, role: str) -> dict[str, Any]:
    return {"type": kind, "role": role, kind: {"url": url}}


def _last_frame_url(body: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    # Undocumented: return_last_frame is accepted, but the task schema names no output field for it.
    # metadata allows extra properties, so look there (then at the top level) under the upstream's
    # own name, and take only a string.
    return text(metadata.get("last_frame_url")) or text(body.get("last_frame_url"))


def _seconds_until(reset: str | None) -> float | None:
    """Seconds from now until the documented reset time ("Unix timestamp", unit unstated), or None."""
    try:
        moment = unix_time(float(reset)) if reset else None
    except ValueError:
        return None
    if moment is None or moment.timestamp() < _MIN_TIMESTAMP:
        return None
    return max(0.0, moment.timestamp() - time.time())
