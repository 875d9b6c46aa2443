"""Real, playable outputs: H.264 MP4 (with AAC when audio is asked for) and PNG last frames.

Frames are a moving checkerboard whose colours come from the prompt, encoded with x264's
ultrafast preset (a 5 s 720p clip takes about half a second). Files are cached by their
parameters; prompts share a few colour variants so a fan-out of hundreds renders only a handful.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Output sizes per resolution and ratio, as the upstream Seedance size table gives them.
SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "480p": {
        "16:9": (864, 480),
        "4:3": (736, 544),
        "1:1": (640, 640),
        "3:4": (544, 736),
        "9:16": (480, 864),
        "21:9": (960, 416),
        "9:21": (416, 960),
    },
    "720p": {
        "16:9": (1280, 720),
        "4:3": (1112, 834),
        "1:1": (960, 960),
        "3:4": (834, 1112),
        "9:16": (720, 1280),
        "21:9": (1470, 630),
        "9:21": (630, 1470),
    },
    "1080p": {
        "16:9": (1920, 1080),
        "4:3": (1664, 1248),
        "1:1": (1440, 1440),
        "3:4": (1248, 1664),
        "9:16": (1080, 1920),
        "21:9": (2206, 946),
        "9:21": (946, 2206),
    },
}
COLOUR_VARIANTS = 4
AUDIO_RATE = 44100


def video_size(resolution: str, ratio: str) -> tuple[int, int]:
    """Width and height for a resolution and ratio; ``adaptive``/unknown ratios render as 16:9."""
    by_ratio = SIZES.get(resolution.lower(), SIZES["720p"])
    return by_ratio.get(ratio, by_ratio["16:9"])


def colour_variant(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") % COLOUR_VARIANTS


@dataclass(frozen=True)
class VideoSpec:
    width: int
    height: int
    duration: int
    fps: int
    audio: bool
    variant: int

    @property
    def key(self) -> str:
        sound = "aac" if self.audio else "mute"
        return f"{self.width}x{self.height}-{self.duration}s-{self.fps}fps-{sound}-v{self.variant}"


class MediaCache:
    """Renders each distinct spec once, on first download, and keeps the files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def video(self, spec: VideoSpec) -> Path:
        return self._cached(spec, ".mp4", _render_mp4)

    def last_frame(self, spec: VideoSpec) -> Path:
        return self._cached(spec, ".png", _render_png)

    def _cached(self, spec: VideoSpec, suffix: str, render) -> Path:  # type: ignore[no-untyped-def]
        path = self.root / f"{spec.key}{suffix}"
        if path.exists():
            return path
        with self._guard:
            lock = self._locks.setdefault(path.name, threading.Lock())
        with lock:
            if not path.exists():
                partial = path.with_suffix(path.suffix + ".partial")
                render(spec, partial)
                partial.replace(path)
        return path


class _Frames:
    """Builds the clip's frames: a luma checkerboard twice the frame width that slides across, and
    flat chroma planes whose colours are the prompt's variant. Planes are written with the encoder's
    own line padding, so any even or odd size works."""

    def __init__(self, spec: VideoSpec) -> None:
        self.spec = spec
        rows, cols = np.mgrid[0 : spec.height, 0 : 2 * spec.width]
        square = max(16, spec.height // 12)
        self.luma = ((((rows // square) + (cols // square)) % 2) * 150 + 50).astype(np.uint8)
        template = av.VideoFrame(spec.width, spec.height, "yuv420p")
        self.line = template.planes[0].line_size
        self._row_buffer = np.zeros((spec.height, self.line), np.uint8)
        u_value, v_value = [(70, 170), (170, 70), (200, 120), (90, 90)][spec.variant % COLOUR_VARIANTS]
        self.chroma = [
            bytes([value]) * (plane.line_size * plane.height)
            for plane, value in zip(template.planes[1:], (u_value, v_value), strict=True)
        ]

    def frame(self, index: int) -> av.VideoFrame:
        width = self.spec.width
        offset = (index * max(2, width // 120)) % width
        self._row_buffer[:, :width] = self.luma[:, offset : offset + width]
        frame = av.VideoFrame(width, self.spec.height, "yuv420p")
        frame.planes[0].update(self._row_buffer)
        frame.planes[1].update(self.chroma[0])
        frame.planes[2].update(self.chroma[1])
        return frame


def _render_mp4(spec: VideoSpec, path: Path) -> None:
    frames = _Frames(spec)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if spec.audio else None
        for index in range(spec.duration * spec.fps):
            container.mux(video.encode(frames.frame(index)))
        container.mux(video.encode())
        if audio is not None:
            _encode_tone(container, audio, spec)


def _encode_tone(container: av.container.OutputContainer, stream: av.AudioStream, spec: VideoSpec) -> None:
    """A quiet tone whose pitch depends on the colour variant, as long as the video."""
    total = spec.duration * AUDIO_RATE
    pitch = 220 * (1 + spec.variant)
    chunk = 1024
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        t = (np.arange(start, start + count) / AUDIO_RATE).astype(np.float32)
        samples = (0.2 * np.sin(2 * np.pi * pitch * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _render_png(spec: VideoSpec, path: Path) -> None:
    """The clip's last frame as a PNG of the same size."""
    frame = _Frames(spec).frame(spec.duration * spec.fps - 1).reformat(format="rgb24")
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "rgb24"
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
