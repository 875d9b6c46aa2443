"""Simulated apimart.ai: ``/v1/videos/generations``, ``/v1/tasks/{task_id}`` and ``/v1/uploads/images``, from its docs.

Create takes flat fields (``model``, ``prompt``, ``size``, ``resolution``, ``duration`` ...) and media as URL
arrays (``image_urls`` or ``image_with_roles``, ``video_urls``, ``audio_urls``); it answers
``{"code": 200, "data": [{"status": "submitted", "task_id": ...}]}``. The shared task endpoint answers
``{"code": 200, "data": {...}}`` with the video at ``data.result.videos[0].url[0]`` (``url`` is an array).
Errors carry no top-level ``code``: ``{"error": {"code": <HTTP status>, "message", "type"}}``.
No cancel endpoint is documented, so none is served.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web

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

MODELS = (
    "doubao-seedance-2.0",
    "doubao-seedance-2.0-fast",
    "doubao-seedance-2.0-face",
    "doubao-seedance-2.0-fast-face",
)
# The EN page: 1080p is "only supported by doubao-seedance-2.0-face and doubao-seedance-2.0".
FULL_HD_MODELS = frozenset({"doubao-seedance-2.0", "doubao-seedance-2.0-face"})
# "Asset URL is only supported by doubao-seedance-2.0 and doubao-seedance-2.0-fast models."
ASSET_MODELS = frozenset({"doubao-seedance-2.0", "doubao-seedance-2.0-fast"})
SIZES = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive")
ROLES: tuple[Role, ...] = ("first_frame", "last_frame", "reference_image")
# Only web_search appears in the docs; other tool types are refused rather than guessed at.
TOOL_TYPES = ("web_search",)
LANGUAGES = ("zh", "en", "ko", "ja")
PROMPT_LIMIT = 4000
MAX_IMAGES, MAX_VIDEOS, MAX_AUDIOS = 9, 3, 3
TOP_LEVEL = frozenset(
    {
        "model",
        "prompt",
        "duration",
        "size",
        "resolution",
        "seed",
        "generate_audio",
        "return_last_frame",
        "tools",
        "image_urls",
        "image_with_roles",
        "video_urls",
        "audio_urls",
    }
)
# Each error type and the message the CN copy documents for it; the specific reason follows after a colon.
DOCUMENTED: dict[ErrorKind, tuple[str, str]] = {
    ErrorKind.INVALID_REQUEST: ("invalid_request_error", "请求参数无效"),
    ErrorKind.AUTHENTICATION: ("authentication_error", "身份验证失败，请检查您的API密钥"),
    ErrorKind.INSUFFICIENT_CREDIT: ("payment_required", "账户余额不足，请充值后再试"),
    # The type of a 404 is not documented; "task not found or expired" is the documented wording.
    ErrorKind.NOT_FOUND: ("invalid_request_error", "任务不存在或已过期"),
    ErrorKind.RATE_LIMITED: ("rate_limit_error", "请求过于频繁，请稍后再试"),
    ErrorKind.SERVER_ERROR: ("server_error", "服务器内部错误，请稍后重试"),
    # Only documented as a 500 ("build_request_failed: content moderation failed ..."); see error().
    ErrorKind.MODERATION: ("server_error", "内容审核未通过"),
}
FORBIDDEN = ("permission_error", "访问被禁止，您没有权限访问此资源")
BAD_GATEWAY = ("bad_gateway", "网关错误，服务器暂时不可用")
# The failure of a finished task, in ``data.error``. Its exact shape is undocumented: this reuses the error
# object's fields (code, message, type) and the only moderation wording apimart publishes (a 500).
MODERATION_MESSAGES = {
    "en": "build_request_failed: content moderation failed: sensitive content detected",
    "zh": "build_request_failed: 内容审核未通过：检测到敏感内容",
}
TIMEOUT_MESSAGES = {"en": "task timed out before it started", "zh": "任务排队超时"}

# Uploads: the documented formats by their magic bytes, the size limit, and how long the URL lives.
UPLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_TTL_SECONDS = 72 * 3600
UPLOAD_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str
    created_at: float  # simulated epoch seconds


class ApimartSim(SimGateway):
    name = "apimart"

    def __init__(self) -> None:
        # Uploaded images live in memory, keyed by the last segment of their URL.
        self.uploads: dict[str, Upload] = {}

    def reset(self) -> None:
        self.uploads.clear()

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/v1/videos/generations", "submit", self.create),
            Route("GET", "/v1/tasks/{task_id}", "status", self.get),
            Route("POST", "/v1/tasks/batch", "status", self.batch, batch=True),
            Route("POST", "/v1/uploads/images", "upload", self.upload),
            # Where upload URLs point (the real ones are https://upload.apimart.ai/f/image/<id>-<filename>).
            # Its own op, so download faults scripted for videos are not spent on images.
            Route("GET", "/f/image/{name}", "uploaded_image", self.uploaded_image, public=True),
        ]

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        # The HTTP status is assumed to equal error.code (the docs show only the body). There is no
        # ``param`` field in apimart's shape, so the messages name the field themselves.
        kind_word, documented = DOCUMENTED[kind]
        if status == 403:
            kind_word, documented = FORBIDDEN
        elif status == 502:
            kind_word, documented = BAD_GATEWAY
        elif kind is ErrorKind.MODERATION and status < 500:
            kind_word = "invalid_request_error"
        text = f"{documented}: {message}" if message else documented
        return web.json_response({"error": {"code": status, "message": text, "type": kind_word}}, status=status)

    # ---- create ---------------------------------------------------------------------------------

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, TOP_LEVEL)
        model = one_of(body, "model", MODELS, required=True)
        images, frames, videos, audios = _media(body, model)
        prompt = field(body, "prompt", str)
        if prompt is not None and len(prompt) > PROMPT_LIMIT:
            raise reject(f"prompt is longer than {PROMPT_LIMIT} characters", "prompt")
        if not (prompt and prompt.strip()) and not (images or frames or videos):
            raise reject("missing required parameter: prompt (text-to-video needs a prompt)", "prompt")
        # The CN parameter block says 4-15 s; the EN text and the comparison table say 5-15 s. The wider
        # range is accepted so a client sending 4 is not refused for a limit the vendor contradicts.
        duration = int_in(body, "duration", 4, 15)
        size = one_of(body, "size", SIZES)
        resolutions = ("480p", "720p", "1080p") if model in FULL_HD_MODELS else ("480p", "720p")
        resolution = one_of(body, "resolution", resolutions)
        # Documented only as "integer"; apimart relays to Seedance, whose range is -1 .. 2^32-1.
        seed = int_in(body, "seed", -1, 2**32 - 1)
        audio = field(body, "generate_audio", bool)
        last_frame = field(body, "return_last_frame", bool)
        _tools(body)
        task_id = _task_id()
        inputs = await sim.receive_inputs(self._refs(images, frames, videos, audios))
        sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt or "",
            resolution=resolution or "480p",
            ratio=size or "16:9",  # "adaptive" renders as 16:9
            duration=duration or 5,
            audio=bool(audio),  # the CN copy's default is false
            return_last_frame=bool(last_frame),
            params={"size": size or "16:9", "resolution": resolution or "480p", "seed": seed},
            inputs=inputs,
        )
        return web.json_response({"code": 200, "data": [{"status": "submitted", "task_id": task_id}]})

    def _refs(
        self, images: list[str], frames: list[RoledImage], videos: list[str], audios: list[str]
    ) -> list[MediaRef]:
        """The media inputs. A single image without video or audio is image-to-video, i.e. the first frame;
        several images are references. URLs of this gateway's own uploads are recorded as uploads."""
        single = len(images) == 1 and not (videos or audios)
        refs = [
            MediaRef(f"image_with_roles[{i}].url", item["role"], item["url"], self._issued(item["url"]))
            for i, item in enumerate(frames)
        ]
        refs += [
            MediaRef(f"image_urls[{i}]", "first_frame" if single else "reference_image", url, self._issued(url))
            for i, url in enumerate(images)
        ]
        refs += [MediaRef(f"video_urls[{i}]", "reference_video", url) for i, url in enumerate(videos)]
        refs += [MediaRef(f"audio_urls[{i}]", "reference_audio", url) for i, url in enumerate(audios)]
        return refs

    def _issued(self, url: str) -> bool:
        """Whether ``url`` is one of the upload URLs this gateway handed out."""
        prefix = f"/{self.name}/f/image/"
        try:
            path = urlsplit(url).path
        except ValueError:  # not a URL at all: the fetch will say so
            return False
        return path.startswith(prefix) and path[len(prefix) :] in self.uploads

    # ---- status ---------------------------------------------------------------------------------

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        language = request.query.get("language", "en")
        if language not in LANGUAGES:
            raise reject(f"parameter language={language!r} is not one of {', '.join(LANGUAGES)}", "language")
        task = sim.find_task(self.name, request.match_info["task_id"], "status")
        return web.json_response({"code": 200, "data": self._task_data(request, sim, task, language)})

    async def batch(self, request: web.Request, sim: GatewayHost) -> web.Response:
        """``POST /v1/tasks/batch`` with ``{"task_ids": [...]}``: the known ones as a ``data`` list (our guess at
        the undocumented reply: the status call's task objects)."""
        body = await json_object(request)
        task_ids = field(body, "task_ids", list, required=True)
        if not task_ids or not all(isinstance(task_id, str) for task_id in task_ids):
            raise reject("task_ids must be a non-empty list of task id strings", "task_ids")
        tasks = sim.tasks_named(request, self.name, task_ids)
        return web.json_response({"code": 200, "data": [self._task_data(request, sim, task, "en") for task in tasks]})

    def _task_data(self, request: web.Request, sim: GatewayHost, task: SimTask, language: str) -> dict[str, Any]:
        config = sim.config
        view = task.view(config)
        data: dict[str, Any] = {
            "id": task.task_id,
            "status": _STATUS[view.state],
            "progress": view.progress,
            "created": int(view.created_at),
            "estimated_time": round(config.queue_seconds + config.run_seconds),
        }
        if view.state is SimState.SUCCEEDED:
            assert view.finished_at is not None
            assert view.url_expires_at is not None
            expires_at = int(view.url_expires_at)
            data["completed"] = int(view.finished_at)
            data["actual_time"] = round(view.finished_at - view.created_at)
            data["result"] = {"videos": [{"url": [sim.result_url(request, task)], "expires_at": expires_at}]}
            if task.return_last_frame:
                # "The task result will additionally return the URL of the video's last frame image", in a field
                # the docs never name. Our guess: ``result.last_frame_url``, the name Seedance itself (which
                # apimart relays) gives that URL. Not an image list: that reads like a cover or an image task.
                data["result"]["last_frame_url"] = sim.result_url(request, task, "last_frame")
        elif view.state is SimState.FAILED and task.input_failure:
            data["error"] = {"code": 400, "message": task.input_failure, "type": "invalid_request_error"}
        elif view.state is SimState.FAILED:
            message = MODERATION_MESSAGES.get(language, MODERATION_MESSAGES["en"])
            data["error"] = {"code": 500, "message": message, "type": "server_error"}
        elif view.state is SimState.EXPIRED:
            # apimart has no "expired" status; a task that never started is reported as failed.
            message = TIMEOUT_MESSAGES.get(language, TIMEOUT_MESSAGES["en"])
            data["error"] = {"code": 504, "message": message, "type": "server_error"}
        return data

    # ---- uploads --------------------------------------------------------------------------------

    async def upload(self, request: web.Request, sim: GatewayHost) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            raise reject("missing file field: send multipart/form-data with a 'file' part", "file")
        reader = await request.multipart()
        found: tuple[str | None, bytearray] | None = None
        too_large = False
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "file" or found is not None:
                continue  # other parts are ignored; the whole body is read so the client sees the answer
            data = bytearray()
            while chunk := await part.read_chunk():
                if len(data) <= UPLOAD_LIMIT:
                    data.extend(chunk)
                too_large = too_large or len(data) > UPLOAD_LIMIT
            found = (part.filename, data)
        if found is None:
            raise reject("missing file field: the multipart body has no 'file' part", "file")
        if too_large:
            raise RequestRejected(413, ErrorKind.INVALID_REQUEST, "file is larger than 20 MB", param="file")
        filename, data = found
        content_type = _image_type(bytes(data[:16]))
        if content_type is None:
            raise reject("file has an unsupported format; use JPEG, PNG, WebP or GIF", "file")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", (filename or "").rsplit("/", 1)[-1]).lstrip(".")
        safe = safe or f"image.{UPLOAD_EXTENSIONS[content_type]}"
        created = sim.now()
        key = f"{int(created * 1000)}-{secrets.token_hex(4)}-{safe}"
        self.uploads[key] = Upload(bytes(data), content_type, created)
        return web.json_response(
            {
                "url": f"{request.scheme}://{request.host}/{self.name}/f/image/{key}",
                "filename": safe,
                "content_type": content_type,
                "bytes": len(data),
                "created_at": int(created),
            }
        )

    async def uploaded_image(self, request: web.Request, sim: GatewayHost) -> web.Response:
        upload = self.uploads.get(request.match_info["name"])
        if upload is None:
            return web.Response(status=404, text="no such file\n")
        if sim.now() >= upload.created_at + UPLOAD_TTL_SECONDS:
            return web.Response(status=403, text="Request has expired\n", content_type="text/plain")
        return web.Response(body=upload.data, headers={"Content-Type": upload.content_type})


_STATUS = {
    SimState.QUEUED: "pending",
    SimState.RUNNING: "processing",
    SimState.SUCCEEDED: "completed",
    SimState.FAILED: "failed",
    SimState.CANCELLED: "cancelled",
    SimState.EXPIRED: "failed",
}


def _task_id() -> str:
    """``task_`` and a ULID (26 Crockford base-32 characters), like the documented ``task_01KMCGF6BQ...``."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "task_" + "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _image_type(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _url_list(body: dict[str, Any], name: str, limit: int) -> list[str]:
    values = field(body, name, list)
    if values is None:
        return []
    if not values:
        raise reject(f"parameter {name} must not be an empty array", name)
    if len(values) > limit:
        raise reject(f"parameter {name} takes at most {limit} items, got {len(values)}", name)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise reject(f"parameter {name}[{index}] must be a string URL", name)
    return values


def _check_source(url: Any, where: str, name: str, model: str) -> None:
    source = url_kind(url, where)
    if source == "data":
        raise reject(f"{where}: base64 data is no longer supported; upload the image and pass its URL", name)
    if source == "asset" and model not in ASSET_MODELS:
        raise reject(f"{where}: asset:// URLs are only supported by {' and '.join(sorted(ASSET_MODELS))}", name)


class RoledImage(TypedDict):
    """One checked item of ``image_with_roles``."""

    url: str
    role: Role


def _media(body: dict[str, Any], model: str) -> tuple[list[str], list[RoledImage], list[str], list[str]]:
    """Check the media arrays as documented; return image_urls, image_with_roles, video_urls and audio_urls."""
    images = _url_list(body, "image_urls", MAX_IMAGES)
    videos = _url_list(body, "video_urls", MAX_VIDEOS)
    audios = _url_list(body, "audio_urls", MAX_AUDIOS)
    roles = field(body, "image_with_roles", list)
    frames: list[RoledImage] = []
    if roles is not None:
        if images:
            raise reject("image_urls and image_with_roles cannot be used together", "image_with_roles")
        if videos or audios:
            other = "video_urls" if videos else "audio_urls"
            raise reject(f"image_with_roles cannot be used together with {other}", "image_with_roles")
        if not roles:
            raise reject("parameter image_with_roles must not be an empty array", "image_with_roles")
        if len(roles) > MAX_IMAGES:
            raise reject(f"parameter image_with_roles takes at most {MAX_IMAGES} items", "image_with_roles")
        for index, item in enumerate(roles):
            where = f"image_with_roles[{index}]"
            if not isinstance(item, dict):
                raise reject(f"{where} must be an object with url and role", "image_with_roles")
            check_known_fields(item, {"url", "role"})
            url = field(item, "url", str, required=True)
            role: Role = one_of(item, "role", ROLES, required=True)
            _check_source(url, f"{where}.url", "image_with_roles", model)
            frames.append({"url": url, "role": role})
        _check_roles([item["role"] for item in frames])
    for name, urls in (("image_urls", images), ("video_urls", videos), ("audio_urls", audios)):
        for index, url in enumerate(urls):
            _check_source(url, f"{name}[{index}]", name, model)
    if audios and not (images or videos):
        raise reject("audio_urls must be used together with image_urls or video_urls", "audio_urls")
    return images, frames, videos, audios


def _check_roles(roles: list[str]) -> None:
    """Frame rules apimart leaves implicit and the upstream model enforces: one first frame, an optional last
    frame after it, and no mixing of frames with reference images."""
    first, last = roles.count("first_frame"), roles.count("last_frame")
    if first > 1 or last > 1:
        raise reject("image_with_roles takes at most one first_frame and one last_frame", "image_with_roles")
    if last and not first:
        raise reject("image_with_roles: a last_frame needs a first_frame", "image_with_roles")
    if (first or last) and "reference_image" in roles:
        raise reject("image_with_roles cannot mix first/last frames with reference_image", "image_with_roles")


def _tools(body: dict[str, Any]) -> None:
    tools = field(body, "tools", list)
    for index, tool in enumerate(tools or []):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise reject(f"{where} must be an object like {{'type': 'web_search'}}", "tools")
        check_known_fields(tool, {"type"})
        if tool.get("type") not in TOOL_TYPES:
            raise reject(f"{where}.type={tool.get('type')!r} is not one of {', '.join(TOOL_TYPES)}", "tools")
