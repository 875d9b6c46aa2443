"""Simulated JimmyAI (jimmyai.cn) Seedance open API, written from its published docs only.

One create endpoint, ``POST /api/open-api/v1/seedance/videos``, serves every route: the ``model`` value
picks the route and with it the rules (duration range, resolution, ratios, media limits and where media
may come from). ``GET /api/open-api/v1/videos/{taskId}`` reports the task. The SP asset library lives
under ``/api/open-api/v1/seedance/sp/assets/`` (upload, detail, status). There is no cancel endpoint.

Documented reply shapes: video endpoints wrap ``data`` in ``{"code": "20000", "msg": "ok"}`` with a
**string** code; asset endpoints use ``{"code": 0, "msg": "ok"}`` with an **integer** code.

Assumptions where the docs are silent (each one a judgement call, not a documented fact):

* Errors. Non-20000 business codes are not documented. Every error, on every endpoint, is answered
  with a real HTTP status and ``{"code": "<status>00", "msg": "<message naming the field>", "data":
  null}``: "40000" invalid request, "40100" bad key, "40200" no credit, "40400" unknown task or asset,
  "42900" rate limited (with ``Retry-After``), "50000"/"50200"/"50300" server errors, "40001" input
  moderation. The code is a string, like the success code of the video endpoints.
* ``duration`` is required on every route (the field table says so, although the Mini pages mention a
  default of 5). The Full route's range is not given; 4-15 s is used, as on the other 2.0 routes.
* Routes whose ratios are not documented (Full aside, which lists them) take the upstream set.
  SP routes take ``resolution`` (billing is per second x resolution): 480p/720p/1080p, and no 1080p
  on the fast variants, as upstream. Fixed-720p routes accept any ``resolution`` string and ignore it.
  ``orientation`` belongs to the Full route only; elsewhere it is an unknown field.
* Media sources: the Full route takes any well-formed ``asset://{assetId}`` (its audit endpoint is not
  documented, so it is not simulated); SP routes take only Active ids from the SP library, of the
  matching asset type; every other route takes public URLs only (https only where the docs say
  "public https": MD and STD). ``last_image`` needs ``first_image`` on every route; Fast I2V needs
  at least one image; ``.gif`` paths count as GIFs on MD.
* Every output has an audio track (Seedance 2.0 generates sound and no route documents a switch).
  ``sd2_mx_2k`` / ``sd2_mx_4k`` render at 1080p size: the media table stops there.
* Create answers ``status: "submitted"``; a poll says ``queued`` (progress 0), ``processing`` (1-99),
  ``completed`` (100) or ``failed`` (0). ``completed_at``, ``result`` and ``error_message`` are null
  until they mean something. ``result.image_url`` is the last frame as a PNG (the cover). A task that
  outlives the execution limit in the queue fails with "Read timed out", a string clients have seen.
* Assets stay ``Processing`` for ``ASSET_PROCESSING_SECONDS`` simulated seconds, then turn ``Active``
  (or ``Failed`` when their url could not be fetched: it is fetched once, at upload). Tasks using
  ``asset://{asset_id}`` on SP routes receive the bytes fetched then. ``official_id`` appears once the asset is Active.
  The batch status call answers 404 for an unknown id rather than leaving it out. The asset endpoints
  count as the ``upload`` operation for statistics and faults.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from airflow_provider_seedance.simulator.inputs import FetchFailed, MediaRef, Role, download
from airflow_provider_seedance.simulator.tasks import SimState, SimTask

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator.host import GatewayHost

API = "/api/open-api/v1"
SP_ASSETS = f"{API}/seedance/sp/assets"
OK = "20000"
ASSET_OK = 0
ASSET_TYPES = ("image", "video", "audio", "text")
ASSET_PROCESSING_SECONDS = 5.0  # simulated seconds an uploaded asset stays Processing; tests may change it
PROMPT_LIMIT = 5000
MODERATION_MESSAGE = "PROVIDER_MODERATION_ERROR: TRADEMARK"
TIMEOUT_MESSAGE = "Read timed out"

UPSTREAM_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
FULL_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "Adaptive", "adaptive")
SMALL_RATIOS = ("16:9", "9:16", "1:1")
STD_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
ORIENTATIONS = {"landscape": "16:9", "portrait": "9:16"}
# The Full route's resolution comes from the model name; 2k and 4k render at 1080p (the largest size).
FULL_RESOLUTIONS = {"sd2_mx_720p": "720p", "sd2_mx_1080p": "1080p", "sd2_mx_2k": "1080p", "sd2_mx_4k": "1080p"}

MEDIA_FIELDS = ("images", "first_image", "last_image", "reference_videos", "reference_audios")
COMMON_FIELDS = frozenset({"model", "prompt", "duration", "ratio", *MEDIA_FIELDS})
# The asset type each media field needs, for SP library ids.
FIELD_ASSET_TYPE = {
    "images": "image",
    "first_image": "image",
    "last_image": "image",
    "reference_videos": "video",
    "reference_audios": "audio",
}
FIELD_ROLE: dict[str, Role] = {
    "images": "reference_image",
    "first_image": "first_frame",
    "last_image": "last_frame",
    "reference_videos": "reference_video",
    "reference_audios": "reference_audio",
}

ERROR_CODES = {
    ErrorKind.AUTHENTICATION: "40100",
    ErrorKind.INVALID_REQUEST: "40000",
    ErrorKind.INSUFFICIENT_CREDIT: "40200",
    ErrorKind.NOT_FOUND: "40400",
    ErrorKind.RATE_LIMITED: "42900",
    ErrorKind.SERVER_ERROR: "50000",
    ErrorKind.MODERATION: "40001",
}


@dataclass(frozen=True)
class RouteRules:
    """What one family of ``model`` values accepts."""

    family: str
    durations: tuple[int, int]
    ratios: tuple[str, ...]
    sources: str  # "asset" (any asset:// id), "library" (Active SP assets), "url" (http/https), "https"
    resolutions: tuple[str, ...] = ()  # accepted values; empty when the route is fixed or takes none
    fixed_resolution: str | None = "720p"  # None: chosen by the request (or the model name on Full)
    takes_resolution: bool = True
    takes_orientation: bool = False
    max_images: int = 9
    max_videos: int = 3
    max_audios: int = 3
    frames_as_pair: bool = False
    no_gif: bool = False
    needs_image: bool = False
    prompt_limit: int | None = None

    @property
    def fields(self) -> frozenset[str]:
        extra = {"resolution"} if self.takes_resolution else set()
        if self.takes_orientation:
            extra.add("orientation")
        return COMMON_FIELDS | extra


FULL = RouteRules(
    "Full", (4, 15), FULL_RATIOS, "asset", fixed_resolution=None, takes_resolution=False, takes_orientation=True
)
SP = RouteRules("SP", (4, 15), UPSTREAM_RATIOS, "library", ("480p", "720p", "1080p"), fixed_resolution=None)
SP_FAST = RouteRules("SP", (4, 15), UPSTREAM_RATIOS, "library", ("480p", "720p"), fixed_resolution=None)
MINI = RouteRules("Mini", (4, 15), UPSTREAM_RATIOS, "url", ("480p", "720p", "1080p"), fixed_resolution=None)
MINI_SP = RouteRules("Mini-SP", (4, 15), UPSTREAM_RATIOS, "url", ("480p", "720p"), fixed_resolution=None)
MD = RouteRules(
    "MD",
    (4, 15),
    SMALL_RATIOS,
    "https",
    max_images=4,
    max_audios=0,
    frames_as_pair=True,
    no_gif=True,
    prompt_limit=PROMPT_LIMIT,
)
FAST_I2V = RouteRules(
    "Fast I2V",
    (1, 15),
    SMALL_RATIOS,
    "url",
    max_videos=0,
    max_audios=0,
    needs_image=True,
    prompt_limit=PROMPT_LIMIT,
)
STD = RouteRules("STD", (4, 15), STD_RATIOS, "https", prompt_limit=PROMPT_LIMIT)

MODELS: dict[str, RouteRules] = {
    **dict.fromkeys(FULL_RESOLUTIONS, FULL),
    "seedance2.0-sp": SP,
    "seedance2.0-of-sp": SP,
    "seedance2.0-fast-sp": SP_FAST,
    "seedance2.0-of-fast-sp": SP_FAST,
    "seedance2.0-mini": MINI,
    "seedance2.0-mini-video": MINI,
    "seedance2.0-mini-sp": MINI_SP,
    "seedance2.0-md": MD,
    "seedance2.0-fast-md": MD,
    "seedance2.0-fast-i2v": FAST_I2V,
    "seedance2.0-std": STD,
}


@dataclass
class SpAsset:
    """One entry of the SP asset library; its status is derived from the simulated clock."""

    asset_id: str
    official_id: str
    name: str
    type: str
    url: str
    created_at: float  # simulated Unix seconds
    data: bytes | None  # what the url gave at upload; None when it could not be fetched

    def status(self, now: float) -> str:
        if now - self.created_at < ASSET_PROCESSING_SECONDS:
            return "Processing"
        return "Active" if self.data is not None else "Failed"


class JimmyAiSim(SimGateway):
    name = "jimmyai"

    def __init__(self) -> None:
        # Each Simulator builds its own gateway objects, so the SP asset library is per simulator.
        self.assets: dict[str, SpAsset] = {}

    def reset(self) -> None:
        self.assets.clear()

    def routes(self) -> list[Route]:
        return [
            Route("POST", f"{API}/seedance/videos", "submit", self.create),
            Route("GET", f"{API}/videos/{{task_id}}", "status", self.get),
            Route("POST", f"{SP_ASSETS}/upload", "upload", self.asset_upload),
            Route("POST", f"{SP_ASSETS}/detail", "upload", self.asset_detail),
            Route("POST", f"{SP_ASSETS}/status", "upload", self.asset_status),
        ]

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        # Assumed envelope (undocumented): the message already names the offending field.
        code = f"{status}00" if kind is ErrorKind.SERVER_ERROR else ERROR_CODES[kind]
        return web.json_response({"code": code, "msg": message, "data": None}, status=status)

    # ---- videos -----------------------------------------------------------------------------------

    async def create(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        model = field(body, "model", str, required=True)
        rules = MODELS.get(model)
        if rules is None:
            raise reject(f"parameter model={model!r} is not a known model; use one of {', '.join(MODELS)}", "model")
        check_known_fields(body, rules.fields)
        prompt = field(body, "prompt", str, required=True)
        if not prompt.strip():
            raise reject("parameter prompt must not be empty", "prompt")
        if rules.prompt_limit is not None and len(prompt) > rules.prompt_limit:
            raise reject(f"parameter prompt is longer than {rules.prompt_limit} characters ({model})", "prompt")
        duration = int_in(body, "duration", *rules.durations, required=True)
        assert duration is not None  # required=True
        resolution = self._resolution(body, model, rules)
        ratio = self._ratio(body, rules)
        media = self._check_media(body, model, rules, sim)
        task_id = f"vid_{secrets.token_hex(12)}"
        inputs = await sim.receive_inputs(media, assets=self._asset_bytes if rules.sources == "library" else None)
        task = sim.create_task(
            self.name,
            task_id,
            model=model,
            prompt=prompt,
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            audio=True,  # Seedance 2.0 output carries sound; no route documents a way to turn it off
            return_last_frame=True,  # served as result.image_url
            params={"route": rules.family, "resolution": resolution, "ratio": ratio},
            inputs=inputs,
        )
        data = {"task_id": task_id, "status": "submitted", "model": model, "created_at": int(task.created_at)}
        return _ok(data)

    async def get(self, request: web.Request, sim: GatewayHost) -> web.Response:
        task: SimTask = sim.find_task(self.name, request.match_info["task_id"], "status")
        view = task.view(sim.config)
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "status": "queued",
            "progress": 0,
            "model": task.model,
            "created_at": int(view.created_at),
            "completed_at": None,
            "result": None,
            "error_message": None,
        }
        if view.state is SimState.RUNNING:
            data.update(status="processing", progress=view.progress)
        elif view.state is SimState.SUCCEEDED:
            data.update(
                status="completed",
                progress=100,
                completed_at=int(view.finished_at or view.created_at),
                # image_url is undocumented; here it is the clip's last frame as a PNG, i.e. a cover image.
                result={
                    "video_url": sim.result_url(request, task),
                    "image_url": sim.result_url(request, task, "last_frame"),
                },
            )
        elif view.state is not SimState.QUEUED:
            reason = MODERATION_MESSAGE if view.state is SimState.FAILED else TIMEOUT_MESSAGE
            if view.state is SimState.FAILED and task.input_failure:
                reason = task.input_failure
            if view.state is SimState.CANCELLED:  # unreachable: JimmyAI has no cancel endpoint
                reason = "task cancelled"
            data.update(status="failed", completed_at=int(view.finished_at or view.created_at), error_message=reason)
        return _ok(data)

    @staticmethod
    def _resolution(body: dict[str, Any], model: str, rules: RouteRules) -> str:
        if rules is FULL:
            return FULL_RESOLUTIONS[model]
        if rules.fixed_resolution is not None:
            field(body, "resolution", str)  # documented as ignored on fixed-720p routes
            return rules.fixed_resolution
        return one_of(body, "resolution", rules.resolutions) or "720p"

    @staticmethod
    def _ratio(body: dict[str, Any], rules: RouteRules) -> str:
        ratio = one_of(body, "ratio", rules.ratios)
        if rules.takes_orientation:
            orientation = one_of(body, "orientation", tuple(ORIENTATIONS))
            if ratio is None and orientation is not None:
                ratio = ORIENTATIONS[orientation]  # ratio wins when both are given
        return (ratio or "16:9").lower()

    def _check_media(self, body: dict[str, Any], model: str, rules: RouteRules, sim: GatewayHost) -> list[MediaRef]:
        """Check the media fields against the route's rules; return them as media inputs."""
        media: dict[str, list[str]] = {}
        for name in MEDIA_FIELDS:
            if name in ("first_image", "last_image"):
                value = field(body, name, str)
                media[name] = [value] if value is not None else []
            else:
                values = field(body, name, list) or []
                for index, item in enumerate(values):
                    if not isinstance(item, str) or not item:
                        raise reject(f"parameter {name}[{index}] must be a non-empty string", name)
                media[name] = values
        images, videos, audios = media["images"], media["reference_videos"], media["reference_audios"]
        first, last = media["first_image"], media["last_image"]
        if images and (first or last):
            raise reject("images (reference mode) cannot be combined with first_image/last_image", "images")
        if last and not first:
            raise reject("last_image needs a first_image", "last_image")
        if rules.frames_as_pair and first and not last:
            raise reject(
                f"{model} takes first_image and last_image only as a pair; last_image is missing", "last_image"
            )
        if len(images) > rules.max_images:
            raise reject(f"{model} accepts at most {rules.max_images} images, got {len(images)}", "images")
        for name, items, limit in (
            ("reference_videos", videos, rules.max_videos),
            ("reference_audios", audios, rules.max_audios),
        ):
            if items and limit == 0:
                raise reject(f"{name} is not supported by {model}", name)
            if len(items) > limit:
                raise reject(f"{model} accepts at most {limit} {name}, got {len(items)}", name)
        if audios and not (images or videos or first):
            raise reject("reference_audios must be paired with images, a reference video or frames", "reference_audios")
        if rules.needs_image and not (images or first):
            raise reject(f"{model} is image-to-video: give images or first_image", "images")
        library = self.assets
        now = sim.now()
        refs = []
        for name, items in media.items():
            for index, value in enumerate(items):
                where = name if name in ("first_image", "last_image") else f"{name}[{index}]"
                self._check_source(value, where, name, model, rules, library, now)
                refs.append(MediaRef(where, FIELD_ROLE[name], value))
        return refs

    def _asset_bytes(self, asset_id: str) -> bytes | None:
        asset = self.assets.get(asset_id)
        return asset.data if asset is not None else None

    @staticmethod
    def _check_source(
        value: str, where: str, name: str, model: str, rules: RouteRules, library: dict[str, SpAsset], now: float
    ) -> None:
        kind = url_kind(value, where)
        if rules.sources in ("asset", "library"):
            if kind != "asset":
                raise reject(
                    f"{where}: raw URLs are not accepted by {model}; submit the file as an asset and pass "
                    "asset://{assetId}",
                    where,
                )
            asset_id = value[len("asset://") :]
            if not asset_id:
                raise reject(f"{where}: asset:// needs an asset id", where)
            if rules.sources == "asset":
                return
            asset = library.get(asset_id)
            if asset is None:
                raise reject(f"{where}: asset {asset_id} is not in the SP asset library", where)
            status = asset.status(now)
            if status != "Active":
                raise reject(f"{where}: asset {asset_id} is {status}, not Active", where)
            if asset.type != FIELD_ASSET_TYPE[name]:
                wanted = FIELD_ASSET_TYPE[name]
                raise reject(f"{where}: asset {asset_id} is of type {asset.type}, {name} needs {wanted}", where)
            return
        if kind != "url" or (rules.sources == "https" and not value[:8].lower().startswith("https://")):
            scheme = "https" if rules.sources == "https" else "http(s)"
            raise reject(f"{where}: {model} takes public {scheme} URLs only, got {value[:60]!r}", where)
        is_image = FIELD_ASSET_TYPE[name] == "image"
        if rules.no_gif and is_image and urlsplit(value).path.lower().endswith(".gif"):
            raise reject(f"{where}: GIF images are not supported by {model}", where)

    # ---- SP asset library -------------------------------------------------------------------------

    async def asset_upload(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, {"name", "type", "url"})
        name = field(body, "name", str) or ""
        kind = one_of(body, "type", ASSET_TYPES, required=True)
        url = field(body, "url", str, required=True)
        if not url.strip():
            raise reject("parameter url must not be empty", "url")
        data = None  # an asset whose url gives nothing turns Failed once processed
        if url[:8].lower().startswith(("http://", "https://")):
            with contextlib.suppress(FetchFailed):
                data = await download(url, timeout=sim.config.input_fetch_timeout_seconds)
        asset = SpAsset(
            asset_id=f"asset_{secrets.token_hex(8)}",
            official_id=f"asset-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}",
            name=name,
            type=kind,
            url=url,
            created_at=sim.now(),
            data=data,
        )
        self.assets[asset.asset_id] = asset
        return _asset_ok({"asset_id": asset.asset_id})

    async def asset_detail(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, {"asset_id"})
        asset = self._find_asset(sim, field(body, "asset_id", str, required=True))
        status = asset.status(sim.now())
        data = {
            "asset_id": asset.asset_id,
            "official_id": asset.official_id if status == "Active" else None,
            "status": status,
            "name": asset.name,
            "image_url": asset.url if asset.type == "image" else None,
            "created_at": int(asset.created_at),
        }
        return _asset_ok(data)

    async def asset_status(self, request: web.Request, sim: GatewayHost) -> web.Response:
        body = await json_object(request)
        check_known_fields(body, {"asset_ids"})
        asset_ids = field(body, "asset_ids", list, required=True)
        if not asset_ids:
            raise reject("parameter asset_ids must not be empty", "asset_ids")
        now = sim.now()
        items = []
        for index, asset_id in enumerate(asset_ids):
            if not isinstance(asset_id, str) or not asset_id:
                raise reject(f"parameter asset_ids[{index}] must be a non-empty string", "asset_ids")
            asset = self._find_asset(sim, asset_id)
            items.append({"asset_id": asset.asset_id, "status": asset.status(now), "name": asset.name})
        return _asset_ok({"items": items})

    def _find_asset(self, sim: GatewayHost, asset_id: str) -> SpAsset:
        asset = self.assets.get(asset_id)
        if asset is None:
            raise RequestRejected(404, ErrorKind.NOT_FOUND, f"asset_id {asset_id} does not exist", param="asset_id")
        return asset


def _ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"code": OK, "msg": "ok", "data": data})


def _asset_ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"code": ASSET_OK, "msg": "ok", "data": data})
