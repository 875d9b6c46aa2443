"""Deliver storage and inline inputs to the gateway just before the submit, in a form it takes.

Per input, the first way in the user's order that the gateway offers for this model and field (see
``gateways/delivery.py``) and that fits is used: a signed GET URL (S3 presigned, GCS V4, Azure SAS;
``stores/``) that outlives the generation's deadline, the gateway's upload endpoint, its asset library
(audited once per content sha256, see ``assets.py``), or a ``data:`` URI while the request stays under the
gateway's body limit. The values produced are credentials or bulk data: they go into the submitted request
and nowhere else.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from airflow_provider_seedance.exceptions import MediaDeliveryError, Problem
from airflow_provider_seedance.gateways.delivery import (
    AssetState,
    Delivery,
    ordered,
    possible_deliveries,
)
from airflow_provider_seedance.gateways.fields import shorten
from airflow_provider_seedance.gateways.spec import ModelSpec
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.media.assets import AssetRegistry, RegisteredAsset
from airflow_provider_seedance.media.sources import SourceMedia
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.stores.registry import store_for

log = logging.getLogger(__name__)

# Room in the body for everything that is not inline media (prompt, fields, JSON punctuation).
REQUEST_OVERHEAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class DeliveredRequest:
    """The request as it is submitted, with ``secrets`` to keep out of any error text."""

    request: VideoRequest
    forms: Mapping[str, Delivery]
    secrets: tuple[str, ...] = field(repr=False, default=())


@dataclass
class MediaDelivery:
    """Turns a request's storage and inline inputs into what ``hook``'s gateway takes."""

    hook: SeedanceHook
    order: Sequence[Delivery]
    url_lifetime: timedelta
    registry: AssetRegistry
    poll_interval: float = 5.0
    asset_timeout: timedelta = timedelta(minutes=30)

    def deliver(self, request: VideoRequest, sources: Sequence[SourceMedia]) -> DeliveredRequest:
        gateway = self.hook.gateway
        spec = gateway.spec_for(request.model)
        channels = gateway.media_channels(request.model)
        body_limit = spec.media_limits.max_request_bytes
        budget = math.inf if body_limit is None else body_limit - REQUEST_OVERHEAD_BYTES
        replacements: dict[str, str] = {}
        forms: dict[str, Delivery] = {}
        seen: dict[tuple[str, Delivery], str] = {}  # the same bytes twice in one request go once
        for source in sources:
            accepted = spec.sources_for(source.input.media)
            if source.input.kind in accepted:  # a data: URI the gateway takes as it is
                forms[source.input.field] = Delivery.INLINE
                budget -= len(source.input.uri)
                continue
            options = ordered(possible_deliveries(source.input, accepted, channels), self.order)
            inline_size = _inline_size(source)
            if Delivery.INLINE in options and inline_size > budget:
                options.remove(Delivery.INLINE)
                if not options:
                    raise MediaDeliveryError(_too_big_to_inline(source, inline_size, spec))
            if not options:  # validation refuses these before anything is read; kept as a guard
                raise MediaDeliveryError(Problem(source.input.field, source.input.uri, "no delivery applies"))
            form = options[0]
            key = (source.sha256, form)
            if key not in seen:
                seen[key] = self._deliver_one(source, form)
            replacements[source.input.field] = seen[key]
            forms[source.input.field] = form
            if form is Delivery.INLINE:
                budget -= inline_size
            log.info("%s: %s delivered to %s as %s.", source.input.field, shorten(source.input.uri), gateway.name, form)
        return DeliveredRequest(request.with_media(replacements), forms, tuple(replacements.values()))

    def _deliver_one(self, source: SourceMedia, form: Delivery) -> str:
        if form is Delivery.PRESIGNED_URL:
            return _signed_url(source, self.url_lifetime)
        if form is Delivery.UPLOAD:
            return self.hook.upload(source.filename, source.content_type, source.read_bytes())
        if form is Delivery.ASSET:
            return f"asset://{self._approved_asset(source)}"
        data = base64.b64encode(source.read_bytes()).decode("ascii")
        return f"data:{source.content_type};base64,{data}"

    def _approved_asset(self, source: SourceMedia) -> str:
        """An asset id the library approved for these bytes: remembered, or audited now."""
        gateway, conn_id = self.hook.gateway.name, self.hook.seedance_conn_id
        known = self.registry.get(gateway, conn_id, source.sha256)
        if known is not None and self.hook.asset_states([known.asset_id]).get(known.asset_id) is AssetState.ACTIVE:
            log.info("%s: reusing asset %s, approved at %s.", source.input.field, known.asset_id, known.approved_at)
            return known.asset_id
        url = _signed_url(source, self.url_lifetime)
        asset_id = self.hook.create_asset(f"{source.sha256[:16]}-{source.filename}", source.input.media, url)
        log.info(
            "%s: asset %s submitted to %s's library; waiting for its audit.", source.input.field, asset_id, gateway
        )
        self._wait_until_active(source, asset_id)
        self.registry.put(
            RegisteredAsset(
                gateway=gateway,
                seedance_conn_id=conn_id,
                asset_id=asset_id,
                media=source.input.media,
                sha256=source.sha256,
                size=source.size,
                approved_at=datetime.now(UTC).isoformat(),
            )
        )
        return asset_id

    def _wait_until_active(self, source: SourceMedia, asset_id: str) -> None:
        deadline = time.monotonic() + self.asset_timeout.total_seconds()
        while True:
            state = self.hook.asset_states([asset_id]).get(asset_id, AssetState.PROCESSING)
            if state is AssetState.ACTIVE:
                return
            if state is AssetState.FAILED:
                raise MediaDeliveryError(
                    Problem(
                        source.input.field,
                        source.input.uri,
                        f"{self.hook.gateway.name}'s asset audit refused it (asset {asset_id}); use another file",
                    )
                )
            if time.monotonic() >= deadline:
                raise MediaDeliveryError(
                    Problem(
                        source.input.field,
                        source.input.uri,
                        f"asset {asset_id} was still being audited after {self.asset_timeout}; a retry waits again",
                    ),
                    retryable=True,
                )
            time.sleep(self.poll_interval)


def _signed_url(source: SourceMedia, lifetime: timedelta) -> str:
    """A GET URL for a stored input, signed with its connection by its store (``stores/``): S3 presigned, GCS V4
    signed or Azure SAS, valid for ``lifetime`` (at most 7 days). Only stored inputs are offered as signed URLs
    or assets."""
    assert source.path is not None, f"{source.input.field} is not in storage"
    return store_for(source.path).signed_url(source.path, lifetime)


def _inline_size(source: SourceMedia) -> int:
    return len(f"data:{source.content_type};base64,") + 4 * ((source.size + 2) // 3)


def _too_big_to_inline(source: SourceMedia, inline_size: int, spec: ModelSpec) -> Problem:
    limit = spec.media_limits.max_request_bytes or 0
    return Problem(
        source.input.field,
        f"{shorten(source.input.uri)}: {inline_size / 1024 / 1024:.1f} MiB as base64",
        f"the request body may hold at most {limit / 1024 / 1024:.0f} MiB on this gateway; put the file in S3, GCS "
        "or Azure Blob Storage (a signed URL is sent instead) or use a smaller file",
    )
