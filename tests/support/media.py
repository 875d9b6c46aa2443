"""Real media made here: a PNG and S3 objects for the input tests, H.264 clips (PyAV) and WAV files (``wave``)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import BUCKET, s3_client


def png(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 40):  # some structure, so it is a real picture rather than a flat fill
        image.paste((255 - colour[0], colour[1], 255 - colour[2]), (x, 0, x + 20, height))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def put(moto_server: str, key: str, data: bytes) -> str:
    s3_client(moto_server).put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def write_clip(path: Path, width: int, height: int, fps: int, seconds: float, *, noise: bool = False) -> Path:
    """An H.264 clip; ``noise`` frames stored losslessly make it large (about 0.6 MB a frame at 640x640)."""
    import av  # the media extra; tests/unit/test_media_probe.py skips without it

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as output:  # the extension picks MP4 or QuickTime
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", **({"qp": "0"} if noise else {})}
        for index in range(round(fps * seconds)):
            if noise:
                pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            else:
                pixels = np.full((height, width, 3), index % 256, dtype=np.uint8)
            output.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        output.mux(stream.encode())
    return path


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(b"\x00\x01" * round(rate * seconds))
    return path
