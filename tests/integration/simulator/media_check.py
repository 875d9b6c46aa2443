"""Decode what the simulator served and report what a player would see."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

# The simulator's prompt strip: 32 blocks of width // 32 along the top 16 rows (simulator/media.py).
PROMPT_BITS = 32
STRIP_HEIGHT = 16


@dataclass(frozen=True)
class Decoded:
    duration: float
    width: int
    height: int
    has_audio: bool
    frames: int


def decode_mp4(data: bytes) -> Decoded:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return Decoded(
            duration=container.duration / 1_000_000,
            width=video.width,
            height=video.height,
            has_audio=any(stream.type == "audio" for stream in container.streams),
            frames=frames,
        )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _first_frame(data: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(container.streams.video[0]))


def prompt_bits(data: bytes) -> int:
    """The 32 bits of the prompt strip, read from the luma of the first frame (a block is 1 when bright)."""
    luma = _first_frame(data).to_ndarray(format="gray").astype(np.int32)
    block = luma.shape[1] // PROMPT_BITS
    margin = max(1, block // 4)
    bits = 0
    for index in range(PROMPT_BITS):
        # The block's middle only: the encoder smears the edges between blocks.
        middle = luma[4 : STRIP_HEIGHT - 4, index * block + margin : (index + 1) * block - margin]
        bits = (bits << 1) | int(middle.mean() > 128)
    return bits


def first_frame_distance(data: bytes, image: bytes) -> float:
    """Mean absolute RGB difference (0-255) between the clip's first frame and ``image`` scaled to its size.

    The prompt strip along the top is left out: it is drawn over whatever the frame shows.
    """
    frame = _first_frame(data).to_ndarray(format="rgb24").astype(np.int16)
    height, width = frame.shape[:2]
    with Image.open(io.BytesIO(image)) as source:
        expected = np.asarray(source.convert("RGB").resize((width, height), Image.Resampling.BILINEAR), np.int16)
    return float(np.abs(frame[STRIP_HEIGHT:] - expected[STRIP_HEIGHT:]).mean())
