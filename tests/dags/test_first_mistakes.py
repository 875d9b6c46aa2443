"""Mistakes a first-time user made (issue 10), each failing early and saying what to do next."""

from __future__ import annotations

import json

import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.stores import s3 as s3_store
from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY, s3_client
from tests.support.dag_runs import MODELS, _claim, _single, _submissions, _task_output


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
    output = _task_output(capfd, caplog)
    assert "output_path='acme-videos/clips/x.mp4' has no scheme" in output
    assert "XCom not found" not in output  # the task link asks for no seedance_task this try never pushed


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
    next_step = f"Next: look in apimart's console or task list for a {MODELS['apimart']} task created in that window."
    assert next_step in output
    claim = f"s3://{BUCKET}/mistakes/unknown.mp4.claim.json"
    assert f'If there is one, write its id as "remote_task_id" into {claim} and clear this task' in output
    assert "If there is none, delete that claim and clear this task to submit again." in output
    assert "The above exception was the direct cause" not in output.split(next_step)[-1]


def test_an_unusable_s3_upload_setting_fails_before_paying(
    env, moto_server, run_dag, monkeypatch, capfd, caplog, request
):
    extra = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    extra["service_config"] = {"s3": {"extra_args": {"ServerSideEncription": "AES256"}}}  # a typo of the argument
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", json.dumps(connection))  # the output connection
    s3_store._s3_hook.cache_clear()  # hooks are kept per process; a worker runs each task in a new one
    request.addfinalizer(s3_store._s3_hook.cache_clear)
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


@pytest.mark.parametrize("field", ["media_conn_id", "output_conn_id"])
def test_a_storage_connection_that_does_not_exist_fails_before_paying(env, moto_server, run_dag, capfd, caplog, field):
    # The Amazon provider would fall back to the worker's default AWS credentials and try real AWS S3.
    run = run_dag(
        f"mistake_missing_{field}",
        _single(
            f"mistake_missing_{field}",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', retries=2, {field}='aws_media', "
            f"first_frame='s3://{BUCKET}/mistakes/missing-connection.png', "
            f"output_path='s3://{BUCKET}/mistakes/missing-{field}.mp4'",
        ).replace("output_conn_id=AWS_CONN_ID, ", "output_conn_id=AWS_CONN_ID, " if field == "media_conn_id" else ""),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    output = _task_output(capfd, caplog)
    assert f"{field}='aws_media': no such connection in this deployment" in output
    assert "Next: create it (Admin > Connections, AIRFLOW_CONN_AWS_MEDIA or your secrets backend)" in output


def test_a_seedance_connection_that_does_not_exist_fails_at_once(env, run_dag, capfd, caplog):
    run = run_dag(
        "mistake_missing_seedance_conn",
        _single(
            "mistake_missing_seedance_conn",
            f"seedance_conn_id='sim_nowhere', model={MODELS['ark']!r}, prompt='x', retries=2, "
            f"output_path='s3://{BUCKET}/mistakes/missing-seedance.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    output = _task_output(capfd, caplog)
    assert "connection 'sim_nowhere' is not defined in this deployment (seedance_conn_id)" in output
    assert "Fix the connection, then clear the task." in output


def test_two_mapped_items_rendering_one_output_path_never_overwrite_a_paid_video(
    env, moto_server, run_dag, capfd, caplog
):
    output = f"s3://{BUCKET}/mistakes/same-for-both.mp4"
    items = [{"prompt": "the first item"}, {"prompt": "the second item"}]
    run = run_dag(
        "mistake_one_output_two_items",
        f"""
with DAG(dag_id="mistake_one_output_two_items", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    SeedanceGenerateVideoOperator.partial(
        task_id="generate", seedance_conn_id="sim_ark", model={MODELS["ark"]!r}, output_path={output!r},
        output_conn_id=AWS_CONN_ID, poll_interval=0.01, retries=2,
    ).expand_kwargs({items!r})
""",
    )
    states = {ti.map_index: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert sorted(states.values()) == [(TaskInstanceState.FAILED, 1), (TaskInstanceState.SUCCESS, 1)]
    assert _submissions(env, "ark") == 1
    (first,) = [index for index, (state, _) in states.items() if state == TaskInstanceState.SUCCESS]
    manifest = json.loads(
        s3_client(moto_server).get_object(Bucket=BUCKET, Key="mistakes/same-for-both.mp4.json")["Body"].read()
    )
    assert manifest["airflow"]["map_index"] == first  # the paid video is the first item's, not overwritten
    output_text = _task_output(capfd, caplog)
    assert f"output_path={output!r} is another item's: generate (map index {first}) of this run" in output_text
    assert "Next: make output_path unique per item" in output_text


def test_a_templated_prompt_that_renders_empty_is_warned_about(env, moto_server, run_dag, capfd, caplog):
    from tests.support.media import png

    s3_client(moto_server).put_object(Bucket=BUCKET, Key="mistakes/empty-prompt.png", Body=png())
    run = run_dag(
        "mistake_empty_prompt",
        _single(
            "mistake_empty_prompt",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt=\"{{{{ params.get('prompt', '') }}}}\", "
            f"first_frame='s3://{BUCKET}/mistakes/empty-prompt.png', "
            f"output_path='s3://{BUCKET}/mistakes/empty-prompt.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS  # image-to-video needs no prompt: a warning, not a refusal
    output = _task_output(capfd, caplog)
    assert "prompt='' is empty, so the video is made from the inputs alone. If prompt is a template" in output
