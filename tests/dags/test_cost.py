"""What a video costs, before and after, and max_cost (issue 12), in real Airflow against the simulator."""

from __future__ import annotations

import json

import pytest
from airflow.utils.state import TaskInstanceState

from tests.conftest import BUCKET, SIM_KEY
from tests.support.dag_runs import _object, _single, _submissions, _task_output, dag_of, task_instances

V20 = "dreamina-seedance-2-0-260128"


def test_the_estimate_and_the_actual_cost_land_in_the_manifest_and_the_result(env, moto_server, run_dag):
    run = run_dag(
        "cost_ark",
        _single(
            "cost_ark",
            f"seedance_conn_id='sim_ark', model={V20!r}, prompt='a kite', duration=5, resolution='480p', "
            f"ratio='16:9', output_path='s3://{BUCKET}/cost/kite.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    manifest = json.loads(_object(moto_server, "cost/kite.mp4.json"))
    tokens = 864 * 480 * 24 * 5 // 1024  # the rate card's formula; the simulator reports its own count
    assert manifest["cost"]["estimate"]["amount"] == pytest.approx(tokens * 7.0 / 1e6, abs=1e-4)
    assert manifest["cost"]["estimate"]["basis"].startswith(f"{tokens:,} tokens (5 s at 480p) x 7 per million")
    reported = manifest["usage"]["total_tokens"]
    assert manifest["cost"]["actual"] == {
        "amount": round(reported * 7.0 / 1e6, 4),
        "currency": "USD",
        "basis": f"{reported:,} tokens reported x 7 per million",
    }
    result = ti.xcom_pull(task_ids="generate")
    assert (result["estimated_cost"], result["actual_cost"], result["currency"]) == (
        manifest["cost"]["estimate"]["amount"],
        manifest["cost"]["actual"]["amount"],
        "USD",
    )


def test_max_cost_below_the_estimate_stops_before_paying(env, run_dag, capfd, caplog):
    run = run_dag(
        "cost_capped",
        _single(
            "cost_capped",
            f"seedance_conn_id='sim_ark', model='dreamina-seedance-2-5-260628', prompt='x', max_cost=2.0, "
            f"retries=2, output_path='s3://{BUCKET}/cost/capped.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    output = _task_output(capfd, caplog)
    # 2.5 without a duration: the model chooses, so it is priced at 30 s: 648,000 tokens x $10.7/M.
    assert "the generation is estimated at 6.9336 USD" in output
    assert "priced at its longest, 30 s" in output
    assert "above max_cost=2; nothing was submitted. Next: shorten it" in output


def test_a_reseller_is_priced_from_the_connection_and_refused_without_a_price(
    env, moto_server, run_dag, monkeypatch, capfd, caplog
):
    url = env.gateway_urls["apimart"]
    prices = {"currency": "USD", "models": {"doubao-seedance-2.0": {"unit": "second", "rates": {"720p": 0.1}}}}
    connection = {"conn_type": "seedance", "host": url, "password": SIM_KEY, "extra": {"gateway": "apimart"}}
    monkeypatch.setenv(
        "AIRFLOW_CONN_PRICED", json.dumps({**connection, "extra": {**connection["extra"], "prices": prices}})
    )
    arguments = "model='doubao-seedance-2.0', prompt='x', duration=5, resolution='720p', max_cost=1.0"
    # One run, both cases: the priced connection's task, and the same generation on the unpriced one.
    tasks = {
        "priced": f"seedance_conn_id='priced', {arguments}, output_path='s3://{BUCKET}/cost/p.mp4'",
        "unpriced": f"seedance_conn_id='sim_apimart', {arguments}, output_path='s3://{BUCKET}/cost/u.mp4'",
    }
    tis = task_instances(run_dag("cost_reseller", dag_of("cost_reseller", tasks)))
    assert tis["priced"].state == TaskInstanceState.SUCCESS
    cost = json.loads(_object(moto_server, "cost/p.mp4.json"))["cost"]
    assert cost["estimate"] == {"amount": 0.5, "currency": "USD", "basis": "5 s x 0.1 per second (720p)"}
    assert cost["actual"] is None  # apimart reports no usage

    assert (tis["unpriced"].state, tis["unpriced"].try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "apimart") == 1  # only the priced task's
    assert "max_cost=1 is set but no price is known for doubao-seedance-2.0 on apimart" in _task_output(capfd, caplog)


def test_a_malformed_price_in_the_connection_fails_before_paying(env, run_dag, monkeypatch, capfd, caplog):
    connection = {
        "conn_type": "seedance",
        "host": env.gateway_urls["ark"],
        "password": SIM_KEY,
        "extra": {"gateway": "ark", "prices": {"currency": "USD", "models": {"*": {"unit": "minute", "rates": {}}}}},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MISPRICED", json.dumps(connection))
    run = run_dag(
        "cost_mispriced",
        _single(
            "cost_mispriced",
            f"seedance_conn_id='mispriced', model={V20!r}, prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/cost/m.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    output = _task_output(capfd, caplog)
    assert "connection 'mispriced': extra.prices.models.*.unit='minute': one of million_tokens, second, video" in output
    assert "Fix the connection, then clear the task." in output
