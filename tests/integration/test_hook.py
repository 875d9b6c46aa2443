"""SeedanceHook against the simulator over real HTTP: submit, poll, download, retries, and never paying twice."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, datetime, timedelta

import av
import httpx
import pytest

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    RequestValidationError,
    ResultUnavailableError,
    ServerError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
    TransportError,
)
from airflow_provider_seedance.hooks.retry import RetryPolicy
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import TaskState, VideoRequest
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.integration.conftest import FAST_RETRY

KEY = "sk-hook-test-secret-value"
FAST = RetryPolicy(**FAST_RETRY)  # what the connections' extra.retry says
REQUEST = VideoRequest(model="dreamina-seedance-2-0-260128", prompt="a red kite over dunes", duration=4, ratio="1:1")


@pytest.fixture
def hook(simulator, seedance_conn) -> SeedanceHook:
    simulator.simulator.faults.replace(FaultPlan(retry_after_seconds=0))
    hook = SeedanceHook(seedance_conn("seedance_sim", "ark", KEY))
    yield hook
    hook.close()


def _faults(simulator, *faults: ScriptedFault) -> None:
    simulator.simulator.faults.replace(FaultPlan(script=list(faults), retry_after_seconds=0))


def _submissions(simulator) -> int:
    return simulator.simulator.stats.snapshot()["gateways"].get("ark", {}).get("submissions", 0)


def _deadline(seconds: float = 30) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_submit_wait_and_download(simulator, hook):
    status = hook.submit(REQUEST)
    assert status.state is TaskState.QUEUED
    final = hook.wait(status.task_id, poll_interval=0.01, deadline=_deadline())
    assert final.state is TaskState.SUCCEEDED
    with hook.open_artifact(final) as stream:
        data = b"".join(stream.chunks)
    assert stream.total_size == len(data)
    with av.open(io.BytesIO(data)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (960, 960)
        assert container.duration / 1e6 == 4.0
    assert _submissions(simulator) == 1


def test_resume_download_from_an_offset(hook):
    final = hook.wait(hook.submit(REQUEST).task_id, poll_interval=0.01, deadline=_deadline())
    with hook.open_artifact(final) as whole:
        everything = b"".join(whole.chunks)
    with hook.open_artifact(final, offset=1000) as rest:
        assert rest.offset == 1000
        assert rest.total_size == len(everything)
        assert b"".join(rest.chunks) == everything[1000:]


def test_validation_happens_before_any_request(simulator, hook):
    with pytest.raises(RequestValidationError, match="duration=99"):
        hook.submit(REQUEST.model_copy(update={"duration": 99}))
    assert simulator.simulator.stats.snapshot()["gateways"] == {}


@pytest.mark.parametrize(
    "fault",
    [ScriptedFault(kind="rate_limit", op="submit"), ScriptedFault(kind="server_error", op="submit", status=503)],
)
def test_submit_retries_only_when_the_gateway_provably_did_not_take_it(simulator, hook, fault):
    _faults(simulator, fault)
    hook.submit(REQUEST)
    assert _submissions(simulator) == 1


def test_no_submit_attempt_starts_after_its_send_by_time(simulator, hook):
    # The reservation promises other runs an answer by then: past it, nothing is sent.
    with pytest.raises(TransportError, match="not sent: its send-by time") as raised:
        hook.submit(REQUEST, send_by=datetime.now(UTC) - timedelta(seconds=1))
    assert raised.value.request_sent is False
    assert simulator.simulator.stats.snapshot()["gateways"] == {}


def test_a_refusal_whose_retry_would_start_after_the_send_by_time_is_raised_at_once(simulator, hook):
    # A 429 asking for 5 s when 2 s are left: the refusal is final (nothing was created), not waited out.
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="rate_limit", op="submit")], retry_after_seconds=5)
    )
    with pytest.raises(RateLimitError):
        hook.submit(REQUEST, send_by=datetime.now(UTC) + timedelta(seconds=2))
    stats = simulator.simulator.stats.snapshot()["gateways"]["ark"]
    assert (stats["submit_requests"], stats.get("submissions", 0)) == (1, 0)


@pytest.mark.parametrize(
    "fault",
    [
        ScriptedFault(kind="drop_after", op="submit"),
        ScriptedFault(kind="drop", op="submit"),
        ScriptedFault(kind="server_error", op="submit", status=502),
        ScriptedFault(kind="server_error", op="submit", status=500),
    ],
    ids=["answer-lost-after-work", "connection-dropped", "502", "500"],
)
def test_submit_with_unknown_outcome_is_never_resent(simulator, hook, fault):
    _faults(simulator, fault)
    with pytest.raises(SubmitOutcomeUnknownError, match="not resent automatically"):
        hook.submit(REQUEST)
    requests = simulator.simulator.stats.snapshot()["gateways"]["ark"]["submit_requests"]
    assert requests == 1


def test_polls_survive_transient_errors(simulator, hook):
    task_id = hook.submit(REQUEST).task_id
    _faults(
        simulator,
        ScriptedFault(kind="rate_limit", op="status"),
        ScriptedFault(kind="server_error", op="status", status=502),
        ScriptedFault(kind="drop", op="status"),
    )
    assert hook.get_status(task_id).task_id == task_id


def test_persistent_errors_surface_after_the_retry_budget(simulator, hook):
    task_id = hook.submit(REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="rate_limit", op="status", count=10))
    with pytest.raises(RateLimitError):
        hook.get_status(task_id)
    assert simulator.simulator.stats.snapshot()["gateways"]["ark"]["status_requests"] == FAST.max_attempts


def test_a_policy_given_to_the_hook_overrides_the_connections(simulator, hook):
    task_id = hook.submit(REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="rate_limit", op="status", count=10))
    own = SeedanceHook("seedance_sim", retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))
    with pytest.raises(RateLimitError):
        own.get_status(task_id)
    assert simulator.simulator.stats.snapshot()["gateways"]["ark"]["status_requests"] == 2


def test_wait_polls_on_through_an_outage_longer_than_one_polls_retries(simulator, hook, caplog):
    # Like the trigger: transient errors slow the polling down but never end a wait before its deadline.
    task_id = hook.submit(REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="rate_limit", op="status", count=3 * FAST.max_attempts))
    final = hook.wait(task_id, poll_interval=0.01, deadline=_deadline())
    assert final.state is TaskState.SUCCEEDED
    assert caplog.text.count(f"Polling ark task {task_id} failed") == 3


def test_wait_raises_a_non_transient_poll_error(simulator, hook):
    task_id = hook.submit(REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="unauthorized", op="status"))
    with pytest.raises(AuthenticationError):
        hook.wait(task_id, poll_interval=0.01, deadline=_deadline())


def test_unreachable_gateway_is_a_transport_error(monkeypatch):
    conn = {
        "conn_type": "seedance",
        "host": "http://127.0.0.1:9/ark/api/v3",
        "password": KEY,
        "extra": {"gateway": "ark"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DOWN", json.dumps(conn))
    with pytest.raises(TransportError, match="could not connect") as caught:
        SeedanceHook("seedance_down", retry_policy=FAST).get_status("cgt-1")
    assert caught.value.request_sent is False
    assert "nothing was sent. Next: check that this worker can reach the gateway" in str(caught.value)


def test_errors_are_typed(hook):
    with pytest.raises(TaskNotFoundError):
        hook.get_status("cgt-does-not-exist")
    with pytest.raises(InvalidRequestError):
        hook.submit(REQUEST.model_copy(update={"model": "ep-unknown", "extra": {"frames": 12}}))


def test_cancel_a_queued_task(simulator, hook):
    config = simulator.simulator.config
    original, config.queue_seconds = config.queue_seconds, 10**6
    try:
        task_id = hook.submit(REQUEST).task_id
        assert hook.cancel(task_id) is True
        assert hook.get_status(task_id).state is TaskState.CANCELLED
    finally:
        config.queue_seconds = original


def test_expired_result_url_is_named(simulator, hook):
    _faults(simulator, ScriptedFault(kind="expire_url"))
    final = hook.wait(hook.submit(REQUEST).task_id, poll_interval=0.01, deadline=_deadline())
    with (
        pytest.raises(ResultUnavailableError, match=r"expired or removed\): Request has expired \(http=403\)$"),
        hook.open_artifact(final),
    ):
        pass


def test_download_retries_a_server_error_before_the_body(simulator, hook):
    final = hook.wait(hook.submit(REQUEST).task_id, poll_interval=0.01, deadline=_deadline())
    _faults(simulator, ScriptedFault(kind="server_error", op="download", status=503))
    with hook.open_artifact(final) as stream:
        assert len(b"".join(stream.chunks)) == stream.total_size


def test_test_connection_tells_a_bad_key_from_a_bad_url(simulator, hook, monkeypatch):
    assert hook.test_connection()[0] is True
    config = simulator.simulator.config
    config.api_keys = frozenset({"sk-the-only-good-key"})
    try:
        ok, message = SeedanceHook("seedance_sim").test_connection()
        assert (ok, "rejected the API key" in message) == (False, True)
    finally:
        config.api_keys = None
    conn = {"conn_type": "seedance", "host": "http://127.0.0.1:9/x", "password": KEY, "extra": {"gateway": "ark"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_NOWHERE", json.dumps(conn))
    ok, message = SeedanceHook("seedance_nowhere", retry_policy=FAST).test_connection()
    assert not ok
    assert "could not connect" in message


def test_async_status_and_cancel(simulator, hook):
    task_id = hook.submit(REQUEST).task_id

    async def poll() -> TaskState:
        async_hook = SeedanceHook("seedance_sim")
        _faults(simulator, ScriptedFault(kind="rate_limit", op="status"))
        while (status := await async_hook.aget_status(task_id)).state is not TaskState.SUCCEEDED:
            await asyncio.sleep(0.01)
        return status.state

    assert asyncio.run(poll()) is TaskState.SUCCEEDED


def test_the_key_never_reaches_logs_or_errors(simulator, hook, caplog):
    caplog.set_level(logging.DEBUG)
    _faults(simulator, ScriptedFault(kind="rate_limit", op="status"), ScriptedFault(kind="drop_after", op="submit"))
    with pytest.raises(SubmitOutcomeUnknownError) as caught:
        hook.submit(REQUEST)
    with pytest.raises((TaskNotFoundError, ServerError)):
        hook.get_status("cgt-missing")
    assert KEY not in caplog.text
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value.__cause__)
    assert KEY not in repr(hook.connection)


def test_simulator_saw_the_key_only_in_the_authorization_header(simulator, hook):
    # The CDN download must not receive the key: the simulator's file route is public; prove our
    # request carried no Authorization header by asking httpx what it would send.
    final = hook.wait(hook.submit(REQUEST).task_id, poll_interval=0.01, deadline=_deadline())
    call = hook.gateway.build_download(final)
    assert "Authorization" not in hook.connection.headers(call)
    assert httpx.URL(hook.connection.url(call)).host == "127.0.0.1"


# ---- a 404 while waiting: InfinityBlue's grace, everyone else's "gone at once" -------------------------

IB_REQUEST = VideoRequest(model="doubao-seedance-2-0-260128", prompt="a paper boat", duration=4, resolution="480p")


@pytest.fixture
def ib_hook(simulator, seedance_conn) -> SeedanceHook:
    simulator.simulator.faults.replace(FaultPlan(retry_after_seconds=0))
    hook = SeedanceHook(seedance_conn("seedance_ib", "infinityblue", KEY))
    yield hook
    hook.close()


def _status_polls(simulator, gateway: str) -> int:
    return simulator.simulator.stats.snapshot()["gateways"][gateway]["status_requests"]


def test_wait_tolerates_a_few_404s_then_completes(simulator, ib_hook, caplog):
    # Spec lines 498-499: the status 404 also covers "not completed yet"; 2 in a row are within the grace.
    task_id = ib_hook.submit(IB_REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="not_found", gateway="infinityblue", op="status", count=2))
    with caplog.at_level(logging.WARNING):
        final = ib_hook.wait(task_id, poll_interval=0.01, deadline=_deadline())
    assert final.state is TaskState.SUCCEEDED
    tolerated = [r.getMessage() for r in caplog.records if "answered 404 for task" in r.getMessage()]
    assert len(tolerated) == 2
    assert f"infinityblue answered 404 for task {task_id} (1 consecutive 404 reply over 0 s)" in tolerated[0]
    assert "polling on (it counts as gone after 3 in a row over 600 s)" in tolerated[0]
    assert _submissions_on(simulator, "infinityblue") == 1


def _submissions_on(simulator, gateway: str) -> int:
    return simulator.simulator.stats.snapshot()["gateways"][gateway]["submissions"]


def test_wait_ends_a_sustained_404_run_as_not_found(simulator, ib_hook, monkeypatch):
    # The real grace is 10 minutes; the rule is the same with a shorter one.
    from airflow_provider_seedance.gateways.infinityblue import InfinityBlueGateway

    monkeypatch.setattr(InfinityBlueGateway, "not_found_grace", (3, 0.05))
    task_id = ib_hook.submit(IB_REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="not_found", gateway="infinityblue", op="status", count=1000))
    with pytest.raises(TaskNotFoundError, match=r"was not found on \d+ consecutive 404 replies over") as caught:
        ib_hook.wait(task_id, poll_interval=0.01, deadline=_deadline())
    assert caught.value.message.startswith(f"task {task_id} ")
    assert "counts as gone only after 3 in a row over at least 0 s" in caught.value.message
    assert _status_polls(simulator, "infinityblue") >= 3
    assert isinstance(caught.value.__cause__, TaskNotFoundError)


def test_wait_ends_at_the_deadline_during_a_404_run(simulator, ib_hook):
    task_id = ib_hook.submit(IB_REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="not_found", gateway="infinityblue", op="status", count=1000))
    with pytest.raises(TaskNotFoundError, match="was still not found when the deadline passed"):
        ib_hook.wait(task_id, poll_interval=0.01, deadline=_deadline(0.1))


def test_wait_on_ark_ends_at_the_first_404(simulator, hook):
    task_id = hook.submit(REQUEST).task_id
    _faults(simulator, ScriptedFault(kind="not_found", op="status"))
    with pytest.raises(TaskNotFoundError) as caught:
        hook.wait(task_id, poll_interval=0.01, deadline=_deadline())
    assert "consecutive" not in caught.value.message
    assert _status_polls(simulator, "ark") == 1


def test_find_task_pages_back_to_the_submit_and_gives_up_past_its_limit(simulator, hook, monkeypatch):
    import airflow_provider_seedance.hooks.seedance as hook_module
    from airflow_provider_seedance.exceptions import UnexpectedResponseError

    model = "doubao-seedance-2-0-mini-260615"  # a model no other test submits
    since = datetime.now(UTC) - timedelta(seconds=5)
    for seed in (101, 102, 103, 104, 105):
        hook.submit(REQUEST.model_copy(update={"model": model, "seed": seed}))
    monkeypatch.setattr(hook_module, "FIND_TASK_PAGE_SIZE", 2)
    monkeypatch.setattr(hook_module, "FIND_TASK_MAX_PAGES", 2)
    assert hook.find_task(model, 103, since).raw["seed"] == 103  # on the second page, newest first
    assert hook.find_task(model, 105, since).raw["seed"] == 105
    with pytest.raises(UnexpectedResponseError, match="more than 4 doubao-seedance-2-0-mini-260615 tasks"):
        hook.find_task(model, 999, since)  # absent, but the list is longer than the lookup reads
    monkeypatch.setattr(hook_module, "FIND_TASK_MAX_PAGES", 10)
    assert hook.find_task(model, 999, since) is None  # read to the end: provably absent
    # Older than the window: the simulator's clock runs time_scale times faster, so "later" is a year ahead.
    assert hook.find_task(model, 101, datetime.now(UTC) + timedelta(days=365)) is None
