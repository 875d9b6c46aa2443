"""BytePlus ModelArk / Volcengine Ark, the official upstream: ``/contents/generations/tasks``.

Everything is one ``content[]`` array of typed parts with roles; statuses are the six we model
directly; the only gateway with a real cancel (``DELETE``, queued tasks only).

Seedance 2.5's own fields, ``omni_reference_task_type`` and ``output_format``, go through ``extra`` (they
are Ark's, not every gateway's) and are checked here: Ark answers a field a model does not take with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GatewayError,
    InsufficientCreditError,
    InvalidRequestError,
    Problem,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpCall, HttpResponse, state_from
from airflow_provider_seedance.gateways.fields import code_text, json_object, text
from airflow_provider_seedance.gateways.spec import ANY_SOURCE, URL_OR_ASSET, ModelSpec, gateway_wide, seconds
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import UPSTREAM_SEED_RANGE, TaskState, TaskStatus, VideoRequest

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
# Ark is the upstream: its documented content[] media limits are the ones media/limits.py records.
MEDIA_LIMITS = UPSTREAM_MEDIA_LIMITS

# Seedance 2.0: 4-15 s or -1 (the model picks); 9/3/3 references and "total mixed files <= 12"; audio
# as a URL, asset or base64 (gateways.md section 6, create body and content[] items).
SEEDANCE_2 = ModelSpec(
    durations=seconds(4, 15) | {-1},
    default_duration=5,
    resolutions=("480p", "720p", "1080p"),
    ratios=RATIOS,
    seed_range=UPSTREAM_SEED_RANGE,
    camera_fixed=False,
    max_reference_files=12,
    image_sources=ANY_SOURCE,
    video_sources=URL_OR_ASSET,
    audio_sources=ANY_SOURCE,
    media_limits=MEDIA_LIMITS,
)
# "4k resolution exists only on dreamina-seedance-2-0-260128" (section 10, probed on the live API).
SEEDANCE_2_BYTEPLUS = replace(SEEDANCE_2, resolutions=("480p", "720p", "1080p", "4k"))
SEEDANCE_2_FAST = replace(SEEDANCE_2, resolutions=("480p", "720p"))
# 2.0 mini: its resolutions are not documented anywhere we have read, so they are left to Ark to judge.
SEEDANCE_2_MINI = replace(SEEDANCE_2, resolutions=None)
# Seedance 2.5 (section 10, third-party docs [T]): 4-30 s, default -1; up to 30 images, 10 videos and 10
# audios, 50 files in all; audio may be the only reference. Sources disagree on 1080p, so it is allowed.
# The 2.0 per-clip limits are kept for each file; the 2.0 totals (15 s of clips) are not carried over.
SEEDANCE_2_5 = replace(
    SEEDANCE_2,
    durations=seconds(4, 30) | {-1},
    default_duration=-1,
    max_reference_images=30,
    max_reference_videos=10,
    max_reference_audios=10,
    max_reference_files=50,
    audio_only_references=True,
    media_limits=replace(
        MEDIA_LIMITS,
        video=replace(MEDIA_LIMITS.video, max_total_seconds=None),
        audio=replace(MEDIA_LIMITS.audio, max_total_seconds=None),
    ),
)
SEEDANCE_2_5_MODELS = frozenset({"dreamina-seedance-2-5-260628", "doubao-seedance-2-5-260628"})
# omni_reference_task_type on 2.5: edit and extend work on a source video; ratio must be adaptive for
# first-frame, first+last-frame, edit and extend; edit also needs duration -1 (section 10) [T].
TASK_TYPES = ("auto", "edit", "extend")
OUTPUT_FORMATS = ("mp4", "mov")

# Endpoint ids (ep-...) and models added after this release take this path: only gateway-wide rules.
GATEWAY_WIDE = gateway_wide(
    seed_range=UPSTREAM_SEED_RANGE,
    image_sources=ANY_SOURCE,
    video_sources=URL_OR_ASSET,
    audio_sources=ANY_SOURCE,
    media_limits=MEDIA_LIMITS,
)

STATES = {state.value: state for state in TaskState}

# URLs in content are "valid for 24 hours" after the task finishes.
RESULT_URL_LIFETIME = timedelta(hours=24)
EXECUTION_EXPIRES_AFTER = (3600, 259200)
_REQUEST_ID = re.compile(r"Request id:\s*([0-9A-Za-z]+)")


class ArkGateway(Gateway):
    name = "ark"
    default_base_url = "https://ark.ap-southeast.bytepluses.com/api/v3"
    submit_path = "contents/generations/tasks"
    status_path = "contents/generations/tasks/{task_id}"
    cancel_path = "contents/generations/tasks/{task_id}"
    # DELETE cancels a queued task; on a finished one it deletes the record (and the video with it).
    cancellable_states = frozenset({TaskState.QUEUED})
    # GET …/tasks with filter.model and paging, newest first (the vendor SDK's tasks.list; gateways.md
    # section 10): after a submit whose answer was lost, it shows whether the task was created.
    lists_tasks = True
    # The same list call with a repeatable filter.task_ids answers for many tasks at once (fleet polling).
    # 100 ids keep the URL near 5 KB; the list's page_size allows up to 500.
    batch_status_limit = 100
    # The ModelArk console of each public endpoint (gateways.md section 6): no page per task is documented.
    consoles = {
        "ark.ap-southeast.bytepluses.com": "https://console.byteplus.com/ark",
        "ark.cn-beijing.volces.com": "https://console.volcengine.com/ark",
    }
    models = {
        "dreamina-seedance-2-0-260128": SEEDANCE_2_BYTEPLUS,
        "dreamina-seedance-2-0-fast-260128": SEEDANCE_2_FAST,
        "dreamina-seedance-2-0-mini-260615": SEEDANCE_2_MINI,
        "doubao-seedance-2-0-260128": SEEDANCE_2,
        "doubao-seedance-2-0-fast-260128": SEEDANCE_2_FAST,
        "doubao-seedance-2-0-mini-260615": SEEDANCE_2_MINI,
        **dict.fromkeys(SEEDANCE_2_5_MODELS, SEEDANCE_2_5),
    }
    # BytePlus (international) sells the dreamina- ids, Volcengine (China) the doubao- ids of the same models.
    upstream_models = {
        **{f"{brand}-seedance-2-0-260128": "seedance-2.0" for brand in ("dreamina", "doubao")},
        **{f"{brand}-seedance-2-0-fast-260128": "seedance-2.0-fast" for brand in ("dreamina", "doubao")},
        **{f"{brand}-seedance-2-0-mini-260615": "seedance-2.0-mini" for brand in ("dreamina", "doubao")},
        **dict.fromkeys(sorted(SEEDANCE_2_5_MODELS), "seedance-2.5"),
    }
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset(
        {
            "model",
            "content",
            "duration",
            "resolution",
            "ratio",
            "seed",
            "generate_audio",
            "watermark",
            "camera_fixed",
            "return_last_frame",
        }
    )
    error_codes = {
        "AuthenticationError": AuthenticationError,
        "AccessDenied": AuthenticationError,
        "ModelNotOpen": AuthenticationError,
        "InvalidEndpointOrModel.ModelIDAccessDisabled": AuthenticationError,
        "AccountOverdueError": InsufficientCreditError,
        # A quota or a spending limit the account set: waiting does not lift it, so it is not a rate limit.
        "QuotaExceeded": InsufficientCreditError,
        "SetLimitExceeded": InsufficientCreditError,
        "TaskTypeConstraint": InvalidRequestError,
        "InvalidEndpoint.NotFound": InvalidRequestError,
        # A model id or endpoint id the account does not have: the request is wrong, not the base URL.
        "InvalidEndpointOrModel.NotFound": InvalidRequestError,
        "MissingParameter": InvalidRequestError,
        "InvalidParameter": InvalidRequestError,
        "ServerOverloaded": RateLimitError,
        "ModelLoadingError": RateLimitError,
        "InternalServiceError": ServerError,
    }

    def model_for(self, upstream: str, base_url: str) -> str | None:
        """The id the account behind ``base_url`` sells ``upstream`` under: doubao- on Volcengine, else dreamina-."""
        brand = "doubao-" if (urlsplit(base_url).hostname or "").endswith("volces.com") else "dreamina-"
        ids = [model for model, sold in self.upstream_models.items() if sold == upstream]
        return next((model for model in ids if model.startswith(brand)), ids[0] if ids else None)

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        expires = request.extra.get("execution_expires_after")
        low, high = EXECUTION_EXPIRES_AFTER
        if expires is not None and not (isinstance(expires, int) and low <= expires <= high):
            yield Problem("extra.execution_expires_after", expires, f"seconds in [{low}, {high}]")
        if request.extra.get("service_tier") == "flex" and request.model in self.models:
            yield Problem("extra.service_tier", "flex", "Seedance 2.0 models take only 'default'")
        if request.model in SEEDANCE_2_5_MODELS:
            yield from _task_type_problems(request)
        elif request.model in self.models:
            for key in ("omni_reference_task_type", "output_format"):
                if key in request.extra:
                    yield Problem(f"extra.{key}", request.extra[key], "only Seedance 2.5 takes it; leave it out")

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if request.prompt:
            content.append({"type": "text", "text": request.prompt})
        if request.first_frame:
            content.append(_part("image_url", request.first_frame, "first_frame"))
        if request.last_frame:
            content.append(_part("image_url", request.last_frame, "last_frame"))
        content.extend(_part("image_url", url, "reference_image") for url in request.reference_images)
        content.extend(_part("video_url", url, "reference_video") for url in request.reference_videos)
        content.extend(_part("audio_url", url, "reference_audio") for url in request.reference_audios)
        body: dict[str, Any] = {"model": request.model, "content": content}
        for key in (
            "resolution",
            "ratio",
            "duration",
            "seed",
            "generate_audio",
            "watermark",
            "camera_fixed",
            "return_last_frame",
        ):
            value = getattr(request, key)
            if value is not None:
                body[key] = value
        return body

    def build_list(self, model: str, page: int, page_size: int) -> HttpCall:
        query = {"filter.model": model, "page_num": str(page), "page_size": str(page_size)}
        return HttpCall("GET", self.submit_path, query=query)

    def parse_list(self, response: HttpResponse) -> list[TaskStatus]:
        return [self._task(item) for item in self._items(response)]

    def build_batch_status(self, task_ids: Sequence[str]) -> HttpCall:
        query = {"filter.task_ids": list(task_ids), "page_num": "1", "page_size": str(len(task_ids))}
        return HttpCall("GET", self.submit_path, query=query)

    def parse_batch_status(self, response: HttpResponse) -> dict[str, TaskStatus]:
        return {status.task_id: status for status in self.parse_list(response)}

    def _items(self, response: HttpResponse) -> list[Any]:
        body = self.checked_json(response)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"task list reply has no items: {str(body)[:200]}", gateway=self.name)
        return items

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        task_id = body.get("id") if isinstance(body, dict) else None
        if not task_id:
            raise UnexpectedResponseError(f"submit reply has no task id: {body!r}", gateway=self.name)
        return TaskStatus(task_id=str(task_id), state=TaskState.QUEUED, raw=body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        return self._task(self.checked_json(response))

    def _task(self, body: Any) -> TaskStatus:
        """A task object, as the status call returns it and the list call returns each of its items."""
        if not isinstance(body, dict) or "id" not in body or "status" not in body:
            raise UnexpectedResponseError(f"status reply is not a task: {body!r}", gateway=self.name)
        state = state_from(body["status"], STATES, self.name)
        content = json_object(body.get("content"))
        error = body.get("error")
        error = error if isinstance(error, dict) else ({"message": error} if isinstance(error, str) and error else {})
        finished = body.get("updated_at")
        expires = (
            datetime.fromtimestamp(finished, UTC) + RESULT_URL_LIFETIME
            if state is TaskState.SUCCEEDED and isinstance(finished, int | float)
            else None
        )
        return TaskStatus(
            task_id=str(body["id"]),
            state=state,
            video_url=content.get("video_url"),
            last_frame_url=content.get("last_frame_url"),
            video_expires_at=expires,
            error_code=code_text(error.get("code")),
            error_message=text(error.get("message")),
            usage=body.get("usage") if isinstance(body.get("usage"), dict) else None,
            raw=body,
        )

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or "message" not in error:
            return None
        message = str(error["message"])
        request_id = _REQUEST_ID.search(message)
        return ErrorBody(
            message=message,
            code=error.get("code"),
            request_id=request_id.group(1) if request_id else None,
        )

    def classify(self, code: str | None, message: str) -> type[GatewayError] | None:
        if code is None:
            return None
        if "SensitiveContentDetected" in code or code.endswith("RiskDetection"):
            return ContentModerationError
        if code.startswith("RateLimitExceeded") or code.endswith("RateLimitExceeded"):
            return RateLimitError
        return super().classify(code, message)


def _task_type_problems(request: VideoRequest) -> Iterable[Problem]:
    """Seedance 2.5's task types and output formats, and what each task type needs."""
    task_type = request.extra.get("omni_reference_task_type", "auto")
    output_format = request.extra.get("output_format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        yield Problem("extra.output_format", output_format, f"one of {', '.join(OUTPUT_FORMATS)}")
    if task_type not in TASK_TYPES:
        yield Problem("extra.omni_reference_task_type", task_type, f"one of {', '.join(TASK_TYPES)}")
        return
    if task_type in ("edit", "extend") and not request.reference_videos:
        yield Problem("reference_videos", [], f"task type {task_type!r} works on a source video; give one")
    if task_type == "edit" and request.duration not in (None, -1):
        yield Problem("duration", request.duration, "-1 for task type 'edit' (it takes the source video's length)")
    adaptive_only = task_type in ("edit", "extend") or bool(request.first_frame)
    if adaptive_only and request.ratio not in (None, "adaptive"):
        what = f"task type {task_type!r}" if task_type != "auto" else "first-frame and first+last-frame videos"
        yield Problem("ratio", request.ratio, f"'adaptive' for {what} on Seedance 2.5")


def _part(kind: str, url: str, role: str) -> dict[str, Any]:
    return {"type": kind, kind: {"url": url}, "role": role}
