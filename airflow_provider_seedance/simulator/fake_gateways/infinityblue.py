"""Simulated InfinityBlue Seedance 2.0 route: ``/v1/videos``, from the vendor's OpenAPI spec.

Create takes ``model`` and ``prompt`` plus flat Sora-style options (``seconds`` is a *string*), with
legacy duplicates and the multimodal ``content[]`` inside ``metadata``; the reply is an OpenAI/Sora
video object with millisecond timestamps. Get returns the same object, with ``metadata.url`` once
``completed``; ``/content`` streams the MP4 itself and is a 404 until then. There is no cancel.
Errors are ``{"error": {"message", "type", "param", "code"}}`` as the vendor's error-code guide lists them.

InfinityBlue resells upstream Seedance 2.0, so the upstream's own request rules hold here too
(gateways.md section 6): no 1080p on the fast model, at most 9 reference images, 3 videos and 3 audios and
12 files in all, and audio never as the only input.

Where the docs are silent, the choice made here is marked "Undocumented:" in a comment.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

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
)
from airflow_provider_seedance.simulator.inputs import MediaRef, Role
from airflow_provider_seedance.simulator.media import SIZES
from airflow_provider_seedance.simulator.tasks import SimState, SimTask

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator.host import GatewayHost

MODELS = ("doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128")
# Upstream: "2.0 fast has no 1080p" (gateways.md section 6, resolution row).
NO_1080P = frozenset({"doubao-seedance-2-0-fast-260128"})
# Upstream Seedance 2.0 input counts (gateways.md section 6, content[] items): reference images 1-9,
# videos <= 3, audios <= 3, "Total mixed files <= 12".
MAX_REFERENCES: dict[Role, int] = {"reference_image": 9, "reference_video": 3, "reference_audio": 3}
MAX_FILES = 12
SECONDS = tuple(str(n) for n in range(4, 16))
RESOLUTIONS = ("480p", "720p", "1080p")
RATIOS = ("adaptive", "auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
FLAGS = ("generate_audio", "watermark", "camera_fixed", "return_last_frame")
TOP_LEVEL = {
    "model",
    "prompt",
    "seconds",
    "duration",
    "resolution",
    "ratio",
    "size",
    "image",
    "ref_images",
    *FLAGS,
    "seed",
    "n",
    "response_format",
    "user",
    "metadata",
}
# Which asset type each role belongs to, as upstream Seedance pairs them.
ROLE_TYPES = {
    "first_frame": "image_url",
    "last_frame": "image_url",
    "reference_image": "image_url",
    "reference_video": "video_url",
    "reference_audio": "audio_url",
}
# The role of a metadata.content item that gives none ("omit when no special role is needed").
DEFAULT_ROLES: dict[str, Role] = {
    "image_url": "reference_image",
    "video_url": "reference_video",
    "audio_url": "reference_audio",
}
INT64 = (-(2**63), 2**63 - 1)
SIZE_PATTERN = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")
DATA_IMAGE = re.compile(r"data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)

# error.type by HTTP status, from the vendor's error-code guide; 5xx is always server_error.
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}
# (error.type when the status does not decide it, error.code) per kind.
KIND_ERRORS = {
    ErrorKind.AUTHENTICATION: ("authentication_error", "invalid_api_key"),
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", "invalid_parameter"),
    ErrorKind.INSUFFICIENT_CREDIT: ("rate_limit_error", "insufficient_quota"),  # the guide files it under 429
    ErrorKind.NOT_FOUND: ("not_found_error", "resource_not_found"),
    ErrorKind.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", "upstream_error"),
    ErrorKind.MODERATION: ("invalid_request_error", "content_policy_violation"),
}
SERVER_CODES = {500: "internal_error", 502: "upstream_error", 503: "service_unavailable", 504: "upstream_timeout"}
DURATION_PARAMS = {"seconds", "duration", "metadata.duration"}
# Undocumented: the request quota a 429 announces; the guide names the headers but gives no numbers.
RATE_LIMIT_REQUESTS = 60
MODERATION_FAILURE = {
    "message": "The generated video was blocked by the content safety filter.",
    "code": "content_policy_violation",
}
EXPIRED_FAILURE = {"message": "The upstream did not start the task before its deadline.", "code": "upstream_timeout"}


class InfinityBlueSim(SimGateway):
    name = "infinityblue"

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/v1/videos", "submit", self.create),
            Route("GET", "/v1/videos/{task_id}", "status", self.get),
            Route("GET", "/v1/videos/{task_id}/content", "download", self.content),
        ]

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        default_type, code = KIND_ERRORS[kind]
        if status >= 500:
            error_type, code = "server_error", SERVER_CODES.get(status, code)
        else:
            error_type = STATUS_TYPES.get(status, default_type)
        if kind is ErrorKind.INVALID_REQUEST:
            code = _invalid_request_code(message, param)
        body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
        response_class = _RateLimitedResponse if status == 429 else web.Response
        return response_class(text=json.dumps(body), status=status, content_type="application/json")

    # ---- create ---------------------------------------------------------------------------------

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, TOP_LEVEL)
        model = field(body, "model", str, required=True)
        if model not in MODELS:
            raise reject(f"model {model!r} is not available on this route; use one of {', '.join(MODELS)}", "model")
        prompt = field(body, "prompt", str, required=True)
        if not prompt.strip():
            # Undocumented: a required prompt that is blank is treated as a bad value.
            raise reject("prompt must not be empty", "prompt")
        metadata = field(body, "metadata", dict) or {}
        duration = _duration(body, metadata)
        resolution, ratio = _shape(body, metadata)
        if model in NO_1080P and resolution == "1080p":
            # Undocumented: how InfinityBlue reports the upstream's refusal; a 400 naming the field is a guess.
            source = (
                "resolution" if "resolution" in body else "metadata.resolution" if "resolution" in metadata else "size"
            )
            raise reject(f"{model} does not support 1080p; use 480p or 720p", source)
        flags = {name: _legacy(body, metadata, name, lambda where, key: field(where, key, bool)) for name in FLAGS}
        seed = _legacy(body, metadata, "seed", lambda where, key: int_in(where, key, *INT64))
        field(body, "n", int)
        one_of(body, "n", (1,))
        one_of(body, "response_format", ("url",))
        field(body, "user", str)
        media = _media(body, metadata)

        task_id = f"video_{secrets.token_hex(16)}"
        inputs = await sim.receive_inputs(media)
        task: SimTask = sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt,
            resolution=resolution,
            ratio=ratio,  # adaptive/auto have no input to follow here: the media table renders them 16:9
            duration=duration,
            audio=bool(flags["generate_audio"]),
            return_last_frame=bool(flags["return_last_frame"]),
            params={"seed": seed, "watermark": bool(flags["watermark"])},
            inputs=inputs,
        )
        reply = {
            "id": task_id,
            "object": "video",
            "model": model,
            "status": "queued",
            "progress": 0,
            "created_at": _ms(task.created_at),
            "seconds": str(duration),
        }
        return web.json_response(reply)

    # ---- get and content ------------------------------------------------------------------------

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task = sim.find_task(self.name, request.match_info["task_id"], "status")
        return web.json_response(self._video_object(request, sim, task))

    async def content(self, request: web.Request, sim: GatewayHost) -> web.StreamResponse:
        task_id = request.match_info["task_id"]
        # Looked up directly: find_task() would count this download as a status poll.
        task = sim.tasks.get(self.name, task_id)
        if task is None:
            raise RequestRejected(404, ErrorKind.NOT_FOUND, f"video {task_id} does not exist or has expired")
        view = task.view(sim.config)
        if view.state is not SimState.SUCCEEDED:
            status = _STATUSES[view.state]
            raise RequestRejected(404, ErrorKind.NOT_FOUND, f"video {task_id} is not completed (status: {status})")
        if view.url_expires_at is not None and sim.now() >= view.url_expires_at:
            # The docs give 404 for "content already expired"; the shared file route would answer 403.
            raise RequestRejected(404, ErrorKind.NOT_FOUND, f"the content of video {task_id} has expired")
        return await sim.serve_artifact(request, task, "video")

    def _video_object(self, request: web.Request, sim: GatewayHost, task: SimTask) -> dict[str, Any]:
        view = task.view(sim.config)
        status = _STATUSES[view.state]
        obj: dict[str, Any] = {
            "id": task.task_id,
            "object": "video",
            "model": task.model,
            "status": status,
            "progress": 100 if status == "completed" else view.progress,
            "created_at": _ms(view.created_at),
            "seconds": str(task.video.duration),
        }
        if status == "completed":
            # Undocumented: completed_at, expires_at and size appear only once completed, as in the
            # spec's examples (the queued example has none of them).
            obj["completed_at"] = _ms(view.finished_at or view.created_at)
            obj["expires_at"] = _ms(view.url_expires_at or view.created_at)
            obj["size"] = f"{task.video.width}x{task.video.height}"
            obj["metadata"] = {"url": sim.result_url(request, task)}
            if task.return_last_frame:
                # Undocumented: the spec has no output field for the last frame; metadata allows any
                # key, so it goes next to the video URL, named as upstream names it.
                obj["metadata"]["last_frame_url"] = sim.result_url(request, task, "last_frame")
        elif view.state is SimState.FAILED and task.input_failure:
            obj["error"] = {"message": task.input_failure, "code": "invalid_parameter"}
        elif status == "failed":
            obj["error"] = dict(EXPIRED_FAILURE if view.state is SimState.EXPIRED else MODERATION_FAILURE)
        return obj


# The simulator's states in the route's four statuses; there is no cancel, and a task that expires
# unstarted is reported as failed (undocumented).
_STATUSES = {
    SimState.QUEUED: "queued",
    SimState.RUNNING: "in_progress",
    SimState.SUCCEEDED: "completed",
    SimState.FAILED: "failed",
    SimState.EXPIRED: "failed",
    SimState.CANCELLED: "failed",
}


class _RateLimitedResponse(web.Response):
    """A 429 carrying the guide's X-RateLimit-* headers. The server adds Retry-After after ``error()``
    returns, so the reset time is filled in when the response is sent, to agree with it."""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        retry_after = float(self.headers.get("Retry-After", "1"))
        self.headers["X-RateLimit-Limit-Requests"] = str(RATE_LIMIT_REQUESTS)
        self.headers["X-RateLimit-Remaining-Requests"] = "0"
        self.headers["X-RateLimit-Reset-Requests"] = str(math.ceil(time.time() + retry_after))
        return await super().prepare(request)


# ---- request checks ------------------------------------------------------------------------------


def _invalid_request_code(message: str, param: str | None) -> str:
    """The guide's 400 codes. The server hands ``error()`` only the message and param of a rejection,
    so the code is read back from them."""
    if "missing required parameter" in message:
        return "missing_required_parameter"
    if message.startswith("unknown parameter"):
        return "unsupported_parameter"
    if message.startswith("request body"):
        return "invalid_request_body"
    if param in DURATION_PARAMS:
        return "invalid_duration"  # the spec's own example: param "seconds", code "invalid_duration"
    if param == "model":
        return "invalid_model"
    return "invalid_parameter"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


@contextmanager
def _under(prefix: str) -> Iterator[None]:
    """Re-raise a rejection from a nested object with its full path (``metadata.duration``) as param."""
    try:
        yield
    except RequestRejected as rejected:
        param = rejected.details.get("param")
        raise reject(f"{prefix}: {rejected.message}", f"{prefix}.{param}" if param else prefix) from None


def _legacy(
    body: dict[str, Any], metadata: dict[str, Any], name: str, check: Callable[[dict[str, Any], str], Any]
) -> Any:
    """A field given at the top level or, for backwards compatibility, in ``metadata``.

    The docs say giving both makes the behaviour "server-determined"; the strict reading here rejects
    it, even when the two values agree, so a client that sends both is caught.
    """
    top = check(body, name)
    with _under("metadata"):
        legacy = check(metadata, name)
    if top is not None and legacy is not None:
        message = f"{name} is given both at the top level and in metadata; pass it once, at the top level"
        raise reject(message, f"metadata.{name}")
    return top if top is not None else legacy


def _duration(body: dict[str, Any], metadata: dict[str, Any]) -> int:
    """``seconds`` (a string enum), legacy ``duration`` (a number) or ``metadata.duration``: one at most."""
    seconds = body.get("seconds")
    if seconds is not None and (not isinstance(seconds, str) or seconds not in SECONDS):
        # The documented type trap: 5 is not "5".
        raise reject(f'Invalid duration {seconds!r}: seconds is a string from "4" to "15".', "seconds")
    duration = field(body, "duration", (int, float))
    if duration is not None:
        if seconds is not None:
            raise reject("Do not combine seconds with duration; use seconds only.", "duration")
        # Undocumented: the schema says "number"; a fractional one cannot be honoured, so it is refused.
        if not 4 <= duration <= 15 or duration != int(duration):
            raise reject(f"Invalid duration {duration}. Supported range is 4 to 15 seconds.", "duration")
    with _under("metadata"):
        legacy = field(metadata, "duration", int)
    if legacy is not None:
        if seconds is not None or duration is not None:
            raise reject("Do not combine metadata.duration with seconds or duration.", "metadata.duration")
        if not 4 <= legacy <= 15:
            raise reject(f"Invalid duration {legacy}. Supported range is 4 to 15 seconds.", "metadata.duration")
    for value in (seconds, duration, legacy):
        if value is not None:
            return int(value)
    return 5  # undocumented default; Seedance's own is 5 s


def _shape(body: dict[str, Any], metadata: dict[str, Any]) -> tuple[str, str]:
    """Resolution and ratio from ``resolution``/``ratio`` (or their metadata twins) and the Sora ``size``."""
    resolution = _legacy(body, metadata, "resolution", lambda where, key: one_of(where, key, RESOLUTIONS))
    ratio = _legacy(body, metadata, "ratio", lambda where, key: one_of(where, key, RATIOS))
    size = field(body, "size", str)
    if size is not None:
        match = SIZE_PATTERN.match(size)
        if match is None:
            raise reject(f"size {size!r} must be WIDTHxHEIGHT, e.g. 1280x720", "size")
        # Undocumented: a size is mapped to the nearest upstream resolution and ratio ("to avoid
        # mismatches with upstream enumerations" implies such a mapping); one that contradicts an
        # explicit resolution or ratio is refused rather than silently overridden.
        size_resolution, size_ratio = _nearest(int(match[1]), int(match[2]))
        if resolution not in (None, size_resolution) or ratio not in (None, "adaptive", "auto", size_ratio):
            raise reject(f"size {size} contradicts resolution/ratio; prefer resolution and ratio alone", "size")
        resolution, ratio = resolution or size_resolution, ratio or size_ratio
    # Undocumented defaults: 720p, and 16:9 (the docs ask for an explicit ratio without an input asset).
    return resolution or "720p", ratio or "16:9"


def _nearest(width: int, height: int) -> tuple[str, str]:
    """The upstream ratio closest in shape to ``width`` x ``height``, then the resolution closest in area."""
    named = [ratio for ratio in RATIOS if ":" in ratio]
    ratio = min(named, key=lambda r: abs(math.log(_ratio_value(r) * height / width)))
    resolution = min(SIZES, key=lambda res: abs(math.prod(SIZES[res][ratio]) - width * height))
    return resolution, ratio


def _ratio_value(ratio: str) -> float:
    across, down = ratio.split(":")
    return int(across) / int(down)


def _media(body: dict[str, Any], metadata: dict[str, Any]) -> list[MediaRef]:
    """``image``, ``ref_images`` and ``metadata.content[]``: shapes, URL forms and role pairings.

    Undocumented: ``image`` is taken as the first frame (image-to-video), ``ref_images`` as references.
    """
    refs: list[MediaRef] = []
    image = field(body, "image", str)
    if image is not None:
        _image_source(image, "image")
        refs.append(MediaRef("image", "first_frame", image))
    ref_images = field(body, "ref_images", list)
    for index, item in enumerate(ref_images or []):
        _image_source(item, f"ref_images[{index}]")
        refs.append(MediaRef(f"ref_images[{index}]", "reference_image", item))
    content = field(metadata, "content", list)
    roles: list[str] = []
    for index, item in enumerate(content or []):
        where = f"metadata.content[{index}]"
        if not isinstance(item, dict):
            raise reject(f"{where} must be an object", where)
        with _under(where):
            kind = one_of(item, "type", ("image_url", "video_url", "audio_url"), required=True)
            role = one_of(item, "role", tuple(ROLE_TYPES))  # optional: "omit when no special role is needed"
            holder = field(item, kind, dict, required=True)
        if role is not None and ROLE_TYPES[role] != kind:
            raise reject(f"{where}: role {role} does not go with type {kind}", f"{where}.role")
        with _under(f"{where}.{kind}"):
            url = field(holder, "url", str, required=True)
        _public_url(url, f"{where}.{kind}.url")
        refs.append(MediaRef(f"{where}.{kind}.url", role or DEFAULT_ROLES[kind], url))
        if role is not None:
            roles.append(role)
    # Undocumented here, upstream Seedance's rule: one first frame and one last frame at most.
    for frame in ("first_frame", "last_frame"):
        if roles.count(frame) > 1:
            raise reject(f"metadata.content has more than one {frame}", "metadata.content")
    _upstream_input_rules(refs)
    return refs


def _upstream_input_rules(refs: list[MediaRef]) -> None:
    """Upstream Seedance 2.0's rules on the inputs of one request (gateways.md section 6, content[] items).

    Undocumented: how InfinityBlue reports the upstream's refusal; a 400 naming ``metadata.content`` at
    submit is a guess.
    """
    roles = [ref.role for ref in refs]
    for role, limit in MAX_REFERENCES.items():
        if roles.count(role) > limit:
            raise reject(f"at most {limit} {role.replace('_', ' ')}s, got {roles.count(role)}", "metadata.content")
    if len(refs) > MAX_FILES:
        raise reject(f"at most {MAX_FILES} media files in all, got {len(refs)}", "metadata.content")
    if "reference_audio" in roles and all(role == "reference_audio" for role in roles):
        # "Cannot be the only input: needs >= 1 image or video."
        raise reject("audio cannot be the only input: add at least one image or video", "metadata.content")


def _image_source(value: Any, name: str) -> None:
    """``image``/``ref_images`` take "URL or Base64": an http(s) URL or a ``data:image/...;base64,`` URI.

    Undocumented: bare Base64 without the data-URI prefix is refused; the generic route of the same
    spec calls its Base64 form a "data URI".
    """
    if not isinstance(value, str) or not value:
        raise reject(f"{name} must be a non-empty string", name)
    if value[:5].lower() == "data:":
        prefix = DATA_IMAGE.match(value)
        if prefix is None or prefix.end() == len(value):
            raise reject(f"{name} is not a base64 image data URI (data:image/<format>;base64,<data>)", name)
        return
    _http_url(value, name)


def _public_url(value: str, name: str) -> None:
    """``metadata.content`` URLs: "publicly accessible", never "private network addresses".

    Data URIs are refused here (unlike ``image``): the spec describes only a public URL of a media file.
    Private and link-local IP literals are refused at submit; the real service would fail to fetch them
    later, and an early 400 is the strict reading. Loopback is the exception: on this machine it stands
    for the public internet (test object stores and file servers listen there), so such URLs are fetched
    at submit like any other, and a task fails only if the fetch does.
    """
    host = _http_url(value, name)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not (address.is_global or address.is_loopback):
        raise reject(f"{name} must be publicly accessible, not a private network address", name)


def _http_url(value: str, name: str) -> str:
    """The lower-case host of an http(s) URL; a 400 naming ``name`` for anything else."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme.lower() not in ("http", "https"):
        raise reject(f"{name} must be an http(s) URL: {value[:60]!r}", name)
    return host.lower()
