"""``seedance`` connections to the simulated gateways, as ``AIRFLOW_CONN_*`` environment values.

Used by ``make demo`` and by tests of DAGs that run against the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# Made-up reseller prices so that budget checks can run against the simulator: they are nobody's real
# prices. Ark needs none here, because the shipped BytePlus card prices its dreamina-* models.
DEMO_RESELLER_PRICES = {
    "currency": "USD",
    "source": "made-up demo prices for the simulator, not any vendor's",
    "models": {"*": {"unit": "second", "rates": {"*": 0.1}}},
}


def seedance_connection(url: str, gateway: str, api_key: str, **extra: object) -> str:
    """One ``seedance`` connection as an ``AIRFLOW_CONN_*`` value: ``extra`` holds its other fields (``retry``,
    ``failover``, ``breaker``...)."""
    return json.dumps(
        {"conn_type": "seedance", "host": url, "password": api_key, "extra": {"gateway": gateway, **extra}}
    )


def simulated_gateway_connections(
    gateway_urls: Mapping[str, str],
    api_key: str,
    *,
    prefix: str = "SEEDANCE",
    demo_prices: bool = False,
    retry: Mapping[str, float] | None = None,
) -> dict[str, str]:
    """One connection per gateway, ``<prefix>_<GATEWAY>``; with ``demo_prices``, resellers get made-up prices;
    ``retry`` is each connection's ``extra.retry`` (docs/connections.md), such as millisecond backoffs in tests."""
    connections = {}
    for name, url in gateway_urls.items():
        extra: dict[str, object] = {}
        if demo_prices and name != "ark":
            extra["prices"] = DEMO_RESELLER_PRICES
        if retry is not None:
            extra["retry"] = dict(retry)
        connections[f"AIRFLOW_CONN_{prefix}_{name.upper()}"] = seedance_connection(url, name, api_key, **extra)
    return connections
