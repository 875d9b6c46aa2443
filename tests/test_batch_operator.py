"""The batch operator in real Airflow (``dag.test()``) against the simulator over HTTP and moto's S3 server,
and its trigger on its own: one event, early hand-back, cancellation."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import httpx
import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.triggers.batch import BatchEvent, SeedanceBatchTrigger
from tests.conftest import BUCKET, SIM_KEY
from tests.test_operator import MODELS, _asset_events, _dies_after_submit, _object, _submissions, _task_output

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


def _requests(folder: str, count: int) -> list[dict]:
    return [
        {"prompt": f"{folder} clip {index}", "output_path": f"s3://{BUCKET}/{folder}/{index:02d}.mp4"}
        for index in range(count)
    ]


def _report(run) -> list[dict]:
    (ti,) = run.get_task_instances()
    return ti.xcom_pull(task_ids="generate")


# ---- parse-time checks --------------------------------------------------------------------------------


def _operator(**kwargs) -> SeedanceBatchGenerateVideoOperator:
    arguments = {"task_id": "batch", "requests": _requests("parse", 2), "defaults": {"model": ARK}}
    return SeedanceBatchGenerateVideoOperator(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], r"^batch: requests is empty: there is nothing to generate\. Next: fix the list of requests"),
        ("s3://b/x.mp4", r"requests='s3://b/x.mp4': a list of dicts is needed"),
        (
            [{"output_path": "s3://b/a.mp4"}, {"output_path": "s3://b/b.mp4"}, {"output_path": "s3://b/a.mp4"}],
            r"requests\[0, 2\] share output_path 's3://b/a\.mp4'; each item needs its own",
        ),
        ([{"prompt": "x"}], r"requests\[0\] has no output_path; every item needs its own"),
        (
            [{"output_path": "s3://b/a.mp4", "promt": "x", "seedance_conn_id": "c"}],
            r"requests\[0\] has 'promt', 'seedance_conn_id'; allowed: model, prompt, .*, output_path \(settings such",
        ),
        ([{"output_path": "videos/a.mp4"}], r"requests\[0\]: output_path='videos/a\.mp4' has no scheme"),
        (
            [{"output_path": "s3://b/a.mp4"}, {"output_path": "s3://b/b.mp4", "duration": 0}],
            r"(?s)1 item\(s\) are invalid: requests\[1\]: invalid video request \(1 problem\).*duration=0.*Next: fix",
        ),
    ],
    ids=["empty", "not-a-list", "duplicates", "no-output", "unknown-fields", "no-scheme", "bad-field"],
)
def test_a_bad_list_fails_when_the_dag_is_parsed(requests, message):
    with pytest.raises(ValueError, match=message):
        _operator(requests=requests)


def test_bad_settings_fail_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"max_in_flight=0; allowed: a whole number of at least 1"):
        _operator(max_in_flight=0)
    with pytest.raises(ValueError, match=r"defaults has 'output_conn_id'; allowed: the request fields"):
        _operator(defaults={"model": ARK, "output_conn_id": "aws"})
    with pytest.raises(ValueError, match=r"poll_interval=0; allowed: more than 0"):
        _operator(poll_interval=0)


def test_a_list_from_xcom_or_templates_waits_for_execute():
    from airflow.sdk import DAG, task

    with DAG(dag_id="batch_parse_xcom", schedule=None):

        @task
        def build() -> list[dict]:
            return []

        _operator(requests=build())
    _operator(requests=[{"output_path": "{{ params.out }}", "duration": "{{ params.seconds }}"}])


# ---- under dag.test() against the simulator ------------------------------------------------------------


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
    # Each task runs about 0.3 s at the gateway, so tasks submitted together overlap there.
    monkeypatch.setattr(env.simulator.config, "run_seconds", 300.0)
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


def test_a_claim_that_cannot_be_written_stops_further_submits(env, moto_server, run_dag, capfd, caplog):
    # The bucket does not exist: the first submit is paid for, its claim cannot be written; no other is sent.
    requests = [{"prompt": f"x{i}", "output_path": f"s3://no-such-bucket-for-claims/batch/{i}.mp4"} for i in range(3)]
    run = run_dag("batch_unclaimable", _batch("batch_unclaimable", requests, "retries=2,"))
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 1
    assert [entry["cause"] for entry in _report(run)] == ["claim_not_written", "not_submitted", "not_submitted"]
    assert "was submitted but its claim could not be written" in _task_output(capfd, caplog)


# ---- the trigger on its own ---------------------------------------------------------------------------


@pytest.fixture
def conn_id(simulator, monkeypatch) -> str:
    conn = {
        "conn_type": "seedance",
        "host": simulator.gateway_url("ark"),
        "password": SIM_KEY,
        "extra": {"gateway": "ark"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_BATCH", json.dumps(conn))
    return "seedance_batch"


def _submit(simulator, count: int) -> list[str]:
    url = simulator.gateway_url("ark") + "/contents/generations/tasks"
    with httpx.Client(headers={"Authorization": f"Bearer {SIM_KEY}"}) as client:
        return [
            client.post(url, json={"model": ARK, "content": [{"type": "text", "text": f"clip {i}"}]}).json()["id"]
            for i in range(count)
        ]


def _trigger(conn_id: str, task_ids: list[str], **kwargs) -> SeedanceBatchTrigger:
    tasks = [
        {"output": f"s3://b/{task_id}.mp4", "remote_task_id": task_id, "deadline": time.time() + 30}
        for task_id in task_ids
    ]
    arguments = {
        "hand_back_after": len(tasks),
        "poll_interval": 0.01,
        "carry": {"reports": {"x": {"status": "stored"}}},
    }
    return SeedanceBatchTrigger(seedance_conn_id=conn_id, tasks=tasks, **{**arguments, **kwargs})


async def _events(trigger: SeedanceBatchTrigger) -> list[BatchEvent]:
    return [BatchEvent.parse(event.payload) async for event in trigger.run()]


def test_the_trigger_yields_exactly_one_event_for_all_its_tasks(simulator, conn_id):
    task_ids = _submit(simulator, 3)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_ids)))
    assert sorted(ended.event.remote_task_id for ended in event.ended) == sorted(task_ids)
    assert {ended.event.status for ended in event.ended} == {"succeeded"}
    assert {ended.output for ended in event.ended} == {f"s3://b/{task_id}.mp4" for task_id in task_ids}
    assert event.waiting == []
    assert event.carry == {"reports": {"x": {"status": "stored"}}}  # returned unchanged


def test_the_trigger_looks_its_connection_up_once_for_all_its_tasks(simulator, conn_id, monkeypatch):
    from airflow_provider_seedance.hooks import seedance as hook_module

    lookups = []
    lookup = hook_module.get_async_connection

    async def counted(conn_id, **kwargs):
        lookups.append(conn_id)
        return await lookup(conn_id, **kwargs)

    monkeypatch.setattr(hook_module, "get_async_connection", counted)
    (event,) = asyncio.run(_events(_trigger(conn_id, _submit(simulator, 3))))
    assert {ended.event.status for ended in event.ended} == {"succeeded"}
    assert lookups == [conn_id]


def test_the_trigger_hands_back_early_and_stops_polling_the_rest(simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    queued = _submit(simulator, 2)
    gone = "cgt-never-submitted"  # Ark answers 404: that wait ends at its first poll
    trigger = _trigger(conn_id, [queued[0], gone, queued[1]], hand_back_after=1)
    (event,) = asyncio.run(_events(trigger))
    assert [(ended.event.remote_task_id, ended.event.status) for ended in event.ended] == [(gone, "error")]
    assert [task.remote_task_id for task in event.waiting] == queued  # with their deadlines, in order
    assert [task.deadline for task in event.waiting] == [trigger.tasks[0]["deadline"], trigger.tasks[2]["deadline"]]
    polls = {key: task.get("polls", 0) for key, task in simulator.simulator.stats.snapshot()["tasks"].items()}
    time.sleep(0.1)
    after = {key: task.get("polls", 0) for key, task in simulator.simulator.stats.snapshot()["tasks"].items()}
    assert after == polls  # the waits that were handed back stopped


def test_the_trigger_wakes_at_its_time_with_nothing_ended(simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    task_ids = _submit(simulator, 2)
    (event,) = asyncio.run(_events(_trigger(conn_id, task_ids, wake_at=time.time() + 0.2)))
    assert (event.ended, [task.remote_task_id for task in event.waiting]) == ([], task_ids)
    (empty,) = asyncio.run(_events(_trigger(conn_id, [], hand_back_after=0, wake_at=time.time() + 0.05)))
    assert (empty.ended, empty.waiting) == ([], [])


def test_the_trigger_serializes_to_primitives_and_checks_them(conn_id):
    trigger = _trigger(conn_id, ["cgt-1", "cgt-2"], hand_back_after=1, wake_at=1_900_000_000.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_seedance.triggers.batch.SeedanceBatchTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert SeedanceBatchTrigger(**kwargs).serialize() == (classpath, kwargs)
    with pytest.raises(ValueError, match=r"hand_back_after must be within 1\.\.2"):
        _trigger(conn_id, ["cgt-1", "cgt-2"], hand_back_after=3)
    with pytest.raises(ValueError, match="a batch trigger with no tasks needs wake_at"):
        _trigger(conn_id, [], hand_back_after=0)


def test_the_trigger_cancels_every_remote_task_on_kill(simulator, conn_id, monkeypatch):
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 10**6)
    task_ids = _submit(simulator, 2)
    asyncio.run(_trigger(conn_id, task_ids).on_kill())
    tasks = simulator.simulator.stats.snapshot()["tasks"]
    assert [tasks[f"ark/{task_id}"].get("cancels") for task_id in task_ids] == [1, 1]
