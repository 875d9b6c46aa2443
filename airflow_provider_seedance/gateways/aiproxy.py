"""aiproxy's "unified interface format" for Seedance 1.0: ``/v2/videos/generations``.

The body is flat: a ``prompt``, the model, and one role-less ``images`` list whose length is the only
hint of what the images are for. Statuses are upper-case words, progress is a string such as
``"100%"``, the video sits in ``data.output`` / ``data.outputs[]``, and there is no cancel.
The published docs give no base URL and no HTTP error shape, so errors are read defensively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from airflow_provider_seedance.exceptions import Problem, UnexpectedResponseError
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpResponse, state_from
from airflow_provider_seedance.gateways.fields import code_text, json_array, json_object, percent, text
from airflow_provider_seedance.gateways.spec import URL_OR_DATA, ModelSpec, gateway_wide
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS
from airflow_provider_seedance.models import UPSTREAM_SEED_RANGE, InputMode, TaskState, TaskStatus, VideoRequest

RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "9:21", "keep_ratio", "adaptive")
# The docs give no media limits; aiproxy resells the upstream models, so the upstream's are kept [I].
MEDIA_LIMITS = UPSTREAM_MEDIA_LIMITS

# The unified format's `images` field takes "URL or base64"; nothing else here carries media, so
# reference videos and audios have no field to travel in (max 0 everywhere on this gateway).
SEEDANCE_1 = ModelSpec(
    # The page lists the enum {5, 10} but also says "fixed at 5 and cannot be changed". We accept
    # the enum, which is the machine-readable part, and let the gateway refuse 10 if it must.
    durations=frozenset({5, 10}),
    resolutions=("480p", "720p", "1080p"),
    ratios=RATIOS,
    # "Content that exceeds this limit will be truncated": a silently shortened prompt is a paid
    # video of something else, so we refuse instead.
    prompt_required=True,
    max_prompt_chars=800,
    seed_range=(0, 2_147_483_647),
    # Seedance 1.0 renders silent video; the seed doc lists `generate_audio` only because the page
    # is shared, so asking for audio here could only be ignored or billed for nothing.
    generate_audio=False,
    max_reference_images=0,
    max_reference_videos=0,
    max_reference_audios=0,
    image_sources=URL_OR_DATA,
    media_limits=MEDIA_LIMITS,
)
# 1.0 pro is listed on aiproxy's Seedance "Image-to-Video" page, whose `images` list carries a first frame
# or first and last frames, with no narrower mode (seeds/002_8f7c2fc1a55ca2ed.txt); upstream's model page
# for doubao-seedance-1.0-pro shows its first+last-frame videos [M]. Reference images stay lite-i2v's.
PRO = replace(SEEDANCE_1, input_modes=frozenset({InputMode.TEXT, InputMode.FIRST_FRAME, InputMode.FIRST_LAST_FRAME}))
LITE_T2V = replace(SEEDANCE_1, input_modes=frozenset({InputMode.TEXT}))
LITE_I2V = replace(
    SEEDANCE_1,
    input_modes=frozenset({InputMode.FIRST_FRAME, InputMode.FIRST_LAST_FRAME, InputMode.REFERENCE}),
    # Upstream Seedance 1.0 lite takes 1-4 reference images (gateways.md section 6).
    max_reference_images=4,
)

# Models this release does not know: only what the wire format itself implies. The seed range is
# upstream's widest, so a newer model's own range is left to the gateway.
GATEWAY_WIDE = gateway_wide(
    seed_range=UPSTREAM_SEED_RANGE,
    max_reference_videos=0,
    max_reference_audios=0,
    image_sources=URL_OR_DATA,
    media_limits=MEDIA_LIMITS,
)

# `images` has no roles: one image reads as a first frame and two as first + last frames, so
# reference images are only sendable in counts that cannot be mistaken for those.
MIN_UNAMBIGUOUS_REFERENCES = 3

STATES = {
    "NOT_START": TaskState.QUEUED,
    "SUBMITTED": TaskState.QUEUED,
    "QUEUED": TaskState.QUEUED,
    "IN_PROGRESS": TaskState.RUNNING,
    "SUCCESS": TaskState.SUCCEEDED,
    "FAILURE": TaskState.FAILED,
}

# Request field -> body key, for the plain scalar options (only sent when the user set them).
OPTION_KEYS = {
    "duration": "duration",
    "resolution": "resolution",
    "ratio": "ratio",
    "seed": "seed",
    "watermark": "watermark",
    "camera_fixed": "camerafixed",
    "return_last_frame": "return_last_frame",
    "generate_audio": "generate_audio",
}


class AiproxyGateway(Gateway):
    name = "aiproxy"
    # No public base URL is documented (only relative paths), so the connection must give the host.
    default_base_url = None
    submit_path = "v2/videos/generations"
    status_path = "v2/videos/generations/{task_id}"
    cancel_path = None
    models = {
        "doubao-seedance-1-0-pro-250528": PRO,
        "doubao-seedance-1-0-lite-t2v-250428": LITE_T2V,
        "doubao-seedance-1-0-lite-i2v-250428": LITE_I2V,
    }
    upstream_models = {
        "doubao-seedance-1-0-pro-250528": "seedance-1.0-pro",
        "doubao-seedance-1-0-lite-t2v-250428": "seedance-1.0-lite-t2v",
        "doubao-seedance-1-0-lite-i2v-250428": "seedance-1.0-lite-i2v",
    }
    unknown_model_spec = GATEWAY_WIDE
    managed_body_keys = frozenset({"model", "prompt", "images", *OPTION_KEYS.values()})
    # No error codes are documented; errors are classified by HTTP status alone.
    error_codes = {}

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        count = len(request.reference_images)
        framed = request.first_frame or request.last_frame
        if 0 < count < MIN_UNAMBIGUOUS_REFERENCES and not framed and InputMode.REFERENCE in spec.input_modes:
            yield Problem(
                "reference_images",
                f"<{count} items>",
                f"at least {MIN_UNAMBIGUOUS_REFERENCES} on this gateway: its role-less `images` list reads "
                "1 image as a first frame and 2 as first + last frames; use first_frame/last_frame for those",
            )

    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model}
        if request.prompt:
            body["prompt"] = request.prompt
        # Validation allows frames or references, never both, so the order is [first, last] or the
        # references as given.
        images = [uri for uri in (request.first_frame, request.last_frame) if uri] + list(request.reference_images)
        if images:
            body["images"] = images
        for field_name, key in OPTION_KEYS.items():
            value = getattr(request, field_name)
            if value is not None:
                body[key] = value
        return body

    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response, submit=True)
        task_id = _task_id(body)
        if task_id is None:
            raise UnexpectedResponseError(f"submit reply has no task_id: {body!r}", gateway=self.name)
        return TaskStatus(task_id=task_id, state=TaskState.QUEUED, raw=body)

    def parse_status(self, response: HttpResponse) -> TaskStatus:
        body = self.checked_json(response)
        task_id = _task_id(body)
        if task_id is None or body.get("status") is None:
            raise UnexpectedResponseError(f"status reply is not a task: {body!r}", gateway=self.name)
        # The docs spell every word in upper case; tolerate other casing rather than poll blindly.
        state = state_from(str(body["status"]).strip().upper(), STATES, self.name)
        data = json_object(body.get("data"))
        outputs = json_array(data.get("outputs"))
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=percent(body.get("progress")),
            video_url=text(data.get("output")) or next(filter(None, map(text, outputs)), None),
            # No last-frame field is documented; the reference guesses it is passed through in
            # `data`, so read upstream's name there if it appears and report None otherwise.
            last_frame_url=text(data.get("last_frame_url")),
            # URLs are called "temporary" with no lifetime given, so no expiry is claimed.
            video_expires_at=None,
            error_message=text(body.get("fail_reason")),
            raw=body,
        )

    def parse_error_body(self, body: Any) -> ErrorBody | None:
        # The HTTP error shape is undocumented; accept the envelopes such gateways commonly use.
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        if isinstance(error, dict) and text(error.get("message")):
            return ErrorBody(message=error["message"].strip(), code=code_text(error.get("code")))
        if message := text(error):
            return ErrorBody(message=message, code=code_text(body.get("code")))
        for key in ("message", "fail_reason"):
            message = text(body.get(key))
            if message:
                return ErrorBody(message=message, code=code_text(body.get("code")))
        return None

    def business_error(self, body: Any) -> ErrorBody | None:
        # A 2xx that carries an error envelope instead of a task keeps the gateway's own words.
        return self.parse_error_body(body) if _task_id(body) is None else None


def _task_id(body: Any) -> str | None:
    value = body.get("task_id") if isinstance(body, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value)
