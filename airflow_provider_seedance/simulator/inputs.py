"""Media inputs of a create request, resolved to bytes at submit as a gateway fetches them.

Each gateway module only names its media fields (``MediaRef``); fetching, decoding and the record
kept per task (``ReceivedInput``) live here once. URLs and base64 payloads are never kept: presigned
URLs are secrets, so a record holds the field, the role, how it came and its sha256 and size.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import aiohttp

from airflow_provider_seedance.exceptions import SimulatorError

Role = Literal["first_frame", "last_frame", "reference_image", "reference_video", "reference_audio"]
Via = Literal["url", "data", "upload", "asset"]

MAX_INPUT_BYTES = 64 * 1024 * 1024  # the upstream's request-body limit applies to fetched media too
MAX_REDIRECTS = 5
CHUNK = 256 * 1024
# Ark's wording for media it could not use; every gateway's failed task repeats it, naming its own field.
FAILURE = "The parameter {field} specified in the request is not valid: {cause}"

# Bytes of an asset:// id, or None when the gateway knows no bytes for it.
AssetBytes = Callable[[str], bytes | None]


@dataclass(frozen=True)
class MediaRef:
    """One media value of a request: where it sits (the gateway's own path) and what it is for."""

    field: str
    role: Role
    value: str
    uploaded: bool = False  # an http(s) URL the gateway itself issued for an upload


@dataclass(frozen=True)
class ReceivedInput:
    """What the gateway got for one ``MediaRef``: never the URL or the data themselves."""

    field: str
    role: Role
    via: Via
    sha256: str | None
    size: int | None
    error: str | None

    def record(self) -> dict[str, object]:
        return asdict(self)


Received = tuple[ReceivedInput, bytes | None]


class FetchFailed(SimulatorError):
    """Why a resource could not be had, phrased as the cause in ``FAILURE``."""


async def receive(refs: list[MediaRef], *, timeout: float, assets: AssetBytes | None = None) -> list[Received]:
    """Resolve every reference concurrently: each record with its bytes; failures are recorded, never raised."""
    if not refs:
        return []
    async with _session(timeout) as session:
        return list(await asyncio.gather(*(_receive_one(session, ref, assets) for ref in refs)))


async def download(url: str, *, timeout: float) -> bytes:
    """One URL's bytes, or ``FetchFailed`` naming the cause."""
    async with _session(timeout) as session:
        return await _fetch(session, url)


def failure_message(inputs: list[ReceivedInput]) -> str | None:
    """The message of the first input that could not be had (Ark reports one parameter per task)."""
    for item in inputs:
        if item.error is not None:
            return FAILURE.format(field=item.field, cause=item.error)
    return None


def _via(ref: MediaRef) -> Via:
    lowered = ref.value[:8].lower()
    if lowered.startswith("asset://"):
        return "asset"
    if lowered.startswith(("http://", "https://")):
        return "upload" if ref.uploaded else "url"
    return "data"  # a data: URI or, where a gateway documents it, bare base64


def _session(timeout: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))


async def _receive_one(session: aiohttp.ClientSession, ref: MediaRef, assets: AssetBytes | None) -> Received:
    via = _via(ref)
    try:
        if via == "asset":
            data = assets(ref.value[len("asset://") :]) if assets is not None else None
        elif via == "data":
            data = _decode_data(ref.value)
        else:
            data = await _fetch(session, ref.value)
    except FetchFailed as failed:
        return ReceivedInput(ref.field, ref.role, via, None, None, str(failed)), None
    if data is None:  # an asset id the gateway holds no bytes for
        return ReceivedInput(ref.field, ref.role, via, None, None, None), None
    return ReceivedInput(ref.field, ref.role, via, hashlib.sha256(data).hexdigest(), len(data), None), data


def _decode_data(value: str) -> bytes:
    """The bytes of ``data:<mime>;base64,<payload>`` or of bare base64."""
    payload = value
    if value[:5].lower() == "data:":
        header, _, payload = value.partition(",")
        if not header.lower().endswith(";base64"):
            raise FetchFailed("the data URI is not base64-encoded")
    if len(payload) > MAX_INPUT_BYTES * 4 // 3 + 4:
        raise FetchFailed("the resource is larger than 64 MB")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise FetchFailed("the base64 data is malformed") from None


async def _fetch(session: aiohttp.ClientSession, url: str) -> bytes:
    """GET ``url`` (redirects followed, at most 64 MB); a ``FetchFailed`` naming the cause otherwise."""
    try:
        async with session.get(url, max_redirects=MAX_REDIRECTS) as response:
            if response.status >= 400:
                raise FetchFailed(f"HTTP {response.status} while fetching resource")
            if (response.content_length or 0) > MAX_INPUT_BYTES:
                raise FetchFailed("the resource is larger than 64 MB")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data.extend(chunk)
                if len(data) > MAX_INPUT_BYTES:
                    raise FetchFailed("the resource is larger than 64 MB")
            return bytes(data)
    except TimeoutError:
        raise FetchFailed("timeout while fetching resource") from None
    except aiohttp.TooManyRedirects:
        raise FetchFailed("too many redirects while fetching resource") from None
    except aiohttp.ClientConnectorDNSError:
        raise FetchFailed("host not found while fetching resource") from None
    except aiohttp.ClientConnectorError as exc:
        refused = exc.os_error.errno == errno.ECONNREFUSED
        cause = "connection refused" if refused else "connection failed"
        raise FetchFailed(f"{cause} while fetching resource") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise FetchFailed(f"{type(exc).__name__} while fetching resource") from None
