"""The media a gateway accepts (format, size, sides, duration, frame rate) and the checks of one input against it.

Pure data and pure functions: the limits come from the gateways' documentation, the measurements from a
file's header (see ``airflow_provider_seedance.media.probe``); nothing here reads a file. Every check runs
before a paid request, and every refusal names the field, the input, what was measured and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from airflow_provider_seedance.exceptions import Problem

InputKind = Literal["image", "video", "audio"]

# The docs write "30 MB" without saying which megabyte; the binary one (MiB) is the larger reading, so no
# file the gateway would take is refused here, and messages say MiB.
MIB = 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    """What an image input may be. ``None`` means "not limited here"; aspect is width / height."""

    formats: frozenset[str]
    max_bytes: int | None = None
    min_side: int | None = None
    max_side: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    # Upstream writes the aspect range as an open interval (0.4, 2.5); imini writes "between 1:2.5 and 2.5:1".
    aspect_exclusive: bool = False


@dataclass(frozen=True)
class VideoLimits:
    """What one reference video may be; ``max_total_seconds`` bounds all clips of a request together."""

    formats: frozenset[str]
    max_bytes: int | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    max_total_seconds: float | None = None
    min_side: int | None = None
    max_side: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    min_fps: float | None = None
    max_fps: float | None = None


@dataclass(frozen=True)
class AudioLimits:
    """What one reference audio may be; ``max_total_seconds`` bounds all clips of a request together."""

    formats: frozenset[str]
    max_bytes: int | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    max_total_seconds: float | None = None


@dataclass(frozen=True)
class MediaLimits:
    """One gateway's limits for each kind of input.

    ``max_request_bytes`` is the request-body limit, which bounds media sent inline as base64 data URIs.
    """

    image: ImageLimits
    video: VideoLimits
    audio: AudioLimits
    max_request_bytes: int | None = None


# BytePlus ModelArk / Volcengine Ark, content[] items of "create a video generation task"
# (gateways.md section 6, from the official docs and mirrors of them).
UPSTREAM_MEDIA_LIMITS = MediaLimits(
    image=ImageLimits(
        # "jpeg, png, webp, bmp, tiff or gif" (heic/heif only on 1.5 pro, which no dialect offers).
        formats=frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"}),
        # "< 30 MB": read as at most 30 MB; one byte is not worth a separate rule.
        max_bytes=30 * MIB,
        min_side=300,  # "300-6000 px"
        max_side=6000,
        min_aspect=0.4,  # "aspect ratio (0.4, 2.5)", an open interval
        max_aspect=2.5,
        aspect_exclusive=True,
    ),
    video=VideoLimits(
        formats=frozenset({"mp4", "mov"}),  # "mp4 or mov"
        max_bytes=50 * MIB,  # "<= 50 MB each"
        min_seconds=2,  # "2-15 s each"
        max_seconds=15,
        max_total_seconds=15,  # "total <= 15 s"
        # "480p-720p" given as a pixel range: 640x640 to 834x1112. Side lengths and aspect: not documented.
        min_pixels=409_600,
        max_pixels=927_408,
        min_fps=24,  # "24-60 FPS"
        max_fps=60,
    ),
    audio=AudioLimits(
        formats=frozenset({"wav", "mp3"}),  # "wav or mp3"
        max_bytes=15 * MIB,  # "<= 15 MB each"
        min_seconds=2,  # "2-15 s each"
        max_seconds=15,
        max_total_seconds=15,  # "total <= 15 s"
    ),
    max_request_bytes=64 * MIB,  # "request body <= 64 MB"
)


@dataclass(frozen=True)
class MediaInfo:
    """What a file's header says about it; ``None`` where the header did not tell."""

    kind: InputKind
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None


# The request fields that carry media, and the kind each carries (a field may have an index: ``[2]``).
_FIELD_KINDS: dict[str, InputKind] = {
    "first_frame": "image",
    "last_frame": "image",
    "reference_images": "image",
    "reference_videos": "video",
    "reference_audios": "audio",
}

# File extensions to the format names the probe reports, for inputs whose header could not be read. An
# extension not listed says nothing (objects are often stored as .bin or without one).
_EXTENSION_FORMATS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "png": "png",
    "webp": "webp",
    "bmp": "bmp",
    "tif": "tiff",
    "tiff": "tiff",
    "gif": "gif",
    "heic": "heif",
    "heif": "heif",
    "avif": "avif",
    "mp4": "mp4",
    "m4v": "mp4",
    "m4a": "mp4",
    "mov": "mov",
    "qt": "mov",
    "mkv": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "wav": "wav",
    "mp3": "mp3",
    "aac": "aac",
    "flac": "flac",
    "ogg": "ogg",
}


def formats_only(limits: MediaLimits) -> MediaLimits:
    """The formats and the request-body limit of ``limits``, without any size, length or shape limit.

    For models a dialect does not know: formats and the body limit belong to the gateway, the rest to a
    model family.
    """
    return MediaLimits(
        image=ImageLimits(formats=limits.image.formats),
        video=VideoLimits(formats=limits.video.formats),
        audio=AudioLimits(formats=limits.audio.formats),
        max_request_bytes=limits.max_request_bytes,
    )


_PER_ITEM = {"image": "per image", "video": "per clip", "audio": "per clip"}


def input_problems(field: str, source: str, size: int, info: MediaInfo | None, limits: MediaLimits) -> list[Problem]:
    """Every limit one input breaks, one Problem per broken limit (a range counts as one limit).

    ``source`` is how the user named the input (a path or URI; keep it short, it goes into messages).
    ``info=None`` means the header could not be read: only the size and the extension are checked, and
    the kind is taken from the field name.
    """
    kind = info.kind if info is not None else _FIELD_KINDS[field.partition("[")[0]]
    section = limits.image if kind == "image" else limits.video if kind == "video" else limits.audio
    found: list[tuple[str, str]] = []
    measured_format = info.format if info is not None else None
    media_format = measured_format or _format_of(source)
    if media_format is not None and media_format not in section.formats:
        how = "" if measured_format else " (by its extension)"
        found.append((f"format {media_format}{how}", f"one of {', '.join(sorted(section.formats))}"))
    if section.max_bytes is not None and size > section.max_bytes:
        limit = section.max_bytes
        shown = _figure(size / MIB, 1, lambda mebibytes: mebibytes * MIB <= limit)
        found.append((f"{shown} MiB", f"at most {limit / MIB:.1f} MiB {_PER_ITEM[kind]}"))
    if info is not None:
        if isinstance(section, ImageLimits):
            found.extend(_image_problems(info, section))
        elif isinstance(section, VideoLimits):
            found.extend(_video_problems(info, section))
        else:
            found.extend(_duration_problems(info, section.min_seconds, section.max_seconds))
    return [Problem(field, f"{source}: {measured}", f"{allowed} on this gateway") for measured, allowed in found]


def total_duration_problems(
    kind: Literal["video", "audio"], field: str, durations: list[float], limits: MediaLimits
) -> list[Problem]:
    """The all-clips duration limit of one request field (``reference_videos`` or ``reference_audios``)."""
    limit = (limits.video if kind == "video" else limits.audio).max_total_seconds
    total = sum(durations)
    if limit is None or total <= limit:
        return []
    sum_text = " + ".join(f"{each:.1f}" for each in durations)
    measured = f"{sum_text} = {_figure(total, 1, lambda value: value <= limit)} s"
    return [Problem(field, measured, f"at most {limit:g} s for all clips together on this gateway")]


def _image_problems(info: MediaInfo, limits: ImageLimits) -> Iterator[tuple[str, str]]:
    yield from _side_problems(info, limits.min_side, limits.max_side)
    yield from _aspect_problems(info, limits.min_aspect, limits.max_aspect, limits.aspect_exclusive)


def _video_problems(info: MediaInfo, limits: VideoLimits) -> Iterator[tuple[str, str]]:
    yield from _duration_problems(info, limits.min_seconds, limits.max_seconds)
    yield from _side_problems(info, limits.min_side, limits.max_side)
    yield from _aspect_problems(info, limits.min_aspect, limits.max_aspect, exclusive=False)
    if info.width is not None and info.height is not None:
        pixels = info.width * info.height
        if not _within(pixels, limits.min_pixels, limits.max_pixels):
            span = _span(limits.min_pixels, limits.max_pixels, "{:,}".format)
            yield f"{info.width}x{info.height} = {pixels:,} pixels", f"{span} pixels (width x height)"
    if info.fps is not None and not _within(info.fps, limits.min_fps, limits.max_fps):
        fits = _fits(limits.min_fps, limits.max_fps)
        yield f"{_figure(info.fps, 1, fits)} fps", f"{_span(limits.min_fps, limits.max_fps, '{:g}'.format)} fps"


def _duration_problems(info: MediaInfo, low: float | None, high: float | None) -> Iterator[tuple[str, str]]:
    if info.duration is not None and not _within(info.duration, low, high):
        yield f"{_figure(info.duration, 1, _fits(low, high))} s", f"{_span(low, high, '{:g}'.format)} s per clip"


def _side_problems(info: MediaInfo, low: int | None, high: int | None) -> Iterator[tuple[str, str]]:
    if info.width is None or info.height is None:
        return
    if not (_within(min(info.width, info.height), low, None) and _within(max(info.width, info.height), None, high)):
        yield f"{info.width}x{info.height} px", f"width and height {_span(low, high, str)} px"


def _aspect_problems(
    info: MediaInfo, low: float | None, high: float | None, exclusive: bool
) -> Iterator[tuple[str, str]]:
    if not info.width or not info.height:
        return
    aspect = info.width / info.height
    if not _within(aspect, low, high, exclusive):
        shown = _figure(aspect, 2, _fits(low, high, exclusive))
        ends = " (ends excluded)" if exclusive else ""
        allowed = f"aspect ratio (width/height) {_span(low, high, '{:.2f}'.format)}{ends}"
        yield f"{info.width}x{info.height}, aspect ratio {shown}", allowed


def _within(value: float, low: float | None, high: float | None, exclusive: bool = False) -> bool:
    if exclusive:
        return (low is None or value > low) and (high is None or value < high)
    return (low is None or value >= low) and (high is None or value <= high)


def _fits(low: float | None, high: float | None, exclusive: bool = False) -> Callable[[float], bool]:
    return lambda value: _within(value, low, high, exclusive)


def _figure(value: float, digits: int, fits: Callable[[float], bool]) -> str:
    """``value`` with ``digits`` decimals, or more when rounding would make a refused value look allowed."""
    for places in range(digits, digits + 6):
        text = f"{value:.{places}f}"
        if not fits(float(text)):
            return text
    return text


def _span(low: float | None, high: float | None, show: Callable[[float | None], str]) -> str:
    """A range as ``300-6000``, ``at least 300`` or ``at most 6000`` (called only when one end is set)."""
    if low is not None and high is not None:
        return f"{show(low)}-{show(high)}"
    return f"at least {show(low)}" if low is not None else f"at most {show(high)}"


def _format_of(source: str) -> str | None:
    """The format a file name's extension claims; None when it names none we know."""
    path = source.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return _EXTENSION_FORMATS.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
