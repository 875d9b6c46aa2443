"""A connection's ``extra.retry`` sets how calls through it are retried, or says exactly what is wrong with it."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.hooks.connection import gateway_connection
from airflow_provider_seedance.hooks.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from airflow_provider_seedance.hooks.seedance import SeedanceHook

KEY = "sk-test-never-print-me"


def _resolve(retry: object):
    extra = {"gateway": "ark"} if retry is ... else {"gateway": "ark", "retry": retry}
    conn = Connection(conn_id="seedance_retry", conn_type="seedance", password=KEY, extra=json.dumps(extra))
    return gateway_connection(conn, conn.extra_dejson)


@pytest.mark.parametrize("retry", [..., None, "", {}], ids=["absent", "null", "empty-string", "empty-object"])
def test_no_retry_field_means_the_defaults(retry):
    assert _resolve(retry).retry_policy == DEFAULT_RETRY_POLICY == RetryPolicy()


def test_the_fields_given_replace_the_defaults_and_the_rest_stay():
    policy = _resolve({"max_attempts": 3, "base_delay": 0.25, "max_retry_after": 10}).retry_policy
    assert policy == RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=30.0, max_retry_after=10.0)


@pytest.mark.parametrize(
    ("retry", "message"),
    [
        pytest.param("fast", "'fast' is not an object; write the fields to change, such as {", id="not-an-object"),
        pytest.param(
            {"attempts": 3},
            "has no field 'attempts'; allowed: max_attempts, base_delay, max_delay, max_retry_after",
            id="unknown-field",
        ),
        pytest.param({"max_attempts": 2.5}, "max_attempts=2.5; allowed: a whole number of attempts", id="fraction"),
        pytest.param({"max_attempts": True}, "max_attempts=True; allowed: a whole number of attempts", id="boolean"),
        pytest.param({"base_delay": "1"}, "base_delay='1'; allowed: a number of seconds", id="string"),
        pytest.param({"max_delay": float("inf")}, "max_delay=inf; allowed: a number of seconds", id="infinite"),
        pytest.param({"max_attempts": 0}, "max_attempts=0; allowed: 1 or more (1 = no retry)", id="no-attempt"),
        pytest.param({"base_delay": -1}, "base_delay=-1; allowed: 0 seconds or more", id="negative"),
        pytest.param(
            {"base_delay": 60}, "base_delay=60 is above max_delay=30.0; raise max_delay", id="above-the-default-cap"
        ),
    ],
)
def test_a_bad_retry_field_names_the_connection_the_field_the_value_and_what_is_allowed(retry, message):
    with pytest.raises(ConnectionConfigError) as caught:
        _resolve(retry)
    text = str(caught.value)
    assert text.startswith("connection 'seedance_retry': extra field 'retry'")
    assert message in text
    assert KEY not in text


def test_the_hook_retries_as_its_connection_says_unless_given_its_own_policy(monkeypatch):
    conn = {"conn_type": "seedance", "password": KEY, "extra": {"gateway": "ark", "retry": {"max_attempts": 2}}}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_RETRY", json.dumps(conn))
    assert SeedanceHook("seedance_retry").connection.retry_policy.max_attempts == 2
    own = RetryPolicy(max_attempts=5)
    hook = SeedanceHook("seedance_retry", retry_policy=own)
    assert (hook.retry_policy, hook.connection.retry_policy.max_attempts) == (own, 2)
