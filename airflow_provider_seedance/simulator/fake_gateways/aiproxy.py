"""Simulated aiproxy, "unified interface format" for Seedance 1.0: ``/v2/videos/generations``, from its docs.

Create takes a flat body (``prompt``, ``model``, ``images[]`` and options) and answers ``{"task_id"}``;
query answers ``task_id``, ``status`` (``NOT_START``/``SUBMITTED``/``QUEUED``/``IN_PROGRESS``/``SUCCESS``/
``FAILURE``), ``fail_reason``, Unix-second ``submit_time``/``start_time``/``finish_time``, ``progress`` as a
string such as ``"45%"`` and the video under ``data.output`` / ``data.outputs[]``. There is no cancel.

The documentation leaves a good deal open; this simulator decides as follows.

- Error bodies are not documented. They are assumed OpenAI-like:
  ``{"error": {"message", "type", "param", "code"}}``, with ``param`` naming the offending field or null.
- A prompt over 800 characters (code points: one per Chinese character or letter) is accepted and cut to
  800, as the docs say. So that the cut is never silent, the create reply carries an
  ``X-Simulator-Warning`` header and the task counts ``prompts_truncated`` in ``/_simulator/stats``.
- ``generate_audio`` is listed without a description. Seedance 1.0 produces no sound, so ``false`` is
  accepted and ``true`` is rejected with a 400: a client asking for audio learns it before paying.
- ``images`` by model (the format has no role field, so the count decides: 1 = first frame, 2 = first and
  last frame, 3 or 4 = reference images): ``lite-i2v`` needs 1 to 4; ``pro``, listed on the same
  Image-to-Video page, takes at most 2 (first, or first and last frame). ``lite-t2v`` is "Text-to-Video",
  yet the page's own example sends it one image, so it takes at most one, as a first frame; what the real
  gateway does with it is not said (a guess). An image is an ``http(s)`` URL, a ``data:image/...;base64,``
  URI, or bare base64 of a PNG/JPEG/WebP/GIF/BMP file; nothing else (no ``asset://``).
- ``ratio=keep_ratio`` needs an image to keep the ratio of and is rejected without one; ``adaptive`` is
  accepted for text too. Both render as 16:9 here.
- ``duration`` follows the enum (5 or 10) and a 10 is honoured, although the page also claims the length is
  fixed at 5. Defaults are the documented ones: 5 s, 480p, 16:9, no watermark, a random seed.
- Task ids are UUIDs, as in the unified-format example (the Seedance page's example shows a ``cgt-`` id).
- Queued tasks report ``SUBMITTED`` for the first half of the queue time and ``QUEUED`` after; running
  tasks ``IN_PROGRESS``. ``NOT_START`` is never produced. A task that expires in the queue is a ``FAILURE``.
- Timestamps not reached yet are ``0``. ``progress`` is ``"0%"`` while queued, ``"1%"``..``"99%"`` while
  running and ``"100%"`` once finished, failed or not.
- ``data`` is ``{}`` until success. The last frame's field is not documented: with ``return_last_frame``
  it is ``data.last_frame_url``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from airflow_provider_seedance.simulator.fake_gateways.base import (
    ErrorKind,
    Route,
    SimGateway,
    check_known_fields,
    field,
    int_in,
    json_object,
    one_of,
    reject,
)
from airflow_provider_seedance.simulator.inputs import MediaRef, Role
from airflow_provider_seedance.simulator.tasks import SimState, SimTask

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator.host import GatewayHost

PRO = "doubao-seedance-1-0-pro-250528"
LITE_T2V = "doubao-seedance-1-0-lite-t2v-250428"
LITE_I2V = "doubao-seedance-1-0-lite-i2v-250428"
MODELS = (PRO, LITE_T2V, LITE_I2V)
# (fewest, most) images each model takes; see the module docstring for lite-t2v's one image.
IMAGE_COUNTS = {PRO: (0, 2), LITE_T2V: (0, 1), LITE_I2V: (1, 4)}
DURATIONS = (5, 10)
RESOLUTIONS = ("480p", "720p", "1080p")
RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "9:21", "keep_ratio", "adaptive")
FLAGS = ("watermark", "camerafixed", "return_last_frame", "generate_audio")
TOP_LEVEL = frozenset({"prompt", "model", "images", "duration", "resolution", "ratio", "seed", *FLAGS})
PROMPT_LIMIT = 800
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF87a", b"GIF89a", b"BM")
# The assumed OpenAI-like (type, code) per error kind.
ERRORS = {
    ErrorKind.AUTHENTICATION: ("authentication_error", "invalid_api_key"),
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", "invalid_parameter"),
    ErrorKind.INSUFFICIENT_CREDIT: ("insufficient_quota", "insufficient_user_quota"),
    ErrorKind.NOT_FOUND: ("invalid_request_error", "task_not_exist"),
    ErrorKind.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", "upstream_error"),
    ErrorKind.MODERATION: ("invalid_request_error", "sensitive_words_detected"),
}
STATUSES = {SimState.RUNNING: "IN_PROGRESS", SimState.SUCCEEDED: "SUCCESS"}
FAIL_REASONS = {
    SimState.FAILED: "OutputVideoSensitiveContentDetected: the generated video did not pass content moderation",
    SimState.EXPIRED: "task timed out before it could start",
    SimState.CANCELLED: "task was cancelled",
}


class AiproxySim(SimGateway):
    name = "aiproxy"

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/v2/videos/generations", "submit", self.create),
            Route("GET", "/v2/videos/generations/{task_id}", "status", self.get),
        ]

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        error_type, code = ERRORS[kind]
        body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
        return web.json_response(body, status=status)

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, TOP_LEVEL)
        prompt = field(body, "prompt", str, required=True)
        if not prompt.strip():
            raise reject("parameter prompt must not be empty", "prompt")
        model = one_of(body, "model", MODELS, required=True)
        images = _images(body, model)
        duration = field(body, "duration", int)
        one_of(body, "duration", DURATIONS)
        resolution = field(body, "resolution", str)
        one_of(body, "resolution", RESOLUTIONS)
        ratio = field(body, "ratio", str)
        one_of(body, "ratio", RATIOS)
        if ratio == "keep_ratio" and not images:
            raise reject("parameter ratio=keep_ratio needs an image in images to keep the ratio of", "ratio")
        seed = int_in(body, "seed", 0, 2147483647)
        for flag in FLAGS:
            field(body, flag, bool)
        if body.get("generate_audio"):
            raise reject(
                f"parameter generate_audio=true is not supported: {model} generates silent video", "generate_audio"
            )

        task_id = str(uuid.uuid4())
        inputs = await sim.receive_inputs(_refs(images))
        truncated = len(prompt) > PROMPT_LIMIT
        task = sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt[:PROMPT_LIMIT],
            resolution=resolution or "480p",
            ratio=ratio or "16:9",
            duration=duration or 5,
            audio=False,
            return_last_frame=bool(body.get("return_last_frame")),
            params={
                "seed": secrets.randbelow(2147483648) if seed is None else seed,
                "images": len(images),
                "watermark": bool(body.get("watermark")),
                "camerafixed": bool(body.get("camerafixed")),
            },
            inputs=inputs,
        )
        response = web.json_response({"task_id": task.task_id})
        if truncated:
            sim.stats.task(self.name, task_id, "prompts_truncated")
            response.headers["X-Simulator-Warning"] = f"prompt of {len(prompt)} characters truncated to {PROMPT_LIMIT}"
        return response

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task: SimTask = sim.find_task(self.name, request.match_info["task_id"], "status")
        view = task.view(sim.config)
        if view.state is SimState.QUEUED:
            waited = task.simulated_now(sim.config) - view.created_at
            status = "SUBMITTED" if waited < sim.config.queue_seconds / 2 else "QUEUED"
        else:
            status = STATUSES.get(view.state, "FAILURE")
        finished = view.finished_at is not None
        data: dict[str, Any] = {}
        if view.state is SimState.SUCCEEDED:
            url = sim.result_url(request, task)
            data = {"output": url, "outputs": [url]}
            if task.return_last_frame:
                # Not documented; the docs only say the last frame comes back through the query endpoint.
                data["last_frame_url"] = sim.result_url(request, task, "last_frame")
        reply = {
            "task_id": task.task_id,
            "status": status,
            "fail_reason": "" if status != "FAILURE" else _fail_reason(task, view.state),
            "submit_time": int(view.created_at),
            "start_time": int(view.started_at or 0),
            "finish_time": int(view.finished_at or 0),
            "progress": "100%" if finished else f"{view.progress}%",
            "data": data,
        }
        return web.json_response(reply)


def _fail_reason(task: SimTask, state: SimState) -> str:
    if state is SimState.FAILED and task.input_failure:
        return task.input_failure
    return FAIL_REASONS.get(state, "generation failed")


def _images(body: dict[str, Any], model: str) -> list[str]:
    """Check ``images`` against the model: how many it takes, and that each is a URL or base64 image."""
    images = field(body, "images", list)
    fewest, most = IMAGE_COUNTS[model]
    if images is None:
        if fewest:
            raise reject(f"parameter images is required for {model} (image-to-video)", "images")
        return []
    if not fewest <= len(images) <= most:
        raise reject(f"parameter images takes {fewest} to {most} images for {model}, got {len(images)}", "images")
    for index, image in enumerate(images):
        _check_image(image, f"images[{index}]")
    return images


def _refs(images: list[str]) -> list[MediaRef]:
    """One image is the first frame, two are the first and last frame, three or four are references."""
    frames: tuple[Role, Role] = ("first_frame", "last_frame")
    return [
        MediaRef(f"images[{i}]", frames[i] if len(images) <= 2 else "reference_image", image)
        for i, image in enumerate(images)
    ]


def _check_image(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise reject(f"parameter {name} must be a non-empty string (a URL or base64 image)", name)
    if value[:8].lower().startswith(("http://", "https://")):
        return
    if value[:5].lower() == "data:":
        header, _, payload = value.partition(",")
        if not header.lower().startswith("data:image/") or not header.lower().endswith(";base64"):
            raise reject(f"parameter {name} must be a data:image/<format>;base64, URI", name)
    else:
        payload = value
    try:
        decoded = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise reject(f"parameter {name} is neither an http(s) URL nor base64 image data", name) from None
    if not decoded.startswith(IMAGE_MAGIC):
        raise reject(f"parameter {name} does not decode to a PNG, JPEG, WebP, GIF or BMP image", name)
