"""Failover's pure parts: which errors prove a submit created nothing, the chain a connection declares, the
model each dialect sells an upstream model under, and the circuit breaker's file (shared by processes)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from airflow.sdk import Connection

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ContentModerationError,
    InsufficientCreditError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.generation.failover import refusal_cause
from airflow_provider_seedance.hooks.breaker import BreakerPolicy, CircuitBreaker
from airflow_provider_seedance.hooks.connection import gateway_connection
from airflow_provider_seedance.hooks.failover import FailoverTarget

GW = {"gateway": "ark"}


def _wrapped(error: Exception) -> Exception:
    """As ``Submission`` raises a refusal no retry can fix: a task failure caused by the gateway's error."""
    try:
        raise AirflowFailException("the gateway refused the generation") from error
    except AirflowFailException as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (TransportError("could not connect", gateway="ark", request_sent=False), "unreachable"),
        (ServerError("busy", gateway="ark", status_code=503), "unavailable"),
        (RateLimitError("slow down", gateway="ark", status_code=429), "rate_limited"),
        (_wrapped(InsufficientCreditError("no balance", gateway="ark", status_code=402)), "no_credit"),
        (_wrapped(AuthenticationError("bad key", gateway="ark", status_code=401)), "unauthorized"),
        # Unknown outcomes never move on: the gateway may have created (and bill) the task.
        (TransportError("read timeout", gateway="ark", request_sent=True), None),
        (ServerError("oops", gateway="ark", status_code=500), None),
        (ServerError("proxy page", gateway="ark", status_code=503, structured=False), None),
        (RateLimitError("proxy page", gateway="ark", status_code=429, structured=False), None),
        (SubmitOutcomeUnknownError("no answer"), None),
        (UnexpectedResponseError("unreadable", gateway="ark"), None),
        # The request's own fault, or the content's: another gateway would refuse it too.
        (_wrapped(InvalidRequestError("bad duration", gateway="ark", status_code=400)), None),
        (_wrapped(ContentModerationError("refused", gateway="ark")), None),
    ],
)
def test_only_refusals_that_prove_nothing_was_created_fail_over(error, cause):
    assert refusal_cause(error) == cause


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("seedance_b", "is not a list"),
        (["seedance_test"], "'seedance_test' is this connection itself"),
        (["b", "b"], "'b' is listed twice"),
        ([{"conn": "b"}], "has no field 'conn'; allowed: conn_id, models"),
        ([{"conn_id": ""}], "conn_id=''; allowed: the id of another seedance connection"),
        ([{"conn_id": "b", "models": ["x"]}], "models=['x']; allowed: an object mapping the primary's model id"),
        ([3], "[0]=3; allowed: a connection id, or an object with conn_id and models"),
    ],
)
def test_a_failover_chain_that_cannot_work_is_refused_naming_the_entry(value, message):
    conn = Connection(
        conn_id="seedance_test", conn_type="seedance", password="k", extra=json.dumps({**GW, "failover": value})
    )
    with pytest.raises(ValueError, match="extra field 'failover'") as raised:
        gateway_connection(conn, conn.extra_dejson)
    assert message in str(raised.value)


def test_the_chain_and_the_breaker_come_from_the_connection():
    extra = {
        **GW,
        "failover": ["b", {"conn_id": "c", "models": {"seedance-2.0": "doubao/seedance-2.0"}}],
        "breaker": {"failures": 5},
    }
    conn = Connection(conn_id="seedance_test", conn_type="seedance", password="k", extra=json.dumps(extra))
    resolved = gateway_connection(conn, conn.extra_dejson)
    assert resolved.failover == (FailoverTarget("b"), FailoverTarget("c", {"seedance-2.0": "doubao/seedance-2.0"}))
    assert resolved.breaker_policy == BreakerPolicy(failures=5)
    bad = Connection(
        conn_id="x", conn_type="seedance", password="k", extra=json.dumps({**GW, "breaker": {"failures": 0}})
    )
    with pytest.raises(ValueError, match=r"extra field 'breaker': failures=0; allowed: a whole number"):
        gateway_connection(bad, bad.extra_dejson)


@pytest.mark.parametrize(
    ("gateway", "model", "upstream"),
    [
        ("ark", "dreamina-seedance-2-0-260128", "seedance-2.0"),
        ("ark", "doubao-seedance-2-0-fast-260128", "seedance-2.0-fast"),
        ("ark", "dreamina-seedance-2-5-260628", "seedance-2.5"),
        ("apimart", "doubao-seedance-2.0", "seedance-2.0"),
        ("apimart", "doubao-seedance-2.0-face", None),  # apimart's own variant
        ("imini", "doubao/seedance-2.0-fast", "seedance-2.0-fast"),
        ("infinityblue", "doubao-seedance-2-0-260128", "seedance-2.0"),
        ("aiproxy", "doubao-seedance-1-0-pro-250528", "seedance-1.0-pro"),
        ("jimmyai", "seedance2.0-mini", None),  # JimmyAI's routes are its own: mapped by the connection only
    ],
)
def test_each_dialect_says_which_upstream_model_an_id_sells(gateway, model, upstream):
    assert get_gateway(gateway).upstream_of(model) == upstream


def test_a_model_maps_to_the_id_each_gateway_sells_it_under():
    ark = get_gateway("ark")
    assert ark.model_for("seedance-2.0", "https://ark.ap-southeast.bytepluses.com/api/v3") == (
        "dreamina-seedance-2-0-260128"
    )
    assert ark.model_for("seedance-2.0", "https://ark.cn-beijing.volces.com/api/v3") == "doubao-seedance-2-0-260128"
    assert get_gateway("imini").model_for("seedance-2.0", "https://x") == "doubao/seedance-2.0"
    assert get_gateway("apimart").model_for("seedance-2.5", "https://x") is None


def test_the_breaker_opens_after_its_failures_within_the_window_and_probes_after_the_cool_down(tmp_path):
    breaker = CircuitBreaker(
        "conn|url|ark|k", BreakerPolicy(failures=3, window_seconds=60, cooldown_seconds=100), tmp_path
    )
    assert not breaker.refused(now=1000)
    assert not breaker.refused(now=1070)  # the first one is out of the window by the third
    assert not breaker.refused(now=1080)
    assert breaker.open_until(now=1080) is None
    assert breaker.refused(now=1090)  # three within 60 s: open
    assert breaker.open_until(now=1100) == 1190
    assert not breaker.refused(now=1100)  # a submit that started before it opened changes nothing
    assert breaker.open_until(now=1190) is None  # the cool-down is over: one submit probes
    assert breaker.refused(now=1200)  # the probe was refused: open again at once
    assert breaker.open_until(now=1250) == 1300
    breaker.served()  # a probe that went through closes it and forgets the refusals
    assert breaker.open_until(now=1250) is None
    assert not breaker.refused(now=1260)


def test_the_state_file_holds_no_key_and_one_connection_per_identity(tmp_path):
    policy = BreakerPolicy(failures=1)
    CircuitBreaker("a|https://x|ark|digest", policy, tmp_path).refused()
    assert CircuitBreaker("a|https://x|ark|digest", policy, tmp_path).open_until() is not None
    assert CircuitBreaker("b|https://x|ark|digest", policy, tmp_path).open_until() is None
    (state,) = tmp_path.iterdir()
    assert "digest" not in state.name
    assert "https" not in state.read_text()


def _refuse(directory: str, times: int) -> None:
    breaker = CircuitBreaker("shared", BreakerPolicy(failures=1000, window_seconds=600), Path(directory))
    for _ in range(times):
        breaker.refused()


def test_task_processes_on_one_machine_share_the_breaker(tmp_path):
    """Every Airflow 3 task runs in its own process: refusals counted by four at once all add up."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_refuse, args=(str(tmp_path), 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    breaker = CircuitBreaker("shared", BreakerPolicy(failures=201, window_seconds=600), tmp_path)
    assert breaker.refused()  # the 201st: all 200 were kept, none lost to a race


def test_a_breaker_that_cannot_write_its_file_stops_counting_and_never_fails_a_generation(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the breakers' folder should be")
    breaker = CircuitBreaker("conn", BreakerPolicy(failures=1), blocked)
    assert not breaker.refused()
    assert breaker.open_until() is None
    assert "cannot be written" in caplog.text
    assert "Next: make [seedance] breaker_dir" in caplog.text
