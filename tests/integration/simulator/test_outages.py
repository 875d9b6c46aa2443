"""One gateway down for a window, seen through the real hook: its submits fail as the dialect reads the gateway's
answer (or cannot connect at all), nothing is created, its existing tasks still answer, and the window ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from airflow_provider_seedance.exceptions import (
    GatewayError,
    InsufficientCreditError,
    RateLimitError,
    ServerError,
    TransportError,
)
from airflow_provider_seedance.hooks.retry import RetryPolicy
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskState, VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, SimulatorConfig, start_simulator
from airflow_provider_seedance.simulator.faults import OutageMode
from airflow_provider_seedance.testing.connections import simulated_gateway_connections

KEY = "sk-outage-test-secret-value"
PROMPT = "a red kite over dunes"
# A request each gateway's dialect accepts, so the submit reaches the gateway.
REQUESTS = {
    "aiproxy": VideoRequest(model="doubao-seedance-1-0-pro-250528", prompt=PROMPT, duration=5),
    "apimart": VideoRequest(model="doubao-seedance-2.0", prompt=PROMPT, duration=5),
    "ark": VideoRequest(model="dreamina-seedance-2-0-260128", prompt=PROMPT, duration=4),
    "imini": VideoRequest(model="doubao/seedance-2.0", prompt=PROMPT, duration=5),
    "infinityblue": VideoRequest(model="doubao-seedance-2-0-260128", prompt=PROMPT, duration=4, resolution="480p"),
    "jimmyai": VideoRequest(model="sd2_mx_720p", prompt=PROMPT, duration=5, ratio="adaptive"),
}
WINDOW = 0.3  # seconds a timed outage lasts; the tests sleep a little past it


@pytest.fixture
def hook_on(simulator, monkeypatch) -> Iterator[Callable[..., SeedanceHook]]:
    """``hook_on(gateway, own=False)``: a hook that tries each call once, on the shared port or the gateway's own."""
    hooks: list[SeedanceHook] = []

    def make(gateway: str, *, own: bool = False) -> SeedanceHook:
        url = simulator.own_url(gateway) if own else simulator.gateway_url(gateway)
        (conn,) = simulated_gateway_connections({gateway: url}, KEY).values()
        conn_id = f"seedance_outage_{gateway}{'_own' if own else ''}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn)
        hooks.append(SeedanceHook(conn_id, retry_policy=RetryPolicy(max_attempts=1)))
        return hooks[-1]

    yield make
    for made in hooks:
        made.close()


@pytest.fixture
def up_again(simulator) -> Iterator[None]:
    """Own listeners outlive the per-test fault plan: every test leaves them open for the next."""
    yield
    for gateway in simulator.simulator.gateways:
        simulator.bring_up(gateway)


def _counts(simulator, gateway: str) -> dict[str, int]:
    return simulator.simulator.stats.snapshot()["gateways"].get(gateway, {})


EXPECTED = {
    OutageMode.UNAVAILABLE: ServerError,
    OutageMode.RATE_LIMITED: RateLimitError,
    OutageMode.NO_CREDIT: InsufficientCreditError,
}


@pytest.mark.parametrize("gateway", sorted(REQUESTS))
@pytest.mark.parametrize("mode", list(EXPECTED))
def test_a_down_gateway_refuses_submits_in_its_own_words(simulator, hook_on, gateway, mode):
    simulator.simulator.faults.replace(FaultPlan(retry_after_seconds=7))
    simulator.take_down(gateway, mode)
    tasks = len(simulator.simulator.tasks)
    with pytest.raises(GatewayError) as raised:
        hook_on(gateway).submit(REQUESTS[gateway])
    assert type(raised.value) is EXPECTED[mode], raised.value
    assert raised.value.structured
    if mode is OutageMode.UNAVAILABLE:
        assert raised.value.status_code == 503
    if mode is OutageMode.RATE_LIMITED:
        assert raised.value.retry_after == 7
    counts = _counts(simulator, gateway)
    assert (counts["submit_requests"], counts[f"fault_outage_{mode}"]) == (1, 1)
    assert "submissions" not in counts
    assert len(simulator.simulator.tasks) == tasks


@pytest.mark.parametrize(("gateway", "mode"), [("ark", "unavailable"), ("apimart", "no_credit")])
def test_a_down_gateway_still_serves_its_tasks(simulator, hook_on, gateway, mode):
    hook = hook_on(gateway)
    task_id = hook.submit(REQUESTS[gateway]).task_id
    simulator.take_down(gateway, mode)
    final = hook.wait(task_id, poll_interval=0.01, deadline=datetime.now(UTC) + timedelta(seconds=10))
    assert final.state is TaskState.SUCCEEDED
    with hook.open_artifact(final) as stream:
        assert b"".join(stream.chunks)
    assert f"fault_outage_{mode}" not in _counts(simulator, gateway)
    with pytest.raises(EXPECTED[OutageMode(mode)]):  # down all along
        hook.submit(REQUESTS[gateway])


@pytest.mark.parametrize(("gateway", "mode"), [("ark", "rate_limited"), ("apimart", "unavailable")])
def test_submits_work_again_when_the_window_ends(simulator, hook_on, gateway, mode):
    hook = hook_on(gateway)
    hook.submit(REQUESTS[gateway])  # up before, and the hook's client is ready well within the window
    simulator.take_down(gateway, mode, seconds=WINDOW)
    with pytest.raises(EXPECTED[OutageMode(mode)]):
        hook.submit(REQUESTS[gateway])
    time.sleep(WINDOW + 0.05)
    assert hook.submit(REQUESTS[gateway]).state is TaskState.QUEUED
    counts = _counts(simulator, gateway)
    assert (counts["submit_requests"], counts["submissions"]) == (3, 2)


def test_bring_up_ends_an_outage_early_and_leaves_the_others(simulator, hook_on):
    simulator.take_down("ark", "no_credit")
    simulator.take_down("apimart", "unavailable")
    simulator.bring_up("ark")
    hook_on("ark").submit(REQUESTS["ark"])
    with pytest.raises(ServerError):
        hook_on("apimart").submit(REQUESTS["apimart"])


def test_refused_connections_send_nothing_until_the_window_ends(simulator, hook_on, up_again):
    hook = hook_on("ark", own=True)
    hook.submit(REQUESTS["ark"])  # leaves a kept-alive connection, which the outage must close as well
    simulator.take_down("ark", "refuse", seconds=WINDOW)
    with pytest.raises(TransportError, match="could not connect") as raised:
        hook.submit(REQUESTS["ark"])
    assert raised.value.request_sent is False
    assert _counts(simulator, "ark")["submit_requests"] == 1
    time.sleep(WINDOW + 0.05)
    hook.submit(REQUESTS["ark"])
    assert _counts(simulator, "ark")["submissions"] == 2


def test_refused_connections_until_brought_up(simulator, hook_on, up_again):
    own = hook_on("apimart", own=True)
    simulator.take_down("apimart", "refuse")
    with pytest.raises(TransportError) as raised:
        own.submit(REQUESTS["apimart"])
    assert raised.value.request_sent is False
    hook_on("apimart").submit(REQUESTS["apimart"])  # the shared port still serves every gateway
    simulator.bring_up("apimart")
    own.submit(REQUESTS["apimart"])
    assert _counts(simulator, "apimart")["submissions"] == 2


def test_an_outage_through_the_admin_api(http, client, simulator):
    plan = {"outages": [{"gateway": "ark", "mode": "unavailable", "seconds": WINDOW}]}
    stored = http.put(f"{simulator.base_url}/_simulator/faults", json=plan).json()
    assert stored["outages"] == [{"gateway": "ark", "mode": "unavailable", "seconds": WINDOW}]
    tasks_url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    body = {"model": REQUESTS["ark"].model, "content": [{"type": "text", "text": PROMPT}]}
    refused = client.post(tasks_url, json=body)
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "InternalServerError"
    assert (
        client.post(
            simulator.gateway_url("apimart") + "/v1/videos/generations",
            json={"model": REQUESTS["apimart"].model, "prompt": PROMPT},
        ).status_code
        == 200
    )
    time.sleep(WINDOW + 0.05)
    assert client.post(tasks_url, json=body).status_code == 200


@pytest.mark.parametrize(
    ("outage", "message"),
    [
        (
            {"gateway": "arc", "mode": "unavailable"},
            "outage of gateway 'arc', which is not simulated; use one of: ark, imini, apimart",
        ),
        ({"gateway": "ark", "mode": "refuse"}, "use RunningSimulator.take_down(gateway, 'refuse')"),
        ({"gateway": "ark", "mode": "unavailable", "seconds": 0}, "Input should be greater than 0"),
        ({"gateway": "ark", "mode": "meteor"}, "meteor"),
    ],
)
def test_an_outage_that_cannot_happen_is_refused(http, simulator, outage, message):
    bad = http.put(f"{simulator.base_url}/_simulator/faults", json={"outages": [outage]})
    assert bad.status_code == 400
    assert message in bad.text


def test_take_down_names_the_simulated_gateways(simulator):
    with pytest.raises(ValueError, match="unknown gateway 'arc'; simulated: ark, imini"):
        simulator.take_down("arc", "unavailable")


def test_stop_closes_the_gateways_own_listeners(tmp_path):
    with start_simulator(SimulatorConfig(cache_dir=tmp_path)) as running:
        url = running.own_url("ark")
        assert httpx.get(f"{running.own_url('imini')}/v1/videos/tasks/x").status_code == 401
        running.take_down("imini", "refuse", seconds=60)  # its reopening is still pending at stop
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/contents/generations/tasks/x")
