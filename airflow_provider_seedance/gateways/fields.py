"""Lenient readers for values inside gateway replies, which are loosely typed and sometimes missing."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

# Unix times above this are milliseconds: in seconds it would be the year 5138.
_MILLISECONDS_ABOVE = 1e11


def text(value: Any) -> str | None:
    """A non-blank string, stripped; None for anything else."""
    return (value.strip() or None) if isinstance(value, str) else None


def json_object(value: Any) -> dict[str, Any]:
    """A JSON object as it is; an empty one for anything else (missing, null or of another type)."""
    return value if isinstance(value, dict) else {}


def json_array(value: Any) -> list[Any]:
    """A JSON array as it is; an empty one for anything else (missing, null or of another type)."""
    return value if isinstance(value, list) else []


def code_text(value: Any) -> str | None:
    """An error or business code as text; gateways send them as strings or integers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value)


def unix_time(value: Any) -> datetime | None:
    """A Unix timestamp in seconds or milliseconds as an aware UTC datetime; None when unusable."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        return None
    seconds = value / 1000 if value > _MILLISECONDS_ABOVE else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def percent(value: Any) -> int | None:
    """Progress given as ``45``, ``45.0``, ``"45"`` or ``"45%"``, clamped to 0-100; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().removesuffix("%").strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0, min(100, int(value)))


def shorten(value: Any, limit: int = 80) -> Any:
    """Long strings cut for an error message, a log line or a manifest; anything else as is.

    A data: URI keeps only its header: base64 (megabytes of someone's image) never goes anywhere.
    """
    if isinstance(value, str) and value[:5].lower() == "data:" and "," in value:
        return f"{value[: value.index(',') + 1][:limit]}... ({len(value)} characters)"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}... ({len(value)} characters)"
    return value


def shorten_inline(uri: str) -> str:
    """A media reference as records keep it: a data: URI reduced to its header, anything else whole."""
    return shorten(uri) if uri[:5].lower() == "data:" else uri


# A URL's query string can hold a signature (presigned S3 links, upload tokens); base64 can be megabytes.
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*", re.IGNORECASE)
_BASE64_PAYLOAD = re.compile(r"(data:[\w/+.-]*;base64,)[A-Za-z0-9+/=]{16,}", re.IGNORECASE)


def scrub(message: str) -> str:
    """A gateway's text with URL query strings and inline base64 removed, safe for logs and exceptions.

    Gateways echo input URLs in their errors ("content[1].image_url ... timeout while fetching
    resource"); a presigned URL's query string is a credential.
    """
    message = _URL_QUERY.sub(r"\1?<query removed>", message)
    return _BASE64_PAYLOAD.sub(r"\1<data removed>", message)
