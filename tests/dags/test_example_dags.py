"""Every example DAG parses cleanly in the dags folder and runs under ``dag.test()`` against the simulator and
moto's S3 server."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import httpx
import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS
from airflow.utils.state import TaskInstanceState

from tests.conftest import BUCKET, dag_test, s3_client
from tests.support.dag_runs import _object
from tests.support.examples import EXAMPLES, _dag_bag, _load, uninstall_examples
from tests.support.stores import CloudStore

# One worker runs them all, in order: the follow-up example checks the videos the others stored.
pytestmark = pytest.mark.xdist_group("example_dags")


@pytest.fixture(scope="module", autouse=True)
def _examples_leave_the_dags_folder(examples):
    yield
    uninstall_examples()  # else every later dag.test() of this worker parses them too


def _succeeded(run) -> None:
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert set(states.values()) == {TaskInstanceState.SUCCESS}, states


def _keys(moto_server: str, prefix: str) -> list[str]:
    listing = s3_client(moto_server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_every_example_parses_without_import_errors(examples):
    bag = _dag_bag(EXAMPLES)
    review = {"seedance_review_and_publish", "seedance_published_videos"}
    if not AIRFLOW_V_3_1_PLUS:  # no human-in-the-loop tasks: the review example is an import error naming 3.1
        ((path, error),) = bag.import_errors.items()
        assert path.endswith("seedance_review_and_publish.py")
        assert "The Seedance review step needs Airflow 3.1 or later" in error
        assert set(bag.dag_ids).isdisjoint(review)
        return
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {
        "seedance_quickstart",
        "seedance_fanout_from_etl",
        "seedance_storyboard",
        "seedance_on_new_videos",
        "seedance_batch_nightly",
        "seedance_submit_then_join",
        "seedance_review_and_publish",
        "seedance_published_videos",
    }


def test_quickstart(examples, moto_server):
    _succeeded(dag_test(_load("seedance_quickstart").dag))
    videos = [key for key in _keys(moto_server, "examples/quickstart/") if key.endswith(".mp4")]
    assert len(videos) == 1
    manifest = json.loads(_object(moto_server, videos[0] + ".json"))
    assert manifest["request"]["prompt"].startswith("A paper boat")


def test_fanout_builds_a_catalog_and_report(examples, moto_server, simulator):
    _succeeded(dag_test(_load("seedance_fanout_from_etl").dag))
    keys = _keys(moto_server, "examples/catalog/")
    videos = [key for key in keys if key.endswith(".mp4")]
    assert len(videos) == 6
    folder = videos[0].rsplit("/", 1)[0]
    catalog = json.loads(_object(moto_server, f"{folder}/catalog.json"))
    assert {entry["gateway"] for entry in catalog} == {"ark", "apimart", "infinityblue"}
    assert _object(moto_server, f"{folder}/catalog.csv").decode().count("\n") == 7
    report = _object(moto_server, f"{folder}/report.html").decode()  # tests/e2e/test_report.py opens it in a browser
    assert report.count("<video") == 6
    head = s3_client(moto_server).head_object(Bucket=BUCKET, Key=f"{folder}/report.html")
    assert head["ContentType"] == "text/html; charset=utf-8"  # shown by a browser, not downloaded
    stats = simulator.simulator.stats.snapshot()["tasks"]
    assert sum(task.get("submissions", 0) for task in stats.values()) == 6


def test_fanout_still_catalogs_the_videos_made_when_one_generation_fails(examples, moto_server, simulator, monkeypatch):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault

    monkeypatch.setenv("SEEDANCE_OUTPUT_BASE", f"s3://{BUCKET}/examples-one-fails")
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="moderation", gateway="apimart", op="submit")], retry_after_seconds=0)
    )
    run = dag_test(_load("seedance_fanout_from_etl").dag)
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert list(states.values()).count(TaskInstanceState.FAILED) == 2  # the refused generation, the summary
    assert states[("build_catalog", -1)] == TaskInstanceState.FAILED  # after writing the catalog and report
    assert run.state == "failed"  # alerts on run state see it
    catalog = next(key for key in _keys(moto_server, "examples-one-fails/") if key.endswith("catalog.json"))
    assert len(json.loads(_object(moto_server, catalog))) == 5
    [failure] = json.loads(_object(moto_server, catalog.replace("catalog.json", "failures.json")))
    assert failure["output"].endswith(("SKU-1002.mp4", "SKU-1005.mp4"))  # the apimart rows
    # apimart reports moderation as a build_request_failed server_error, which says neither input nor output.
    assert (failure["cause"], failure["code"]) == ("other", "server_error")
    assert "content moderation failed" in failure["message"]


def test_fanout_over_budget_submits_nothing(examples, moto_server, simulator, monkeypatch, capfd, caplog):
    # 2 Ark clips from the shipped card (48,600 tokens x $7/M each) + 4 reseller clips at the demo's
    # made-up $0.10 a second: 2.6804 USD, above a budget of 2.
    monkeypatch.setenv("SEEDANCE_OUTPUT_BASE", f"s3://{BUCKET}/examples-over-budget")
    monkeypatch.setenv("SEEDANCE_BUDGET", "2")
    run = dag_test(_load("seedance_fanout_from_etl").dag)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["check_budget"] == TaskInstanceState.FAILED
    assert states["generate"] == TaskInstanceState.UPSTREAM_FAILED
    assert run.state == "failed"
    assert simulator.simulator.stats.snapshot()["gateways"] == {}
    output = " ".join((capfd.readouterr().out + caplog.text).split())
    assert "6 generations estimated at 2.6804 USD against a budget of 2: over budget, so none is submitted." in output
    assert "2 x ark dreamina-seedance-2-0-260128: 0.3402 each, 0.6804 (48,600 tokens (5 s at 480p)" in output
    assert "2 x apimart doubao-seedance-2.0: 0.5000 each, 1.0000 (5 s x 0.1 per second (480p))" in output


def test_batch_nightly_stores_every_clip_in_one_task(examples, moto_server, simulator):
    run = dag_test(_load("seedance_batch_nightly").dag)
    _succeeded(run)
    videos = [key for key in _keys(moto_server, "examples/nightly/") if key.endswith(".mp4")]
    assert len(videos) == 12
    assert all(key + ".json" in _keys(moto_server, "examples/nightly/") for key in videos)
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize").xcom_pull(task_ids="summarize")
    assert (summary["stored"], summary["failed"]) == (12, 0)
    stats = simulator.simulator.stats.snapshot()["tasks"]
    assert sum(task.get("submissions", 0) for task in stats.values()) == 12


def test_batch_nightly_run_ends_failed_when_one_clip_fails(examples, moto_server, simulator, monkeypatch):
    from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault

    monkeypatch.setenv("SEEDANCE_OUTPUT_BASE", f"s3://{BUCKET}/examples-nightly-one-fails")
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="moderation", gateway="ark", op="submit")], retry_after_seconds=0)
    )
    run = dag_test(_load("seedance_batch_nightly").dag)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert (states["generate"], states["summarize"]) == (TaskInstanceState.FAILED, TaskInstanceState.FAILED)
    assert run.state == "failed"
    videos = [key for key in _keys(moto_server, "examples-nightly-one-fails/") if key.endswith(".mp4")]
    assert len(videos) == 11  # every other clip stored


def test_storyboard_chains_last_frames_into_first_frames(examples, moto_server):
    _succeeded(dag_test(_load("seedance_storyboard").dag))
    keys = _keys(moto_server, "examples/storyboard/")
    assert sum(key.endswith(".mp4") for key in keys) == 3
    assert sum(key.endswith(".last_frame.png") for key in keys) == 3
    second = json.loads(_object(moto_server, next(k for k in keys if k.endswith("shot_2.mp4.json"))))
    assert second["request"]["first_frame"].endswith("shot_1.last_frame.png")
    assert second["inputs"][0]["delivered_as"] == "presigned_url"


def test_storyboard_runs_with_its_outputs_in_gcs(examples, gcs_server, simulator, monkeypatch, request):
    """A Composer team's run: every video, last frame and manifest in GCS, each last frame handed to the next shot's
    gateway as a V4 signed URL that the simulator fetched."""
    gcs = CloudStore.started("gcs", request)
    monkeypatch.setenv("SEEDANCE_OUTPUT_BASE", gcs.uri("examples-gcs"))
    monkeypatch.setenv("SEEDANCE_OUTPUT_CONN", gcs.conn_id)
    _succeeded(dag_test(_load("seedance_storyboard").dag))
    keys = gcs.keys("examples-gcs/storyboard/")
    assert [key.rsplit("/", 1)[1] for key in keys if not key.endswith(".json")] == [
        f"shot_{shot}.{kind}" for shot in (1, 2, 3) for kind in ("last_frame.png", "mp4")
    ]
    second = json.loads(gcs.read(next(key for key in keys if key.endswith("shot_2.mp4.json"))))
    last_frame = next(key for key in keys if key.endswith("shot_1.last_frame.png"))
    assert second["request"]["first_frame"] == gcs.uri(last_frame)
    (record,) = second["inputs"]
    assert record["delivered_as"] == "presigned_url"
    assert record["sha256"] == hashlib.sha256(gcs.read(last_frame)).hexdigest()
    reply = httpx.get(f"{simulator.base_url}/_simulator/tasks/ark/{second['remote_task_id']}", timeout=10)
    assert [each["sha256"] for each in reply.json()["inputs"]] == [record["sha256"]]


def test_submit_then_join_stores_each_video_through_its_sensor(examples, moto_server, simulator):
    run = dag_test(_load("seedance_submit_then_join").dag)
    _succeeded(run)
    keys = _keys(moto_server, "examples/trailer/")
    videos = sorted(key for key in keys if key.endswith(".mp4"))
    assert [video.rsplit("/", 1)[-1] for video in videos] == ["closing.mp4", "middle.mp4", "opening.mp4"]
    assert all(f"{video}.json" in keys and video.replace(".mp4", ".last_frame.png") in keys for video in videos)
    assert not [key for key in keys if key.endswith(".claim.json")]
    published = next(ti for ti in run.get_task_instances() if ti.task_id == "publish").xcom_pull(task_ids="publish")
    assert sorted(published) == [f"s3://{BUCKET}/{video}" for video in videos]
    stats = simulator.simulator.stats.snapshot()["tasks"]
    assert sum(task.get("submissions", 0) for task in stats.values()) == 3


def test_follow_up_verifies_new_videos_against_their_manifests(examples, moto_server):
    module = _load("seedance_on_new_videos")
    videos = [key for key in _keys(moto_server, "examples/") if key.endswith(".mp4")]
    assert videos, "run the other examples first"
    manifests = [json.loads(_object(moto_server, key + ".json")) for key in videos[:2]]
    listed = [
        {"uri": m["video"]["uri"], "sha256": m["video"]["sha256"], "gateway": m["gateway"], "model": m["model"]}
        for m in manifests
    ]
    # Shaped like Airflow's accessor (a mapping of asset to events); Asset is not hashable on 3.0.
    events = SimpleNamespace(items=lambda: [(module.VIDEOS, [SimpleNamespace(extra={"videos": listed})])])
    checked = module.verify_new_videos.function(triggering_asset_events=events)
    assert [entry["video"] for entry in checked] == [entry["uri"] for entry in listed]
    tampered = [{**listed[0], "sha256": "0" * 64}]
    events = SimpleNamespace(items=lambda: [(module.VIDEOS, [SimpleNamespace(extra={"videos": tampered})])])
    with pytest.raises(ValueError, match="does not match the sha256 in its asset event and manifest"):
        module.verify_new_videos.function(triggering_asset_events=events)
