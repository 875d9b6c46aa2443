"""Gateway-neutral data: the video request users write, and the task status every dialect parses into."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_provider_seedance.exceptions import Problem, RequestValidationError
from airflow_provider_seedance.stores.schemes import scheme_support_problem


class MediaKind(enum.StrEnum):
    """How a media input is addressed: a public URL, a gateway asset id, inline bytes, or an object in storage.

    ``STORAGE`` inputs (``s3://``, ``gs://``, ``file://``, any fsspec scheme) are never sent as they are:
    just before the submit they are delivered in a form the gateway takes (see ``media/``).
    """

    URL = "url"
    ASSET = "asset"
    DATA = "data"
    STORAGE = "storage"


_STORAGE_URI = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]", re.IGNORECASE)


def media_kind(uri: str) -> MediaKind:
    """Classify a media reference; raise ``ValueError`` for anything that is none of the forms."""
    lowered = uri[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return MediaKind.URL
    if lowered.startswith("asset://"):
        return MediaKind.ASSET
    if lowered.startswith("data:"):
        return MediaKind.DATA
    if _STORAGE_URI.match(uri) or uri.lower().startswith("file:///"):
        return MediaKind.STORAGE
    raise ValueError(
        "must be an http(s):// URL, an asset://<id>, a data: URI or an object-storage URI "
        "(s3://bucket/key, gs://..., file:///abs/path)"
    )


# Bounds no Seedance model goes past (the longest documented clip is 30 s; upstream seeds are uint32
# with -1 for random). They catch a typo while the DAG is parsed; each model's own ranges are in its
# ModelSpec and are checked against the gateway before anything is sent.
MAX_DURATION_SECONDS = 60
UPSTREAM_SEED_RANGE = (-1, 2**32 - 1)


def _check_media(uri: str) -> str:
    if media_kind(uri) is MediaKind.STORAGE:
        problem = scheme_support_problem(uri.split("://", 1)[0].lower())
        if problem:
            raise ValueError(problem)
    return uri


MediaReference = Annotated[str, AfterValidator(_check_media)]
MediaType = Literal["image", "video", "audio"]
_REFERENCE_FIELDS: tuple[tuple[str, MediaType], ...] = (
    ("reference_images", "image"),
    ("reference_videos", "video"),
    ("reference_audios", "audio"),
)
# The request fields that hold media references (one, or a list each).
MEDIA_FIELDS: tuple[str, ...] = ("first_frame", "last_frame", *(name for name, _ in _REFERENCE_FIELDS))


@dataclass(frozen=True)
class MediaInput:
    """One media reference of a request: ``field`` is ``first_frame`` or ``reference_videos[1]`` and so on."""

    field: str
    media: MediaType
    uri: str

    @property
    def kind(self) -> MediaKind:
        return media_kind(self.uri)

    @property
    def scheme(self) -> str | None:
        """``s3``, ``gs``, ``file``... for an input in object storage; None for the other kinds."""
        return self.uri.split("://", 1)[0].lower() if self.kind is MediaKind.STORAGE else None


class InputMode(enum.StrEnum):
    """What the generation starts from; the modes are mutually exclusive on every gateway."""

    TEXT = "text"
    FIRST_FRAME = "first_frame"
    FIRST_LAST_FRAME = "first_last_frame"
    REFERENCE = "reference"


class VideoRequest(BaseModel):
    """One video generation, described once and translated by each gateway dialect.

    Fields left as ``None`` are not sent, so the gateway's own default applies. ``extra`` is merged
    into the gateway's request body verbatim, for fields this model does not cover.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    model: str = Field(min_length=1)
    prompt: str | None = None
    duration: int | None = None
    resolution: str | None = None
    ratio: str | None = None
    seed: int | None = None
    generate_audio: bool | None = None
    watermark: bool | None = None
    camera_fixed: bool | None = None
    return_last_frame: bool | None = None
    first_frame: MediaReference | None = None
    last_frame: MediaReference | None = None
    reference_images: tuple[MediaReference, ...] = ()
    reference_videos: tuple[MediaReference, ...] = ()
    reference_audios: tuple[MediaReference, ...] = ()
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("resolution")
    @classmethod
    def _lowercase_resolution(cls, value: str | None) -> str | None:
        # Gateways disagree on "720P" vs "720p"; keep one spelling here, dialects re-case it.
        return value.lower() if value else value

    @field_validator("duration")
    @classmethod
    def _sane_duration(cls, value: int | None) -> int | None:
        if value is not None and value != -1 and not 1 <= value <= MAX_DURATION_SECONDS:
            raise ValueError(f"whole seconds from 1 to {MAX_DURATION_SECONDS}, or -1 where the model picks the length")
        return value

    @field_validator("seed")
    @classmethod
    def _sane_seed(cls, value: int | None) -> int | None:
        if value is not None and not UPSTREAM_SEED_RANGE[0] <= value <= UPSTREAM_SEED_RANGE[1]:
            raise ValueError(f"an integer in [{UPSTREAM_SEED_RANGE[0]}, {UPSTREAM_SEED_RANGE[1]}] (-1: random)")
        return value

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> VideoRequest:
        """Build a request, reporting every type or shape problem at once as a ``RequestValidationError``."""
        try:
            return cls.model_validate(dict(fields))
        except ValidationError as exc:
            problems = [
                Problem(
                    field=_field_name(error["loc"]),
                    value=error.get("input"),
                    allowed=error["msg"].removeprefix("Value error, "),
                )
                for error in exc.errors()
            ]
            raise RequestValidationError(None, problems) from None

    @property
    def media_inputs(self) -> list[MediaInput]:
        """Every media reference of the request, named as errors and manifests name it."""
        frames = [(name, getattr(self, name)) for name in ("first_frame", "last_frame") if getattr(self, name)]
        return [
            *(MediaInput(name, "image", uri) for name, uri in frames),
            *(
                MediaInput(f"{name}[{index}]", media, uri)
                for name, media in _REFERENCE_FIELDS
                for index, uri in enumerate(getattr(self, name))
            ),
        ]

    def with_media(self, replacements: Mapping[str, str]) -> VideoRequest:
        """A copy with some media references replaced, keyed by ``MediaInput.field``."""
        update: dict[str, Any] = {
            name: replacements.get(name, getattr(self, name)) for name in ("first_frame", "last_frame")
        }
        for name, _ in _REFERENCE_FIELDS:
            update[name] = tuple(
                replacements.get(f"{name}[{index}]", uri) for index, uri in enumerate(getattr(self, name))
            )
        return self.model_copy(update=update)

    @property
    def input_mode(self) -> InputMode:
        """The mode the inputs select; mixed inputs are reported by validation, not here."""
        if self.reference_images or self.reference_videos or self.reference_audios:
            return InputMode.REFERENCE
        if self.first_frame and self.last_frame:
            return InputMode.FIRST_LAST_FRAME
        if self.first_frame:
            return InputMode.FIRST_FRAME
        return InputMode.TEXT


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``reference_images[1]`` from pydantic's ``("reference_images", 1)``, as MediaInput names it."""
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    return name or "request"


class TaskState(enum.StrEnum):
    """Lifecycle of a remote generation, with every gateway's status words mapped onto it."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self not in (TaskState.QUEUED, TaskState.RUNNING)


class TaskStatus(BaseModel):
    """What a gateway said about one task, in gateway-neutral terms; ``raw`` keeps the reply as sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    state: TaskState
    progress: int | None = None
    video_url: str | None = None
    last_frame_url: str | None = None
    video_expires_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    usage: dict[str, Any] | None = None
    raw: Any = None
