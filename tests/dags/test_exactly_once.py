"""Exactly once when a worker dies mid-submit or another run holds the output, in real Airflow (``dag.test()``).

A first try "dies" while its submit is in flight: the simulator creates (and would bill) the task, and the
answer never reaches the operator (an exception escapes the submit, as a SIGKILL ends it; the real SIGKILL is
tests/e2e/test_real_airflow.py's). What is left is the reservation written before the submit. The retry must
resume the task where the gateway's task list can find it (Ark) and must not submit again elsewhere.

Two runs: the first leaves such reservations (its own retries resolve some; some tasks have none, so their
reservations stay, as after a worker that never came back), then the test ages those by the five minutes a
submit may take, or hands one to "another run" that answers while the second run waits for it. The second
run, a different DAG over the same outputs, is the other producer.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.outputs.claims import read_claim, write_claim
from airflow_provider_seedance.outputs.layout import claim_path, manifest_path
from tests.conftest import AWS_CONN_ID, BUCKET
from tests.support.dag_runs import MODELS, SharedRuns, _claim, _object, _submissions, _task_output, dag_of
from tests.support.media import write_clip

pytestmark = pytest.mark.xdist_group("exactly_once")
RUNS = SharedRuns()
# Ark's lookup pages through the model's recent tasks: a model the other tests seldom use keeps that short.
ARK_MODEL = "dreamina-seedance-2-0-fast-260128"
MODEL_OF = {**MODELS, "ark": ARK_MODEL}
PREFIX = "exactly-once"

DYING = """
class DiesMidSubmit(SeedanceGenerateVideoOperator):
    # Try 1's worker is lost while its submit is in flight: the gateway created (and bills) the task, and its
    # answer never arrives. ``UNSENT`` tasks die just before the request leaves instead (nothing created).
    UNSENT = ("orphan_unsent_ark", "raced", "stored_meanwhile")

    def _resume_or_submit(self, context, *args):
        if context["ti"].try_number == 1:
            submit, unsent = self.hook.submit, self.task_id in self.UNSENT

            def lost(request, **kwargs):
                if not unsent:
                    submit(request, **kwargs)
                raise RuntimeError("worker lost mid-submit")

            self.hook.submit = lost
        return super()._resume_or_submit(context, *args)
"""


def _args(gateway: str, name: str, extra: str = "") -> str:
    return (
        f"seedance_conn_id='sim_{gateway}', model={MODEL_OF[gateway]!r}, prompt='exactly once: {name}', "
        f"retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/{PREFIX}/{name}.mp4', {extra}"
    )


# Resolved by the task's own retry: on Ark (its task list can say) and on apimart (like the four others, it
# offers nothing to find the task by; tests/e2e/test_real_airflow.py kills a try on each of the six), and
# the opt-in resubmit.
DIED = {f"died_{gateway}": _args(gateway, f"died_{gateway}", "retries=1") for gateway in ("ark", "apimart")}
RESUBMITTED = {"resubmitted": _args("apimart", "resubmitted", "retries=1, on_unknown_submit='resubmit'")}
# A seed the DAG sets may be any other generation's too: Ark's list cannot tell this one's task by it.
OWN_SEED = {"died_ark_own_seed": _args("ark", "died_ark_own_seed", "retries=1, seed=42")}
# Left for the second run: a reservation whose producer never came back (no retries).
ORPHANS = {
    "orphan_created_ark": _args("ark", "orphan_created_ark"),
    "orphan_unsent_ark": _args("ark", "orphan_unsent_ark"),
    "orphan_apimart": _args("apimart", "orphan_apimart"),
    "raced": _args("ark", "raced"),
    "stored_meanwhile": _args("ark", "stored_meanwhile"),
}


# In the second run only: an unreadable claim, and a gateway that refuses the connection (nothing sent).
SECOND_ONLY = {
    "unreadable": _args("ark", "unreadable"),
    "refused": _args("ark", "refused").replace("'sim_ark'", "'dead_ark'"),
}


def _output(name: str) -> ObjectStoragePath:
    return ObjectStoragePath(f"s3://{BUCKET}/{PREFIX}/{name}.mp4", conn_id=AWS_CONN_ID)


def _age(name: str, answer_by: datetime) -> None:
    """Move a reservation's answer window, as if its producer had stopped that long ago."""
    claim = read_claim(_output(name))
    assert claim is not None, name
    assert claim.is_reservation, name
    write_claim(_output(name), replace(claim, answer_by=answer_by.isoformat()))


def _answer_as_another_run(name: str, dag_id: str, *, stored: bool = False) -> threading.Thread:
    """Another run's submit that answers a few seconds after ``dag_id``'s task ``name`` started (and found the
    reservation): a real Ark task, its id filled in; with ``stored``, that run also stores the video at once
    (its manifest replaces the claim) before the waiting task looks again."""

    def answer() -> None:
        deadline = time.monotonic() + 120
        while not _running(dag_id, name) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        reservation = read_claim(_output(name))
        request = VideoRequest.model_validate(reservation.request)
        status = SeedanceHook("sim_ark").submit(request)
        if not stored:
            write_claim(_output(name), replace(reservation, remote_task_id=status.task_id))
            return
        manifest = {
            "gateway": "ark",
            "model": request.model,
            "remote_task_id": status.task_id,
            "request_sha256": reservation.request_sha256,
            "request": reservation.request,
            "timings": {"submitted_at": reservation.submitted_at, "stored_at": datetime.now(UTC).isoformat()},
        }
        clip = write_clip(Path(tempfile.mkdtemp()) / "clip.mp4", 320, 240, 24, 1.0)
        _output(name).write_bytes(clip.read_bytes())  # as the other run stores it: video, manifest, no claim
        manifest_path(_output(name)).write_text(json.dumps(manifest))
        claim_path(_output(name)).unlink()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def _running(dag_id: str, task_id: str) -> bool:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(TaskInstance.state).where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
        return session.scalar(query) == TaskInstanceState.RUNNING


@pytest.fixture
def runs(env, moto_server, run_dag, capfd, caplog, monkeypatch) -> dict:
    # Nothing listens on port 9 of this machine: every connection is refused, one attempt only.
    dead = {"conn_type": "seedance", "host": "http://127.0.0.1:9/api/v3", "password": "sk-dead-gateway-key"}
    dead["extra"] = {"gateway": "ark", "retry": {"max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_DEAD_ARK", json.dumps(dead))

    def make() -> dict:
        tasks = dag_of("exactly_once_first", {**DIED, **RESUBMITTED, **OWN_SEED, **ORPHANS})
        first = run_dag("exactly_once_first", DYING + tasks.replace("SeedanceGenerateVideoOperator(", "DiesMidSubmit("))
        first_output = _task_output(capfd, caplog)
        counts_first = {gateway: _submissions(env, gateway) for gateway in ("ark", "apimart")}
        reservations = {name: _claim(moto_server, f"{PREFIX}/{name}.mp4") for name in ORPHANS}
        past = datetime.now(UTC) - timedelta(seconds=1)
        for name in ("orphan_created_ark", "orphan_unsent_ark", "orphan_apimart"):
            _age(name, past)
        for name in ("raced", "stored_meanwhile"):
            _age(name, datetime.now(UTC) + timedelta(seconds=120))
        answering = [
            _answer_as_another_run("raced", "exactly_once_second"),
            _answer_as_another_run("stored_meanwhile", "exactly_once_second", stored=True),
        ]
        # Not readable as a claim (as after a careless hand edit): reserving must stop, not loop.
        _output("unreadable").with_name("unreadable.mp4.claim.json").write_text("{not json")
        second = run_dag("exactly_once_second", dag_of("exactly_once_second", {**ORPHANS, **SECOND_ONLY}))
        for thread in answering:
            thread.join()
        return {
            "first": {ti.task_id: ti for ti in first.get_task_instances()},
            "first_output": first_output,
            "counts_first": counts_first,
            "reservations": reservations,
            "second": {ti.task_id: ti for ti in second.get_task_instances()},
            "second_output": _task_output(capfd, caplog),
            "gateways_asked": set(env.simulator.stats.snapshot()["gateways"]),
            "counts": {gateway: _submissions(env, gateway) for gateway in ("ark", "apimart")},
        }

    return RUNS.get("runs", make)


def _manifest(moto_server: str, name: str) -> dict:
    return json.loads(_object(moto_server, f"{PREFIX}/{name}.mp4.json"))


def _failure(moto_server: str, name: str) -> dict:
    return json.loads(_object(moto_server, f"{PREFIX}/{name}.mp4.failure.json"))


def test_a_retry_after_a_death_mid_submit_resumes_the_task_arks_list_finds(runs, moto_server):
    ti = runs["first"]["died_ark"]
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    manifest = _manifest(moto_server, "died_ark")
    assert manifest["unknown_resubmits"] == 0
    assert _claim(moto_server, f"{PREFIX}/died_ark.mp4") is None
    assert "shows the task it created" in runs["first_output"]


def test_a_retry_after_a_death_mid_submit_fails_without_paying_where_nothing_can_find_it(runs, moto_server):
    gateway = "apimart"
    name = f"died_{gateway}"
    ti = runs["first"][name]
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 2)
    reservation = _claim(moto_server, f"{PREFIX}/{name}.mp4")
    assert reservation["remote_task_id"] is None  # left for a person
    assert reservation["airflow"]["try_number"] == 1
    failure = _failure(moto_server, name)
    assert failure["cause"] == "outcome_unknown"
    assert f"{gateway} may have created, and may bill, a {MODEL_OF[gateway]} task" in failure["message"]
    assert reservation["request_sha256"] in failure["message"]
    assert f"s3://{BUCKET}/{PREFIX}/{name}.mp4.claim.json" in failure["message"]


def test_one_submission_per_video_and_two_for_the_opt_in_resubmit(runs):
    # First run: one each for the died_* tasks (died_ark_own_seed included), two for the opt-in resubmit
    # (apimart), one per orphan that reached its gateway (orphan_created_ark, orphan_apimart). No other
    # gateway was asked.
    assert runs["counts_first"] == {"ark": 3, "apimart": 4}
    # Second run: only orphan_unsent_ark (provably never created) is submitted; "another run" submitted for
    # raced and stored_meanwhile.
    assert runs["counts"] == {**runs["counts_first"], "ark": runs["counts_first"]["ark"] + 3}
    assert runs["gateways_asked"] == {"ark", "apimart"}


def test_the_opt_in_resubmit_pays_again_and_its_manifest_says_so(runs, moto_server):
    ti = runs["first"]["resubmitted"]
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert _manifest(moto_server, "resubmitted")["unknown_resubmits"] == 1
    assert "submitting it again (on_unknown_submit='resubmit')" in runs["first_output"]


def test_another_runs_stale_reservation_is_resumed_where_arks_list_shows_its_task(runs, moto_server):
    reservation = runs["reservations"]["orphan_created_ark"]
    assert reservation["remote_task_id"] is None
    assert reservation["airflow"]["dag_id"] == "exactly_once_first"
    assert runs["second"]["orphan_created_ark"].state == TaskInstanceState.SUCCESS
    manifest = _manifest(moto_server, "orphan_created_ark")
    assert manifest["seed"] == reservation["request"]["seed"]  # the task the first run's submit created
    assert manifest["airflow"]["dag_id"] == "exactly_once_second"


def test_another_runs_stale_reservation_that_created_nothing_is_submitted_once(runs, moto_server):
    assert runs["second"]["orphan_unsent_ark"].state == TaskInstanceState.SUCCESS
    assert "shows no dreamina-seedance-2-0-fast-260128 task with seed" in runs["second_output"]
    assert _claim(moto_server, f"{PREFIX}/orphan_unsent_ark.mp4") is None


def test_another_runs_stale_reservation_fails_for_a_person_where_nothing_can_find_it(runs, moto_server):
    ti = runs["second"]["orphan_apimart"]
    assert ti.state == TaskInstanceState.FAILED
    reservation = _claim(moto_server, f"{PREFIX}/orphan_apimart.mp4")
    assert reservation == runs["reservations"]["orphan_apimart"] | {"answer_by": reservation["answer_by"]}
    assert "exactly_once_first.orphan_apimart (run" in _failure(moto_server, "orphan_apimart")["message"]


def test_a_live_reservation_of_another_run_is_waited_for_and_its_task_resumed(runs, moto_server):
    assert runs["second"]["raced"].state == TaskInstanceState.SUCCESS
    manifest = _manifest(moto_server, "raced")
    assert manifest["remote_task_id"].startswith("cgt-")
    assert manifest["airflow"]["dag_id"] == "exactly_once_second"
    assert "instead of submitting the same generation again" in runs["second_output"]


def test_a_video_the_other_run_stored_while_this_one_waited_is_taken_without_paying(runs, moto_server):
    # The other run answered, generated and stored between two looks: its claim is gone, its manifest is there.
    assert runs["second"]["stored_meanwhile"].state == TaskInstanceState.SUCCESS
    manifest = _manifest(moto_server, "stored_meanwhile")
    assert manifest["airflow"]["dag_id"] == "exactly_once_second"  # stored again, from the other run's task
    assert manifest["video"]["size"] > 0
    assert "its video is already stored" in runs["second_output"]


def test_a_seed_the_dag_set_is_not_looked_up_in_arks_list(runs, moto_server):
    # Another generation may carry seed 42 too: a task found by it could be another output's video.
    ti = runs["first"]["died_ark_own_seed"]
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 2)
    assert _failure(moto_server, "died_ark_own_seed")["cause"] == "outcome_unknown"
    assert _claim(moto_server, f"{PREFIX}/died_ark_own_seed.mp4")["remote_task_id"] is None


def test_an_unreadable_claim_stops_the_task_before_paying(runs):
    assert runs["second"]["unreadable"].state == TaskInstanceState.FAILED
    assert "unreadable.mp4.claim.json exists but is not a claim this provider can read" in runs["second_output"]


def test_a_refused_connection_releases_the_reservation(runs, moto_server):
    # Nothing was sent, so nothing is reserved: a retry (or another run) submits without a person.
    assert runs["second"]["refused"].state == TaskInstanceState.FAILED
    assert _claim(moto_server, f"{PREFIX}/refused.mp4") is None
