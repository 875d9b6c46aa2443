"""Helpers for the simulator tests: an authenticated plain httpx client and a polling loop."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import TIME_SCALE  # noqa: F401 - re-exported for the simulator tests

API_KEY = "sk-simulator-test"


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
