"""Submit in one task, wait in another: ``wait_for_completion=False`` and ``SeedanceGenerationSensor``, in real
Airflow (``dag.test()``) against the simulator over HTTP and moto's S3 server."""

from __future__ import annotations

import json

import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.conftest import BUCKET, SIM_KEY
from tests.support.dag_runs import MODELS, _object, _states, _submissions, _task_output

SENSOR_IMPORT = "from airflow_provider_seedance.sensors.seedance import SeedanceGenerationSensor\n"


def _submit_then_wait(dag_id: str, key: str, *, sensor_args: str = "", tasks: str = "submit >> wait") -> str:
    """A DAG whose ``submit`` task does not wait, and whose ``wait`` sensor stores the video at ``key``;
    ``tasks`` names the ones the DAG has (``submit >> wait``, ``submit`` or ``wait``)."""
    submit = f"""
    submit = SeedanceGenerateVideoOperator(
        task_id="submit", seedance_conn_id="sim_ark", model={MODELS["ark"]!r}, prompt="a kite over dunes",
        return_last_frame=True, output_path="s3://{BUCKET}/{key}", output_conn_id=AWS_CONN_ID,
        poll_interval=0.01, wait_for_completion=False,
    )"""
    wait = f"""
    wait = SeedanceGenerationSensor(
        task_id="wait", output_path="s3://{BUCKET}/{key}", output_conn_id=AWS_CONN_ID, poll_interval=0.01,
        outlets=[Asset(uri="s3://{BUCKET}/sensed", name="sensed_clips")], {sensor_args}
    )"""
    body = (submit if "submit" in tasks else "") + (wait if "wait" in tasks else "")
    dag = f"with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:"
    return f"{SENSOR_IMPORT}{dag}{body}\n    {tasks}\n"


def _xcom(run, task_id: str, key: str = "return_value"):
    ti = next(ti for ti in run.get_task_instances() if ti.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id, key=key)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poking"])
def test_one_task_submits_and_a_sensor_stores_the_video(env, moto_server, run_dag, deferrable):
    key = f"sensed/kite-{deferrable}.mp4"
    args = f"deferrable={deferrable}, poke_interval=0.05"
    run = run_dag(
        f"seedance_sensor_{deferrable}".lower(),
        _submit_then_wait(f"seedance_sensor_{deferrable}".lower(), key, sensor_args=args),
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    submitted = _xcom(run, "submit")
    assert submitted["status"] == "submitted"
    assert submitted["output_path"] == f"s3://{BUCKET}/{key}"
    assert submitted["gateway"] == "ark"
    stored = _xcom(run, "wait")
    manifest = json.loads(_object(moto_server, f"{key}.json"))
    # The sensor stored the very task the submitter paid for, with the manifest the operator would write.
    assert stored["remote_task_id"] == submitted["remote_task_id"] == manifest["remote_task_id"]
    assert stored["video_sha256"] == manifest["video"]["sha256"]
    assert manifest["request"]["prompt"] == "a kite over dunes"
    assert manifest["last_frame"]["uri"] == f"s3://{BUCKET}/sensed/kite-{deferrable}.last_frame.png"
    assert manifest["airflow"]["task_id"] == "wait"
    assert _object(moto_server, key)[4:8] == b"ftyp"
    assert _submissions(env, "ark") == 1
    assert _xcom(run, "wait", "seedance_task")["remote_task_id"] == submitted["remote_task_id"]
    assert SIM_KEY not in json.dumps(manifest)


def test_a_rerun_of_the_submitter_resumes_its_claim_instead_of_paying_again(env, moto_server, run_dag, monkeypatch):
    key = "sensed/rerun.mp4"
    with monkeypatch.context() as patched:
        patched.setattr(env.simulator.config, "run_seconds", 60)  # still running when the submitter runs again
        submit_only = _submit_then_wait("seedance_submit_only", key, tasks="submit")
        first = _xcom(run_dag("seedance_submit_only", submit_only), "submit")
        second = _xcom(run_dag("seedance_submit_only", submit_only), "submit")
    assert second["remote_task_id"] == first["remote_task_id"]
    assert _submissions(env, "ark") == 1
    run = run_dag("seedance_sensor_alone", _submit_then_wait("seedance_sensor_alone", key, tasks="wait"))
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    assert json.loads(_object(moto_server, f"{key}.json"))["remote_task_id"] == first["remote_task_id"]


def test_a_sensor_with_nothing_submitted_fails_and_says_what_to_run(env, moto_server, run_dag, capfd, caplog):
    run = run_dag(
        "seedance_sensor_nothing", _submit_then_wait("seedance_sensor_nothing", "sensed/none.mp4", tasks="wait")
    )
    assert set(_states(run).values()) == {TaskInstanceState.FAILED}
    output = _task_output(capfd, caplog)
    assert f"nothing to wait for at s3://{BUCKET}/sensed/none.mp4: neither a claim" in output
    assert "Next: run the submitting SeedanceGenerateVideoOperator (wait_for_completion=False) first" in output


def test_a_failed_generation_fails_the_sensor_naming_the_task_to_clear(env, moto_server, run_dag, capfd, caplog):
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation")]))
    dag_id = "seedance_sensor_moderated"
    run = run_dag(dag_id, _submit_then_wait(dag_id, "sensed/moderated.mp4", sensor_args="retries=2"))
    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states["submit"] == (TaskInstanceState.SUCCESS, 1)
    assert states["wait"] == (TaskInstanceState.FAILED, 1)  # nothing left to wait for: no retry
    output = _task_output(capfd, caplog)
    assert "Output moderation can pass with another seed" in output
    assert f"This sensor does not submit. To generate again, clear the submitting task {dag_id}.submit" in output
    assert _submissions(env, "ark") == 1


def test_a_sensor_on_another_gateways_connection_fails_before_polling(env, moto_server, run_dag, capfd, caplog):
    dag_id = "seedance_sensor_wrong_gateway"
    sensor_args = "seedance_conn_id='sim_apimart', retries=2"
    run = run_dag(dag_id, _submit_then_wait(dag_id, "sensed/wrong-gateway.mp4", sensor_args=sensor_args))
    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states["submit"] == (TaskInstanceState.SUCCESS, 1)
    assert states["wait"] == (TaskInstanceState.FAILED, 1)  # a retry would ask the same wrong gateway
    remote_task_id = _xcom(run, "submit")["remote_task_id"]
    output = _task_output(capfd, caplog)
    assert (
        f"seedance_conn_id='sim_apimart' connects to apimart, but the task claimed for "
        f"s3://{BUCKET}/sensed/wrong-gateway.mp4 is ark task {remote_task_id}" in output
    )
    assert "leave it unset to use the submitter's, 'sim_ark'" in output
    assert env.simulator.stats.snapshot()["gateways"].get("apimart", {}).get("status_requests", 0) == 0
    assert _submissions(env, "ark") == 1


def test_a_sensor_on_a_submit_that_never_answered_fails_and_names_the_submitter(
    env, moto_server, run_dag, capfd, caplog
):
    # The submitter died mid-submit: its reservation has no task id, and its answer can no longer come.
    from dataclasses import replace

    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.outputs.claims import write_claim
    from tests.support.claims import CLAIM

    output = ObjectStoragePath(f"s3://{BUCKET}/sensed/never-answered.mp4", conn_id="aws_moto")
    write_claim(output, replace(CLAIM, remote_task_id=None, answer_by=CLAIM.submitted_at))
    dag_id = "seedance_sensor_never_answered"
    run = run_dag(dag_id, _submit_then_wait(dag_id, "sensed/never-answered.mp4", tasks="wait"))
    assert set(_states(run).values()) == {TaskInstanceState.FAILED}
    output_text = _task_output(capfd, caplog)
    assert f"the submit reserved in s3://{BUCKET}/sensed/never-answered.mp4.claim.json by d.t (run r, try 1)" in (
        output_text
    )
    assert "This sensor does not submit. Next: clear that submitting task" in output_text
    assert env.simulator.stats.snapshot()["gateways"] == {}  # nothing asked of any gateway
