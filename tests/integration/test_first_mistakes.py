"""First mistakes against the simulator and moto's S3 server: the connection test names every wrong base URL."""

from __future__ import annotations

import json

from tests.conftest import SIM_KEY


def _base_url_mistakes(simulator, moto_endpoint: str) -> list[tuple[str, str, str]]:
    """(gateway, base URL, what is wrong) for every gateway: no prefix, another gateway's URL, an S3 server."""
    urls = simulator.gateway_urls
    names = list(urls)
    cases = []
    for index, name in enumerate(names):
        other = names[(index + 1) % len(names)]
        cases.append((name, simulator.base_url, "the server root"))
        cases.append((name, urls[other], f"{other}'s base URL"))
        cases.append((name, moto_endpoint, "an S3 server"))
    cases.append(("ark", urls["ark"].removesuffix("/api/v3"), "Ark without /api/v3"))
    return cases


def test_connection_test_fails_for_every_base_url_mistake(simulator, moto_server, monkeypatch):
    from airflow_provider_seedance.hooks.retry import RetryPolicy
    from airflow_provider_seedance.hooks.seedance import SeedanceHook

    fast = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    outcomes = []
    for gateway, url, mistake in _base_url_mistakes(simulator, moto_server):
        for key in (SIM_KEY, "sk-wrong"):
            connection = {"conn_type": "seedance", "host": url, "password": key, "extra": {"gateway": gateway}}
            monkeypatch.setenv("AIRFLOW_CONN_MISTAKE", json.dumps(connection))
            ok, message = SeedanceHook("mistake", retry_policy=fast).test_connection()
            outcomes.append((gateway, mistake, key, ok, "Check the Base URL" in message))
    assert [row for row in outcomes if row[3] or not row[4]] == []
    # The right URL still passes.
    for gateway, url in simulator.gateway_urls.items():
        connection = {"conn_type": "seedance", "host": url, "password": SIM_KEY, "extra": {"gateway": gateway}}
        monkeypatch.setenv("AIRFLOW_CONN_RIGHT", json.dumps(connection))
        assert SeedanceHook("right", retry_policy=fast).test_connection()[0] is True, gateway
