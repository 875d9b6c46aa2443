"""Simulator-wide behaviour seen from a plain HTTP client: faults, files, stats, admin API and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_seedance.simulator import (
    FaultPlan,
    RunningSimulator,
    ScriptedFault,
    SimulatorConfig,
    start_simulator,
)
from tests.integration.simulator.conftest import API_KEY, TIME_SCALE, poll_until

MODEL = "dreamina-seedance-2-0-260128"


@pytest.fixture
def tasks_url(simulator) -> str:
    return simulator.gateway_url("ark") + "/contents/generations/tasks"


def _submit(client, tasks_url) -> str:
    response = client.post(tasks_url, json={"model": MODEL, "content": [{"type": "text", "text": "waves"}]})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _finished(client, tasks_url, task_id) -> dict:
    return poll_until(lambda: client.get(f"{tasks_url}/{task_id}").json(), lambda t: t["status"] == "succeeded")


def _script(simulator, *faults: ScriptedFault, **plan) -> None:
    simulator.simulator.faults.replace(FaultPlan(script=list(faults), **plan))


def _stats(http: httpx.Client, simulator) -> dict:
    return http.get(f"{simulator.base_url}/_simulator/stats").json()


def test_dropped_connection_before_the_work(http, simulator, client, tasks_url):
    _script(simulator, ScriptedFault(kind="drop", op="submit"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(tasks_url, json={"model": MODEL, "content": [{"type": "text", "text": "x"}]})
    assert _stats(http, simulator)["gateways"]["ark"].get("submissions", 0) == 0


def test_dropped_connection_after_the_work_leaves_a_paid_task(http, simulator, client, tasks_url):
    # The outcome a client cannot know: the task exists although no answer came back.
    _script(simulator, ScriptedFault(kind="drop_after", op="submit"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(tasks_url, json={"model": MODEL, "content": [{"type": "text", "text": "x"}]})
    stats = _stats(http, simulator)
    assert stats["gateways"]["ark"]["submissions"] == 1
    assert stats["gateways"]["ark"]["fault_drop_after"] == 1


def test_slow_response_waits_then_answers(simulator, client, tasks_url):
    _script(simulator, ScriptedFault(kind="slow", op="submit"), slow_seconds=0.1)
    started = time.monotonic()
    _submit(client, tasks_url)
    assert time.monotonic() - started >= 0.1


def test_hold_after_creates_the_task_before_the_held_answer(simulator, client, tasks_url):
    # What a worker killed mid-submit sees: the task exists (and would be billed) while no answer has come.
    _script(simulator, ScriptedFault(kind="hold_after", op="submit"), slow_seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        client.post(tasks_url, json={"model": MODEL, "content": [{"type": "text", "text": "x"}]}, timeout=0.5)
    stats = simulator.simulator.stats.snapshot()
    assert stats["gateways"]["ark"]["submissions"] == 1
    assert stats["gateways"]["ark"]["fault_hold_after"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_carry_the_scripted_status(simulator, client, tasks_url, status):
    _script(simulator, ScriptedFault(kind="server_error", op="status", status=status))
    task_id = _submit(client, tasks_url)
    failed = client.get(f"{tasks_url}/{task_id}")
    assert failed.status_code == status
    assert failed.json()["error"]["type"] == "InternalServerError"
    assert client.get(f"{tasks_url}/{task_id}").status_code == 200  # the script is used up


def test_scripted_faults_match_gateway_and_count(simulator, client, tasks_url):
    # The imini entry never matches an ark request; the second entry hits the next two ark requests.
    _script(simulator, ScriptedFault(kind="rate_limit", gateway="imini"), ScriptedFault(kind="rate_limit", count=2))
    codes = [client.get(f"{tasks_url}/nope").status_code for _ in range(3)]
    assert codes == [429, 429, 404]


def test_random_faults_repeat_under_the_same_seed(simulator, client, tasks_url):
    def run() -> list[int]:
        _script(simulator, seed=42, rates={"rate_limit": 0.5})
        return [client.get(f"{tasks_url}/nope").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert first.count(429) not in (0, 40)


def test_retry_after_header_follows_the_plan(simulator, client, tasks_url):
    _script(simulator, ScriptedFault(kind="rate_limit"), retry_after_seconds=7)
    assert client.get(f"{tasks_url}/x").headers["Retry-After"] == "7"


def test_truncated_download_is_cut_short(http, simulator, client, tasks_url):
    task = _finished(client, tasks_url, _submit(client, tasks_url))
    _script(simulator, ScriptedFault(kind="truncate"))
    with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", task["content"]["video_url"]) as response:
        response.read()
    whole = http.get(task["content"]["video_url"])
    assert whole.status_code == 200
    assert len(whole.content) == int(whole.headers["content-length"])


def test_expired_url_fault_and_ttl(http, simulator, client, tasks_url):
    _script(simulator, ScriptedFault(kind="expire_url"))
    expired = _finished(client, tasks_url, _submit(client, tasks_url))
    assert http.get(expired["content"]["video_url"]).status_code == 403

    config = simulator.simulator.config
    original = config.url_ttl_seconds
    config.url_ttl_seconds = 20  # 20 simulated seconds = 20 ms here
    try:
        task = _finished(client, tasks_url, _submit(client, tasks_url))
        time.sleep(0.05)
        assert http.get(task["content"]["video_url"]).status_code == 403
    finally:
        config.url_ttl_seconds = original


def test_range_and_head_requests(http, client, tasks_url):
    task = _finished(client, tasks_url, _submit(client, tasks_url))
    url = task["content"]["video_url"]
    whole = http.get(url).content
    head = http.head(url)
    assert int(head.headers["content-length"]) == len(whole)
    part = http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole[100:200]
    assert http.get(url, headers={"Range": f"bytes={len(whole) - 10}-"}).content == whole[-10:]


@pytest.fixture
def fast_clock(tmp_path) -> Iterator[RunningSimulator]:
    """A simulator of its own whose clock runs ten times as fast as the shared one's, with tasks that never
    leave the queue: Ark's shortest execution limit (an hour) passes in 0.36 s."""
    config = SimulatorConfig(time_scale=TIME_SCALE / 10, queue_seconds=10**6, cache_dir=tmp_path)
    with start_simulator(config) as running:
        yield running


def test_task_expires_when_it_stays_queued_past_its_limit(client, fast_clock):
    tasks_url = fast_clock.gateway_url("ark") + "/contents/generations/tasks"
    body = {"model": MODEL, "content": [{"type": "text", "text": "x"}], "execution_expires_after": 3600}
    task_id = client.post(tasks_url, json=body).json()["id"]
    task = poll_until(lambda: client.get(f"{tasks_url}/{task_id}").json(), lambda t: t["status"] == "expired")
    assert task["status"] == "expired"


def test_unknown_files_and_reset(http, simulator, client, tasks_url):
    assert http.get(f"{simulator.base_url}/_files/nope/video.mp4").status_code == 404
    _submit(client, tasks_url)
    assert _stats(http, simulator)["gateways"]["ark"]["submissions"] == 1
    assert http.post(f"{simulator.base_url}/_simulator/reset").json() == {"reset": True, "tasks_cleared": False}
    assert _stats(http, simulator) == {"gateways": {}, "tasks": {}}


def test_faults_admin_api(http, simulator, client, tasks_url):
    plan = {"seed": 3, "script": [{"kind": "server_error", "status": 502, "op": "status"}]}
    stored = http.put(f"{simulator.base_url}/_simulator/faults", json=plan).json()
    assert stored["script"][0]["status"] == 502
    assert http.get(f"{simulator.base_url}/_simulator/faults").json() == stored
    assert client.get(f"{tasks_url}/whatever").status_code == 502
    bad = http.put(f"{simulator.base_url}/_simulator/faults", json={"rates": {"meteor": 1}})
    assert bad.status_code == 400
    assert "meteor" in bad.text


@pytest.mark.parametrize(
    ("kind", "op", "applies"),
    [("moderation", "status", "submit"), ("expire_url", "download", "submit"), ("truncate", "submit", "download")],
)
def test_a_fault_that_can_never_fire_is_refused(http, simulator, kind, op, applies):
    plan = {"script": [{"kind": kind, "op": op}]}
    bad = http.put(f"{simulator.base_url}/_simulator/faults", json=plan)
    assert bad.status_code == 400
    assert f"fault '{kind}' never happens on '{op}' requests; it applies to: {applies}" in bad.text


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"rates": {"rate_limit": 3}}, "Input should be less than or equal to 1"),
        ({"script": [{"kind": "drop", "gateway": "arc"}]}, "gateway 'arc' is not simulated; use one of: ark, imini"),
    ],
)
def test_a_fault_plan_that_cannot_mean_anything_is_refused(http, simulator, plan, message):
    bad = http.put(f"{simulator.base_url}/_simulator/faults", json=plan)
    assert bad.status_code == 400
    assert message in bad.text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--time-scale", "-1"], "--time-scale -1.0: input should be greater than 0"),
        (["--rate-limit-rate", "3"], "--rate-limit-rate 3.0: input should be less than or equal to 1"),
        (["--url-ttl", "0"], "--url-ttl 0.0: input should be greater than 0"),
        (["--port", "99999"], "--port 99999: allowed 0-65535 (0 picks a free port)"),
    ],
)
def test_command_line_values_out_of_range_name_their_flag(arguments, message, capsys):
    from airflow_provider_seedance.simulator.__main__ import parse_args

    with pytest.raises(SystemExit) as exited:
        parse_args(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_health_lists_every_gateway(http, simulator):
    health = http.get(f"{simulator.base_url}/_simulator/health").json()
    assert health["gateways"] == sorted(["ark", "imini", "apimart", "aiproxy", "infinityblue", "jimmyai"])


def test_command_line_serves_and_prints_base_urls(http, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_seedance.simulator", "--port", "0", "--time-scale", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(8)]
        base_url = lines[0].rsplit(" ", 1)[-1].strip()
        urls = dict(line.split() for line in lines[1:8])
        assert urls["ark"] == f"{base_url}/ark/api/v3"
        assert urls["apimart"] == f"{base_url}/apimart"
        created = http.post(
            f"{urls['ark']}/contents/generations/tasks",
            json={"model": MODEL, "content": [{"type": "text", "text": "x"}]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert created.status_code == 200, created.text
        assert json.loads(http.get(urls["stats"]).text)["gateways"]["ark"]["submissions"] == 1
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_not_found_fault_forgets_a_task_for_one_poll(simulator, client, tasks_url):
    task_id = _submit(client, tasks_url)
    _script(simulator, ScriptedFault(kind="not_found"))
    forgotten = client.get(f"{tasks_url}/{task_id}")
    assert forgotten.status_code == 404
    assert forgotten.json()["error"]["code"] == "NotFound.Task"
    assert client.get(f"{tasks_url}/{task_id}").status_code == 200
