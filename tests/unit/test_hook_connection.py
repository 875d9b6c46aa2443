"""A ``seedance`` connection resolves to a dialect, a base URL and a key, or says exactly what is wrong."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_seedance.gateways.base import HttpCall
from airflow_provider_seedance.hooks.connection import gateway_connection as _resolve
from airflow_provider_seedance.hooks.seedance import SeedanceHook

KEY = "sk-test-never-print-me"


def _conn(**fields) -> Connection:
    return Connection(conn_id="seedance_test", conn_type="seedance", **fields)


def gateway_connection(conn: Connection):
    return _resolve(conn, conn.extra_dejson)


@pytest.mark.parametrize(
    ("fields", "gateway", "base_url"),
    [
        pytest.param({"extra": '{"gateway": "apimart"}'}, "apimart", "https://api.apimart.ai", id="public-default"),
        pytest.param(
            {"host": "http://127.0.0.1:8765/imini", "extra": '{"gateway": "imini"}'},
            "imini",
            "http://127.0.0.1:8765/imini",
            id="full-url-host",
        ),
        pytest.param(
            {"host": "openapi.imini.ai", "port": 443, "schema": "imini/router", "extra": '{"gateway": "imini"}'},
            "imini",
            "https://openapi.imini.ai:443/imini/router",
            id="bare-host-port-path",
        ),
        pytest.param(
            {"host": "https://aiproxy.example/", "extra": '{"gateway": "aiproxy"}'},
            "aiproxy",
            "https://aiproxy.example/",
            id="no-default-host-given",
        ),
    ],
)
def test_resolves_gateway_and_base_url(fields, gateway, base_url):
    resolved = gateway_connection(_conn(password=KEY, **fields))
    assert resolved.gateway.name == gateway
    assert resolved.base_url == base_url
    assert KEY not in repr(resolved)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"password": KEY}, "extra field 'gateway' is missing", id="no-gateway"),
        pytest.param(
            {"password": KEY, "extra": '{"gateway": "sora"}'},
            "unknown gateway 'sora'; choose one of: ark, imini, apimart, aiproxy, infinityblue, jimmyai",
            id="unknown-gateway",
        ),
        pytest.param({"extra": '{"gateway": "ark"}'}, "API key (password) is empty", id="no-key"),
        pytest.param(
            {"password": KEY, "extra": '{"gateway": "aiproxy"}'},
            "gateway 'aiproxy' has no public default URL",
            id="aiproxy-needs-host",
        ),
    ],
)
def test_bad_connection_is_named(fields, message):
    with pytest.raises(ValueError, match="seedance_test") as caught:
        gateway_connection(_conn(**fields))
    assert message in str(caught.value)
    assert KEY not in str(caught.value)


def test_urls_and_headers_keep_the_key_on_the_gateway():
    resolved = gateway_connection(_conn(host="http://127.0.0.1:1/ark/", password=KEY, extra='{"gateway": "ark"}'))
    submit = HttpCall("POST", "contents/generations/tasks", json={})
    assert resolved.url(submit) == "http://127.0.0.1:1/ark/contents/generations/tasks"
    assert resolved.headers(submit)["Authorization"] == f"Bearer {KEY}"
    cdn = HttpCall("GET", "https://cdn.example/v.mp4", authenticated=False)
    assert resolved.url(cdn) == "https://cdn.example/v.mp4"
    assert "Authorization" not in resolved.headers(cdn)


def test_hook_reads_connection_from_the_environment(monkeypatch):
    conn = {"conn_type": "seedance", "password": KEY, "extra": {"gateway": "infinityblue"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_ENV", json.dumps(conn))
    hook = SeedanceHook(seedance_conn_id="seedance_env")
    assert hook.get_conn().gateway.name == "infinityblue"
    assert hook.connection.base_url == "https://api.getinfinityblue.com"


@pytest.mark.parametrize(
    ("uri", "base_url"),
    [
        (
            "seedance://:k@ark.ap-southeast.bytepluses.com/api%2Fv3?gateway=ark",
            "https://ark.ap-southeast.bytepluses.com/api/v3",
        ),
        ("seedance://:k@openapi.imini.ai/imini%2Frouter?gateway=imini", "https://openapi.imini.ai/imini/router"),
        ("seedance://:k@?gateway=apimart", "https://api.apimart.ai"),
        ("seedance://:k@http%3A%2F%2F127.0.0.1%3A8765%2Fapimart?gateway=apimart", "http://127.0.0.1:8765/apimart"),
    ],
)
def test_uri_forms_documented_in_the_readme(uri, base_url, monkeypatch):
    # Through the environment variable, as a deployment would define it.
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_URI_TEST", uri)
    assert SeedanceHook("seedance_uri_test").connection.base_url == base_url


@pytest.mark.parametrize(
    ("fields", "console"),
    [
        pytest.param({"extra": '{"gateway": "ark"}'}, "https://console.byteplus.com/ark", id="byteplus-default"),
        pytest.param(
            {"host": "https://ark.cn-beijing.volces.com/api/v3", "extra": '{"gateway": "ark"}'},
            "https://console.volcengine.com/ark",
            id="volcengine",
        ),
        # A proxy in front of Ark's API: its account is not the one the BytePlus console would show.
        pytest.param({"host": "https://ark-proxy.example/api/v3", "extra": '{"gateway": "ark"}'}, None, id="proxy"),
        pytest.param({"extra": '{"gateway": "apimart"}'}, None, id="no-known-console"),
        pytest.param(
            {"extra": '{"gateway": "apimart", "console_url": "https://apimart.example/tasks/{task_id}"}'},
            "https://apimart.example/tasks/task%2F7",
            id="configured-with-task-id",
        ),
        pytest.param(
            {"host": "http://127.0.0.1:9/api/v3", "extra": '{"gateway": "ark", "console_url": "https://c.example/"}'},
            "https://c.example/",
            id="configured-wins",
        ),
    ],
)
def test_console_link_only_where_the_endpoint_has_a_known_console(fields, console):
    assert gateway_connection(_conn(password=KEY, **fields)).console_url("task/7") == console


@pytest.mark.parametrize("value", ["console.example/tasks", "https://c.example/{id}", "s3://bucket/x"])
def test_a_console_url_that_is_not_a_page_is_named(value):
    extra = json.dumps({"gateway": "apimart", "console_url": value})
    with pytest.raises(ValueError, match="extra field 'console_url'") as caught:
        gateway_connection(_conn(password=KEY, extra=extra))
    assert value in str(caught.value)
    assert "{task_id} placeholder" in str(caught.value)
