"""Prices and cost estimates (issue 12): the shipped rate card, connection overrides, and the arithmetic."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.pricing import PriceTable, actual, estimate, planned_seconds

ark = get_gateway("ark")
V25 = "dreamina-seedance-2-5-260628"
V20 = "dreamina-seedance-2-0-260128"
TABLE = PriceTable.shipped()


def _estimate(table: PriceTable = TABLE, gateway: str = "ark", **fields):
    request = VideoRequest(prompt="x", **fields)
    spec = get_gateway(gateway).spec_for(request.model)
    return estimate(request, spec, table.price(gateway, request.model))


def test_the_byteplus_example_for_2_5_at_720p_for_5_s():
    # gateways.md section 10: 1280x720x24x5/1024 = 108,000 tokens at $10.7/M = $1.156.
    cost = _estimate(model=V25, duration=5, resolution="720p")
    assert (round(cost.amount, 3), cost.currency) == (1.156, "USD")
    assert cost.basis == "108,000 tokens (5 s at 720p) x 10.7 per million (no video input)"


@pytest.mark.parametrize(
    ("fields", "seconds", "why"),
    [
        ({"model": V25}, 30, "the model's default is 'the model chooses', so it is priced at its longest, 30 s"),
        ({"model": V25, "duration": -1}, 30, "duration -1 lets the model choose, so it is priced at its longest"),
        ({"model": V20}, 5, "no duration given: the model's default, 5 s"),
        ({"model": V20, "duration": 12}, 12, ""),
        ({"model": "ep-20261201-x"}, 60, "not documented, so it is priced at its longest, 60 s"),
    ],
)
def test_the_length_priced(fields, seconds, why):
    request = VideoRequest(prompt="x", **fields)
    priced, reason = planned_seconds(request, ark.spec_for(request.model))
    assert priced == seconds
    assert why in reason


@pytest.mark.parametrize(
    ("fields", "amount"),
    [
        ({"model": V20, "duration": 5, "resolution": "480p"}, 864 * 480 * 24 * 5 // 1024 * 7.0 / 1e6),
        ({"model": V20, "duration": 10, "resolution": "1080p"}, 1920 * 1080 * 24 * 10 // 1024 * 7.7 / 1e6),
        ({"model": V20, "duration": 5, "resolution": "4k"}, 3840 * 2160 * 24 * 5 // 1024 * 4.0 / 1e6),
        ({"model": "dreamina-seedance-2-0-fast-260128", "duration": 5, "resolution": "720p"}, 108_000 * 5.6 / 1e6),
        ({"model": "dreamina-seedance-2-0-mini-260615", "duration": 5, "resolution": "720p"}, 108_000 * 3.5 / 1e6),
    ],
)
def test_ark_rates_by_model_and_resolution(fields, amount):
    assert _estimate(**fields).amount == pytest.approx(amount)


def test_a_reference_video_switches_the_rate_and_adds_its_frames():
    request = VideoRequest(
        prompt="x", model=V20, duration=5, resolution="720p", reference_videos=("https://x/a.mp4", "https://x/b.mp4")
    )
    cost = estimate(request, ark.spec_for(V20), TABLE.price("ark", V20), input_video_seconds=[4.0])
    input_tokens = int((4.0 + 15.0) * 1280 * 720 * 24 // 1024)
    assert cost.amount == pytest.approx((108_000 + input_tokens) * 4.3 / 1e6)
    assert "with video input" in cost.basis
    assert "a reference video of unknown length is counted as 15 s" in cost.basis


def test_only_byteplus_ids_have_a_shipped_price():
    # The card is BytePlus's, in USD; Volcengine bills the doubao-* ids in CNY at its own rates.
    assert TABLE.price("ark", "doubao-seedance-2-0-260128") is None
    assert TABLE.price("apimart", "doubao-seedance-2.0") is None
    assert TABLE.price("ark", "ep-20261201-x") is None


def test_every_shipped_gateway_names_its_source():
    document = json.loads(files("airflow_provider_seedance.pricing").joinpath("prices.json").read_text())
    for name, entry in document["gateways"].items():
        assert "[T]" in entry["source"] or "http" in entry["source"], name
    assert TABLE.price("ark", V25).source.startswith("BytePlus ModelArk rate card, revision 2026-10-02")


@pytest.mark.parametrize(
    ("overrides", "fields", "amount", "basis"),
    [
        (
            {"currency": "USD", "models": {"doubao-seedance-2.0": {"unit": "second", "rates": {"720p": 0.12}}}},
            {"model": "doubao-seedance-2.0", "duration": 10, "resolution": "720p"},
            1.2,
            "10 s x 0.12 per second (720p)",
        ),
        (
            {"currency": "CNY", "models": {"*": {"unit": "video", "rates": {"*": 3}}}},
            {"model": "doubao-seedance-2.0-fast", "duration": 5},
            3.0,
            "3 per video",
        ),
    ],
)
def test_a_connection_prices_what_a_reseller_charges(overrides, fields, amount, basis):
    table = TABLE.with_overrides("apimart", overrides, "connection 'apimart': extra.prices")
    cost = _estimate(table, "apimart", **fields)
    assert (cost.amount, cost.basis.split(";")[0]) == (pytest.approx(amount), basis)
    assert table.price("ark", V25) == TABLE.price("ark", V25)  # other gateways keep the shipped card


def test_a_connections_catch_all_covers_every_model_of_that_connection():
    overrides = {"currency": "CNY", "models": {"*": {"unit": "video", "rates": {"*": 4}}}}
    table = TABLE.with_overrides("ark", overrides, "connection 'ark_cn': extra.prices")
    assert table.price("ark", V20).currency == "CNY"
    assert table.price("ark", "doubao-seedance-2-0-260128").currency == "CNY"


def test_a_connection_overrides_the_shipped_card_for_the_models_it_names():
    overrides = {"currency": "USD", "models": {V20: {"unit": "million_tokens", "rates": {"*": 5.0}}}}
    table = TABLE.with_overrides("ark", overrides, "connection 'ark': extra.prices")
    assert _estimate(table, model=V20, duration=5, resolution="720p").amount == pytest.approx(108_000 * 5.0 / 1e6)
    assert table.price("ark", V25) == TABLE.price("ark", V25)
    assert table.price("ark", V20).source == "connection 'ark': extra.prices (your contract)"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("cheap", 'expected {"currency": "USD", "models"'),
        ({"models": {}}, "extra.prices.currency=None: give the currency the rates are in"),
        ({"currency": "USD", "models": {"m": {"unit": "minute", "rates": {"*": 1}}}}, "models.m.unit='minute': one of"),
        ({"currency": "USD", "models": {"m": {"unit": "second", "rates": {}}}}, "models.m.rates={}: a mapping of"),
        (
            {"currency": "USD", "models": {"m": {"unit": "second", "rates": {"*": -1}}}},
            "rates are numbers of 0 or more",
        ),
        (
            {"currency": "USD", "models": {"m": {"unit": "second", "rates": {"*": {"with_audio": 1}}}}},
            "a number or {without_video, with_video}",
        ),
    ],
)
def test_a_malformed_price_override_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=r"^connection 'x': extra\.prices") as caught:
        TABLE.with_overrides("ark", overrides, "connection 'x': extra.prices")
    assert message in str(caught.value)


def test_the_actual_cost_from_arks_reported_tokens():
    request = VideoRequest(prompt="x", model=V25, duration=5, resolution="720p")
    cost = actual(request, TABLE.price("ark", V25), {"completion_tokens": 108_000, "total_tokens": 108_000})
    assert cost.amount == pytest.approx(1.1556)
    assert cost.basis == "108,000 tokens reported x 10.7 per million"
    assert actual(request, TABLE.price("ark", V25), None) is None
