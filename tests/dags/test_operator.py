"""The operator in real Airflow (``dag.test()``) against the simulator over HTTP and moto's S3 server."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault, start_simulator
from tests import conftest
from tests.conftest import BUCKET, SIM_KEY, s3_client, simulator_config, simulator_connections
from tests.support.dag_runs import (
    MODELS,
    _asset_events,
    _claim,
    _dies_after_submit,
    _object,
    _single,
    _states,
    _submissions,
    _task_output,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Cases run with the operator and through ``@task.seedance`` (the same arguments, the request returned by the
    function): every one but those that map with ``.partial()`` or subclass the operator (``operator_only``) in
    the matrix, the ``both_forms`` ones (a path of each entry point: defer and resume, capacity wait, retry,
    non-deferrable, refusals) in ``make test`` (see ``conftest.generation_forms``)."""
    if metafunc.definition.get_closest_marker("operator_only"):
        forms = ["operator"]
    else:
        forms = conftest.generation_forms(chosen=bool(metafunc.definition.get_closest_marker("both_forms")))
    metafunc.parametrize("generation_form", forms, indirect=True)


@pytest.fixture(autouse=True)
def generation_form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each case leaves the bucket as it found it: its other form writes the same paths, and would otherwise
    find this one's video, claim or failure record there."""
    monkeypatch.setattr(conftest, "GENERATION_FORM", request.param)
    if "moto_server" not in request.fixturenames:
        yield request.param
        return
    s3 = s3_client(request.getfixturevalue("moto_server"))
    before = set(_keys(s3))
    yield request.param
    for key in set(_keys(s3)) - before:
        s3.delete_object(Bucket=BUCKET, Key=key)


def _keys(s3) -> list[str]:
    return [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for item in page.get("Contents", [])
    ]


@pytest.mark.operator_only
def test_mapped_generations_across_three_gateways_land_byte_for_byte(env, moto_server, run_dag):
    items = [
        {"seedance_conn_id": f"sim_{name}", "model": MODELS[name], "output_path": f"s3://{BUCKET}/mapped/{name}.mp4"}
        for name in ("ark", "apimart", "infinityblue")
    ]
    run = run_dag(
        "seedance_mapped",
        f"""
with DAG(dag_id="seedance_mapped", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceGenerateVideoOperator.partial(
        task_id="generate",
        prompt="a tram crossing a bridge at night",
        duration=4,
        resolution="480p",
        ratio="16:9",
        output_conn_id=AWS_CONN_ID,
        poll_interval=0.01,
        map_index_template="{{{{ task.seedance_conn_id }}}}",
    ).expand_kwargs({items!r})
""",
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    for name in ("ark", "apimart", "infinityblue"):
        stored = _object(moto_server, f"mapped/{name}.mp4")
        manifest = json.loads(_object(moto_server, f"mapped/{name}.mp4.json"))
        assert manifest["video"]["sha256"] == hashlib.sha256(stored).hexdigest()
        assert manifest["gateway"] == name
        hook = SeedanceHook(f"sim_{name}")
        with hook.open_artifact(hook.get_status(manifest["remote_task_id"])) as stream:
            assert b"".join(stream.chunks) == stored  # exactly what the simulator served
        assert _submissions(env, name) == 1
        assert SIM_KEY not in json.dumps(manifest)


@pytest.mark.both_forms
def test_non_deferrable_mode_and_last_frame(env, moto_server, run_dag):
    run = run_dag(
        "seedance_sync",
        _single(
            "seedance_sync",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='fog rolling over hills', "
            f"return_last_frame=True, deferrable=False, output_path='s3://{BUCKET}/sync/hills.mp4'",
        ),
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    manifest = json.loads(_object(moto_server, "sync/hills.mp4.json"))
    assert manifest["last_frame"]["uri"] == f"s3://{BUCKET}/sync/hills.last_frame.png"
    assert _object(moto_server, "sync/hills.last_frame.png")[:8] == b"\x89PNG\r\n\x1a\n"


def _video_entry(manifest: dict) -> dict:
    cost = manifest["cost"]
    known = cost["actual"] or cost["estimate"] or {}
    return {
        "uri": manifest["video"]["uri"],
        "sha256": manifest["video"]["sha256"],
        "size": manifest["video"]["size"],
        "gateway": manifest["gateway"],
        "model": manifest["model"],
        "remote_task_id": manifest["remote_task_id"],
        "estimated_cost": (cost["estimate"] or {}).get("amount"),
        "actual_cost": (cost["actual"] or {}).get("amount"),
        "currency": known.get("currency"),
    }


def test_each_stored_video_is_recorded_as_an_asset_event_through_a_declared_alias(
    env, moto_server, run_dag, capfd, caplog
):
    """Airflow warns 'AssetModel ... not found' for a URI it has not seen, then creates the asset: the
    event must be in the database all the same, with the video's identity as its extra."""
    uri = f"s3://{BUCKET}/assets/harbour.mp4"
    run = run_dag(
        "seedance_asset_event",
        _single(
            "seedance_asset_event",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='a harbour at dawn', "
            f"asset_alias='harbour_videos', skip_existing=False, output_path={uri!r}",
        ),
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    manifest = json.loads(_object(moto_server, "assets/harbour.mp4.json"))
    extra, aliases = _asset_events(uri)[-1]
    assert extra == _video_entry(manifest)
    assert extra["estimated_cost"] > 0
    assert extra["currency"] == "USD"
    assert aliases == {"harbour_videos"}
    assert "1 asset event(s) go to alias 'harbour_videos' when this task succeeds" in _task_output(capfd, caplog)


def test_no_asset_event_without_a_declared_outlet(env, moto_server, run_dag):
    """No deployment-wide alias by default: a video is an asset only where the DAG declares one."""
    from airflow.models.asset import AssetAliasModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    uri = f"s3://{BUCKET}/assets/undeclared.mp4"
    run = run_dag(
        "seedance_no_outlet",
        _single(
            "seedance_no_outlet",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='quiet', output_path={uri!r}",
        ),
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    assert _object(moto_server, "assets/undeclared.mp4")[4:8] == b"ftyp"
    assert _asset_events(uri) == []
    with create_session() as session:
        assert "seedance_videos" not in {alias.name for alias in session.scalars(select(AssetAliasModel))}


@pytest.mark.both_forms
def test_a_declared_collection_asset_lists_the_new_videos_in_its_event(env, moto_server, run_dag, generation_form):
    """An Asset outlet (the output prefix) gets one event per successful run, listing what it stored;
    a rerun that stores nothing new lists nothing."""
    form = generation_form.replace(".", "_")  # events stay in the database: each form declares its own asset
    collection = f"s3://{BUCKET}/collection-{form}"
    body = _single(
        "seedance_collection",
        f"seedance_conn_id='sim_apimart', model={MODELS['apimart']!r}, prompt='tide pools', "
        f"outlets=[Asset(uri={collection!r}, name='tide_clips_{form}')], output_path='{collection}/tide.mp4'",
    )
    assert set(_states(run_dag("seedance_collection", body)).values()) == {TaskInstanceState.SUCCESS}
    manifest = json.loads(_object(moto_server, f"collection-{form}/tide.mp4.json"))
    ((extra, aliases),) = _asset_events(collection)
    assert extra == {"videos": [_video_entry(manifest)]}
    assert aliases == set()
    assert set(_states(run_dag("seedance_collection", body)).values()) == {TaskInstanceState.SUCCESS}
    assert [extra for extra, _ in _asset_events(collection)] == [{"videos": [_video_entry(manifest)]}, {"videos": []}]
    assert _submissions(env, "apimart") == 1  # the rerun found the video (skip_existing)


@pytest.mark.both_forms
def test_skip_existing_returns_the_stored_video_without_paying(env, moto_server, run_dag):
    args = (
        f"seedance_conn_id='sim_apimart', model={MODELS['apimart']!r}, prompt='a lantern festival', "
        f"output_path='s3://{BUCKET}/skip/lanterns.mp4'"
    )
    run_dag("seedance_skip_first", _single("seedance_skip_first", args))
    run = run_dag("seedance_skip_second", _single("seedance_skip_second", args))
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    assert _submissions(env, "apimart") == 1


@pytest.mark.parametrize(("resubmit", "state", "submissions"), [(False, "failed", 1), (True, "success", 2)])
def test_a_task_the_gateway_forgot_is_not_resubmitted_unless_allowed(
    env, moto_server, run_dag, capfd, caplog, resubmit, state, submissions
):
    # Try 1 dies after submitting (its poll is refused with a 401); try 2 is told the task does not exist.
    env.simulator.faults.replace(
        FaultPlan(
            script=[
                ScriptedFault(kind="unauthorized", op="status"),
                ScriptedFault(kind="not_found", op="status"),
            ],
            retry_after_seconds=0,
        )
    )
    dag_id = f"seedance_forgotten_{resubmit}".lower()
    run = run_dag(
        dag_id,
        _single(
            dag_id,
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', deferrable=False, retries=1, "
            f"retry_delay=timedelta(seconds=0), resubmit_lost_tasks={resubmit}, "
            f"output_path='s3://{BUCKET}/forgotten/{resubmit}.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (state, 2)
    assert _submissions(env, "ark") == submissions
    if not resubmit:
        assert (
            "Next: if its video is in the ark console, take it from there; otherwise set resubmit_lost_tasks=True"
            in _task_output(capfd, caplog)
        )


@pytest.mark.parametrize(
    ("not_found", "state", "message"),
    [
        # Two 404s fit InfinityBlue's grace ("not found, not completed yet, or expired"): the task is resumed.
        (2, "success", None),
        # A 404 run past the (shortened) grace means gone; without resubmit_lost_tasks nothing is paid again.
        (20, "failed", "infinityblue no longer knows task"),
    ],
)
def test_a_claimed_infinityblue_task_answering_404_is_waited_for_within_the_grace(
    env, moto_server, run_dag, monkeypatch, capfd, caplog, not_found, state, message
):
    from airflow_provider_seedance.gateways.infinityblue import InfinityBlueGateway

    monkeypatch.setattr(InfinityBlueGateway, "not_found_grace", (3, 0.05))
    env.simulator.faults.replace(
        FaultPlan(
            script=[
                ScriptedFault(kind="unauthorized", op="status"),  # try 1 dies right after submitting
                ScriptedFault(kind="not_found", op="status", count=not_found),
            ],
            retry_after_seconds=0,
        )
    )
    dag_id = f"seedance_ib_404_{not_found}"
    run = run_dag(
        dag_id,
        _single(
            dag_id,
            f"seedance_conn_id='sim_infinityblue', model={MODELS['infinityblue']!r}, prompt='x', retries=1, "
            "deferrable=False, "  # Airflow 3.0's dag.test() resumes a retry of a deferred task with the old event
            f"retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/ib404/{not_found}.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (state, 2)
    assert _submissions(env, "infinityblue") == 1
    output = _task_output(capfd, caplog)
    assert "that can mean it is not finished yet, so it is waited for" in output
    if message:
        assert message in output


def test_skip_existing_regenerates_when_the_request_changed(env, moto_server, run_dag):
    base = f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, output_path='s3://{BUCKET}/edited/clip.mp4'"
    run_dag("seedance_edit_first", _single("seedance_edit_first", base + ", prompt='a red door'"))
    run = run_dag("seedance_edit_second", _single("seedance_edit_second", base + ", prompt='a blue door'"))
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    assert _submissions(env, "ark") == 2
    assert json.loads(_object(moto_server, "edited/clip.mp4.json"))["request"]["prompt"] == "a blue door"


@pytest.mark.both_forms
def test_a_retry_resumes_the_submitted_task(env, moto_server, run_dag):
    # The first try dies after submitting (its status poll is refused with a 401);
    # the retry finds the remote id in the claim and resumes it instead of paying again.
    env.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="unauthorized", op="status")], retry_after_seconds=0)
    )
    run = run_dag(
        "seedance_retry",
        _single(
            "seedance_retry",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='a sailboat in a storm', deferrable=False, "
            f"retries=1, retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/retry/sailboat.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    assert ti.try_number == 2
    assert _submissions(env, "ark") == 1
    assert _object(moto_server, "retry/sailboat.mp4")


MODERATED = "OutputVideoSensitiveContentDetected.PolicyViolation"


def test_output_moderation_fails_without_retrying_unless_reseeding_is_allowed(env, moto_server, run_dag, capfd, caplog):
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation")]))
    run = run_dag(
        "seedance_fail",
        _single(
            "seedance_fail",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', retries=2, "
            f"retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/fail/x.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # the same request would pay to fail again
    listed = s3_client(moto_server).list_objects_v2(Bucket=BUCKET, Prefix="fail/")
    assert [item["Key"] for item in listed.get("Contents", [])] == ["fail/x.mp4.failure.json"]  # no video
    failure = json.loads(_object(moto_server, "fail/x.mp4.failure.json"))
    assert (failure["cause"], failure["code"]) == ("output_moderation", MODERATED)
    output = _task_output(capfd, caplog)
    assert (
        f"({MODERATED}). Output moderation can pass with another seed. Next: set reseed_on_output_moderation" in output
    )


@pytest.mark.both_forms
def test_output_moderation_is_retried_with_another_seed_when_allowed(env, moto_server, run_dag, capfd, caplog):
    # gateways.md section 10: output moderation "can fail at random on identical input: a new seed may pass".
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation")]))
    run = run_dag(
        "seedance_reseed",
        _single(
            "seedance_reseed",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', seed=42, retries=2, deferrable=False, "
            f"reseed_on_output_moderation=True, retry_delay=timedelta(seconds=0), "
            f"output_path='s3://{BUCKET}/reseed/x.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert _submissions(env, "ark") == 2
    manifest = json.loads(_object(moto_server, "reseed/x.mp4.json"))
    seed = manifest["request"]["seed"]
    assert seed != 42
    assert 0 <= seed < 2**32
    assert manifest["seed"] == seed
    output = _task_output(capfd, caplog)
    assert f"the next retry submits it with seed {seed} (reseed 1 of 2" in output
    assert f"submitting again with seed {seed} (reseed 1 of 2)" in output


def test_timeout_cancels_the_remote_task(env, moto_server, monkeypatch, run_dag):
    monkeypatch.setattr(env.simulator.config, "queue_seconds", 10**6)
    run = run_dag(
        "seedance_timeout",
        _single(
            "seedance_timeout",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', "
            f"generation_timeout=timedelta(seconds=0.3), output_path='s3://{BUCKET}/timeout/x.mp4'",
        ),
    )
    assert set(_states(run).values()) == {TaskInstanceState.FAILED}
    (task,) = [t for t in env.simulator.stats.snapshot()["tasks"].values() if t["gateway"] == "ark"]
    assert task["cancels"] == 1


@pytest.mark.both_forms
def test_bad_input_fails_before_any_request(env, run_dag):
    run = run_dag(
        "seedance_invalid",
        _single(
            "seedance_invalid",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', duration=40, retries=2, "
            f"retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/invalid/x.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # no retry can fix the request
    assert env.simulator.stats.snapshot()["gateways"] == {}


@pytest.mark.parametrize(
    ("gateway", "fault", "choice", "state", "submit_requests", "created"),
    [
        # No task list to ask: a retry could pay a second time, so the task fails and says what to check.
        ("apimart", "drop_after", "fail", "failed", 1, 1),
        # The user accepted paying twice rather than stopping the night.
        ("apimart", "drop_after", "resubmit", "success", 2, 2),
        # Ark's list shows the task the lost answer created (model + the seed derived from the request): resumed.
        ("ark", "drop_after", "fail", "success", 1, 1),
        # Ark's list shows no such task: it was not created, so it is submitted exactly once more.
        ("ark", "drop", "fail", "success", 2, 1),
    ],
)
def test_a_submit_whose_answer_was_lost(
    env, moto_server, run_dag, generation_form, gateway, fault, choice, state, submit_requests, created
):
    env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind=fault, op="submit")]))
    dag_id = f"seedance_unknown_{gateway}_{fault}_{choice}"
    # Ark's lookup pages through the model's recent tasks: a model the other tests seldom use keeps that short
    # (the lookup gives up, failing safe, past 1,000 tasks in its window).
    model = "dreamina-seedance-2-0-fast-260128" if gateway == "ark" else MODELS[gateway]
    # Each form sends its own request (prompt): the lookup reads Ark's task list, where the other form's task
    # from the same request would be found and resumed.
    run = run_dag(
        dag_id,
        _single(
            dag_id,
            f"seedance_conn_id='sim_{gateway}', model={model!r}, prompt='x {generation_form}', retries=2, "
            f"on_unknown_submit={choice!r}, retry_delay=timedelta(seconds=0), "
            f"output_path='s3://{BUCKET}/unknown/{gateway}-{fault}-{choice}.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (state, 1)
    stats = env.simulator.stats.snapshot()["gateways"][gateway]
    assert (stats.get("submit_requests"), stats.get("submissions")) == (submit_requests, created), stats


@pytest.mark.both_forms
def test_a_full_queue_is_waited_out_without_a_worker_slot(moto_server, run_dag, monkeypatch, capfd, caplog):
    # BytePlus caps queued tasks per account (120); here 1, held by someone else's task until our submit was
    # refused past the hook's own retries (1 + 6 submit requests) and asked again after a wait: then it moves.
    # A simulator of its own: on the shared one, earlier tests' tasks would hold (and, past Ark's execution
    # limit of 172.8 real seconds at this clock, free) places in the queue while this test runs.
    config = simulator_config(queue_seconds=10**6, max_queued_tasks=1)
    with start_simulator(config) as own:
        own.simulator.faults.replace(FaultPlan(retry_after_seconds=0))
        for name, value in simulator_connections(own).items():
            monkeypatch.setenv(name, value)

        test_over = threading.Event()

        def release_after_a_capacity_wait() -> None:
            while own.simulator.stats.snapshot()["gateways"].get("ark", {}).get("submit_requests", 0) < 8:
                if test_over.wait(0.05):
                    return
            config.queue_seconds = 2.0

        threading.Thread(target=release_after_a_capacity_wait, daemon=True).start()
        blocker = httpx.post(
            own.gateway_url("ark") + "/contents/generations/tasks",
            headers={"Authorization": f"Bearer {SIM_KEY}"},
            json={"model": MODELS["ark"], "content": [{"type": "text", "text": "someone else's"}]},
        )
        assert blocker.status_code == 200
        run = run_dag(
            "seedance_capacity",
            _single(
                "seedance_capacity",
                f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', "
                f"output_path='s3://{BUCKET}/capacity/x.mp4'",
            ),
        )
        test_over.set()  # ends the releaser, whether or not it released
        (ti,) = run.get_task_instances()
        assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 1)
        stats = own.simulator.stats.snapshot()["gateways"]["ark"]
        assert stats["submissions"] == 2  # the blocker and ours, once
        assert stats["submit_requests"] >= 8  # refused until the capacity wait, accepted after it
    output = _task_output(capfd, caplog)
    assert "ark takes no new task now" in output
    assert "waiting 0:00:01 without holding a worker slot, then submitting" in output


# ---- claims: resuming a paid generation across tries, clears and runs, on every Airflow release --------


@pytest.mark.operator_only
def test_a_retry_after_the_first_try_died_right_after_submitting_resumes_it(env, moto_server, run_dag):
    run = run_dag(
        "seedance_died",
        _dies_after_submit(
            "seedance_died",
            f"seedance_conn_id='sim_apimart', model={MODELS['apimart']!r}, prompt='a kite over dunes', retries=1, "
            f"retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/died/kite.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert _submissions(env, "apimart") == 1
    manifest = json.loads(_object(moto_server, "died/kite.mp4.json"))
    assert manifest["timings"]["submitted_at"]  # carried over from the claim of try 1
    assert _claim(moto_server, "died/kite.mp4") is None  # the manifest replaced it


@pytest.mark.operator_only
def test_a_new_run_resumes_the_generation_an_earlier_run_claimed(env, moto_server, run_dag):
    args = (
        f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='a heron at dawn', "
        f"output_path='s3://{BUCKET}/claimed/heron.mp4'"
    )
    first = run_dag("seedance_claim_first", _dies_after_submit("seedance_claim_first", args))
    assert set(_states(first).values()) == {TaskInstanceState.FAILED}
    claim = _claim(moto_server, "claimed/heron.mp4")
    assert claim["gateway"] == "ark"
    assert claim["seedance_conn_id"] == "sim_ark"
    assert claim["airflow"]["dag_id"] == "seedance_claim_first"
    assert SIM_KEY not in json.dumps(claim)

    # A different DAG run (as after a clear, a re-trigger or a wiped metadata database) finds the claim.
    second = run_dag("seedance_claim_second", _single("seedance_claim_second", args))
    assert set(_states(second).values()) == {TaskInstanceState.SUCCESS}
    assert _submissions(env, "ark") == 1
    assert json.loads(_object(moto_server, "claimed/heron.mp4.json"))["remote_task_id"] == claim["remote_task_id"]
    assert _claim(moto_server, "claimed/heron.mp4") is None


@pytest.mark.both_forms
def test_a_claim_for_another_request_is_not_resumed(env, moto_server, run_dag, capfd, caplog):
    from dataclasses import replace

    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.outputs.claims import write_claim
    from tests.support.claims import CLAIM

    output = ObjectStoragePath(f"s3://{BUCKET}/foreign/clip.mp4", conn_id="aws_moto")
    write_claim(output, replace(CLAIM, seedance_conn_id="sim_ark", remote_task_id="cgt-from-another-prompt"))
    run = run_dag(
        "seedance_foreign_claim",
        _single(
            "seedance_foreign_claim",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', output_path='{output}'",
        ),
    )
    assert set(_states(run).values()) == {TaskInstanceState.SUCCESS}
    assert _submissions(env, "ark") == 1
    assert "claims ark task cgt-from-another-prompt for another request" in _task_output(capfd, caplog)


def test_an_output_location_that_cannot_be_written_fails_before_paying(env, moto_server, run_dag, capfd, caplog):
    # The bucket does not exist: the reservation cannot be written, so nothing is submitted (and no retry).
    run = run_dag(
        "seedance_unclaimable",
        _single(
            "seedance_unclaimable",
            f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt='x', retries=2, "
            "retry_delay=timedelta(seconds=0), output_path='s3://no-such-bucket-for-claims/x.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert _submissions(env, "ark") == 0
    output = _task_output(capfd, caplog)
    assert "could not write the claim s3://no-such-bucket-for-claims/x.mp4.claim.json before submitting" in output
    assert "nothing was submitted" in output
