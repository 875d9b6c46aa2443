"""Media limits: each documented limit refuses once, with field, input, measured value and allowed range."""

from __future__ import annotations

from dataclasses import replace

import pytest

from airflow_provider_seedance.exceptions import RequestValidationError
from airflow_provider_seedance.gateways import all_gateways, apimart, ark, imini, jimmyai
from airflow_provider_seedance.media.limits import (
    MIB,
    UPSTREAM_MEDIA_LIMITS,
    AudioLimits,
    ImageLimits,
    MediaInfo,
    VideoLimits,
    formats_only,
    input_problems,
    total_duration_problems,
)

UPSTREAM = UPSTREAM_MEDIA_LIMITS
SOURCE = "s3://bucket/inputs/item"


def image(width: int = 1000, height: int = 1000, fmt: str = "png") -> MediaInfo:
    return MediaInfo("image", fmt, width, height)


def video(width: int = 720, height: int = 720, duration: float = 5.0, fps: float = 24.0, fmt: str = "mp4") -> MediaInfo:
    return MediaInfo("video", fmt, width, height, duration, fps)


def audio(duration: float = 5.0, fmt: str = "wav") -> MediaInfo:
    return MediaInfo("audio", fmt, duration=duration)


def test_upstream_values_are_the_documented_ones():
    assert UPSTREAM.image == ImageLimits(
        formats=frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"}),
        max_bytes=30 * MIB,
        min_side=300,
        max_side=6000,
        min_aspect=0.4,
        max_aspect=2.5,
        aspect_exclusive=True,
    )
    assert UPSTREAM.video == VideoLimits(
        formats=frozenset({"mp4", "mov"}),
        max_bytes=50 * MIB,
        min_seconds=2,
        max_seconds=15,
        max_total_seconds=15,
        min_pixels=640 * 640,
        max_pixels=834 * 1112,
        min_fps=24,
        max_fps=60,
    )
    assert UPSTREAM.audio == AudioLimits(
        formats=frozenset({"wav", "mp3"}), max_bytes=15 * MIB, min_seconds=2, max_seconds=15, max_total_seconds=15
    )
    assert UPSTREAM.max_request_bytes == 64 * MIB


def test_a_problem_reads_well_in_the_validation_error():
    problems = input_problems("reference_videos[1]", "s3://b/clip.mp4", 1000, video(duration=17.5), UPSTREAM)
    message = str(RequestValidationError("ark", problems))
    assert "reference_videos[1]='s3://b/clip.mp4: 17.5 s': 2-15 s per clip on this gateway" in message


# Limits tried one at a time: the input breaks exactly one, so exactly one Problem comes back.
# Sides and aspect of videos are tested on imini's limits with the pixel range lifted, since on real
# limits a side below 300 px always breaks the pixel range too.
VIDEO_SIDES = replace(imini.MEDIA_LIMITS, video=replace(imini.MEDIA_LIMITS.video, min_pixels=None, max_pixels=None))

ONE_BROKEN_LIMIT = {
    "image format": ("first_frame", image(fmt="heif"), 1000, UPSTREAM, "format heif", "one of bmp, gif, jpeg"),
    "image bytes": ("last_frame", image(), 31 * MIB, UPSTREAM, "31.0 MiB", "at most 30.0 MiB per image"),
    "image side too small": ("reference_images[0]", image(299, 299), 1000, UPSTREAM, "299x299 px", "300-6000 px"),
    "image side too large": ("reference_images[2]", image(6001, 6000), 1000, UPSTREAM, "6001x6000 px", "300-6000 px"),
    "image too wide": (
        "first_frame",
        image(3000, 1000),
        1000,
        UPSTREAM,
        "3000x1000, aspect ratio 3.00",
        "aspect ratio (width/height) 0.40-2.50 (ends excluded)",
    ),
    "image too tall": ("first_frame", image(350, 1000), 1000, UPSTREAM, "aspect ratio 0.35", "0.40-2.50"),
    "video format": ("reference_videos[0]", video(fmt="matroska"), 1000, UPSTREAM, "format matroska", "mov, mp4"),
    "video bytes": ("reference_videos[0]", video(), 51 * MIB, UPSTREAM, "51.0 MiB", "at most 50.0 MiB per clip"),
    "video too long": ("reference_videos[1]", video(duration=17.5), 1000, UPSTREAM, "17.5 s", "2-15 s per clip"),
    "video too short": ("reference_videos[1]", video(duration=1.9), 1000, UPSTREAM, "1.9 s", "2-15 s per clip"),
    "video too many pixels": (
        "reference_videos[0]",
        video(1920, 1080),
        1000,
        UPSTREAM,
        "1920x1080 = 2,073,600 pixels",
        "409,600-927,408 pixels (width x height)",
    ),
    "video too few pixels": ("reference_videos[0]", video(600, 600), 1000, UPSTREAM, "= 360,000 pixels", "409,600-"),
    "video too slow": ("reference_videos[0]", video(fps=15), 1000, UPSTREAM, "15.0 fps", "24-60 fps"),
    "video too fast": ("reference_videos[0]", video(fps=120), 1000, UPSTREAM, "120.0 fps", "24-60 fps"),
    "video side": ("reference_videos[0]", video(290, 290), 1000, VIDEO_SIDES, "290x290 px", "300-6000 px"),
    "video aspect": ("reference_videos[0]", video(1300, 500), 1000, VIDEO_SIDES, "aspect ratio 2.60", "0.40-2.50"),
    "audio format": ("reference_audios[0]", audio(fmt="ogg"), 1000, UPSTREAM, "format ogg", "one of mp3, wav"),
    "audio bytes": ("reference_audios[0]", audio(), 16 * MIB, UPSTREAM, "16.0 MiB", "at most 15.0 MiB per clip"),
    "audio too long": ("reference_audios[2]", audio(15.5), 1000, UPSTREAM, "15.5 s", "2-15 s per clip"),
    "audio too short": ("reference_audios[2]", audio(1.0), 1000, UPSTREAM, "1.0 s", "2-15 s per clip"),
}


@pytest.mark.parametrize(
    ("field", "info", "size", "limits", "measured", "allowed"), ONE_BROKEN_LIMIT.values(), ids=ONE_BROKEN_LIMIT.keys()
)
def test_each_limit_breaks_alone(field, info, size, limits, measured, allowed):
    [problem] = input_problems(field, SOURCE, size, info, limits)
    assert problem.field == field
    assert problem.value.startswith(f"{SOURCE}: ")
    assert measured in problem.value
    assert allowed in problem.allowed
    assert problem.allowed.endswith("on this gateway")


def test_an_input_breaking_several_limits_gets_one_problem_each():
    info = MediaInfo("video", "avi", 1920, 1080, 20.0, 15.0)
    problems = input_problems("reference_videos[0]", SOURCE, 60 * MIB, info, UPSTREAM)
    assert [p.value.removeprefix(f"{SOURCE}: ") for p in problems] == [
        "format avi",
        "60.0 MiB",
        "20.0 s",
        "1920x1080 = 2,073,600 pixels",
        "15.0 fps",
    ]


@pytest.mark.parametrize(
    ("info", "size"),
    [
        (image(300, 300), 30 * MIB),
        (image(6000, 6000), 1),
        (image(2499, 1000), 1),
        (image(1000, 2499), 1),
        (video(640, 640, duration=2.0, fps=24), 50 * MIB),
        (video(834, 1112, duration=15.0, fps=60), 1),
        (audio(2.0, "mp3"), 15 * MIB),
        (audio(15.0), 1),
    ],
    ids=str,
)
def test_upstream_bounds_are_inclusive_except_the_image_aspect(info, size):
    field = {"image": "first_frame", "video": "reference_videos[0]", "audio": "reference_audios[0]"}[info.kind]
    assert input_problems(field, SOURCE, size, info, UPSTREAM) == []


@pytest.mark.parametrize(("width", "height"), [(1000, 400), (400, 1000)])
def test_image_aspect_ends_are_excluded_upstream_and_included_on_imini(width, height):
    assert input_problems("first_frame", SOURCE, 1, image(width, height), UPSTREAM)
    assert input_problems("first_frame", SOURCE, 1, image(width, height), imini.MEDIA_LIMITS) == []
    assert input_problems("first_frame", SOURCE, 1, image(width, height), jimmyai.MEDIA_LIMITS) == []


def test_rounding_never_makes_a_refused_value_look_allowed():
    cases = [
        (input_problems("reference_videos[0]", SOURCE, 1, video(duration=15.04), UPSTREAM), "15.04 s"),
        (input_problems("reference_videos[0]", SOURCE, 1, video(fps=23.976), UPSTREAM), "23.98 fps"),
        (input_problems("first_frame", SOURCE, 30 * MIB + 1, image(), UPSTREAM), "30.000001 MiB"),
        (input_problems("first_frame", SOURCE, 1, image(2500, 1000), UPSTREAM), "aspect ratio 2.50"),
        (input_problems("first_frame", SOURCE, 1, image(2501, 1000), imini.MEDIA_LIMITS), "aspect ratio 2.501"),
    ]
    for [problem], measured in cases:
        assert problem.value.endswith(measured)


def test_unread_header_checks_size_and_extension_only():
    problems = input_problems("reference_videos[0]", "s3://b/clip.webm?versionId=3", 60 * MIB, None, UPSTREAM)
    assert [(p.field, p.value) for p in problems] == [
        ("reference_videos[0]", "s3://b/clip.webm?versionId=3: format matroska (by its extension)"),
        ("reference_videos[0]", "s3://b/clip.webm?versionId=3: 60.0 MiB"),
    ]
    assert input_problems("reference_audios[1]", "/data/voice.mp3", 15 * MIB, None, UPSTREAM) == []
    # An extension that names no known format says nothing; only the size is checked.
    [problem] = input_problems("first_frame", "s3://b/object.bin", 40 * MIB, None, UPSTREAM)
    assert problem.allowed == "at most 30.0 MiB per image on this gateway"


def test_the_measured_format_wins_over_the_extension():
    assert input_problems("first_frame", "s3://b/photo.gif", 1, image(fmt="jpeg"), apimart.MEDIA_LIMITS) == []
    [problem] = input_problems("first_frame", "s3://b/photo.png", 1, image(fmt="bmp"), apimart.MEDIA_LIMITS)
    assert problem.value == "s3://b/photo.png: format bmp"


def test_unmeasured_header_facts_are_not_checked():
    info = MediaInfo("video", "mp4")
    assert input_problems("reference_videos[0]", SOURCE, 1, info, UPSTREAM) == []


@pytest.mark.parametrize("kind", ["video", "audio"])
def test_total_duration_of_all_clips(kind):
    field = f"reference_{kind}s"
    [problem] = total_duration_problems(kind, field, [6.0, 6.0, 5.5], UPSTREAM)
    assert problem.field == field
    assert problem.value == "6.0 + 6.0 + 5.5 = 17.5 s"
    assert problem.allowed == "at most 15 s for all clips together on this gateway"
    assert total_duration_problems(kind, field, [5.0, 5.0, 5.0], UPSTREAM) == []
    [problem] = total_duration_problems(kind, field, [7.5, 7.51], UPSTREAM)
    assert problem.value.endswith("= 15.01 s")


def test_no_total_limit_no_problem():
    unlimited = replace(UPSTREAM, audio=replace(UPSTREAM.audio, max_total_seconds=None))
    assert total_duration_problems("audio", "reference_audios", [15.0, 15.0, 15.0], unlimited) == []


# ---- what each dialect declares -----------------------------------------------------------------


def _specs(name: str):
    return dict(all_gateways()[name].models)


@pytest.mark.parametrize("name", sorted(all_gateways()))
def test_an_unknown_model_gets_only_the_gateways_formats_and_body_limit(name):
    # Issue 11: sizes, lengths and shapes belong to a model family; next year's model must not inherit them.
    gateway = all_gateways()[name]
    known = next(iter(gateway.models.values())).media_limits
    limits = gateway.unknown_model_spec.media_limits
    assert limits == formats_only(known)
    assert limits.image.formats == known.image.formats
    assert limits.max_request_bytes == known.max_request_bytes
    assert (limits.image.max_bytes, limits.video.max_seconds, limits.audio.max_total_seconds) == (None, None, None)


@pytest.mark.parametrize("name", ["ark", "aiproxy", "infinityblue"])
def test_upstream_and_its_resellers_use_the_upstream_limits(name):
    for model, spec in _specs(name).items():
        if model in ark.SEEDANCE_2_5_MODELS:
            continue  # below: 2.5 keeps the per-clip limits but not 2.0's 15 s of clips in all
        assert spec.media_limits == UPSTREAM, model


def test_seedance_2_5_drops_only_the_2_0_totals():
    limits = ark.SEEDANCE_2_5.media_limits
    assert (limits.video.max_total_seconds, limits.audio.max_total_seconds) == (None, None)
    assert replace(limits.video, max_total_seconds=UPSTREAM.video.max_total_seconds) == UPSTREAM.video
    assert replace(limits.audio, max_total_seconds=UPSTREAM.audio.max_total_seconds) == UPSTREAM.audio
    assert limits.image == UPSTREAM.image


def test_imini_limits():
    limits = imini.MEDIA_LIMITS
    assert limits.image == replace(UPSTREAM.image, aspect_exclusive=False)
    video_limits = limits.video
    assert (video_limits.min_side, video_limits.max_side) == (300, 6000)
    assert (video_limits.min_aspect, video_limits.max_aspect) == (0.4, 2.5)
    assert (video_limits.min_pixels, video_limits.max_pixels) == (409_600, 927_408)
    assert (video_limits.min_fps, video_limits.max_fps, video_limits.max_total_seconds) == (24, 60, 15)
    assert limits.audio == UPSTREAM.audio
    assert limits.max_request_bytes == 64 * MIB
    assert all(spec.media_limits == limits for spec in _specs("imini").values())


def test_apimart_limits():
    limits = apimart.MEDIA_LIMITS
    assert limits.image.formats == {"jpeg", "png", "webp", "gif"}
    assert limits.image.max_bytes == 20 * MIB
    assert limits.max_request_bytes is None
    assert (limits.video, limits.audio) == (UPSTREAM.video, UPSTREAM.audio)
    assert all(spec.media_limits == limits for spec in _specs("apimart").values())


def test_jimmyai_limits():
    specs = _specs("jimmyai")
    for model in ("seedance2.0-md", "seedance2.0-fast-md"):
        assert specs.pop(model).media_limits == jimmyai.MD_MEDIA_LIMITS
    assert jimmyai.MD_MEDIA_LIMITS.image.formats == UPSTREAM.image.formats - {"gif"}
    assert jimmyai.MEDIA_LIMITS.image == replace(UPSTREAM.image, aspect_exclusive=False)
    assert (jimmyai.MEDIA_LIMITS.video, jimmyai.MEDIA_LIMITS.audio) == (UPSTREAM.video, UPSTREAM.audio)
    for model, spec in specs.items():
        assert spec.media_limits == jimmyai.MEDIA_LIMITS, model


def test_a_gif_named_png_is_refused_on_jimmyai_md_by_its_header():
    [problem] = input_problems("first_frame", "s3://b/a.png", 1, image(fmt="gif"), jimmyai.MD_MEDIA_LIMITS)
    assert problem.value == "s3://b/a.png: format gif"


def test_media_limits_are_frozen():
    with pytest.raises(AttributeError):
        UPSTREAM.image.max_bytes = 1  # type: ignore[misc]
