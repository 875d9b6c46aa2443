"""How an input that lives in object storage (or inline) can reach a gateway: the choice, as pure data.

A gateway never reads ``s3://`` or ``file://`` itself. Just before the submit each such input is turned
into a form the chosen gateway and model take, in the first way of ``order`` that works:

* ``presigned_url``: a time-limited GET URL signed for the object (S3 presigned, GCS V4 signed, Azure SAS);
  the field must take http(s) URLs.
* ``upload``: the bytes are posted to the gateway's own upload endpoint, which answers with a URL.
* ``asset``: the gateway's asset library audits the file (given a signed URL) and returns an id
  sent as ``asset://<id>``.
* ``inline``: a ``data:`` URI inside the request, where the field takes base64 and the body stays under
  the gateway's request-size limit.

Which of these a gateway offers is declared by its dialect (``Gateway.upload_media_kinds``,
``Gateway.asset_library_models``, ``ModelSpec.*_sources``); the I/O lives in ``media/``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from airflow_provider_seedance.models import MediaInput, MediaKind
from airflow_provider_seedance.stores.schemes import SIGNABLE_SCHEMES


class Delivery(enum.StrEnum):
    PRESIGNED_URL = "presigned_url"
    UPLOAD = "upload"
    ASSET = "asset"
    INLINE = "inline"


class AssetState(enum.StrEnum):
    """Where an asset stands in a gateway's audit: only ACTIVE ones may be used in a request."""

    PROCESSING = "processing"
    ACTIVE = "active"
    FAILED = "failed"


# Presigned URLs first: the bytes go from the bucket to the gateway without passing through the worker
# and the request stays small. Uploads and assets next (the gateway keeps a copy), inline last (the
# bytes travel in the request body, about a third larger as base64).
DEFAULT_DELIVERY_ORDER: tuple[Delivery, ...] = (
    Delivery.PRESIGNED_URL,
    Delivery.UPLOAD,
    Delivery.ASSET,
    Delivery.INLINE,
)


@dataclass(frozen=True)
class MediaChannels:
    """The side doors a gateway offers for one model: media kinds its upload endpoint and asset library take."""

    upload_kinds: frozenset[str] = frozenset()
    asset_kinds: frozenset[str] = frozenset()


def parse_delivery_order(order: Iterable[str] | None) -> tuple[Delivery, ...]:
    """The user's ``media_delivery`` as Delivery values; a ``ValueError`` names what is allowed."""
    if order is None:
        return DEFAULT_DELIVERY_ORDER
    if isinstance(order, str):
        order = [order]
    parsed: list[Delivery] = []
    for name in order:
        try:
            parsed.append(Delivery(name))
        except ValueError:
            allowed = ", ".join(each.value for each in Delivery)
            raise ValueError(f"media_delivery has {name!r}; allowed: {allowed} (in the order to try them)") from None
    if not parsed:
        raise ValueError("media_delivery is empty; give at least one of " + ", ".join(each.value for each in Delivery))
    return tuple(dict.fromkeys(parsed))


def possible_deliveries(
    item: MediaInput, accepted: frozenset[MediaKind], channels: MediaChannels
) -> frozenset[Delivery]:
    """Every way a storage or inline input could reach a field that takes ``accepted`` in the body."""
    media = item.media
    presignable = item.scheme in SIGNABLE_SCHEMES
    possible: set[Delivery] = set()
    if MediaKind.URL in accepted:
        if presignable:
            possible.add(Delivery.PRESIGNED_URL)
        if media in channels.upload_kinds:
            possible.add(Delivery.UPLOAD)
    # The asset library fetches the file from a URL we give it, so the source must be presignable.
    if MediaKind.ASSET in accepted and media in channels.asset_kinds and presignable:
        possible.add(Delivery.ASSET)
    if MediaKind.DATA in accepted:
        possible.add(Delivery.INLINE)
    return frozenset(possible)


def ordered(possible: frozenset[Delivery], order: Sequence[Delivery]) -> list[Delivery]:
    """The possible deliveries in the user's order; the ones left out of ``order`` are never used."""
    return [each for each in order if each in possible]
