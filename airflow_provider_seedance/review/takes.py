"""Another take: the request of take ``n + 1`` from take ``n``'s manifest and the reviewer's note.

The request is derived, never chosen: the note is added to the prompt the previous take was made from and the
seed comes from the previous request's fingerprint and the take's number. A cleared or retried take task
therefore rebuilds the very same request and output path, and the claims (``outputs.claims``) resume or return
what it already paid for instead of paying again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from airflow_provider_seedance.generation.request_fields import REQUEST_FIELDS
from airflow_provider_seedance.models import MEDIA_FIELDS

SEED_RANGE = 2**31 - 1  # every gateway that takes a seed accepts [0, 2**31 - 1]


def next_take_request(previous_manifest: Mapping[str, Any], note: str | None, take: int) -> dict[str, Any]:
    """The request fields of take ``take``: the previous take's request, the note appended to its prompt, a new
    seed. Raises ``ValueError`` when the previous request cannot be made again as recorded (inline media, which
    a manifest keeps shortened)."""
    previous = dict(previous_manifest["request"])
    shortened = [name for name in MEDIA_FIELDS if any(_inline(uri) for uri in _uris(previous.get(name)))]
    if shortened:
        raise ValueError(
            f"take {take - 1} was made from inline data: media ({', '.join(shortened)}), which its manifest keeps "
            "shortened, so another take cannot send it again; give media as storage URIs (s3://...) instead"
        )
    prompt = previous.get("prompt") or ""
    if note and note.strip():
        prompt = f"{prompt}\n\n{note.strip()}" if prompt else note.strip()
    fingerprint = f"{previous_manifest['request_sha256']}:{take}".encode()
    seed = int.from_bytes(hashlib.sha256(fingerprint).digest()[:8], "big") % SEED_RANGE
    fields = {name: previous.get(name) for name in REQUEST_FIELDS}
    fields.update(prompt=prompt or None, seed=seed)
    return fields


def _uris(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _inline(uri: Any) -> bool:
    return isinstance(uri, str) and uri[:5].lower() == "data:"
