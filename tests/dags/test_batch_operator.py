"""The batch operator in real Airflow (``dag.test()``) against the simulator over HTTP and moto's S3 server
(its parse-time checks: tests/unit/test_batch_operator.py; its trigger: tests/integration/test_batch_trigger.py)."""

from __future__ import annotations

import hashlib
import json

from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.conftest import BUCKET, SIM_KEY
from tests.support.dag_runs import (
    MODELS,
    _asset_events,
    _claim,
    _dies_after_submit,
    _object,
    _requests,
    _submissions,
    _task_output,
)

ARK = MODELS["ark"]


def _batch(dag_id: str, requests: list[dict], operator_args: str = "") -> str:
    """A DAG with one batch task over ``requests`` on the simulated Ark; ``operator_args`` as Python source."""
    return f"""
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceBatchGenerateVideoOperator(
        task_id="generate",
        requests={requests!r},
        defaults={{"model": {ARK!r}, "duration": 4, "resolution": "480p"}},
        seedance_conn_id="sim_ark",
        output_conn_id=AWS_CONN_ID,
        poll_interval=0.01,
        {operator_args}
    )
"""


def _report(run) -> list[dict]:
    (ti,) = run.get_task_instances()
    return ti.xcom_pull(task_ids="generate")


def test_a_batch_stores_every_video_with_its_manifest(env, moto_server, run_dag):
    requests = _requests("batch/all", 4)
    outlet = f"outlets=[Asset(uri='s3://{BUCKET}/batch/all', name='batch_all_clips')],"
    run = run_dag("batch_all", _batch("batch_all", requests, outlet))
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    report = _report(run)
    assert [entry["status"] for entry in report] == ["stored"] * 4
    # Pushed before the wait: every generation in flight, findable at the gateway while the task waited.
    in_flight = ti.xcom_pull(task_ids="generate", key="seedance_tasks")
    assert sorted((task["output_path"], task["remote_task_id"]) for task in in_flight) == sorted(
        (entry["output_path"], entry["remote_task_id"]) for entry in report
    )
    assert {(task["gateway"], task["console_url"]) for task in in_flight} == {("ark", None)}
    # The declared collection asset's event lists the four videos.
    ((extra, _),) = _asset_events(f"s3://{BUCKET}/batch/all")
    assert sorted(video["uri"] for video in extra["videos"]) == sorted(entry["video_path"] for entry in report)
    for index, entry in enumerate(report):
        key = f"batch/all/{index:02d}.mp4"
        video = _object(moto_server, key)
        manifest = json.loads(_object(moto_server, key + ".json"))
        assert entry["output_path"] == entry["video_path"] == f"s3://{BUCKET}/{key}"
        assert entry["video_sha256"] == manifest["video"]["sha256"] == hashlib.sha256(video).hexdigest()
        assert entry["remote_task_id"] == manifest["remote_task_id"]
        assert manifest["request"]["prompt"] == f"batch/all clip {index}"
        assert manifest["request"]["duration"] == 4  # from defaults
        assert SIM_KEY not in json.dumps(manifest)
    assert _submissions(env, "ark") == 4
    assert SIM_KEY not in json.dumps(report)


def test_a_batch_larger_than_max_in_flight_never_has_more_in_flight(env, moto_server, run_dag, monkeypatch):
    # Each task runs about 1 s at the gateway, so tasks submitted together overlap there (with 0.3 s, two
    # submits on a busy machine, as in a parallel run, came too far apart to overlap).
    monkeypatch.setattr(env.simulator.config, "run_seconds", 1000.0)
    requests = _requests("batch/capped", 7)
    run = run_dag("batch_capped", _batch("batch_capped", requests, "max_in_flight=2,"))
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.SUCCESS}
    config = env.simulator.config
    ours = [task for task in env.simulator.tasks.of_gateway("ark") if task.prompt.startswith("batch/capped")]
    assert len(ours) == 7
    spans = [(view.created_at, view.finished_at) for view in (task.view(config) for task in ours)]
    # The most of our tasks queued or running at the gateway at any moment they were created.
    overlap = max(sum(start <= created < end for start, end in spans) for created, _ in spans)
    assert overlap == 2
    assert [entry["status"] for entry in _report(run)] == ["stored"] * 7


def test_a_partial_failure_stores_the_others_then_fails_and_a_rerun_submits_only_the_failed_one(
    env, moto_server, run_dag, capfd, caplog
):
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", op="submit")]))
    requests = _requests("batch/partial", 3)  # the first submit (item 0) fails output moderation
    run = run_dag("batch_partial", _batch("batch_partial", requests, "retries=2, retry_delay=timedelta(seconds=0),"))
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # no retry passes moderation unchanged
    for index in (1, 2):
        assert json.loads(_object(moto_server, f"batch/partial/{index:02d}.mp4.json"))["video"]["size"] > 0
    failure = json.loads(_object(moto_server, "batch/partial/00.mp4.failure.json"))
    assert failure["cause"] == "output_moderation"
    report = _report(run)  # pushed before failing
    assert [entry["status"] for entry in report] == ["failed", "stored", "stored"]
    assert (report[0]["cause"], report[0]["retryable"]) == ("output_moderation", False)
    output = _task_output(capfd, caplog)
    assert "1 of 3 generations made no video; the other 2 are stored with their manifests." in output
    assert f"- s3://{BUCKET}/batch/partial/00.mp4: output_moderation:" in output
    assert "Next: no retry can pass these causes" in output
    assert _submissions(env, "ark") == 3

    again = run_dag("batch_partial_again", _batch("batch_partial_again", requests))
    assert {ti.state for ti in again.get_task_instances()} == {TaskInstanceState.SUCCESS}
    assert [entry["status"] for entry in _report(again)] == ["stored", "skipped", "skipped"]
    assert _submissions(env, "ark") == 4  # only the failed item was submitted again


def test_a_retry_reseeds_only_the_moderated_item(env, moto_server, run_dag):
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation", op="submit")]))
    requests = _requests("batch/reseed", 3)
    run = run_dag(
        "batch_reseed",
        _batch(
            "batch_reseed",
            requests,
            "reseed_on_output_moderation=True, retries=1, retry_delay=timedelta(seconds=0),",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert [entry["status"] for entry in _report(run)] == ["stored", "skipped", "skipped"]
    assert _submissions(env, "ark") == 4
    manifest = json.loads(_object(moto_server, "batch/reseed/00.mp4.json"))
    assert manifest["request"]["seed"] == manifest["seed"]  # the seed the reseed derived


def test_an_item_in_flight_from_an_earlier_run_is_resumed_not_submitted(env, moto_server, run_dag):
    # An earlier (single) task submitted item 0 and died: its claim names the remote task.
    output = f"s3://{BUCKET}/batch/inflight/00.mp4"
    died = _dies_after_submit(
        "batch_inflight_first",
        f"seedance_conn_id='sim_ark', model={ARK!r}, prompt='batch/inflight clip 0', "
        f"duration=4, resolution='480p', output_path={output!r}",
    )
    run_dag("batch_inflight_first", died)
    claim = json.loads(_object(moto_server, "batch/inflight/00.mp4.claim.json"))
    run = run_dag("batch_inflight", _batch("batch_inflight", _requests("batch/inflight", 2)))
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.SUCCESS}
    report = _report(run)
    assert report[0]["remote_task_id"] == claim["remote_task_id"]
    assert _submissions(env, "ark") == 2  # item 0 once (by the earlier task), item 1 once


def test_a_broken_list_from_upstream_fails_at_once(env, moto_server, run_dag, capfd, caplog):
    body = f"""
from airflow.sdk import task
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator

with DAG(dag_id="batch_broken_list", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    @task
    def rows():
        return [{{"prompt": "a", "output_path": "s3://{BUCKET}/b/x.mp4"}}, {{"output_path": "s3://{BUCKET}/b/x.mp4"}}]

    SeedanceBatchGenerateVideoOperator(
        task_id="generate", requests=rows(), defaults={{"model": {ARK!r}}}, seedance_conn_id="sim_ark",
        output_conn_id=AWS_CONN_ID, retries=2,
    )
"""
    run = run_dag("batch_broken_list", body)
    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states["generate"] == (TaskInstanceState.FAILED, 1)
    assert "requests[0, 1] share output_path" in _task_output(capfd, caplog)
    assert _submissions(env, "ark") == 0


def test_a_claim_that_cannot_be_reserved_stops_the_batch_before_paying(env, moto_server, run_dag, capfd, caplog):
    # The bucket does not exist: the first item's reservation cannot be written, so nothing is paid for and
    # no other item is tried.
    requests = [{"prompt": f"x{i}", "output_path": f"s3://no-such-bucket-for-claims/batch/{i}.mp4"} for i in range(3)]
    run = run_dag("batch_unclaimable", _batch("batch_unclaimable", requests, "retries=2,"))
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    assert [entry["cause"] for entry in _report(run)] == ["claim_not_written", "not_submitted", "not_submitted"]
    assert "could not write the claim s3://no-such-bucket-for-claims/batch/0.mp4.claim.json before submitting" in (
        _task_output(capfd, caplog)
    )


def test_an_item_whose_submit_outcome_is_unknown_fails_alone_and_keeps_its_reservation(env, moto_server, run_dag):
    # apimart cannot be asked whether the lost submit created its task: that item fails for a person, the
    # others go on, and nothing is submitted twice.
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="drop_after", gateway="apimart", op="submit")]))
    requests = _requests("batch-unknown", 3)
    source = _batch("batch_unknown", requests).replace("sim_ark", "sim_apimart").replace(ARK, MODELS["apimart"])
    run = run_dag("batch_unknown", source)
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.FAILED
    report = {entry["output_path"]: entry for entry in _report(run)}
    first, *others = (report[request["output_path"]] for request in requests)
    assert first["cause"] == "outcome_unknown"
    assert [entry["status"] for entry in others] == ["stored", "stored"]
    assert _submissions(env, "apimart") == 3
    reservation = _claim(moto_server, "batch-unknown/00.mp4")
    assert reservation["remote_task_id"] is None
