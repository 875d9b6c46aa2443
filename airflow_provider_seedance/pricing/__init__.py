"""What a generation costs: list prices shipped as data (``prices.json``), overridable per connection.

No library knows Seedance billing (tokens from pixels x frames on Ark, seconds or videos on resellers), so
the arithmetic is ours. Every shipped number names its source in ``prices.json``; a connection's
``extra.prices`` (the same shape) replaces the shipped price of the models it names, because contracts
differ. Pure functions over data: nothing here reads a connection or the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from airflow_provider_seedance.gateways.spec import ModelSpec
from airflow_provider_seedance.models import MAX_DURATION_SECONDS, VideoRequest

Unit = Literal["million_tokens", "second", "video"]
UNITS: tuple[Unit, ...] = ("million_tokens", "second", "video")
ANY_TIER = "*"
# Frame area per resolution (other ratios keep about the same area) and Ark's frame rate: Ark bills
# width x height x fps x seconds / 1024 tokens (gateways.md section 10).
PIXELS = {"480p": 864 * 480, "720p": 1280 * 720, "1080p": 1920 * 1080, "2k": 2560 * 1440, "4k": 3840 * 2160}
FPS = 24
# Assumed when the request leaves it to the gateway; the basis of every estimate says so.
DEFAULT_RESOLUTION = "720p"
# A reference video whose length is not known is priced at the longest clip the upstream takes.
ASSUMED_CLIP_SECONDS = 15.0
# Reference videos are 480p-720p upstream; their frames are billed as input tokens.
INPUT_VIDEO_PIXELS = PIXELS["720p"]


@dataclass(frozen=True)
class Price:
    """One model's price on one gateway. A rate is a number or ``{without_video, with_video}``."""

    unit: Unit
    rates: Mapping[str, float | Mapping[str, float]]
    currency: str
    source: str

    def rate(self, resolution: str, *, with_video: bool) -> float | None:
        """The rate for a resolution tier (or ``*``), for a request with or without a reference video."""
        rate = self.rates.get(resolution, self.rates.get(ANY_TIER))
        if isinstance(rate, Mapping):
            return rate.get("with_video" if with_video else "without_video")
        return rate


@dataclass(frozen=True)
class Cost:
    """An amount and how it was worked out (the basis goes into logs and manifests)."""

    amount: float
    currency: str
    basis: str

    def as_dict(self) -> dict[str, Any]:
        return {"amount": round(self.amount, 4), "currency": self.currency, "basis": self.basis}


class PriceTable:
    """Prices by gateway and model, in layers: a connection's over the shipped card.

    The top layer that prices a model wins, by its exact id or else its ``*`` entry: a contract's ``*``
    covers every model of that connection.
    """

    def __init__(self, *layers: Mapping[str, Mapping[str, Price]]) -> None:
        self._layers = layers

    @classmethod
    def shipped(cls) -> PriceTable:
        return _shipped()

    def price(self, gateway: str, model: str) -> Price | None:
        for layer in reversed(self._layers):
            models = layer.get(gateway, {})
            found = models.get(model) or models.get(ANY_TIER)
            if found is not None:
                return found
        return None

    def with_overrides(self, gateway: str, overrides: Any, where: str) -> PriceTable:
        """This table with a connection's ``extra.prices`` laid over ``gateway``'s entries.

        ``where`` names the setting in errors (``connection 'x': extra.prices``); a malformed value raises
        ``ValueError`` saying what is allowed.
        """
        if overrides is None:
            return self
        parsed = _parse_gateway(overrides, where, default_source=f"{where} (your contract)")
        return PriceTable(*self._layers, {gateway: parsed})


def planned_seconds(request: VideoRequest, spec: ModelSpec) -> tuple[int, str]:
    """The length to price, and why when it is not the request's own (-1, unset: priced at the longest)."""
    longest = max((value for value in spec.durations or () if value > 0), default=MAX_DURATION_SECONDS)
    if request.duration is not None and request.duration > 0:
        return request.duration, ""
    if request.duration == -1:
        return longest, f"duration -1 lets the model choose, so it is priced at its longest, {longest} s"
    if spec.default_duration is not None and spec.default_duration > 0:
        return spec.default_duration, f"no duration given: the model's default, {spec.default_duration} s"
    why = "'the model chooses'" if spec.default_duration == -1 else "not documented"
    return longest, f"no duration given and the model's default is {why}, so it is priced at its longest, {longest} s"


def estimate(
    request: VideoRequest,
    spec: ModelSpec,
    price: Price,
    *,
    input_video_seconds: Sequence[float | None] = (),
) -> Cost | None:
    """The cost of ``request`` before it is sent; None when the price has no rate for its resolution.

    ``input_video_seconds`` are the reference videos' lengths where known (from their headers).
    """
    seconds, why = planned_seconds(request, spec)
    resolution = request.resolution or DEFAULT_RESOLUTION
    with_video = bool(request.reference_videos)
    rate = price.rate(resolution, with_video=with_video)
    if rate is None:
        return None
    notes = [why] if why else []
    if request.resolution is None:
        notes.append(f"no resolution given: assumed {DEFAULT_RESOLUTION}")
    if price.unit == "video":
        return Cost(rate, price.currency, _basis(f"{rate:g} per video", notes))
    if price.unit == "second":
        return Cost(rate * seconds, price.currency, _basis(f"{seconds} s x {rate:g} per second ({resolution})", notes))
    output = PIXELS.get(resolution, PIXELS["1080p"]) * FPS * seconds // 1024
    clips = [ASSUMED_CLIP_SECONDS if length is None else length for length in input_video_seconds]
    clips += [ASSUMED_CLIP_SECONDS] * (len(request.reference_videos) - len(clips))
    if len(clips) > len([each for each in input_video_seconds if each is not None]):
        notes.append(f"a reference video of unknown length is counted as {ASSUMED_CLIP_SECONDS:g} s")
    input_tokens = int(sum(clips) * INPUT_VIDEO_PIXELS * FPS // 1024)
    tokens = output + input_tokens
    tier = "with video input" if with_video else "no video input"
    of_input = f", {input_tokens:,} of them input video" if input_tokens else ""
    what = f"{tokens:,} tokens ({seconds} s at {resolution}{of_input})"
    return Cost(tokens * rate / 1e6, price.currency, _basis(f"{what} x {rate:g} per million ({tier})", notes))


def actual(request: VideoRequest, price: Price, usage: Mapping[str, Any] | None) -> Cost | None:
    """The cost from the gateway's own usage report (Ark's tokens); None where it reports none."""
    tokens = (usage or {}).get("total_tokens")
    if price.unit != "million_tokens" or not isinstance(tokens, int):
        return None
    resolution = request.resolution or DEFAULT_RESOLUTION
    rate = price.rate(resolution, with_video=bool(request.reference_videos))
    if rate is None:
        return None
    return Cost(tokens * rate / 1e6, price.currency, f"{tokens:,} tokens reported x {rate:g} per million")


def _basis(what: str, notes: Sequence[str]) -> str:
    return "; ".join([what, *notes])


@cache
def _shipped() -> PriceTable:
    document = json.loads(files(__package__).joinpath("prices.json").read_text())
    return PriceTable(
        {name: _parse_gateway(entry, f"prices.json {name}") for name, entry in document["gateways"].items()}
    )


def _parse_gateway(entry: Any, where: str, default_source: str = "") -> dict[str, Price]:
    """``{"currency", "source"?, "models": {model: {"unit", "rates"}}}`` checked field by field."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("models"), Mapping):
        raise ValueError(
            f'{where}: expected {{"currency": "USD", "models": {{"<model or *>": {{"unit": ..., "rates": ...}}}}}}'
        )
    currency = entry.get("currency")
    if not isinstance(currency, str) or not currency:
        raise ValueError(f"{where}.currency={currency!r}: give the currency the rates are in, such as 'USD'")
    source = str(entry.get("source") or default_source)
    return {
        str(model): _parse_price(body, f"{where}.models.{model}", currency, source)
        for model, body in entry["models"].items()
    }


def _parse_price(body: Any, where: str, currency: str, source: str) -> Price:
    if not isinstance(body, Mapping) or body.get("unit") not in UNITS:
        unit = body.get("unit") if isinstance(body, Mapping) else body
        raise ValueError(f"{where}.unit={unit!r}: one of {', '.join(UNITS)}")
    rates = body.get("rates")
    if not isinstance(rates, Mapping) or not rates:
        raise ValueError(f"{where}.rates={rates!r}: a mapping of resolution (or '*') to a rate")
    for tier, rate in rates.items():
        values = rate.values() if isinstance(rate, Mapping) else [rate]
        if isinstance(rate, Mapping) and set(rate) - {"without_video", "with_video"}:
            raise ValueError(f"{where}.rates.{tier}={rate!r}: a number or {{without_video, with_video}}")
        if not all(isinstance(value, int | float) and value >= 0 for value in values):
            raise ValueError(f"{where}.rates.{tier}={rate!r}: rates are numbers of 0 or more")
    return Price(unit=body["unit"], rates=dict(rates), currency=currency, source=source)
