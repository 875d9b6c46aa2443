"""Decode what the simulator served and report what a player would see."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av


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
