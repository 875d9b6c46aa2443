"""Simulated imini.ai open platform ("imini router"): ``/v1/videos/generate`` and its task query, from its docs.

The real base URL ``https://openapi.imini.ai/imini/router`` maps to the ``/imini`` prefix. Create takes
flat fields (``resolution`` in upper case, ``aspect_ratio``, ``reference_images[]`` with a
``reference_type`` per image, Seedance extras inside ``extra_params``) and answers with a ``task_id``
and an ISO-8601 ``created_at``; the query returns ``status`` and, once done, ``videos[]``. There is no
documented cancel endpoint. Errors are ``{"error": {"code", "message", "status", "request_id"}}``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

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

T = TypeVar("T")

MODELS = ("doubao/seedance-2.0", "doubao/seedance-2.0-fast")
RESOLUTIONS = ("480P", "720P")  # upper-case P: "720p" is a bad enum value here
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
REFERENCE_TYPES = ("first_frame", "last_frame", "asset")
IMAGE_ROLES: dict[str, Role] = {"first_frame": "first_frame", "last_frame": "last_frame", "asset": "reference_image"}
TOP_LEVEL = {
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
EXTRA_PARAMS = {"seed", "watermark", "return_last_frame"}
IMAGE_ITEM = {"url", "reference_type"}
MAX_IMAGES, MAX_VIDEOS, MAX_AUDIOS = 9, 3, 3
DEFAULT_DURATION = 5

# (status, code) per kind. The docs list the statuses; the codes 401/500/502 carry are not documented
# (the official skill names only the five below), so those three are our own choice.
ERRORS = {
    ErrorKind.AUTHENTICATION: (401, "UNAUTHORIZED"),
    ErrorKind.INVALID_REQUEST: (400, "INVALID_PARAMETER"),
    ErrorKind.INSUFFICIENT_CREDIT: (402, "INSUFFICIENT_CREDITS"),
    ErrorKind.NOT_FOUND: (404, "TASK_NOT_FOUND"),
    ErrorKind.RATE_LIMITED: (429, "RATE_LIMITED"),
    ErrorKind.SERVER_ERROR: (500, "INTERNAL_ERROR"),
    ErrorKind.MODERATION: (400, "INVALID_PROMPT"),  # "the prompt was flagged by content safety"
}
UPSTREAM_ERROR = "UPSTREAM_ERROR"  # 502 "upstream model error"; code undocumented
# A task that fails after acceptance: the docs only say "see the error object"; the code is ours.
TASK_FAILURES = {
    SimState.FAILED: ("CONTENT_POLICY_VIOLATION", "The generated video was flagged by content safety review."),
    SimState.EXPIRED: ("TASK_TIMEOUT", "The task did not start before its execution limit and was dropped."),
    SimState.CANCELLED: ("TASK_CANCELLED", "The task was cancelled."),
}
STATUSES = {
    SimState.QUEUED: "queued",
    SimState.RUNNING: "processing",
    SimState.SUCCEEDED: "succeeded",
    SimState.FAILED: "failed",
    # imini documents exactly four statuses; states it has no word for end as "failed".
    SimState.EXPIRED: "failed",
    SimState.CANCELLED: "failed",
}


class IminiSim(SimGateway):
    name = "imini"

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/v1/videos/generate", "submit", self.create),
            Route("GET", "/v1/videos/tasks/{task_id}", "status", self.get),
        ]

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        _, code = ERRORS[kind]
        if kind is ErrorKind.SERVER_ERROR and status == 502:
            code = UPSTREAM_ERROR
        # imini's envelope has no field for the parameter, so the message must name it.
        if param and param not in message:
            message = f"{param}: {message}"
        body = {"error": {"code": code, "message": message, "status": status, "request_id": _request_id()}}
        return web.json_response(body, status=status)

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, TOP_LEVEL)
        model = field(body, "model", str, required=True)
        if model not in MODELS:
            raise reject(f"parameter model={model!r} is not supported; use one of {', '.join(MODELS)}", "model")
        prompt = field(body, "prompt", str)
        resolution = one_of(body, "resolution", RESOLUTIONS) or "720P"
        ratio = one_of(body, "aspect_ratio", RATIOS) or "adaptive"
        duration = int_in(body, "duration", 4, 15) or DEFAULT_DURATION
        audio = field(body, "generate_audio", bool)
        images, videos, audios = _references(body)
        if not (prompt and prompt.strip()) and not images and not videos:
            raise reject("a prompt, a reference image or a reference video is required", "prompt")
        extra = _extra_params(body)
        task_id = f"task_{10**18 + secrets.randbelow(9 * 10**18)}"  # 19 digits, like the docs' example
        return_last_frame = bool(extra.get("return_last_frame"))
        inputs = await sim.receive_inputs(_refs(images, videos, audios))
        task: SimTask = sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt or "",
            resolution=resolution.lower(),
            ratio=ratio,  # "adaptive" renders as 16:9
            duration=duration,
            audio=True if audio is None else audio,
            # The core serves the last-frame PNG only when this is set; we always set it because every
            # finished video carries a cover_url, which we point at that PNG. Whether the caller asked
            # for the last frame is kept in params and decides whether last_frame_url is shown.
            return_last_frame=True,
            params={
                "resolution": resolution,
                "aspect_ratio": ratio,
                "return_last_frame": return_last_frame,
                "watermark": bool(extra.get("watermark")),
                "seed": extra.get("seed", -1),
                "references": {"images": len(images), "videos": len(videos), "audios": len(audios)},
            },
            inputs=inputs,
        )
        return web.json_response(
            {
                "task_id": task_id,
                "model": model,
                "created_at": _iso(task.created_at),
                "request_id": _request_id(),
            }
        )

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task: SimTask = sim.find_task(self.name, request.match_info["task_id"], "status")
        view = task.view(sim.config)
        done = view.state not in (SimState.QUEUED, SimState.RUNNING)
        reply: dict[str, Any] = {
            "task_id": task.task_id,
            "status": STATUSES[view.state],
            "model": task.model,
            "created_at": _iso(view.created_at),
            "completed_at": _iso(view.finished_at) if done and view.finished_at is not None else None,
            "videos": None,
            "error": None,
            "request_id": _request_id(),
        }
        if view.state is SimState.SUCCEEDED:
            video: dict[str, Any] = {
                "url": sim.result_url(request, task),
                "width": task.video.width,
                "height": task.video.height,
                "duration": task.video.duration,
                "cover_url": sim.result_url(request, task, "last_frame"),
            }
            # extra_params.return_last_frame: "you can retrieve the generated video's last-frame image (PNG, no
            # watermark, same dimensions as the video) via the query endpoint". The field is not documented;
            # our guess is ``last_frame_url`` (Seedance's own name for it) in the video item it belongs to.
            if task.params.get("return_last_frame"):
                video["last_frame_url"] = sim.result_url(request, task, "last_frame")
            reply["videos"] = [video]
        elif view.state is SimState.FAILED and task.input_failure:
            reply["error"] = {"code": "INVALID_PARAMETER", "message": task.input_failure}
        elif view.state in TASK_FAILURES:
            code, message = TASK_FAILURES[view.state]
            reply["error"] = {"code": code, "message": message}
        return web.json_response(reply)


def _references(body: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Check the three reference lists and the input-mode rules; (reference_type, url) per image."""
    images: list[tuple[str, str]] = []
    for index, item in enumerate(_items(body, "reference_images", MAX_IMAGES)):
        where = f"reference_images[{index}]"
        _within(where, partial(check_known_fields, item, IMAGE_ITEM))
        url = _within(where, partial(field, item, "url", str, required=True))
        _check_url(url, f"{where}.url", data_prefix="data:image/")
        kind = _within(where, partial(one_of, item, "reference_type", REFERENCE_TYPES, required=True))
        images.append((kind, url))
    videos: list[str] = []
    for index, item in enumerate(_items(body, "reference_videos", MAX_VIDEOS)):
        where = f"reference_videos[{index}]"
        url = _within(where, partial(field, item, "url", str, required=True))
        _check_url(url, f"{where}.url", data_prefix=None)  # "public URL only"
        videos.append(url)
    audios: list[str] = []
    for index, item in enumerate(_items(body, "reference_audios", MAX_AUDIOS)):
        where = f"reference_audios[{index}]"
        url = _within(where, partial(field, item, "url", str, required=True))
        _check_url(url, f"{where}.url", data_prefix="data:audio/")
        audios.append(url)

    kinds = [kind for kind, _ in images]
    frames = [kind for kind in kinds if kind != "asset"]
    assets = len(kinds) - len(frames)
    if frames and (assets or videos or audios):
        raise reject(
            "reference_images: first_frame/last_frame images cannot be combined with asset images, "
            "reference_videos or reference_audios",
            "reference_images",
        )
    if frames and (frames.count("first_frame") != 1 or frames.count("last_frame") > 1):
        raise reject(
            "reference_images: frame mode takes exactly one first_frame and at most one last_frame",
            "reference_images",
        )
    if audios and not (assets or videos):
        raise reject(
            "reference_audios cannot be used alone: add at least one reference_image or reference_video",
            "reference_audios",
        )
    return images, videos, audios


def _refs(images: list[tuple[str, str]], videos: list[str], audios: list[str]) -> list[MediaRef]:
    refs = [MediaRef(f"reference_images[{i}].url", IMAGE_ROLES[kind], url) for i, (kind, url) in enumerate(images)]
    refs += [MediaRef(f"reference_videos[{i}].url", "reference_video", url) for i, url in enumerate(videos)]
    refs += [MediaRef(f"reference_audios[{i}].url", "reference_audio", url) for i, url in enumerate(audios)]
    return refs


def _items(body: dict[str, Any], name: str, limit: int) -> list[dict[str, Any]]:
    items = field(body, name, list) or []
    if len(items) > limit:
        raise reject(f"parameter {name} takes at most {limit} items, got {len(items)}", name)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise reject(f"{name}[{index}] must be an object with a url, got {item!r:.60}", f"{name}[{index}]")
    return items


def _check_url(url: str, where: str, *, data_prefix: str | None) -> None:
    """http(s) URLs everywhere; base64 data URIs of the right media type only where ``data_prefix`` allows."""
    source = url_kind(url, where)
    if source == "url":
        return
    if source == "data" and data_prefix and url[: len(data_prefix)].lower() == data_prefix and ";base64," in url:
        return
    allowed = f"an http(s) URL or a {data_prefix}...;base64, URI" if data_prefix else "a public http(s) URL"
    raise reject(f"parameter {where} must be {allowed}, got {url[:40]!r}", where)


def _extra_params(body: dict[str, Any]) -> dict[str, Any]:
    extra = field(body, "extra_params", dict)
    if extra is None:
        return {}
    _within("extra_params", partial(check_known_fields, extra, EXTRA_PARAMS))
    _within("extra_params", partial(int_in, extra, "seed", -1, 2**32 - 1))
    for flag in ("watermark", "return_last_frame"):
        _within("extra_params", partial(field, extra, flag, bool))
    return extra


def _within(where: str, check: Callable[[], T]) -> T:
    """Run a field check on a nested object, naming the full path in the error.

    Callers pass a ``functools.partial``, which binds a loop's current item and keeps its type.
    """
    try:
        return check()
    except RequestRejected as rejected:
        param = rejected.details.get("param")
        path = f"{where}.{param}" if param else where
        raise reject(f"{path}: {rejected.message}", path) from None


def _iso(timestamp: float) -> str:
    """ISO-8601 in UTC with milliseconds and a Z, as in ``2026-04-15T04:43:20.233Z``."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request_id() -> str:
    return str(uuid.uuid4())
