"""Mistakes a first-time user made (issue 10), each failing early and saying what to do next."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.outputs import store as storage
from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY
from tests.test_operator import MODELS, _claim, _single, _submissions, _task_output


def _operator(**kwargs) -> SeedanceGenerateVideoOperator:
    arguments = {"task_id": "clip", "model": MODELS["ark"], "prompt": "x", "output_path": f"s3://{BUCKET}/x.mp4"}
    return SeedanceGenerateVideoOperator(**{**arguments, **kwargs})


def test_an_output_path_without_a_scheme_fails_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"output_path='acme-videos/clips/x.mp4' has no scheme") as caught:
        _operator(output_path="acme-videos/clips/x.mp4")
    assert "write s3://acme-videos/clips/x.mp4" in str(caught.value)


def test_a_rendered_output_path_without_a_scheme_fails_before_paying(env, run_dag, capfd, caplog):
    run = run_dag(
        "mistake_no_scheme",
        _single(
            "mistake_no_scheme",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', retries=2, "
            'output_path=\'{{ dag_run.conf.get("bucket", "acme-videos") }}/clips/x.mp4\'',
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    assert "output_path='acme-videos/clips/x.mp4' has no scheme" in _task_output(capfd, caplog)


@pytest.mark.parametrize("value", [0, -1, 3601])
def test_a_poll_interval_out_of_range_fails_when_the_dag_is_parsed(value):
    with pytest.raises(ValueError, match=rf"poll_interval={value}; allowed: more than 0 and at most 3600 seconds"):
        _operator(poll_interval=value)


@pytest.mark.parametrize("value", [timedelta(0), timedelta(days=4)])
def test_a_generation_timeout_out_of_range_fails_when_the_dag_is_parsed(value):
    with pytest.raises(ValueError, match=rf"generation_timeout={value}; allowed: more than 0 and at most 3 days"):
        _operator(generation_timeout=value)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"duration": 0}, "duration=0: whole seconds from 1 to 60, or -1 where the model picks the length"),
        ({"duration": 300}, "duration=300: whole seconds from 1 to 60"),
        ({"duration": "5s"}, "duration='5s': Input should be a valid integer"),
        ({"seed": -7}, "seed=-7: an integer in [-1, 4294967295] (-1: random)"),
        ({"seed": 2**32}, "seed=4294967296: an integer in [-1, 4294967295]"),
        ({"first_frame": "products/p1.png"}, "first_frame='products/p1.png': must be an http(s):// URL"),
        ({"reference_images": ["s3://b/a.png", "b.png"]}, "reference_images[1]='b.png': must be an http(s):// URL"),
    ],
)
def test_a_request_field_no_model_accepts_fails_when_the_dag_is_parsed(fields, problem):
    with pytest.raises(ValueError, match=r"^clip: invalid video request \(1 problem\)") as caught:
        _operator(**fields)
    assert problem in str(caught.value)


def test_templated_and_mapped_request_fields_wait_for_execute():
    _operator(duration="{{ params.seconds }}", seed="{{ params.seed }}", first_frame="{{ ti.xcom_pull('img') }}")
    _operator(model="{{ params.model }}", reference_images=["s3://b/a.png", "{{ params.image }}"])


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        (
            {"conn_type": "seedance", "password": SIM_KEY, "extra": {"gateway": "arc"}},
            "extra field 'gateway': unknown gateway 'arc'; choose one of: ark",
        ),
        (
            {"conn_type": "seedance", "host": "http://127.0.0.1:9", "extra": {"gateway": "ark"}},
            "the API key (password) is empty; put the gateway's key in the password",
        ),
        (
            {"conn_type": "seedance", "host": "s3://acme-videos", "password": SIM_KEY, "extra": {"gateway": "ark"}},
            "Base URL (host) 's3://acme-videos' is not an http(s) URL; write the gateway's API address, such as https://",
        ),
    ],
    ids=["unknown-gateway", "empty-key", "not-http"],
)
def test_a_broken_connection_fails_at_once_instead_of_retrying(
    env, run_dag, monkeypatch, capfd, caplog, connection, message
):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", json.dumps(connection))
    run = run_dag(
        "mistake_connection",
        _single(
            "mistake_connection",
            f"seedance_conn_id='broken', model={MODELS['ark']!r}, prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/mistakes/connection.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    output = _task_output(capfd, caplog)
    assert message in output
    assert "Fix the connection, then clear the task." in output


def test_a_model_typo_is_named_with_the_closest_known_model(env, run_dag, capfd, caplog):
    run = run_dag(
        "mistake_model_typo",
        _single(
            "mistake_model_typo",
            f"seedance_conn_id='sim_ark', model='dreamina-seedance-2-0-260218', prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/mistakes/typo.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0  # Ark refused it: nothing was created or billed
    captured = capfd.readouterr()
    console, logged = captured.out + captured.err, caplog.text
    output = " ".join(f"{console} {logged}".split())
    assert "does not exist" in output
    assert "Did you mean 'dreamina-seedance-2-0-260128'?" in output
    assert "check the connection's base URL" not in output
    # Once per process; Airflow 3.0 shows a log line both on the console and to pytest's log capture.
    warning = "is not known to the ark dialect"
    assert warning in output
    assert console.count(warning) <= 1
    assert logged.count(warning) <= 1
    assert "Next: Fix what the gateway names (a field this provider does not model goes through `extra`)" in output


@pytest.mark.parametrize("gateway", ["ark", "aiproxy"])  # ark says when its URLs expire; aiproxy does not
def test_a_video_whose_result_expired_is_not_resumed_forever(env, moto_server, run_dag, capfd, caplog, gateway):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault

    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="expire_url", op="submit")]))
    arguments = (
        f"seedance_conn_id='sim_{gateway}', model={MODELS[gateway]!r}, prompt='x', retries=2, "
        f"output_path='s3://{BUCKET}/mistakes/expired-{gateway}.mp4'"
    )
    run = run_dag(f"mistake_expired_{gateway}", _single(f"mistake_expired_{gateway}", arguments))
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # a retry could not fetch it either
    output = _task_output(capfd, caplog)
    assert "can no longer be fetched" in output
    assert "Next: Clear the task to generate the video again; that is a new, paid generation." in output
    assert _claim(moto_server, f"mistakes/expired-{gateway}.mp4") is None
    # The clear a person decides on generates anew instead of resuming the expired task once more.
    again = run_dag(f"mistake_expired_{gateway}_again", _single(f"mistake_expired_{gateway}_again", arguments))
    assert {ti.state for ti in again.get_task_instances()} == {TaskInstanceState.SUCCESS}
    assert _submissions(env, gateway) == 2


def _base_url_mistakes(simulator, moto_endpoint: str) -> list[tuple[str, str, str]]:
    """(gateway, base URL, what is wrong) for every gateway: no prefix, another gateway's URL, an S3 server."""
    urls = simulator.gateway_urls
    names = list(urls)
    cases = []
    for index, name in enumerate(names):
        other = names[(index + 1) % len(names)]
        cases.append((name, simulator.base_url, "the server root"))
        cases.append((name, urls[other], f"{other}'s base URL"))
        cases.append((name, moto_endpoint, "an S3 server"))
    cases.append(("ark", urls["ark"].removesuffix("/api/v3"), "Ark without /api/v3"))
    return cases


def test_connection_test_fails_for_every_base_url_mistake(simulator, moto_server, monkeypatch):
    from airflow_provider_seedance.hooks.retry import RetryPolicy
    from airflow_provider_seedance.hooks.seedance import SeedanceHook

    fast = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    outcomes = []
    for gateway, url, mistake in _base_url_mistakes(simulator, moto_server):
        for key in (SIM_KEY, "sk-wrong"):
            connection = {"conn_type": "seedance", "host": url, "password": key, "extra": {"gateway": gateway}}
            monkeypatch.setenv("AIRFLOW_CONN_MISTAKE", json.dumps(connection))
            ok, message = SeedanceHook("mistake", retry_policy=fast).test_connection()
            outcomes.append((gateway, mistake, key, ok, "Check the Base URL" in message))
    assert [row for row in outcomes if row[3] or not row[4]] == []
    # The right URL still passes.
    for gateway, url in simulator.gateway_urls.items():
        connection = {"conn_type": "seedance", "host": url, "password": SIM_KEY, "extra": {"gateway": gateway}}
        monkeypatch.setenv("AIRFLOW_CONN_RIGHT", json.dumps(connection))
        assert SeedanceHook("right", retry_policy=fast).test_connection()[0] is True, gateway


def test_a_submit_with_unknown_outcome_says_what_to_do_next(env, run_dag, capfd, caplog):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault

    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="drop_after", op="submit")]))
    run = run_dag(
        "mistake_unknown_outcome",
        _single(
            "mistake_unknown_outcome",
            f"seedance_conn_id='sim_apimart', model={MODELS['apimart']!r}, prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/mistakes/unknown.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    output = _task_output(capfd, caplog)
    assert f"Next: in apimart's console, look for a {MODELS['apimart']} task created around" in output
    assert "If there is none, clear this task to submit again." in output
    assert "The above exception was the direct cause" not in output.split("Next: in apimart's console")[-1]


def test_an_unusable_s3_upload_setting_fails_before_paying(
    env, moto_server, run_dag, monkeypatch, capfd, caplog, request
):
    extra = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    extra["service_config"] = {"s3": {"extra_args": {"ServerSideEncription": "AES256"}}}  # a typo of the argument
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", json.dumps(connection))  # the output connection
    storage._s3_hook.cache_clear()  # hooks are kept per process; a worker runs each task in a new one
    request.addfinalizer(storage._s3_hook.cache_clear)
    run = run_dag(
        "mistake_sse_typo",
        _single(
            "mistake_sse_typo",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/sse-typo/x.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    assert f"extra_args of connection {AWS_CONN_ID!r} has ServerSideEncription" in _task_output(capfd, caplog)
