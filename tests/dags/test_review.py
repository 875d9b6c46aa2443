"""Review before publish under ``dag.test()``: the reviewer answers through Airflow's REST API (the core API app,
in this process), the takes run against the simulator, the videos land in moto's S3."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.simulator import start_simulator
from airflow_provider_seedance.testing.connections import simulated_gateway_connections
from tests.conftest import BUCKET, SIM_KEY, dag_test, s3_client, simulator_config
from tests.support.dag_runs import _asset_events, _object
from tests.support.examples import _load, uninstall_examples

DAG_ID = "seedance_review_and_publish"

pytestmark = pytest.mark.xdist_group("review")


def _keys(moto_server: str, prefix: str) -> list[str]:
    listing = s3_client(moto_server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


class Reviewer(threading.Thread):
    """Answers every open review of the DAG through ``PATCH .../hitlDetails``, as a person in the UI does."""

    def __init__(self, dag_id: str, answer: Callable[[str, dict], tuple[str, str]]) -> None:
        super().__init__(daemon=True)
        self.dag_id = dag_id
        self.answer = answer
        self.answered: list[tuple[str, int, str, str]] = []
        self.details: dict[tuple[str, int], dict] = {}
        self.stop = threading.Event()
        self.errors: list[str] = []  # why it gave up
        self.refused: list[str] = []  # answers the API refused (tried again: a busy SQLite database, say)

    def run(self) -> None:
        try:
            self._answer_until_stopped()
        except Exception as exc:
            self.errors.append(repr(exc))
            _end_the_runs(self.dag_id)  # dag.test() would wait for the answers forever

    def _answer_until_stopped(self) -> None:
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        client = TestClient(create_app(apps="core"))
        token = client.get("/auth/token").json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        failures = 0
        while not self.stop.is_set():
            try:
                self._answer_once(client, headers)
                failures = 0
            except Exception as exc:  # a busy SQLite database, say: the questions are still there next time
                failures += 1
                self.refused.append(repr(exc))
                if failures >= 20:
                    raise
            time.sleep(0.5)

    def _answer_once(self, client, headers: dict[str, str]) -> None:
        pending = client.get(
            f"/api/v2/dags/{self.dag_id}/dagRuns/~/hitlDetails",
            params={"response_received": False},
            headers=headers,
        )
        for detail in pending.json().get("hitl_details", []):
            ti = detail["task_instance"]
            chosen, note = self.answer(ti["task_id"], detail)
            path = (
                f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
                f"{ti['map_index']}/hitlDetails"
            )
            reply = client.patch(
                path, json={"chosen_options": [chosen], "params_input": {"note": note}}, headers=headers
            )
            if reply.is_error:
                self.refused.append(f"{reply.status_code} {reply.text[:500]}")
            else:
                self.answered.append((ti["task_id"], ti["map_index"], chosen, detail["subject"]))
                self.details[(ti["task_id"], ti["map_index"])] = detail


def _end_the_runs(dag_id: str) -> None:
    """Mark the DAG's running runs failed: ``dag.test()`` stops waiting, and the test reports the reviewer's error
    (interrupting the main thread instead would stop the whole pytest-xdist session)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.RUNNING):
            run.state = DagRunState.FAILED


ANSWERS = {
    ("lamp-01", 1): ("Approve", ""),
    ("kettle-02", 1): ("Reject", "the kettle reads brown, not black"),
    ("chair-03", 1): ("Another take", "warmer light, the chair fully in frame"),
    ("chair-03", 2): ("Approve", ""),
}


def _answer(task_id: str, detail: dict) -> tuple[str, str]:
    take = int(task_id.rsplit("_", 1)[1])
    sku = next(sku for sku, _ in ANSWERS if sku in detail["subject"])
    return ANSWERS[(sku, take)]


@pytest.fixture(scope="module")
def reviewed(examples, moto_server, simulator):
    """One run of the example: lamp approved, kettle rejected, chair given another take and then approved."""
    # A gateway of its own, so that its count of submissions is this run's alone.
    gateway = start_simulator(simulator_config())
    default = os.environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"]
    ark = simulated_gateway_connections(gateway.gateway_urls, SIM_KEY, demo_prices=True)["AIRFLOW_CONN_SEEDANCE_ARK"]
    os.environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = ark
    # The simple auth manager hands out a token without credentials only when everyone is an admin.
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    reviewer = Reviewer(DAG_ID, _answer)
    reviewer.start()
    try:
        run = dag_test(_load(DAG_ID).dag)
    finally:
        del os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"]
        os.environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = default
        reviewer.stop.set()
        reviewer.join(10)
        uninstall_examples()
        tasks = gateway.simulator.stats.snapshot()["tasks"].values()
        gateway.stop()
    assert not reviewer.errors, reviewer.errors
    folder = _result(run, "launch_video", 0)["video_path"].rsplit("/", 1)[0]
    return SimpleNamespace(
        run=run, reviewer=reviewer, submissions=sum(t.get("submissions", 0) for t in tasks), folder=folder
    )


def _result(run, task_id: str, map_index: int) -> dict:
    ti = run.get_task_instance(task_id, map_index=map_index)
    return ti.xcom_pull(task_ids=task_id, map_indexes=map_index)


def _key(uri: str) -> str:
    return uri.split("/", 3)[3]


def _manifest(moto_server: str, uri: str) -> dict:
    return json.loads(_object(moto_server, _key(uri) + ".json"))


def test_two_videos_are_published_one_rejected_with_four_paid_generations(reviewed, moto_server):
    states = {(ti.task_id, ti.map_index): ti.state for ti in reviewed.run.get_task_instances()}
    assert states.pop(("review.publish", 1)) == TaskInstanceState.SKIPPED  # the rejected kettle
    assert set(states.values()) == {TaskInstanceState.SUCCESS}, states
    assert reviewed.submissions == 4  # three first takes and the chair's second
    assert sorted((task, index, chosen) for task, index, chosen, _ in reviewed.reviewer.answered) == [
        ("review.ask_1", 0, "Approve"),
        ("review.ask_1", 1, "Reject"),
        ("review.ask_1", 2, "Another take"),
        ("review.ask_2", 2, "Approve"),
    ]
    published = sorted(key for key in _keys(moto_server, "examples/published/") if key.endswith(".mp4"))
    assert published == ["examples/published/chair-03.mp4", "examples/published/lamp-01.mp4"]
    for key, source in (("lamp-01", "lamp-01.mp4"), ("chair-03", "chair-03.take-2.mp4")):
        manifest = json.loads(_object(moto_server, f"examples/published/{key}.mp4.json"))
        video = _object(moto_server, f"examples/published/{key}.mp4")
        assert manifest["video"]["sha256"] == hashlib.sha256(video).hexdigest()
        assert video == _object(moto_server, f"{_key(reviewed.folder)}/{source}")  # the approved take's bytes
        assert manifest["review"]["answer"] == "approve"
        assert manifest["review"]["by"]["name"]
        assert manifest["review"]["at"]
        assert manifest["published"]["from"] == f"{reviewed.folder}/{source}"
    rejected = _manifest(moto_server, f"{reviewed.folder}/kettle-02.mp4")["review"]
    assert (rejected["answer"], rejected["note"]) == ("reject", "the kettle reads brown, not black")


def test_another_take_adds_the_note_and_a_new_seed_beside_the_first(reviewed, moto_server):
    first = _manifest(moto_server, f"{reviewed.folder}/chair-03.mp4")
    second = _manifest(moto_server, f"{reviewed.folder}/chair-03.take-2.mp4")
    assert first["review"]["answer"] == "another_take"
    assert second["request"]["prompt"] == first["request"]["prompt"] + "\n\nwarmer light, the chair fully in frame"
    assert second["seed"] != first["seed"]
    assert first["video"]["sha256"] != second["video"]["sha256"]  # take 1 kept, not overwritten
    published = _result(reviewed.run, "review.publish", 2)
    assert [(take["take"], take["answer"]) for take in published["history"]] == [(1, "another_take"), (2, "approve")]
    assert all(take["actual_cost"] for take in published["history"])  # what each take cost


def test_the_reviewer_sees_the_prompt_cost_and_a_link_that_plays_the_video(reviewed, moto_server):
    detail = reviewed.reviewer.details[("review.ask_2", 2)]
    video = f"{reviewed.folder}/chair-03.take-2.mp4"
    link = f"{moto_server}/{BUCKET}/{quote(_key(video))}"
    assert f"[Play the video]({link})" in detail["body"]
    assert "warmer light, the chair fully in frame" in detail["body"]  # the prompt, and the earlier take's note
    assert "| Cost of this take |" in detail["body"]
    assert "USD (actual)" in detail["body"]
    assert detail["options"] == ["Approve", "Reject"]  # the last take offers no other
    # The link is unsigned: it plays where the store lets a reviewer read (here: the object made public-read).
    s3_client(moto_server).put_object_acl(Bucket=BUCKET, Key=_key(video), ACL="public-read")
    played = httpx.get(link)
    assert played.status_code == 200, (played.status_code, played.headers, played.text[:300])
    assert played.content == _object(moto_server, _key(video))  # it plays the very take


def test_published_events_list_the_approved_videos_only(reviewed):
    events = _asset_events(f"s3://{BUCKET}/examples/published")
    videos = sorted(video["uri"] for extra, _ in events for video in extra["videos"])
    assert videos == [f"s3://{BUCKET}/examples/published/chair-03.mp4", f"s3://{BUCKET}/examples/published/lamp-01.mp4"]


def test_a_take_made_again_pays_nothing(reviewed, moto_server, simulator, run_dag):
    # What a cleared or retried take task does: the same decision rebuilds the same request and output.
    decision = _result(reviewed.run, "review.ask_1", 2)
    run = run_dag(
        "seedance_take_again",
        f"""
from airflow_provider_seedance.operators.review import SeedanceTakeOperator
with DAG(dag_id="seedance_take_again", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceTakeOperator(task_id="take_2", take=2, review={decision!r}, output_conn_id=AWS_CONN_ID, poll_interval=0.01)
""",
    )
    result = _result(run, "take_2", -1)
    assert (result["skipped"], result["paid"]) == (True, False)
    assert result["video_path"] == f"{reviewed.folder}/chair-03.take-2.mp4"
    assert simulator.simulator.stats.snapshot()["tasks"] == {}
