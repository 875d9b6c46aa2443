"""SeedanceBudgetOperator (issue 12): a night priced before any submission; what makes it fail, and how."""

from __future__ import annotations

import json

import pytest

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.operators.budget import SeedanceBudgetOperator
from airflow_provider_seedance.testing.connections import DEMO_RESELLER_PRICES

V20 = "dreamina-seedance-2-0-260128"


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    def connection(gateway: str, **extra) -> str:
        return json.dumps(
            {
                "conn_type": "seedance",
                "host": "http://127.0.0.1:9",
                "password": "sk-budget-test",
                "extra": {"gateway": gateway, **extra},
            }
        )

    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", connection("ark"))
    monkeypatch.setenv("AIRFLOW_CONN_PRICED_APIMART", connection("apimart", prices=DEMO_RESELLER_PRICES))
    monkeypatch.setenv("AIRFLOW_CONN_APIMART", connection("apimart"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_ARK_CNY",
        connection("ark", prices={"currency": "CNY", "models": {"*": {"unit": "video", "rates": {"*": 4}}}}),
    )


def _check(requests, budget=10.0, **kwargs):
    return SeedanceBudgetOperator(task_id="check_budget", requests=requests, budget=budget, **kwargs).execute({})


def test_a_night_within_budget_is_passed_on_unchanged():
    requests = [
        {"model": V20, "prompt": "a", "output_path": "s3://b/a.mp4"},
        {"seedance_conn_id": "priced_apimart", "model": "doubao-seedance-2.0", "prompt": "b", "duration": 4},
    ]
    assert _check(requests, defaults={"duration": 5, "resolution": "480p"}) == requests


def test_over_budget_fails_with_the_breakdown():
    requests = [{"model": V20, "prompt": str(index), "duration": 15, "resolution": "1080p"} for index in range(4)]
    with pytest.raises(AirflowFailException) as caught:
        _check(requests, budget=1)
    message = str(caught.value)
    # 1920 x 1080 x 24 fps x 15 s / 1024 = 729,000 tokens at $7.7/M: 5.6133 each.
    assert message.startswith("4 generations estimated at 22.4532 USD against a budget of 1: over budget")
    assert "4 x ark dreamina-seedance-2-0-260128: 5.6133 each, 22.4532 (729,000 tokens (15 s at 1080p)" in message
    assert message.endswith(
        "Next: lower durations or resolutions, drop items, or raise the budget, then clear the task."
    )


def test_a_generation_without_a_price_fails_the_check():
    requests = [
        {"model": V20, "prompt": "a"},
        {"seedance_conn_id": "apimart", "model": "doubao-seedance-2.0", "prompt": "b"},
    ]
    with pytest.raises(AirflowFailException, match=r"1 of 2 generations have no known price") as caught:
        _check(requests)
    assert "item 1: doubao-seedance-2.0 on apimart (connection 'apimart')" in str(caught.value)


def test_prices_in_another_currency_than_the_budget_fail_the_check():
    with pytest.raises(AirflowFailException, match="the budget is in USD but some prices are in CNY"):
        _check([{"seedance_conn_id": "ark_cny", "model": V20, "prompt": "a"}])


def test_a_bad_item_is_named():
    with pytest.raises(AirflowFailException, match=r"^item 0: invalid video request \(1 problem\):\n  - duration=0"):
        _check([{"model": V20, "prompt": "a", "duration": 0}])


def test_an_item_the_model_rejects_is_reported_invalid_not_priced():
    # 30 s passes the shape check (1-60 s) but no Seedance 2.0 model takes it: invalid, not "over budget".
    with pytest.raises(AirflowFailException, match=r"^item 0: invalid video request for gateway 'ark'") as caught:
        _check([{"model": V20, "prompt": "a"}], budget=0.01, defaults={"duration": 30})
    assert "duration=30: seconds in -1, 4-15" in str(caught.value)
    assert "over budget" not in str(caught.value)


def test_the_budget_must_be_positive():
    with pytest.raises(ValueError, match=r"budget=0; allowed: more than 0 \(in USD\)"):
        SeedanceBudgetOperator(task_id="check_budget", requests=[], budget=0)


def test_an_item_with_a_failover_chain_is_priced_at_its_dearest_connection(monkeypatch):
    # Ark's 480p 5 s: 54,000 tokens x $7/M = 0.378; the made-up reseller card: 5 s x 0.1 = 0.5, the worst case.
    chained = {"gateway": "ark", "failover": ["priced_apimart"]}
    monkeypatch.setenv(
        "AIRFLOW_CONN_CHAINED",
        json.dumps({"conn_type": "seedance", "host": "http://127.0.0.1:9", "password": "k", "extra": chained}),
    )
    request = {"seedance_conn_id": "chained", "model": V20, "prompt": "a", "duration": 5, "resolution": "480p"}
    with pytest.raises(AirflowFailException) as caught:
        _check([request], budget=0.45)
    assert "1 x apimart doubao-seedance-2.0: 0.5000 each" in str(caught.value)
    assert _check([request], budget=0.5) == [request]


def test_a_chain_with_a_connection_that_has_no_price_cannot_be_checked(monkeypatch):
    chained = {"gateway": "ark", "failover": ["apimart"]}  # apimart without prices: none are shipped for it
    monkeypatch.setenv(
        "AIRFLOW_CONN_CHAINED",
        json.dumps({"conn_type": "seedance", "host": "http://127.0.0.1:9", "password": "k", "extra": chained}),
    )
    with pytest.raises(AirflowFailException, match=r"item 0: doubao-seedance-2.0 on apimart \(connection 'apimart'\)"):
        _check([{"seedance_conn_id": "chained", "model": V20, "prompt": "a", "duration": 5}])
