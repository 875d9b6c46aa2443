"""What a model accepts on a gateway (``ModelSpec``) and the validation rules every gateway shares.

Everything here runs before any network call: a request that breaks a rule never costs money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_seedance.exceptions import Problem
from airflow_provider_seedance.gateways.delivery import (
    DEFAULT_DELIVERY_ORDER,
    Delivery,
    MediaChannels,
    ordered,
    possible_deliveries,
)
from airflow_provider_seedance.gateways.fields import shorten
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS, MediaLimits, formats_only
from airflow_provider_seedance.models import InputMode, MediaKind, VideoRequest

NO_CHANNELS = MediaChannels()
# The media forms a field may accept, named once for every dialect.
URL_ONLY = frozenset({MediaKind.URL})
URL_OR_DATA = frozenset({MediaKind.URL, MediaKind.DATA})
URL_OR_ASSET = frozenset({MediaKind.URL, MediaKind.ASSET})
ASSET_ONLY = frozenset({MediaKind.ASSET})
ANY_SOURCE = frozenset({MediaKind.URL, MediaKind.ASSET, MediaKind.DATA})


def every_media(sources: frozenset[MediaKind]) -> dict[str, frozenset[MediaKind]]:
    """ModelSpec fields giving images, videos and audios the same accepted forms."""
    return {"image_sources": sources, "video_sources": sources, "audio_sources": sources}


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts on one gateway. ``None`` means "not checked here"."""

    durations: frozenset[int] | None = None
    # What the gateway picks when no duration is sent (-1: the model chooses); None: not documented.
    default_duration: int | None = None
    resolutions: tuple[str, ...] | None = None
    ratios: tuple[str, ...] | None = None
    input_modes: frozenset[InputMode] = frozenset(InputMode)
    prompt_required: bool = False
    max_prompt_chars: int | None = None
    seed_range: tuple[int, int] | None = None
    generate_audio: bool = True
    camera_fixed: bool = True
    watermark: bool = True
    return_last_frame: bool = True
    # Seedance 2.0's counts; None: not limited here. ``max_reference_files`` bounds the three together.
    max_reference_images: int | None = 9
    max_reference_videos: int | None = 3
    max_reference_audios: int | None = 3
    max_reference_files: int | None = None
    image_sources: frozenset[MediaKind] = URL_OR_DATA
    video_sources: frozenset[MediaKind] = URL_ONLY
    audio_sources: frozenset[MediaKind] = URL_ONLY
    # Reference audio may accompany first/last frames (JimmyAI); elsewhere it needs an image or video,
    # except where audio may be the only reference (Seedance 2.5).
    audio_with_frames: bool = False
    audio_only_references: bool = False

    def sources_for(self, media: str) -> frozenset[MediaKind]:
        """The forms a field of this media type (``image``, ``video``, ``audio``) takes in the request body."""
        return {"image": self.image_sources, "video": self.video_sources, "audio": self.audio_sources}[media]

    # Format, size, sides, duration and frame rate of media inputs, checked from their headers.
    media_limits: MediaLimits = UPSTREAM_MEDIA_LIMITS


def gateway_wide(**fields: Any) -> ModelSpec:
    """The spec for a model a dialect does not know (an endpoint id, a model released after this provider).

    It keeps only what the gateway's API itself fixes: the forms its fields take, whether it has a seed,
    formats and its request-body limit. No count, range or media limit of one model family applies, so a new
    model works the day it ships; the gateway judges the rest.
    """
    structural: dict[str, Any] = {
        "max_reference_images": None,
        "max_reference_videos": None,
        "max_reference_audios": None,
        "audio_only_references": True,
    }
    spec = ModelSpec(**{**structural, **fields})
    return replace(spec, media_limits=formats_only(spec.media_limits))


def seconds(low: int, high: int) -> frozenset[int]:
    """The whole-second durations from ``low`` to ``high`` inclusive."""
    return frozenset(range(low, high + 1))


def describe_durations(durations: Iterable[int]) -> str:
    """Render allowed durations compactly: ``4-15`` or ``-1, 4-15`` or ``5, 10``."""
    runs: list[list[int]] = []
    for value in sorted(durations):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


def common_problems(
    request: VideoRequest,
    spec: ModelSpec,
    managed_keys: frozenset[str],
    channels: MediaChannels = NO_CHANNELS,
    delivery_order: Sequence[Delivery] = DEFAULT_DELIVERY_ORDER,
) -> list[Problem]:
    """The rules every gateway shares, checked against one model's spec.

    Inputs in object storage (or inline ones a field does not take as they are) pass when one of
    ``delivery_order`` can bring them to the gateway; nothing is read here.
    """
    problems: list[Problem] = []
    add = problems.append

    if spec.prompt_required and not request.prompt:
        add(Problem("prompt", request.prompt, "a prompt is required for this model"))
    elif request.input_mode is InputMode.TEXT and not request.prompt:
        add(Problem("prompt", request.prompt, "a prompt is required when no image, video or audio is given"))
    if request.prompt and spec.max_prompt_chars and len(request.prompt) > spec.max_prompt_chars:
        add(
            Problem(
                "prompt",
                f"<{len(request.prompt)} characters>",
                f"at most {spec.max_prompt_chars} characters",
            )
        )
    if request.duration is not None and spec.durations is not None and request.duration not in spec.durations:
        add(Problem("duration", request.duration, f"seconds in {describe_durations(spec.durations)}"))
    if request.resolution is not None and spec.resolutions is not None and request.resolution not in spec.resolutions:
        add(Problem("resolution", request.resolution, f"one of {', '.join(spec.resolutions)}"))
    if request.ratio is not None and spec.ratios is not None and request.ratio not in spec.ratios:
        add(Problem("ratio", request.ratio, f"one of {', '.join(spec.ratios)}"))
    if request.seed is not None:
        if spec.seed_range is None:
            add(Problem("seed", request.seed, "this model takes no seed"))
        elif not spec.seed_range[0] <= request.seed <= spec.seed_range[1]:
            add(Problem("seed", request.seed, f"an integer in [{spec.seed_range[0]}, {spec.seed_range[1]}]"))
    for flag in ("generate_audio", "camera_fixed", "watermark", "return_last_frame"):
        if getattr(request, flag) and not getattr(spec, flag):
            add(Problem(flag, True, "not supported by this model; leave it unset or false"))

    problems.extend(_input_problems(request, spec, channels, delivery_order))

    for key in sorted(set(request.extra) & managed_keys):
        add(Problem(f"extra.{key}", request.extra[key], "set by a VideoRequest field; use that field instead"))
    return problems


def _input_problems(
    request: VideoRequest, spec: ModelSpec, channels: MediaChannels, delivery_order: Sequence[Delivery]
) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append
    visual_references = bool(request.reference_images or request.reference_videos)
    frames = bool(request.first_frame or request.last_frame)
    audio_on_frames = spec.audio_with_frames and frames and not visual_references
    if frames and (visual_references or (request.reference_audios and not audio_on_frames)):
        add(
            Problem(
                "first_frame/last_frame",
                "set together with reference_images/videos/audios",
                "first/last-frame mode and multimodal references are mutually exclusive; use one",
            )
        )
    if request.last_frame and not request.first_frame:
        add(Problem("last_frame", request.last_frame, "a last frame needs a first_frame too"))
    if request.reference_audios and not (visual_references or audio_on_frames or spec.audio_only_references):
        needs = (
            "one first frame, reference image or video" if spec.audio_with_frames else "one reference image or video"
        )
        add(Problem("reference_audios", list(request.reference_audios), f"audio needs at least {needs}"))
    mode = _frame_mode(request) if audio_on_frames else request.input_mode
    if mode not in spec.input_modes and not problems:
        allowed = ", ".join(sorted(each.value for each in spec.input_modes))
        add(Problem("input mode", mode.value, f"this model takes: {allowed}"))

    for name, limit in (
        ("reference_images", spec.max_reference_images),
        ("reference_videos", spec.max_reference_videos),
        ("reference_audios", spec.max_reference_audios),
    ):
        given = getattr(request, name)
        if limit is not None and len(given) > limit:
            allowed = f"at most {limit}" if limit else "none on this model"
            add(Problem(name, f"<{len(given)} items>", allowed))
    files = len(request.reference_images) + len(request.reference_videos) + len(request.reference_audios)
    if spec.max_reference_files is not None and files > spec.max_reference_files:
        add(
            Problem(
                "reference_images/videos/audios",
                f"<{files} files>",
                f"at most {spec.max_reference_files} reference files in all on this model",
            )
        )

    for item in request.media_inputs:
        name, uri, media, sources = item.field, item.uri, item.media, spec.sources_for(item.media)
        kind = item.kind
        if kind in sources:
            continue
        if kind in (MediaKind.STORAGE, MediaKind.DATA):
            possible = possible_deliveries(item, sources, channels)
            if ordered(possible, delivery_order):
                continue
            add(Problem(name, shorten(uri), _undeliverable(media, sources, possible, delivery_order)))
            continue
        allowed = " or ".join(_SOURCE_WORDS[each] for each in MediaKind if each in sources)
        add(Problem(name, shorten(uri), f"must be {allowed or 'absent'} on this gateway and model"))
    return problems


def _undeliverable(
    media: str, sources: frozenset[MediaKind], possible: frozenset[Delivery], order: Sequence[Delivery]
) -> str:
    """Why an input cannot reach the gateway, and what would work instead."""
    takes = " or ".join(_SOURCE_WORDS[each] for each in MediaKind if each in sources) or "absent"
    if not order:  # the request as it is sent: storage and inline inputs should have been delivered already
        return f"must be {takes} on this gateway and model"
    if possible:
        tried = ", ".join(each.value for each in order)
        return (
            f"must be {takes} on this gateway and model; media_delivery allows only {tried} here, which cannot "
            f"deliver this {media}: allow one of {', '.join(sorted(each.value for each in possible))}"
        )
    hint = (
        "put the file in S3, GCS or Azure Blob Storage (s3://, gs://, abfs://) so a signed URL can be sent, or pass "
        "a public http(s) URL"
        if MediaKind.URL in sources
        else "this source cannot become one"
    )
    return f"must be {takes} on this gateway and model; {hint}"


def _frame_mode(request: VideoRequest) -> InputMode:
    """The mode of a frames-plus-audio request, where audio does not make it a reference request."""
    return InputMode.FIRST_LAST_FRAME if request.last_frame else InputMode.FIRST_FRAME


_SOURCE_WORDS = {
    MediaKind.URL: "an http(s) URL",
    MediaKind.ASSET: "an asset:// id",
    MediaKind.DATA: "a data: URI",
    MediaKind.STORAGE: "an object-storage URI",
}
