"""Real, playable outputs: H.264 MP4 (with AAC when audio is asked for) and PNG last frames.

Different prompts look different at a glance: sha256(prompt) picks a sliding pattern (checks,
stripes, diagonals or waves), its tile size, two colours, the direction and speed of the slide and
the audio tone's pitch, and a caption band along the bottom shows the prompt's text. The inputs show
too: a received first-frame image fills the first second, and a strip of 32 black/white blocks along
the top edge of every frame spells the first 32 bits of sha256(prompt), for tests to read back.
Frames are encoded with x264's ultrafast preset (a 5 s 720p clip takes about half a second). Files
are cached by their parameters, so identical requests (same size, prompt and first frame) render once.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

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
PATTERNS = ("checks", "stripes", "diagonals", "waves")
TILE_DIVISORS = (6, 8, 10, 12, 16)  # a tile is this many times smaller than the frame's height
AUDIO_RATE = 44100
PROMPT_BITS = 32
STRIP_HEIGHT = 16  # rows of the prompt strip; blocks are width // 32 wide
BLACK, WHITE, NEUTRAL = 16, 235, 128  # video-range luma and neutral chroma
DARK, LIGHT = 70, 170  # luma of the pattern's two tiles
CHROMA_RADIUS = 50  # how far from grey the tiles' colours sit (U/V units)
SECOND_HUE = 50  # degrees between the two tiles' colours: related, still told apart


def video_size(resolution: str, ratio: str) -> tuple[int, int]:
    """Width and height for a resolution and ratio; ``adaptive``/unknown ratios render as 16:9."""
    by_ratio = SIZES.get(resolution.lower(), SIZES["720p"])
    return by_ratio.get(ratio, by_ratio["16:9"])


def prompt_bits(prompt: str) -> int:
    """The first 32 bits of sha256(prompt), most significant first: what the strip shows."""
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[: PROMPT_BITS // 8], "big")


@dataclass(frozen=True)
class Look:
    """How a prompt looks and sounds; every choice comes from bytes of sha256(prompt) past the strip's four."""

    pattern: str
    tile_divisor: int
    hue: float  # degrees on the U/V plane; the second tile's sits SECOND_HUE degrees on
    speed: int  # chroma pixels per frame (per 480 px of width); negative slides right to left
    pitch: int  # Hz

    @classmethod
    def of(cls, prompt: str) -> Look:
        digest = hashlib.sha256(prompt.encode()).digest()
        direction = -1 if digest[8] & 0x80 else 1
        return cls(
            pattern=PATTERNS[digest[4] % len(PATTERNS)],
            tile_divisor=TILE_DIVISORS[digest[5] % len(TILE_DIVISORS)],
            hue=int.from_bytes(digest[6:8], "big") * 360 / 65536,
            speed=direction * (1 + digest[8] % 4),
            pitch=220 + 2 * digest[9],
        )


@dataclass(frozen=True)
class VideoSpec:
    """Everything a rendered file depends on. ``first_frame`` is the sha256 of an image in the cache's inputs."""

    width: int
    height: int
    duration: int
    fps: int
    audio: bool
    prompt: str
    first_frame: str | None = None

    @property
    def key(self) -> str:
        sound = "aac" if self.audio else "mute"
        first = self.first_frame or "none"
        prompt = hashlib.sha256(self.prompt.encode()).hexdigest()[:16]
        return f"{self.width}x{self.height}-{self.duration}s-{self.fps}fps-{sound}-p{prompt}-f{first}"


class MediaCache:
    """Renders each distinct spec once, on first download, and keeps the files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def keep_image(self, data: bytes) -> str:
        """Store a received first-frame image for rendering; its sha256. ``ValueError`` if it is no image."""
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # a full decode: a file that passes here renders later
        except Exception as exc:  # Pillow raises many types for a bad file
            raise ValueError("the image could not be decoded") from exc
        digest = hashlib.sha256(data).hexdigest()
        path = self._image_path(digest)
        if not path.exists():
            partial = path.with_name(f"{path.name}.{threading.get_ident()}.partial")
            partial.write_bytes(data)
            partial.replace(path)
        return digest

    def video(self, spec: VideoSpec) -> Path:
        return self._cached(spec, ".mp4", _render_mp4)

    def last_frame(self, spec: VideoSpec) -> Path:
        return self._cached(spec, ".png", _render_png)

    def _image_path(self, digest: str) -> Path:
        folder = self.root / "inputs"
        folder.mkdir(exist_ok=True)
        return folder / digest

    def _cached(self, spec: VideoSpec, suffix: str, render: Callable[[_Frames, Path], None]) -> Path:
        path = self.root / f"{spec.key}{suffix}"
        if path.exists():
            return path
        with self._guard:
            lock = self._locks.setdefault(path.name, threading.Lock())
        with lock:
            if not path.exists():
                partial = path.with_suffix(path.suffix + ".partial")
                image = self._image_path(spec.first_frame).read_bytes() if spec.first_frame else None
                render(_Frames(spec, image), partial)
                partial.replace(path)
        return path


class _Frames:
    """Builds the clip's frames: the prompt's pattern, drawn once on canvases wider than the frame
    (luma and both chroma planes), slides across; the first second shows the first-frame image
    instead when there is one; pattern frames carry the caption band, and every frame the prompt
    strip. Planes are written with the encoder's own line padding, so any even or odd size works."""

    def __init__(self, spec: VideoSpec, first_frame: bytes | None) -> None:
        self.spec = spec
        look = Look.of(spec.prompt)
        self.template = av.VideoFrame(spec.width, spec.height, "yuv420p")
        tiles = _tiles(look, spec.width, spec.height)
        self.luma = np.where(tiles, LIGHT, DARK).astype(np.uint8)
        colours = zip(_chroma(look.hue), _chroma(look.hue + SECOND_HUE), strict=True)
        self.chroma = [np.where(tiles[::2, ::2], second, first).astype(np.uint8) for first, second in colours]
        # Luma moves two pixels per chroma pixel, so both stay aligned.
        self.speed = look.speed * max(1, spec.width // 480)
        self.caption = _caption(spec.prompt, spec.width, spec.height)
        self.bits = prompt_bits(spec.prompt)
        self.image = _image_planes(first_frame, spec.width, spec.height) if first_frame else None

    def frame(self, index: int) -> av.VideoFrame:
        spec = self.spec
        if self.image is not None and index < spec.fps:
            planes = [plane.copy() for plane in self.image]
        else:
            width = self.template.planes[1].width  # of a chroma plane
            shift = (index * self.speed) % width
            planes = [self.luma[:, 2 * shift : 2 * shift + spec.width].copy()]
            planes += [canvas[:, shift : shift + width].copy() for canvas in self.chroma]
            _draw_caption(planes, self.caption)
        _draw_strip(planes, self.bits)
        frame = av.VideoFrame(spec.width, spec.height, "yuv420p")
        for target, plane in zip(frame.planes, planes, strict=True):
            padded = np.zeros((target.height, target.line_size), np.uint8)
            padded[:, : plane.shape[1]] = plane
            # PyAV's stub says bytes; update() takes any buffer (its ByteSource), as this array is.
            target.update(padded)  # type: ignore[arg-type]
        return frame


def _tiles(look: Look, width: int, height: int) -> np.ndarray:
    """The pattern as booleans, over a canvas a little more than twice the frame's width."""
    rows, cols = np.ogrid[0:height, 0 : 2 * width + 2]
    size = max(8, height // look.tile_divisor)
    tiles: np.ndarray
    if look.pattern == "checks":
        tiles = (rows // size + cols // size) % 2
    elif look.pattern == "stripes":
        tiles = np.broadcast_to(cols // size % 2, (height, cols.shape[1]))
    elif look.pattern == "diagonals":
        tiles = (rows + cols) // size % 2
    else:  # waves: vertical stripes bent by a sine down the frame
        tiles = (cols + (size * np.sin(rows / size)).astype(int)) // size % 2
    return tiles.astype(bool)


def _chroma(hue: float) -> tuple[int, int]:
    """U and V of a colour at ``hue`` degrees, as saturated as the tiles use."""
    angle = np.radians(hue)
    return round(NEUTRAL + CHROMA_RADIUS * np.cos(angle)), round(NEUTRAL + CHROMA_RADIUS * np.sin(angle))


def _caption(prompt: str, width: int, height: int) -> np.ndarray:
    """The band's luma: the prompt's text (cut to fit, with an ellipsis) in white on black."""
    band = max(2 * STRIP_HEIGHT, min(width, height) // 9)
    font = ImageFont.load_default(size=max(10, band // 2))
    margin = band // 3
    image = Image.new("L", (width, band), BLACK)
    text = _fit(" ".join(prompt.split()), font, width - 2 * margin)
    ImageDraw.Draw(image).text((margin, band // 2), text, font=font, fill=WHITE, anchor="lm")
    return np.asarray(image, np.uint8)


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, room: int) -> str:
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_caption(planes: list[np.ndarray], caption: np.ndarray) -> None:
    luma = planes[0]
    top = luma.shape[0] - caption.shape[0]
    luma[top:] = caption
    for chroma in planes[1:]:
        chroma[top // 2 :] = NEUTRAL


def _image_planes(data: bytes, width: int, height: int) -> list[np.ndarray]:
    """The image scaled to ``width`` x ``height`` as Y, U and V planes without line padding."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR))
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return [
        np.frombuffer(bytes(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    ]


def _draw_strip(planes: list[np.ndarray], bits: int) -> None:
    """32 blocks along the top edge, white for a 1 bit, most significant bit on the left."""
    luma = planes[0]
    block = luma.shape[1] // PROMPT_BITS
    for index in range(PROMPT_BITS):
        bit = (bits >> (PROMPT_BITS - 1 - index)) & 1
        luma[:STRIP_HEIGHT, index * block : (index + 1) * block] = WHITE if bit else BLACK
    for chroma in planes[1:]:
        chroma[: (STRIP_HEIGHT + 1) // 2, : (PROMPT_BITS * block + 1) // 2] = NEUTRAL


def _render_mp4(frames: _Frames, path: Path) -> None:
    spec = frames.spec
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
    """A quiet tone whose pitch comes from the prompt, as long as the video."""
    total = spec.duration * AUDIO_RATE
    pitch = Look.of(spec.prompt).pitch
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


def _render_png(frames: _Frames, path: Path) -> None:
    """The clip's last frame as a PNG of the same size."""
    spec = frames.spec
    frame = frames.frame(spec.duration * spec.fps - 1).reformat(format="rgb24")
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "rgb24"
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
