"""A result download as the hook hands it out, and what a ranged reply's headers say.

The hook resumes a dropped download with an HTTP ``Range`` request; these read the answer (``206`` with
``Content-Range``, a ``416`` once everything has arrived, or a server that ignored the range), so that the
reader in ``outputs.download`` always knows from which byte the chunks start and how many make the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx


@dataclass
class ArtifactStream:
    """An open download: ``chunks`` yields the body from ``offset``; ``total_size`` is the whole file's size."""

    chunks: Iterator[bytes]
    offset: int
    total_size: int | None
    content_type: str | None


def range_start(response: httpx.Response) -> int | None:
    """The first byte of a 206 reply, from ``Content-Range: bytes START-END/TOTAL``."""
    unit, _, spec = response.headers.get("content-range", "").partition(" ")
    start = spec.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def range_total(response: httpx.Response) -> int | None:
    """The whole size from a ``Content-Range`` header (``bytes */TOTAL`` on a 416)."""
    total = response.headers.get("content-range", "").rsplit("/", 1)[-1]
    return int(total) if total.isdigit() else None


def total_size(response: httpx.Response, offset: int) -> int | None:
    content_range = response.headers.get("content-range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("content-length")
    return offset + int(length) if length and length.isdigit() else None
