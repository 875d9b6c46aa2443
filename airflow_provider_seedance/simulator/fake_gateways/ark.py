"""Simulated BytePlus ModelArk / Volcengine Ark: ``/api/v3/contents/generations/tasks``, from its docs.

Create takes ``model`` and a typed ``content[]`` (text, image_url, video_url, audio_url parts with
roles) plus flat options; get returns the task object with ``content.video_url``; DELETE cancels a
queued task or deletes a finished one. Errors are ``{"error": {"code", "message", "param", "type"}}``.

Seedance 2.5 (section 10 of the gateway notes): 4-30 s with -1 as the default (the model picks; this
simulator picks 10 s, as one measured run did), 30/10/10 references, audio-only references, and the
``omni_reference_task_type`` and ``output_format`` fields that other models answer with a 400.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from airflow_provider_seedance.simulator.fake_gateways.base import (
    ErrorKind,
    RequestRejected,
    Route,
    SimGateway,
    check_known_fields,
    field,
    int_in,
    json_object,
    one_of,
    reject,
    url_kind,
)
from airflow_provider_seedance.simulator.inputs import MediaRef, Role
from airflow_provider_seedance.simulator.tasks import SimState, SimTask

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator.host import GatewayHost

SEEDANCE_2 = {"dreamina-seedance-2-0-260128", "doubao-seedance-2-0-260128"}
SEEDANCE_2_FAST = {"dreamina-seedance-2-0-fast-260128", "doubao-seedance-2-0-fast-260128"}
SEEDANCE_2_MINI = {"dreamina-seedance-2-0-mini-260615", "doubao-seedance-2-0-mini-260615"}
SEEDANCE_2_5 = {"dreamina-seedance-2-5-260628", "doubao-seedance-2-5-260628"}
MODELS = SEEDANCE_2 | SEEDANCE_2_FAST | SEEDANCE_2_MINI | SEEDANCE_2_5
# "4k resolution exists only on dreamina-seedance-2-0-260128" (probed on the live API).
WITH_4K = {"dreamina-seedance-2-0-260128"}
# (images, videos, audios, files in all) per model line.
REFERENCE_LIMITS = {"2.0": (9, 3, 3, 12), "2.5": (30, 10, 10, 50)}
TASK_TYPES = ("auto", "edit", "extend")
AUTO_DURATION_2_5 = 10
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
ROLES = {
    "image_url": ("first_frame", "last_frame", "reference_image"),
    "video_url": ("reference_video",),
    "audio_url": ("reference_audio",),
}
TOP_LEVEL = {
    "model",
    "content",
    "callback_url",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "generate_audio",
    "draft",
    "tools",
    "safety_identifier",
    "priority",
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "omni_reference_task_type",
    "output_format",
}
ERRORS = {
    ErrorKind.AUTHENTICATION: ("AuthenticationError", "Unauthorized"),
    ErrorKind.INVALID_REQUEST: ("InvalidParameter", "BadRequest"),
    ErrorKind.INSUFFICIENT_CREDIT: ("AccountOverdueError", "Forbidden"),
    ErrorKind.NOT_FOUND: ("NotFound.Task", "NotFound"),
    ErrorKind.RATE_LIMITED: ("RateLimitExceeded.EndpointRPMExceeded", "TooManyRequests"),
    ErrorKind.SERVER_ERROR: ("InternalServiceError", "InternalServerError"),
    ErrorKind.MODERATION: ("InputTextRiskDetection", "BadRequest"),
}
MODERATION_FAILURE = {
    "code": "OutputVideoSensitiveContentDetected.PolicyViolation",
    "message": "The request failed because the output video may be related to copyright restrictions.",
}


class ArkSim(SimGateway):
    name = "ark"
    base_path = "/api/v3"

    def routes(self) -> list[Route]:
        tasks = f"{self.base_path}/contents/generations/tasks"
        return [
            Route("POST", tasks, "submit", self.create),
            Route("GET", tasks, "status", self.list, batch=True),
            Route("GET", tasks + "/{task_id}", "status", self.get),
            Route("DELETE", tasks + "/{task_id}", "cancel", self.delete),
            # Last, so it takes only what nothing above does: Ark answers its resource paths without the
            # /api/v3 of its Base URL with its own NotFound, before looking at the key.
            Route("GET", "/contents/{unknown_path:.*}", "status", self.unknown_path, public=True),
        ]

    async def unknown_path(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = {"error": {"code": "NotFound", "message": "The requested resource was not found.", "type": "NotFound"}}
        return web.json_response(body, status=404)

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        code, kind_word = ERRORS[kind]
        if status == 404 and kind is ErrorKind.INVALID_REQUEST:
            code = "InvalidEndpointOrModel.NotFound"
        message = f"{message} Request id: {secrets.token_hex(24)}"
        body = {"error": {"code": code, "message": message, "param": param or "", "type": kind_word}}
        return web.json_response(body, status=status)

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, TOP_LEVEL)
        model = field(body, "model", str, required=True)
        cap = sim.config.max_queued_tasks
        # Counted only under a cap: a view of every task per submit would make n submits cost n squared.
        if cap is not None and self._queued(sim) >= cap:
            # BytePlus: "The maximum number of queued tasks for a single master account is 120". The code of
            # the refusal is not documented; this simulator answers with its rate-limit shape.
            response = self.error(429, ErrorKind.RATE_LIMITED, f"The number of queued tasks has reached {cap}")
            response.headers["Retry-After"] = f"{sim.faults.plan.retry_after_seconds:g}"
            return response
        if not (model in MODELS or model.startswith("ep-")):
            raise RequestRejected(404, ErrorKind.INVALID_REQUEST, f"The model or endpoint {model} does not exist")
        line = "2.5" if model in SEEDANCE_2_5 else "2.0"
        prompt, media = _content(body, line)
        resolutions = ("480p", "720p") if model in SEEDANCE_2_FAST else ("480p", "720p", "1080p")
        resolution = one_of(body, "resolution", (*resolutions, "4k") if model in WITH_4K else resolutions)
        ratio = one_of(body, "ratio", RATIOS)
        duration = field(body, "duration", int)
        longest = 30 if line == "2.5" else 15
        if duration is not None and duration != -1 and not 4 <= duration <= longest:
            raise reject(f"parameter duration={duration} must be -1 or in [4, {longest}]", "duration")
        _check_2_5_fields(body, model, line, media, ratio, duration)
        auto_duration = AUTO_DURATION_2_5 if line == "2.5" else 5
        duration = auto_duration if duration in (None, -1) else duration
        seed = int_in(body, "seed", -1, 2**32 - 1)
        for flag in ("generate_audio", "watermark", "return_last_frame", "camera_fixed", "draft"):
            field(body, flag, bool)
        if body.get("camera_fixed") is not None:
            raise reject("camera_fixed is not supported by Seedance 2.0 models", "camera_fixed")
        if body.get("frames") is not None:
            raise reject("frames is not supported by Seedance 2.0 models", "frames")
        one_of(body, "service_tier", ("default",))
        expires_after = int_in(body, "execution_expires_after", 3600, 259200)
        task_id = f"cgt-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)[:5]}"
        inputs = await sim.receive_inputs(media)
        sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt or "",
            resolution=resolution or "720p",
            ratio=ratio or ("adaptive" if media else "16:9"),
            duration=duration,
            audio=body.get("generate_audio", True),
            return_last_frame=bool(body.get("return_last_frame")),
            execution_limit=expires_after,
            params={
                "seed": seed if seed not in (None, -1) else secrets.randbelow(2**31),
                "resolution": resolution or "720p",
                "ratio": ratio or "16:9",
                "duration": duration,
                "service_tier": body.get("service_tier", "default"),
                "execution_expires_after": expires_after or 172800,
                "generate_audio": body.get("generate_audio", True),
            },
            inputs=inputs,
        )
        return web.json_response({"id": task_id})

    def _queued(self, sim: GatewayHost) -> int:
        return sum(task.view(sim.config).state is SimState.QUEUED for task in sim.tasks.of_gateway(self.name))

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task = sim.find_task(self.name, request.match_info["task_id"], "status")
        return web.json_response(self._task_object(request, sim, task))

    async def list(self, request: web.Request, sim: GatewayHost) -> web.Response:
        """``GET …/tasks``: ``page_num``, ``page_size``, ``filter.status``, ``filter.model`` and a repeatable
        ``filter.task_ids``, newest first, as ``{total, items}`` (the vendor SDK's ``tasks.list``)."""
        query = request.query
        try:
            page_num = int(query.get("page_num", "1"))
            page_size = int(query.get("page_size", "10"))
        except ValueError:
            raise reject("page_num and page_size must be integers", "page_num") from None
        if page_num < 1 or not 1 <= page_size <= 500:
            raise reject("page_num must be >= 1 and page_size in [1, 500]", "page_size")
        wanted_ids = query.getall("filter.task_ids", [])
        tasks = sim.tasks_named(request, self.name, wanted_ids) if wanted_ids else sim.tasks.of_gateway(self.name)
        items = [self._task_object(request, sim, task) for task in tasks]
        items = [
            item
            for item in items
            if query.get("filter.model") in (None, item["model"])
            and query.get("filter.status") in (None, item["status"])
        ]
        start = (page_num - 1) * page_size
        return web.json_response({"total": len(items), "items": items[start : start + page_size]})

    async def delete(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task: SimTask = sim.find_task(self.name, request.match_info["task_id"], "cancel")
        state = task.view(sim.config).state
        if state is SimState.QUEUED:
            task.cancelled_real = time.time()
        elif state in (SimState.SUCCEEDED, SimState.FAILED, SimState.EXPIRED):
            task.deleted = True
        else:
            raise reject(f"The task {task.task_id} in {state.value} status cannot be cancelled or deleted", "id")
        return web.json_response({})

    def _task_object(self, request: web.Request, sim: GatewayHost, task: SimTask) -> dict[str, Any]:
        view = task.view(sim.config)
        params = task.params
        obj: dict[str, Any] = {
            "id": task.task_id,
            "model": task.model,
            "status": view.state.value,
            "error": None,
            "created_at": int(view.created_at),
            "updated_at": int(view.finished_at or view.started_at or view.created_at),
            "seed": params["seed"],
            "resolution": params["resolution"],
            "ratio": params["ratio"],
            "duration": params["duration"],
            "framespersecond": task.video.fps,
            "service_tier": params["service_tier"],
            "execution_expires_after": params["execution_expires_after"],
            "generate_audio": params["generate_audio"],
            "draft": False,
        }
        if view.state is SimState.SUCCEEDED:
            obj["content"] = {"video_url": sim.result_url(request, task)}
            if task.return_last_frame:
                obj["content"]["last_frame_url"] = sim.result_url(request, task, "last_frame")
            video = task.video
            tokens = video.width * video.height * video.fps * video.duration // 1024
            obj["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
        elif view.state is SimState.FAILED and task.input_failure:
            obj["error"] = {"code": "InvalidParameter", "message": task.input_failure}
        elif view.state is SimState.FAILED:
            obj["error"] = dict(MODERATION_FAILURE)
        return obj


def _check_2_5_fields(
    body: dict[str, Any], model: str, line: str, media: list[MediaRef], ratio: str | None, duration: int | None
) -> None:
    """``omni_reference_task_type`` and ``output_format``: Seedance 2.5 only, with the task types' constraints."""
    if line != "2.5":
        for key in ("omni_reference_task_type", "output_format"):
            if body.get(key) is not None:
                raise reject(f"The parameter {key} is not supported for model {model}, must be empty", key)
        return
    one_of(body, "output_format", ("mp4", "mov"))
    task_type = one_of(body, "omni_reference_task_type", TASK_TYPES) or "auto"
    roles = {ref.role for ref in media}
    if task_type in ("edit", "extend") and "reference_video" not in roles:
        raise _task_type_constraint(f"task type {task_type} needs a reference video")
    if task_type == "edit" and duration not in (None, -1):
        raise _task_type_constraint("task type edit needs duration -1")
    framed = "first_frame" in roles
    if (task_type in ("edit", "extend") or framed) and ratio not in (None, "adaptive"):
        raise _task_type_constraint(f"ratio must be adaptive for this task, got {ratio}")


def _task_type_constraint(message: str) -> RequestRejected:
    return RequestRejected(400, ErrorKind.INVALID_REQUEST, f"TaskTypeConstraint: {message}")


def _content(body: dict[str, Any], line: str) -> tuple[str | None, list[MediaRef]]:
    """Check ``content[]`` as the docs describe it; return the prompt and the media inputs."""
    content = field(body, "content", list, required=True)
    if not content:
        raise reject("content must not be empty", "content")
    prompt: str | None = None
    media: dict[str, list[tuple[str, str]]] = {"image_url": [], "video_url": [], "audio_url": []}
    refs: list[MediaRef] = []
    for index, part in enumerate(content):
        where = f"content[{index}]"
        if not isinstance(part, dict):
            raise reject(f"{where} must be an object", where)
        kind = one_of(part, "type", ("text", *ROLES), required=True)
        if kind == "text":
            if prompt is not None:
                raise reject("only one text item is allowed", where)
            prompt = field(part, "text", str, required=True)
            continue
        url_holder = field(part, kind, dict, required=True)
        url = field(url_holder, "url", str, required=True)
        source = url_kind(url, f"{where}.{kind}.url")
        if source == "data" and kind == "video_url":
            raise reject(f"{where}: videos may not be sent as base64", f"{where}.{kind}.url")
        role: Role = one_of(part, "role", ROLES[kind], required=kind != "image_url") or "first_frame"
        media[kind].append((role, url))
        refs.append(MediaRef(f"{where}.{kind}.url", role, url))
    images = [url for _, url in media["image_url"]]
    roles = [role for role, _ in media["image_url"]]
    frames = [role for role in roles if role in ("first_frame", "last_frame")]
    references = len(roles) - len(frames) + len(media["video_url"]) + len(media["audio_url"])
    if frames and references:
        raise reject("first/last frame and multimodal reference inputs cannot be mixed", "content")
    if frames and (frames.count("first_frame") != 1 or frames.count("last_frame") > 1):
        raise reject("frame mode takes exactly one first_frame and at most one last_frame", "content")
    images_max, videos_max, audios_max, files_max = REFERENCE_LIMITS[line]
    if (
        len(roles) - len(frames) > images_max
        or len(media["video_url"]) > videos_max
        or len(media["audio_url"]) > audios_max
    ):
        raise reject(
            f"at most {images_max} reference images, {videos_max} reference videos and {audios_max} reference audios",
            "content",
        )
    if references > files_max:
        raise reject(f"at most {files_max} reference files in all, got {references}", "content")
    if line == "2.0" and media["audio_url"] and not (len(roles) - len(frames) or media["video_url"]):
        raise reject("reference audio needs at least one reference image or video", "content")
    if prompt is None and not images and not media["video_url"] and not (line == "2.5" and media["audio_url"]):
        raise reject("content needs a text prompt or an image or video", "content")
    return prompt, refs
