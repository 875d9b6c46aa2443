"""Helpers for the simulator tests: an authenticated plain httpx client, a polling loop, and real media
inputs (images made with Pillow, served over HTTP or inlined as data: URIs)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest
from PIL import Image

from airflow_provider_seedance.hooks.clients import shared_ssl_context
from tests.conftest import TIME_SCALE  # noqa: F401 - re-exported for the simulator tests

API_KEY = "sk-simulator-test"


@pytest.fixture(scope="session")
def client() -> Iterator[httpx.Client]:
    """A client that sends the key, shared by the worker's tests: no test changes its settings and the simulator
    sets no cookies, so nothing passes from one test to the next (a new client costs ~30 ms of CPU, its TLS context)."""
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30, verify=shared_ssl_context()) as http:
        yield http


def poll_until(fetch, done, *, timeout: float = 10.0, interval: float = 0.005):
    """Call ``fetch()`` until ``done(result)``; return the last result (the test asserts on it)."""
    deadline = time.monotonic() + timeout
    result = fetch()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(interval)
        result = fetch()
    return result


# ---- real media inputs -----------------------------------------------------------------------------


def image_bytes(seed: int, fmt: str = "PNG", size: tuple[int, int] = (320, 180)) -> bytes:
    """A real image of coarse random colour blocks: images of different seeds look nothing alike."""
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def serve(file_server) -> Callable[[bytes, str], str]:
    """Put bytes on the file server; their URL. Names carry the hash, so tests never overwrite each other."""
    base, root = file_server

    def put(data: bytes, suffix: str = ".png") -> str:
        name = f"{sha256(data)[:16]}{suffix}"
        (root / name).write_bytes(data)
        return f"{base}/{name}"

    return put


@pytest.fixture(scope="session")
def media(serve) -> dict[str, str]:
    """Reachable URLs of one image of each format and stand-in video and audio files, for tests that need
    their inputs fetched but do not look at them."""
    return {
        "png": serve(image_bytes(101)),
        "jpg": serve(image_bytes(102, "JPEG"), ".jpg"),
        "png2": serve(image_bytes(103)),
        "mp4": serve(b"\x00\x00\x00\x18ftypmp42" + bytes(64), ".mp4"),
        "mp3": serve(b"ID3\x04\x00\x00" + bytes(64), ".mp3"),
    }


EXAMPLE_URL = re.compile(r"https?://example\.com/[^\"?#]*?(\.[a-z0-9]+)\b[^\"]*")
KIND_BY_SUFFIX = {".mp4": "mp4", ".mp3": "mp3", ".jpg": "jpg", ".jpeg": "jpg"}


def reachable(fields: dict, media: dict[str, str]) -> dict:
    """``fields`` with every ``https://example.com/...`` URL (unreachable here) replaced by a served file of
    the same kind, judged by the extension; other images become the served PNG."""
    text = EXAMPLE_URL.sub(lambda match: media[KIND_BY_SUFFIX.get(match[1], "png")], json.dumps(fields))
    return json.loads(text)
