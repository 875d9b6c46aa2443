"""imini.ai Open Platform ("imini router"): ``/v1/videos/generate`` and ``/v1/videos/tasks/{task_id}``.

Flat JSON body with imini's own names: ``aspect_ratio`` for the ratio, upper-case ``480P``/``720P``,
every image (first frame, last frame, references) in one ``reference_images`` list told apart by
``reference_type``, and Seedance's seed/watermark/last-frame switches tucked into ``extra_params``.
Four status words, results in ``videos[]``, ISO-8601 timestamps, and no cancel call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow_provider_seedance.exceptions import (
    ContentModerationError,
    InsufficientCreditError,
    InvalidRequestError,
    RateLimitError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpResponse, state_from
from airflow_provider_seedance.gateways.fields import code_text, text
from airflow_provider_seedance.gateways.spec import URL_ONLY, URL_OR_DATA, ModelSpec, gateway_wide, seconds
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import UPSTREAM_SEED_RANGE, TaskState, TaskStatus, VideoRequest

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
# "Reference media limits" of the Seedance pages: the upstream's formats, sizes (30/50/15 MB, 64 MB body),
# durations (2-15 s, <= 15 s in all), pixel range and 24-60 fps, except that the aspect ratio is written
# "between 1:2.5 and 2.5:1" (ends included) and videos, too, must have sides of 300-6000 px in that range.
MEDIA_LIMITS = replace(
    UPSTREAM_MEDIA_LIMITS,
    image=replace(UPSTREAM_MEDIA_LIMITS.image, aspect_exclusive=False),
    video=replace(UPSTREAM_MEDIA_LIMITS.video, min_side=300, max_side=6000, min_aspect=0.4, max_aspect=2.5),
)

# imini has no asset upload, so asset:// ids are never accepted. Its own helper inlines local images
# as data: URIs, so images take URLs or data URIs. Videos are documented as "public URL only". Audio
# takes base64 too: its requirements read "total request body <= 64 MB (avoid base64 for large files)".

# The docs' prompt length figures are a recommendation, not a limit, so no max_prompt_chars.
# camera_fixed is not among imini's documented fields (not even inside extra_params), so asking
# for it is refused rather than silently dropped.
SEEDANCE_2 = ModelSpec(
    durations=seconds(4, 15),
    resolutions=("480p", "720p"),
    ratios=RATIOS,
    seed_range=UPSTREAM_SEED_RANGE,
    camera_fixed=False,
    # imini names no total; the Seedance 2.0 it relays takes "<= 12" mixed reference files in all.
    max_reference_files=12,
    image_sources=URL_OR_DATA,
    video_sources=URL_ONLY,
    audio_sources=URL_OR_DATA,
    media_limits=MEDIA_LIMITS,
)

# A model this release does not know: no duration/resolution/ratio checks, but the body layout is
# the same for every model on this gateway, so the rules that follow from it still apply (no
# camera_fixed field, no asset ids, the seed range of the extra_params switch).
GATEWAY_WIDE = gateway_wide(
    seed_range=UPSTREAM_SEED_RANGE,
    camera_fixed=False,
    image_sources=URL_OR_DATA,
    video_sources=URL_ONLY,
    audio_sources=URL_OR_DATA,
    media_limits=MEDIA_LIMITS,
)

# imini states these four words are the only ones; anything else goes through state_from's
# keep-polling fallback.
STATES = {
    "queued": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "succeeded": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}

# Seedance switches that imini takes inside the ``extra_params`` object rather than at the top level.
EXTRA_PARAMS = ("seed", "watermark", "return_last_frame")


class IminiGateway(Gateway):
    name = "imini"
    default_base_url = "https://openapi.imini.ai/imini/router"
    submit_path = "v1/videos/generate"
    status_path = "v1/videos/tasks/{task_id}"
    cancel_path = None  # imini documents no way to cancel a task
    models = {
        "doubao/seedance-2.0": SEEDANCE_2,
        # The fast variant is documented as having the same capabilities and parameters.
        "doubao/seedance-2.0-fast": SEEDANCE_2,
    }
    upstream_models = {"doubao/seedance-2.0": "seedance-2.0", "doubao/seedance-2.0-fast": "seedance-2.0-fast"}
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset(
        {
            "model",
            "prompt",
            "resolution",
            "aspect_ratio",
            "duration",
            "generate_audio",
            "reference_images",
            "reference_videos",
            "reference_audios",
            "extra_params",
        }
    )
    # A code wins over the HTTP status; codes imini may add later fall back to the status.
    error_codes = {
        "INVALID_PROMPT": ContentModerationError,
        "INVALID_PARAMETER": InvalidRequestError,
        "INSUFFICIENT_CREDITS": InsufficientCreditError,
        "RATE_LIMITED": RateLimitError,
        "TASK_NOT_FOUND": TaskNotFoundError,
    }

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model}
        if request.prompt:
            body["prompt"] = request.prompt
        if request.resolution is not None:
            body["resolution"] = request.resolution.upper()
        if request.ratio is not None:
            body["aspect_ratio"] = request.ratio
        if request.duration is not None:
            body["duration"] = request.duration
        if request.generate_audio is not None:
            body["generate_audio"] = request.generate_audio

        # Validation has already made frames and references mutually exclusive, so at most one
        # of the two groups below contributes to the list.
        images: list[dict[str, str]] = []
        if request.first_frame:
            images.append(_image(request.first_frame, "first_frame"))
        if request.last_frame:
            images.append(_image(request.last_frame, "last_frame"))
        # "asset" here is imini's name for the multimodal-reference role, not an uploaded asset.
        images.extend(_image(url, "asset") for url in request.reference_images)
        if images:
            body["reference_images"] = images
        # The item shape of reference_videos/reference_audios is not documented; {"url": ...}
        # mirrors the documented image items (minus the role), which is the least surprising guess.
        if request.reference_videos:
            body["reference_videos"] = [{"url": url} for url in request.reference_videos]
        if request.reference_audios:
            body["reference_audios"] = [{"url": url} for url in request.reference_audios]

        extra_params = {key: getattr(request, key) for key in EXTRA_PARAMS if getattr(request, key) is not None}
        if extra_params:
            body["extra_params"] = extra_params
        return body

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        task_id = body.get("task_id") if isinstance(body, dict) else None
        if not task_id:
            raise UnexpectedResponseError(f"submit reply has no task_id: {body!r}", gateway=self.name)
        return TaskStatus(task_id=str(task_id), state=TaskState.QUEUED, raw=body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response)
        if not isinstance(body, dict) or "task_id" not in body or "status" not in body:
            raise UnexpectedResponseError(f"status reply is not a task: {body!r}", gateway=self.name)
        state = state_from(body["status"], STATES, self.name)
        code, message = _task_error(body.get("error"))
        video = _first_video(body.get("videos"))
        # Timestamps are ISO-8601 strings (completed_at among them) and stay in ``raw``: imini
        # documents no result-URL lifetime, so there is nothing to derive video_expires_at from.
        # No progress field and no usage/cost field are documented either.
        return TaskStatus(
            task_id=str(body["task_id"]),
            state=state,
            video_url=text(video.get("url")),
            last_frame_url=_last_frame_url(body, video),
            error_code=code,
            error_message=message,
            raw=body,
        )

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not ("message" in error or "code" in error):
            return None
        code = error.get("code")
        request_id = error.get("request_id") or body.get("request_id")
        status = error.get("status")
        return ErrorBody(
            message=str(error.get("message") or code),
            code=code_text(code),
            request_id=str(request_id) if request_id is not None else None,
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        )

    def business_error(self, body: Any) -> ErrorBody | None:
        """imini's error envelope in a 2xx reply (not documented to happen) is never taken for a task."""
        if isinstance(body, dict) and "task_id" not in body:
            return self.parse_error_body(body)
        return None


def _image(url: str, reference_type: str) -> dict[str, str]:
    return {"url": url, "reference_type": reference_type}


def _first_video(videos: Any) -> dict[str, Any]:
    # Some imini video models return several segments, so walk the list instead of trusting [0].
    if isinstance(videos, list):
        for video in videos:
            if isinstance(video, dict) and text(video.get("url")):
                return video
    return {}


def _last_frame_url(body: dict[str, Any], video: dict[str, Any]) -> str | None:
    # The docs promise the last frame "via the query endpoint" once extra_params.return_last_frame is set,
    # but the documented reply (videos[] items: url, width, height, duration, cover_url) has no field for it.
    # Guess: it comes as ``last_frame_url`` (the upstream's name for it), in the video item or beside
    # ``videos``. ``cover_url`` is never read: a cover (a .jpg in the docs' example) is not the last frame.
    return text(video.get("last_frame_url")) or text(body.get("last_frame_url"))


def _task_error(error: Any) -> tuple[str | None, str | None]:
    # A failed task's error object is documented only as "an object"; read it like the error
    # envelope ({code, message}) and tolerate a bare string.
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return (str(code) if code is not None else None, str(message) if message is not None else None)
    if isinstance(error, str) and error:
        return None, error
    return None, None
