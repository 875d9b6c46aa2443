"""One simulator for the whole simulator test run, on a fast clock; each test starts from clean stats."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_seedance.simulator import FaultPlan, RunningSimulator, SimulatorConfig, start_simulator

# 1 simulated second = 1 real millisecond: a 10 s generation finishes in about 10 ms.
TIME_SCALE = 0.001
API_KEY = "sk-simulator-test"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Iterator[RunningSimulator]:
    config = SimulatorConfig(time_scale=TIME_SCALE, cache_dir=tmp_path_factory.mktemp("simulator-media"))
    with start_simulator(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_simulator(request) -> None:
    if "simulator" in request.fixturenames:
        running: RunningSimulator = request.getfixturevalue("simulator")
        running.simulator.faults.replace(FaultPlan())
        running.simulator.stats.reset()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as http:
        yield http


def poll_until(fetch, done, *, timeout: float = 10.0, interval: float = 0.005):
    """Call ``fetch()`` until ``done(result)``; return the last result (the test asserts on it)."""
    deadline = time.monotonic() + timeout
    result = fetch()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(interval)
        result = fetch()
    return result
