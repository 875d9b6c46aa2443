"""The retry policy: what may be retried on a submit (never what might already be paid for) and on a poll."""

from __future__ import annotations

import random

import httpx
import pytest

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.hooks.connection import GatewayConnection
from airflow_provider_seedance.hooks.retry import RetryPolicy, outcome_unknown
from airflow_provider_seedance.hooks.seedance import _parsed

POLICY = RetryPolicy(max_attempts=4, base_delay=1, max_delay=8, max_retry_after=60)


def _server_error(status: int, *, structured: bool = True) -> ServerError:
    return ServerError("boom", gateway="ark", status_code=status, structured=structured)


@pytest.mark.parametrize(
    ("error", "retry_submit", "retry_poll", "unknown"),
    [
        pytest.param(TransportError("refused", gateway="ark", request_sent=False), True, True, False, id="not-sent"),
        pytest.param(TransportError("reset", gateway="ark", request_sent=True), False, True, True, id="sent-no-answer"),
        pytest.param(RateLimitError("slow", gateway="ark", retry_after=5), True, True, False, id="429"),
        pytest.param(RateLimitError("slow", gateway="ark", retry_after=600), False, False, False, id="429-too-long"),
        pytest.param(_server_error(503), True, True, False, id="gateway-503"),
        pytest.param(_server_error(503, structured=False), False, True, True, id="proxy-503"),
        pytest.param(_server_error(502), False, True, True, id="502"),
        pytest.param(_server_error(500), False, True, True, id="500"),
        pytest.param(AuthenticationError("bad key", gateway="ark", status_code=401), False, False, False, id="401"),
        pytest.param(
            UnexpectedResponseError("??", gateway="ark", status_code=200), False, False, True, id="unreadable"
        ),
    ],
)
def test_what_is_retried(error, retry_submit, retry_poll, unknown):
    assert POLICY.should_retry(1, error, submit=True) is retry_submit
    assert POLICY.should_retry(1, error, submit=False) is retry_poll
    assert outcome_unknown(error) is unknown


def test_attempts_are_capped():
    error = _server_error(502)
    assert POLICY.should_retry(3, error, submit=False)
    assert not POLICY.should_retry(4, error, submit=False)


def test_backoff_is_capped_and_jittered_and_honours_retry_after():
    rng = random.Random(1)
    delays = [POLICY.delay(attempt, _server_error(502), rng) for attempt in range(1, 8)]
    assert all(0.5 <= delay <= 8 for delay in delays)
    assert delays[-1] >= 4  # the ceiling grew to the cap
    assert POLICY.delay(1, RateLimitError("slow", gateway="ark", retry_after=7)) == 7


def _broken_parser(response):
    raise KeyError("a reply shape no dialect expected")


def test_an_unreadable_submit_reply_leaves_the_outcome_unknown():
    connection = GatewayConnection("seedance_test", get_gateway("ark"), "https://example.invalid", "sk-x")
    reply = httpx.Response(200, json={"id": "cgt-1"})
    assert _parsed(get_gateway("ark").parse_submit, reply, connection, submit=True).task_id == "cgt-1"
    with pytest.raises(SubmitOutcomeUnknownError, match="not paid twice"):
        _parsed(_broken_parser, reply, connection, submit=True)
    # A poll's unreadable reply is a gateway error quoting it (most often another API at that Base URL).
    with pytest.raises(UnexpectedResponseError, match=r"could not be read \(KeyError: .*'\{\"id\":\"cgt-1\"\}'"):
        _parsed(_broken_parser, reply, connection, submit=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_attempts": 0}, "max_attempts=0; allowed: 1 or more"),
        ({"base_delay": -1}, "base_delay=-1; allowed: 0 seconds or more"),
        ({"base_delay": 60, "max_delay": 30}, "base_delay=60 is above max_delay=30; raise max_delay"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**arguments)
