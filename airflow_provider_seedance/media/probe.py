"""Read what a media file's header says (format, width, height, duration, frame rate) without decoding it.

Two well-kept libraries do the parsing:

* Pillow for images: ``Image.open`` is lazy, it parses the header and stops before the pixel data. The
  exception is WebP, whose Pillow plugin hands the whole file to libwebp on open; its canvas size sits
  in the first 30 bytes, so it is read from there instead.
* PyAV for video and audio: FFmpeg's demuxers read an MP4/MOV ``moov`` atom or a WAV/MP3 header and
  never decode a frame. FFmpeg's stream-info pass, told to stop as early as it can, also reads the first
  packet or so of media data, never the rest. PyAV is optional (the ``media`` extra), so it is imported
  when first needed.

The file object is used through ``read``, ``seek`` and ``tell`` only, so an fsspec/s3fs file works; open
it with a small block size, or its read-ahead cache fetches far more than the header.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, UnidentifiedImageError

from airflow_provider_seedance.exceptions import MediaProbeUnavailable, MediaUnreadableError
from airflow_provider_seedance.media.limits import InputKind, MediaInfo

INSTALL_HINT = "pip install 'airflow-provider-seedance[media]'"

# The Pillow plugins tried, in this order: the formats any gateway takes (WebP is read apart). Naming
# them keeps Pillow's other plugins, some of which call ``readline``, away from the file and from untrusted
# bytes. MPO, multi-picture JPEG, is what Pillow calls a JPEG holding more than one picture.
_PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF")
_IMAGE_FORMATS = {"MPO": "jpeg"}
# RIFF header (12 bytes), first chunk header (8) and the 10 bytes of it that hold the canvas size.
_WEBP_HEADER_BYTES = 30
# FFmpeg's stream-info pass reads packets until it holds ``probesize`` bytes or ``analyzeduration`` microseconds
# (5 MB and 5 s by default). The headers already say all we ask, so the smallest values stop it after the
# first packet; 0 would mean "the default".
_AV_OPTIONS = {"probesize": "32", "analyzeduration": "1"}


def probe(kind: InputKind, fileobj: IO[bytes]) -> MediaInfo:
    """What the header of ``fileobj`` says, read from the start of the file."""
    fileobj.seek(0)
    if kind == "image":
        return _probe_image(fileobj)
    return _probe_av(kind, fileobj)


def _probe_image(fileobj: IO[bytes]) -> MediaInfo:
    head = fileobj.read(_WEBP_HEADER_BYTES)
    fileobj.seek(0)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        size = _webp_size(head)
        if size is None:
            raise MediaUnreadableError("a WebP file whose header gives no canvas size")
        return MediaInfo("image", "webp", *size)
    try:
        with Image.open(fileobj, formats=_PILLOW_FORMATS) as image:
            name = image.format or ""
            return MediaInfo("image", _IMAGE_FORMATS.get(name, name.lower() or None), image.width, image.height)
    except UnidentifiedImageError:
        raise MediaUnreadableError("its header is none of BMP, GIF, JPEG, PNG, TIFF or WebP") from None
    except Image.DecompressionBombError as exc:
        # Raised from the header alone, for images far beyond any gateway's side limits.
        raise MediaUnreadableError(str(exc)) from None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    """Canvas width and height from the first chunk of a WebP file (WebP container specification)."""
    if len(head) < _WEBP_HEADER_BYTES:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":  # extended format: 24-bit width and height, each stored minus one
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L" and head[20] == 0x2F:  # lossless: 14-bit width and height minus one after a signature
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: key-frame start code, then 14-bit sizes
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


def _probe_av(kind: InputKind, fileobj: IO[bytes]) -> MediaInfo:
    try:
        import av
        from av.audio.stream import AudioStream
    except ImportError:
        raise MediaProbeUnavailable(f"Reading {kind} headers needs PyAV: {INSTALL_HINT}.") from None
    head = fileobj.read(12)
    fileobj.seek(0)
    try:
        with av.open(fileobj, mode="r", container_options=_AV_OPTIONS) as container:
            media_format = _container_format(container.format.name, head)
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise MediaUnreadableError(f"no {kind} stream in this {media_format} file")
            stream = streams[0]
            if container.duration is not None:
                duration: float | None = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = None
            if isinstance(stream, AudioStream):  # kind == "audio"
                return MediaInfo("audio", media_format, duration=duration)
            rate = stream.average_rate
            return MediaInfo(
                "video",
                media_format,
                stream.width or None,
                stream.height or None,
                duration,
                float(rate) if rate else None,
            )
    except av.FFmpegError as exc:
        raise MediaUnreadableError(str(exc)) from None


def _container_format(names: str, head: bytes) -> str:
    """One name for the container; FFmpeg names a single demuxer for MP4 and MOV, their ftyp brand differs."""
    first = names.split(",", 1)[0]
    if first != "mov":
        return first
    # QuickTime files carry the brand "qt  ", or (older ones) no ftyp box at all.
    return "mov" if head[4:8] != b"ftyp" or head[8:12] == b"qt  " else "mp4"
