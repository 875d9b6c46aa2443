"""JimmyAI (jimmyai.cn): one create endpoint whose ``model`` value picks a "route", each with its own rules.

Flat JSON body (``images``, ``first_image``, ``last_image``, ``reference_videos``, ``reference_audios``),
replies wrapped in ``{"code": "20000", "msg": "ok", "data": {...}}`` with a *string* business code, and
status words ``queued``/``pending``/``submitted``, ``processing``, ``completed``, ``failed``. There is no
cancel endpoint. Facts come from the vendor's route pages (docs.jimmyai.cn); where they are silent the
choice made is commented next to the code that makes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_seedance.exceptions import (
    ContentModerationError,
    GatewayError,
    Problem,
    ServerError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpCall, HttpResponse, state_from
from airflow_provider_seedance.gateways.delivery import AssetState
from airflow_provider_seedance.gateways.fields import percent, text, unix_time
from airflow_provider_seedance.gateways.spec import (
    ASSET_ONLY,
    URL_ONLY,
    URL_OR_ASSET,
    ModelSpec,
    every_media,
    gateway_wide,
    seconds,
)
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import InputMode, TaskState, TaskStatus, VideoRequest

# JimmyAI documents none of seed, watermark, camera_fixed, return_last_frame or generate_audio on any
# route, so every spec refuses them; a user who knows better can still send them through ``extra``.
# The prompt is required on every route page. Reference audio is documented to pair with images, a
# video *or first/last frames*, unlike the upstream rule.
_UNDOCUMENTED = {
    "audio_with_frames": True,
    "prompt_required": True,
    "seed_range": None,
    "generate_audio": False,
    "camera_fixed": False,
    "watermark": False,
    "return_last_frame": False,
}


# JimmyAI's pages give no media limits but MD's "no GIF". Its Full route's likely upstream (GlobalAI's SD2
# Manxue asset audit) gives images an aspect ratio of 0.4-2.5, ends included, and sides of 300-6000 px [I];
# everything else is the upstream's.
MEDIA_LIMITS = replace(UPSTREAM_MEDIA_LIMITS, image=replace(UPSTREAM_MEDIA_LIMITS.image, aspect_exclusive=False))
MD_MEDIA_LIMITS = replace(MEDIA_LIMITS, image=replace(MEDIA_LIMITS.image, formats=MEDIA_LIMITS.image.formats - {"gif"}))


# Every known route sells Seedance 2.0, whose mixed references are "<= 12" in all upstream (gateways.md
# section 6, "Modes"). JimmyAI's pages name no total: that the upstream's holds through every route is a
# guess. It binds where the per-kind caps allow more (9+3+3); MD's and Fast I2V's own caps stay below it.
SEEDANCE_2_MAX_FILES = 12


def _spec(**fields: Any) -> ModelSpec:
    return ModelSpec(
        **{**_UNDOCUMENTED, "media_limits": MEDIA_LIMITS, "max_reference_files": SEEDANCE_2_MAX_FILES, **fields}
    )


# The Full route's ratio list is given as examples, spelling "Adaptive" with a capital; the request takes
# the spelling every other gateway uses ("adaptive") as well as the page's, and sends the page's.
FULL_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive", "Adaptive")
FULL_WIRE_RATIOS = {"adaptive": "Adaptive"}
MD_RATIOS = ("16:9", "9:16", "1:1")
STD_RATIOS = (*MD_RATIOS, "4:3", "3:4", "21:9")
FOUR_TO_FIFTEEN = seconds(4, 15)


def _full_route(resolution: str) -> ModelSpec:
    # "Full" (满血版): every input must be an audited asset:// id; raw URLs make the request fail.
    # The model name fixes the resolution and the page has no resolution field, so a ``resolution``
    # is accepted only when it agrees with the name (and is then not sent). The page does not give a
    # duration range, so none is checked here; reference counts keep the upstream Seedance 2.0 limits.
    return _spec(
        resolutions=(resolution,),
        ratios=FULL_RATIOS,
        **every_media(ASSET_ONLY),
    )


# SP economy / official: inputs come from JimmyAI's SP asset library as asset://{asset_id}. The ZH SP
# page lists resolution 480p/720p (default)/1080p; ratios are only examples there, so not checked.
SP = _spec(
    durations=FOUR_TO_FIFTEEN,
    resolutions=("480p", "720p", "1080p"),
    **every_media(ASSET_ONLY),
)
# Mini: the page does not say how media is addressed. asset:// ids belong to other routes' libraries
# (SP, Full) and data: URIs appear nowhere in JimmyAI's docs, so only public URLs pass.
MINI = _spec(
    durations=FOUR_TO_FIFTEEN,
    resolutions=("480p", "720p", "1080p"),
    **every_media(URL_ONLY),
)
MINI_SP = _spec(
    durations=FOUR_TO_FIFTEEN,
    resolutions=("480p", "720p"),
    **every_media(URL_ONLY),
)
# The fixed-720p routes ignore ``resolution`` silently; anything but 720p is refused so nobody pays for
# a 720p video believing it is 1080p.
MD = _spec(
    durations=FOUR_TO_FIFTEEN,
    resolutions=("720p",),
    ratios=MD_RATIOS,
    # First and last frame go as a pair: a first frame alone is not a mode MD takes.
    input_modes=frozenset({InputMode.TEXT, InputMode.FIRST_LAST_FRAME, InputMode.REFERENCE}),
    max_prompt_chars=5000,
    max_reference_images=4,
    max_reference_videos=3,
    max_reference_audios=0,
    media_limits=MD_MEDIA_LIMITS,
    **every_media(URL_ONLY),
)
# Fast I2V: image inputs only. Its page marks every image field optional, so text-only is not refused.
FAST_I2V = _spec(
    durations=seconds(1, 15),
    resolutions=("720p",),
    ratios=MD_RATIOS,
    max_prompt_chars=5000,
    max_reference_images=9,
    max_reference_videos=0,
    max_reference_audios=0,
    **every_media(URL_ONLY),
)
# STD: the page caps images (9) and audios (3) but gives no cap for reference videos; the upstream
# Seedance 2.0 limit of 3 is kept.
STD = _spec(
    durations=FOUR_TO_FIFTEEN,
    resolutions=("720p",),
    ratios=STD_RATIOS,
    max_prompt_chars=5000,
    max_reference_images=9,
    max_reference_videos=3,
    max_reference_audios=3,
    **every_media(URL_ONLY),
)
# A model this release does not know: the routes' union. URLs and asset ids are both documented forms;
# data: URIs are documented nowhere on JimmyAI.
GATEWAY_WIDE = gateway_wide(**{**_UNDOCUMENTED, "media_limits": MEDIA_LIMITS, **every_media(URL_OR_ASSET)})

# The Full route's models, each with the resolution its name fixes.
FULL_MODELS = {"sd2_mx_720p": "720p", "sd2_mx_1080p": "1080p", "sd2_mx_2k": "2k", "sd2_mx_4k": "4k"}
MODELS: Mapping[str, ModelSpec] = {
    **{model: _full_route(resolution) for model, resolution in FULL_MODELS.items()},
    "seedance2.0-sp": SP,
    "seedance2.0-fast-sp": SP,
    "seedance2.0-of-sp": SP,
    "seedance2.0-of-fast-sp": SP,
    "seedance2.0-mini": MINI,
    "seedance2.0-mini-video": MINI,
    "seedance2.0-mini-sp": MINI_SP,
    "seedance2.0-md": MD,
    "seedance2.0-fast-md": MD,
    "seedance2.0-fast-i2v": FAST_I2V,
    "seedance2.0-std": STD,
}
# Routes whose pages have a ``resolution`` field. The others either take it from the model name (Full)
# or ignore it (fixed 720p), so it is validated but not sent. Unknown models get it when it is given.
SP_MODELS = frozenset({"seedance2.0-sp", "seedance2.0-fast-sp", "seedance2.0-of-sp", "seedance2.0-of-fast-sp"})
RESOLUTION_FIELD = SP_MODELS | {"seedance2.0-mini", "seedance2.0-mini-video", "seedance2.0-mini-sp"}
NO_GIF = frozenset({"seedance2.0-md", "seedance2.0-fast-md"})
ORIENTATIONS = ("landscape", "portrait")

# The SP routes take asset://{asset_id} from JimmyAI's SP asset library: upload by URL, wait for Active.
SP_ASSETS_PATH = "api/open-api/v1/seedance/sp/assets"
# Asset endpoints answer {"code": 0, "msg": "ok", ...} with an integer code, unlike the video endpoints.
ASSET_SUCCESS_CODE = "0"
ASSET_STATES = {"Processing": AssetState.PROCESSING, "Active": AssetState.ACTIVE, "Failed": AssetState.FAILED}

# ``duration`` is required by the create endpoint; the route pages give 5 as its default, which is what
# the gateway's own upstreams would use, so an unset duration is sent as 5.
DEFAULT_DURATION = 5

SUCCESS_CODE = "20000"
STATES = {
    "queued": TaskState.QUEUED,
    "pending": TaskState.QUEUED,
    "submitted": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}
# "The video download URL (video_url) is valid for 3 days."
RESULT_URL_LIFETIME = timedelta(days=3)
# "PROVIDER_MODERATION_ERROR: TRADEMARK" -> "PROVIDER_MODERATION_ERROR"; only a leading UPPER_CASE token
# followed by a colon counts, so prose such as "Read timed out" yields no code.
_LEADING_CODE = re.compile(r"^\s*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)\s*:")


class JimmyAiGateway(Gateway):
    name = "jimmyai"
    default_base_url = "https://www.jimmyai.cn"
    submit_path = "api/open-api/v1/seedance/videos"
    status_path = "api/open-api/v1/videos/{task_id}"
    cancel_path = None
    models = MODELS
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset(
        {
            "model",
            "prompt",
            "duration",
            "resolution",
            "ratio",
            "images",
            "first_image",
            "last_image",
            "reference_videos",
            "reference_audios",
        }
    )

    asset_library_models = SP_MODELS
    asset_library_kinds = frozenset({"image", "video", "audio"})

    # ---- validation -------------------------------------------------------------------------

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        orientation = request.extra.get("orientation")
        if orientation is not None:
            if orientation not in ORIENTATIONS:
                yield Problem("extra.orientation", orientation, f"one of {', '.join(ORIENTATIONS)}")
            elif request.ratio is not None:
                # The gateway drops orientation silently when ratio is set; say so instead.
                yield Problem("extra.orientation", orientation, "ignored when ratio is set; send only one of them")
        if request.model in NO_GIF:
            images = [
                ("first_frame", request.first_frame),
                ("last_frame", request.last_frame),
                *((f"reference_images[{i}]", uri) for i, uri in enumerate(request.reference_images)),
            ]
            for name, uri in images:
                if uri is not None and _is_gif(uri):
                    yield Problem(name, uri, "GIF images are not accepted by this model")

    # ---- calls --------------------------------------------------------------------------------

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "duration": request.duration if request.duration is not None else DEFAULT_DURATION,
        }
        if request.prompt:
            body["prompt"] = request.prompt
        if request.reference_images:
            body["images"] = list(request.reference_images)
        if request.first_frame:
            body["first_image"] = request.first_frame
        if request.last_frame:
            body["last_image"] = request.last_frame
        if request.reference_videos:
            body["reference_videos"] = list(request.reference_videos)
        if request.reference_audios:
            body["reference_audios"] = list(request.reference_audios)
        if request.ratio is not None:
            full = request.model in FULL_MODELS
            body["ratio"] = FULL_WIRE_RATIOS.get(request.ratio, request.ratio) if full else request.ratio
        if request.resolution is not None and (request.model in RESOLUTION_FIELD or request.model not in self.models):
            body["resolution"] = request.resolution
        return body

    def build_asset_create(self, name: str, media: str, url: str) -> HttpCall:
        return HttpCall("POST", f"{SP_ASSETS_PATH}/upload", json={"name": name, "type": media, "url": url})

    def build_asset_status(self, asset_ids: Sequence[str]) -> HttpCall:
        return HttpCall("POST", f"{SP_ASSETS_PATH}/status", json={"asset_ids": list(asset_ids)})

    # ---- replies ------------------------------------------------------------------------------

    def parse_asset_create(self, response: HttpResponse) -> str:
        data = self._asset_data(response)
        asset_id = text(data.get("asset_id"))
        if not asset_id:
            raise UnexpectedResponseError(f"asset upload reply has no asset_id: {data!r}", gateway=self.name)
        return asset_id

    def parse_asset_status(self, response: HttpResponse) -> dict[str, AssetState]:
        items = self._asset_data(response).get("items")
        states: dict[str, AssetState] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and text(item.get("asset_id")):
                # An unknown word keeps the asset processing: the wait's own deadline then decides.
                states[str(item["asset_id"])] = ASSET_STATES.get(str(item.get("status")), AssetState.PROCESSING)
        return states

    def _asset_data(self, response: HttpResponse) -> dict[str, Any]:
        """The ``data`` of an asset endpoint's reply, whose success code is the integer 0."""
        if response.status_code >= 400:
            raise self.error_from(response)
        body = response.json_or_none()
        if not isinstance(body, dict):
            raise UnexpectedResponseError(f"expected a JSON object, got {response.content[:200]!r}", gateway=self.name)
        if str(body.get("code")) != ASSET_SUCCESS_CODE:
            error = self.parse_error_body(body) or ErrorBody(message=f"business code {body.get('code')!r}")
            raise self.make_error(response.status_code, error, self.retry_after(response))
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        data = _task_data(body)
        task_id = data.get("task_id") if data else None
        if data is None or not task_id:
            raise UnexpectedResponseError(f"submit reply has no task id: {body!r}", gateway=self.name)
        return self._task(str(task_id), data, body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        body = self._polled_json(response)
        data = _task_data(body)
        if not data or not data.get("task_id") or "status" not in data:
            raise UnexpectedResponseError(f"status reply is not a task: {body!r}", gateway=self.name)
        return self._task(str(data["task_id"]), data, body)

    def _polled_json(self, response: HttpResponse) -> Any:
        """``checked_json`` for a status poll, where a business error that no rule explains is retried.

        The task is paid for and may still finish. JimmyAI documents no business code but "20000"
        (gateways.md section 5, "Cancel / errors / limits"), so an unknown one on a poll, a transient
        "busy" say, is taken as the gateway's passing trouble, not as the task's end (a guess; nothing
        says either way); the trigger's deadline bounds the polling. A code that does mean something
        (moderation) keeps its class, as do HTTP error statuses (401/403 credentials, 404 unknown task).
        On submit the same reply stays an answer we cannot read, which the hook never resends.
        """
        reported = self.business_error(response.json_or_none()) if response.status_code < 400 else None
        if reported is None:
            return self.checked_json(response)
        error = self.make_error(response.status_code, reported, self.retry_after(response))
        if type(error) is not UnexpectedResponseError:
            raise error
        # No HTTP status: the exchange itself succeeded, and a poll's ServerError that no HTTP status
        # explains is one the hook's retry policy retries (hooks/retry.py).
        raise ServerError(
            f"{error.message} (in an HTTP {response.status_code} reply to a status poll)",
            gateway=self.name,
            code=error.code,
            request_id=error.request_id,
        )

    def business_error(self, body: Any) -> ErrorBody | None:
        """Any business code but "20000" (string or integer) is an error; so is an unwrapped error body."""
        if not isinstance(body, dict):
            return None
        if "code" not in body:
            # The older (ZH, jimiai.com) query page shows the task unwrapped; a 200 that is no task but
            # reads as an error (say {"error": {...}}) is raised as one.
            return None if "task_id" in body else self.parse_error_body(body)
        if str(body["code"]) == SUCCESS_CODE:
            return None
        code = str(body["code"])
        return self.parse_error_body(body) or ErrorBody(message=f"business code {code!r}", code=code)

    def _task(self, task_id: str, data: Mapping[str, Any], raw: Any) -> TaskStatus:
        # A create reply may omit the status; a freshly created task is queued.
        status = data.get("status")
        state = TaskState.QUEUED if status is None else state_from(str(status).lower(), STATES, self.name)
        result = data.get("result")
        result = result if isinstance(result, dict) else {}
        message = data.get("error_message") or None
        finished = unix_time(data.get("completed_at"))
        progress = data.get("progress")
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=percent(progress),
            video_url=result.get("video_url") or None,
            # ``result.image_url`` exists but its meaning (cover? last frame?) is undocumented, and nothing
            # in the request asks for a last frame, so it is not presented as one; it stays in ``raw``.
            last_frame_url=None,
            video_expires_at=(
                finished + RESULT_URL_LIFETIME if state is TaskState.SUCCEEDED and finished is not None else None
            ),
            error_code=_leading_code(message),
            error_message=str(message) if message is not None else None,
            raw=raw,
        )

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        # No error envelope is documented: read the video endpoints' {code, msg} shape and the common
        # {"error": {...}} shape, whichever is there.
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        if isinstance(error, dict):
            source: Mapping[str, Any] = error
        elif isinstance(error, str) and error:
            source = {"message": error, "code": body.get("code")}
        else:
            source = body
        message = source.get("msg") or source.get("message")
        if not message:
            return None
        code = source.get("code")
        request_id = source.get("request_id") or body.get("request_id")
        return ErrorBody(
            message=str(message),
            code=str(code) if code is not None else None,
            request_id=str(request_id) if request_id else None,
        )

    def classify(self, code: str | None, message: str) -> type[GatewayError] | None:
        # No business codes are documented. The one moderation string seen in the wild starts with an
        # UPPER_CASE token naming moderation; anything else falls back to the HTTP status.
        token = _leading_code(message) or code or ""
        if "MODERATION" in token.upper():
            return ContentModerationError
        return super().classify(code, message)


def _is_gif(uri: str) -> bool:
    if uri[:5].lower() == "data:":
        return uri[5:15].lower().startswith("image/gif")
    return urlsplit(uri).path.lower().endswith(".gif")


def _leading_code(message: Any) -> str | None:
    match = _LEADING_CODE.match(message) if isinstance(message, str) else None
    return match.group(1) if match else None


def _task_data(body: Any) -> dict[str, Any] | None:
    """The task object: inside the ``data`` envelope, or the body itself in the older unwrapped shape."""
    if not isinstance(body, dict):
        return None
    data = body.get("data") if "code" in body else body
    return data if isinstance(data, dict) else None
