"""Integration-tier helpers: one plain HTTP client per worker, and ``seedance`` connections to the simulator
whose retries wait milliseconds.

The hook's retry policy comes from the connection's ``extra.retry`` (docs/connections.md), as it does for
users, so the triggers, which build their own hooks, back off through the real policy on a short scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from airflow_provider_seedance.hooks.clients import shared_ssl_context
from airflow_provider_seedance.testing.connections import simulated_gateway_connections

# The product's backoff (capped exponential, full jitter), in hundredths of a second instead of seconds.
# Four attempts per call: a script of more faults than that outlasts one call's retries, so the waiting
# policy's own backoff between polls is exercised as well.
FAST_RETRY = {"max_attempts": 4, "base_delay": 0.01, "max_delay": 0.02}


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A client without a key (as a CDN link or the simulator's admin API is reached), shared by the worker's
    tests: a new httpx client builds a TLS context, about 30 ms of CPU, and the tier used to build 850."""
    with httpx.Client(timeout=30, verify=shared_ssl_context()) as client:
        yield client


@pytest.fixture
def seedance_conn(simulator, monkeypatch) -> Callable[..., str]:
    """``make(conn_id, gateway, key)``: a ``seedance`` connection to the simulated ``gateway``; its id."""

    def make(conn_id: str, gateway: str, key: str, *, retry: dict | None = None) -> str:
        urls = {gateway: simulator.gateway_url(gateway)}
        (conn,) = simulated_gateway_connections(urls, key, retry=FAST_RETRY if retry is None else retry).values()
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn)
        return conn_id

    return make
