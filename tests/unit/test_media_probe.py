"""The header probe on real media made here: images by Pillow, clips by PyAV (libx264, LAME), WAV by ``wave``."""

from __future__ import annotations

import io
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from airflow_provider_seedance.exceptions import MediaProbeUnavailable, MediaUnreadableError
from airflow_provider_seedance.media.limits import UPSTREAM_MEDIA_LIMITS, MediaInfo, input_problems
from airflow_provider_seedance.media.probe import probe
from tests.support.media import write_clip, write_wav

av = pytest.importorskip("av")


class CountingReader:
    """A file object with only read, seek and tell (all an fsspec/s3fs file is asked for), counting bytes read."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def mp3_encoder() -> str:
    """The MP3 encoder the av wheel carries: LAME under its own name, or as FFmpeg's ``mp3``."""
    for name in ("libmp3lame", "mp3"):
        try:
            return av.codec.Codec(name, "w").name
        except av.codec.codec.UnknownCodecError:
            continue
    pytest.skip("this PyAV build has no MP3 encoder")


def write_mp3(path: Path, seconds: float, rate: int = 44100) -> Path:
    samples = np.sin(np.arange(round(rate * seconds)) * (2 * np.pi * 440 / rate)).astype(np.float32) * 0.2
    with av.open(str(path), "w") as output:
        stream = output.add_stream(mp3_encoder(), rate=rate, layout="mono")
        frame_size = 1152
        for start in range(0, len(samples), frame_size):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + frame_size], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "square.mp4": write_clip(folder / "square.mp4", 640, 640, 24, 3),
        "hd.mov": write_clip(folder / "hd.mov", 1280, 720, 30, 2),
        "slow.mp4": write_clip(folder / "slow.mp4", 640, 640, 15, 3),
        "long.mp4": write_clip(folder / "long.mp4", 320, 320, 24, 20),
        "short.wav": write_wav(folder / "short.wav", 3),
        "long.wav": write_wav(folder / "long.wav", 16),
        "voice.mp3": write_mp3(folder / "voice.mp3", 3),
    }


@pytest.fixture(scope="module")
def big_mp4(tmp_path_factory) -> Path:
    # 36 noise frames stored losslessly: over 20 MB, almost all of it in the mdat box.
    return write_clip(tmp_path_factory.mktemp("big") / "big.mp4", 640, 640, 24, 1.5, noise=True)


def probe_file(kind, path: Path) -> MediaInfo:
    return probe(kind, CountingReader(path.read_bytes()))


# ---- images ---------------------------------------------------------------------------------------


def image_bytes(image: Image.Image, pillow_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


IMAGES = {
    "png": ("RGB", (640, 480), "PNG", {}, "png"),
    "jpeg": ("RGB", (301, 1200), "JPEG", {}, "jpeg"),
    "webp lossy (VP8)": ("RGB", (800, 600), "WEBP", {}, "webp"),
    "webp lossless (VP8L)": ("RGB", (123, 4567), "WEBP", {"lossless": True}, "webp"),
    "webp with alpha (VP8X)": ("RGBA", (5000, 300), "WEBP", {}, "webp"),
    "gif": ("P", (320, 200), "GIF", {}, "gif"),
    "bmp": ("RGB", (300, 300), "BMP", {}, "bmp"),
    "tiff": ("RGB", (1024, 768), "TIFF", {}, "tiff"),
    "mpo is reported as jpeg": (
        "RGB",
        (700, 500),
        "MPO",
        {"save_all": True, "append_images": [Image.new("RGB", (700, 500))]},
        "jpeg",
    ),
}


@pytest.mark.parametrize(("mode", "size", "pillow_format", "options", "expected"), IMAGES.values(), ids=IMAGES.keys())
def test_image_format_and_size(mode, size, pillow_format, options, expected):
    data = image_bytes(Image.new(mode, size), pillow_format, **options)
    assert probe("image", CountingReader(data)) == MediaInfo("image", expected, *size)


def test_animated_webp_gives_its_canvas():
    frames = [Image.new("RGB", (400, 250), colour) for colour in ("red", "blue")]
    data = image_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert probe("image", CountingReader(data)) == MediaInfo("image", "webp", 400, 250)


@pytest.fixture(scope="module")
def noise_image() -> Image.Image:
    return Image.fromarray(np.random.default_rng(1).integers(0, 256, (400, 400, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("pillow_format", "options"),
    [
        ("PNG", {"compress_level": 0}),
        ("JPEG", {"quality": 95}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
    ],
    ids=["png", "jpeg", "webp", "webp-lossless", "gif", "bmp", "tiff"],
)
def test_image_probe_reads_only_the_header(noise_image, pillow_format, options):
    data = image_bytes(noise_image, pillow_format, **options)
    reader = CountingReader(data)
    probe("image", reader)
    assert reader.bytes_read < 4096 < len(data) // 10


# ---- video ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("square.mp4", MediaInfo("video", "mp4", 640, 640, 3.0, 24.0)),
        ("hd.mov", MediaInfo("video", "mov", 1280, 720, 2.0, 30.0)),
        ("slow.mp4", MediaInfo("video", "mp4", 640, 640, 3.0, 15.0)),
        ("long.mp4", MediaInfo("video", "mp4", 320, 320, 20.0, 24.0)),
    ],
)
def test_video_header(media, name, expected):
    info = probe_file("video", media[name])
    assert info == MediaInfo(**{**vars(expected), "duration": pytest.approx(expected.duration, abs=0.05)})


def test_big_mp4_probe_reads_only_headers_and_a_first_packet(big_mp4):
    data = big_mp4.read_bytes()
    assert len(data) > 20 * 1024 * 1024
    reader = CountingReader(data)
    assert probe("video", reader) == MediaInfo("video", "mp4", 640, 640, 1.5, 24.0)
    # The moov box plus the first (lossless, about 0.7 MB) key frame, out of more than 20 MB.
    assert reader.bytes_read < 2 * 1024 * 1024


def test_probed_clips_are_judged_against_the_limits(media):
    limits = UPSTREAM_MEDIA_LIMITS
    judged = {
        name: input_problems(
            "reference_videos[0]", name, media[name].stat().st_size, probe_file("video", media[name]), limits
        )
        for name in ("square.mp4", "hd.mov", "slow.mp4", "long.mp4")
    }
    assert judged["square.mp4"] == judged["hd.mov"] == []  # 640x640 is the pixel range's lower end
    assert [(p.value, p.allowed) for p in judged["slow.mp4"]] == [("slow.mp4: 15.0 fps", "24-60 fps on this gateway")]
    assert [p.value for p in judged["long.mp4"]] == ["long.mp4: 20.0 s", "long.mp4: 320x320 = 102,400 pixels"]


# ---- audio ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "seconds"), [("short.wav", "wav", 3.0), ("long.wav", "wav", 16.0), ("voice.mp3", "mp3", 3.0)]
)
def test_audio_header(media, name, fmt, seconds):
    info = probe_file("audio", media[name])
    assert (info.kind, info.format, info.width, info.height, info.fps) == ("audio", fmt, None, None, None)
    assert info.duration == pytest.approx(seconds, abs=0.06)


def test_a_long_wav_is_refused_by_its_duration(media):
    path = media["long.wav"]
    info = probe_file("audio", path)
    [problem] = input_problems("reference_audios[0]", "long.wav", path.stat().st_size, info, UPSTREAM_MEDIA_LIMITS)
    assert (problem.value, problem.allowed) == ("long.wav: 16.0 s", "2-15 s per clip on this gateway")


def test_mp3_encoder_is_lame():
    assert mp3_encoder() == "libmp3lame"


# ---- what is not a readable file of the kind asked for --------------------------------------------


@pytest.mark.parametrize("kind", ["image", "video", "audio"])
def test_garbage_is_unreadable(kind):
    with pytest.raises(MediaUnreadableError):
        probe(kind, CountingReader(b"this is not media at all " * 200))


def test_truncated_files_are_unreadable(media):
    with pytest.raises(MediaUnreadableError):
        probe("video", CountingReader(media["square.mp4"].read_bytes()[:2000]))
    with pytest.raises(MediaUnreadableError):
        probe("image", CountingReader(image_bytes(Image.new("RGB", (64, 64)), "WEBP")[:20]))


@pytest.mark.parametrize(("kind", "name", "missing"), [("video", "voice.mp3", "video"), ("audio", "hd.mov", "audio")])
def test_a_file_without_a_stream_of_the_kind_is_unreadable(media, kind, name, missing):
    with pytest.raises(MediaUnreadableError, match=f"no {missing} stream"):
        probe_file(kind, media[name])


def test_an_image_given_as_video_is_refused_by_its_format():
    info = probe("video", CountingReader(image_bytes(Image.new("RGB", (640, 640)), "PNG")))
    [problem] = input_problems("reference_videos[0]", "frame.png", 2000, info, UPSTREAM_MEDIA_LIMITS)
    assert problem.allowed == "one of mov, mp4 on this gateway"


def test_probe_starts_from_the_beginning_whatever_the_position(media):
    reader = CountingReader(media["short.wav"].read_bytes())
    reader.read()
    assert probe("audio", reader).format == "wav"


def test_without_pyav_video_and_audio_say_which_extra_to_install(monkeypatch, media):
    monkeypatch.setitem(sys.modules, "av", None)  # makes ``import av`` fail
    with pytest.raises(MediaProbeUnavailable, match=r"pip install 'airflow-provider-seedance\[media\]'"):
        probe_file("video", media["square.mp4"])
    assert probe("image", CountingReader(image_bytes(Image.new("RGB", (300, 300)), "PNG"))).format == "png"
