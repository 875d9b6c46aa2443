"""A real Airflow deployment in the test run: api-server, scheduler, dag-processor and triggerer as processes.

SQLite, LocalExecutor and a temporary AIRFLOW_HOME; a DAG with four mapped deferrable generations (one per
gateway, on four simulated gateways) runs through the real triggerer into moto's S3 server, beside one
generation whose first try is killed (SIGKILL) right after its paid submit (Airflow 3.1+ retries it;
on 3.0, which fails a killed task outright, the test clears it as an operator would). Then we check
that every object landed, that the simulator saw exactly one submission per generation (the killed
one included: its second try resumed the claimed task), and that the API key and the presigned URLs of
the S3 first frame every generation starts from are nowhere in task logs, the trigger table, XComs or
manifests. The follow-up example, scheduled on the asset the generations declare, must verify every
video from its events. The version matrix runs this on every supported Airflow line.

In the same deployment, at the same time: one generation per gateway whose first try is SIGKILLed while
its submit is in flight (the gateway has created the task and holds the answer), on a simulator of its own,
and two DAGs racing for one output, on a third. Exactly one remote task per video either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_3_PLUS

from airflow_provider_seedance.simulator import (
    FaultPlan,
    RunningSimulator,
    ScriptedFault,
    start_simulator,
)
from airflow_provider_seedance.simulator.faults import Outage
from airflow_provider_seedance.testing import LocalAirflow
from airflow_provider_seedance.testing.connections import seedance_connection, simulated_gateway_connections
from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY, s3_client, simulator_config, simulator_connections
from tests.e2e.browser import Browser, chromium
from tests.support.dag_runs import MODELS, _object
from tests.support.examples import EXAMPLES

DAG_ID = "seedance_real_airflow"
GATEWAYS = {
    "ark": "dreamina-seedance-2-0-260128",
    "apimart": "doubao-seedance-2.0",
    "infinityblue": "doubao-seedance-2-0-260128",
    "jimmyai": "seedance2.0-mini",
}
# One mapped generation per gateway (the killed task comes on top).
GENERATIONS = 4
# Not shorter: Airflow 3.3 fails a task whose trigger fires before the scheduler has handled its deferring
# process's exit (that stale "success" finds the task queued again: "state changed externally"). On a busy
# machine, as in a parallel run, that took over 6 s (a 2 s poll failed a generation), and 7 s on 3.3.0 beside
# the README-install deployment of the matrix (a 5 s poll failed one). 15 s is the operators' default.
POLL_SECONDS = 15
# Every generation starts from this image in moto's S3, delivered as a presigned URL (JimmyAI Mini too).
FIRST_FRAME = f"s3://{BUCKET}/real-inputs/product.png"
VIDEOS_URI = f"s3://{BUCKET}/real"
FOLLOW_UP = "seedance_on_new_videos"
REVIEW_DAG = "seedance_review_and_publish"
PUBLISHED_DAG = "seedance_published_videos"
REVIEW_PREFIXES = ("real/review/", "real/published/")  # where the review example writes, under VIDEOS_URI
# A later producer of the videos asset, with nothing new: see _follow_up_verified.
NEXT_PRODUCER = "seedance_real_airflow_next_producer"
# sim_ark's connection names a console page per task (extra.console_url); the "Seedance task" link fills it.
CONSOLE = "https://console.example/ark/tasks/{task_id}"
# What a presigned URL carries: never in a trigger row, XCom, manifest or log.
SIGNATURE = "X-Amz-Signature"
# From Airflow 3.1 a task process killed by a signal is retried; 3.0 marks it failed (then it is cleared).
RETRIES_KILLED_TASKS = AIRFLOW_V_3_1_PLUS

DAG_SOURCE = f'''
import os
import signal
from datetime import datetime, timedelta
from airflow.sdk import DAG, Asset, task
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator


class KilledAfterSubmit(SeedanceGenerateVideoOperator):
    """The first try's process is killed right after the paid submit and its claim, like a lost worker."""

    def _resume_or_submit(self, context, *args):
        resumed = super()._resume_or_submit(context, *args)
        if context["ti"].try_number == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return resumed

GATEWAYS = {GATEWAYS!r}
# The follow-up example (seedance_on_new_videos) is scheduled on this asset: the prefix, as a collection.
VIDEOS = Asset("{VIDEOS_URI}")
ITEMS = [
    {{
        "seedance_conn_id": f"sim_{{name}}",
        "model": GATEWAYS[name],
        "prompt": f"real airflow clip {{index}} on {{name}}",
        "first_frame": "{FIRST_FRAME}",
        "output_path": f"s3://{BUCKET}/real/{{index:02d}}-{{name}}.mp4",
    }}
    for index, name in enumerate(list(GATEWAYS) * {GENERATIONS // len(GATEWAYS)})
]

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceGenerateVideoOperator.partial(
        task_id="generate",
        duration=4,
        resolution="480p",
        output_conn_id="{AWS_CONN_ID}",
        poll_interval={POLL_SECONDS},
        deferrable=True,
        outlets=[VIDEOS],
    ).expand_kwargs(ITEMS)
    KilledAfterSubmit(
        task_id="killed_after_submit",
        seedance_conn_id="sim_ark",
        model=GATEWAYS["ark"],
        prompt="the try that dies",
        first_frame="{FIRST_FRAME}",
        duration=4,
        resolution="480p",
        output_path="s3://{BUCKET}/real/killed.mp4",
        output_conn_id="{AWS_CONN_ID}",
        poll_interval={POLL_SECONDS},
        deferrable=True,
        retries=1,
        retry_delay=timedelta(seconds=1),
        outlets=[VIDEOS],
    )


@task(outlets=[VIDEOS])
def nothing_new():
    """An event on the videos asset that lists no video, as the next producer's run would bring."""


with DAG(dag_id="{NEXT_PRODUCER}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    nothing_new()
'''


KILLED_DAG = "seedance_killed_mid_submit"
KILLED_SOURCE = """
import os
import signal
import threading
import time
from datetime import datetime, timedelta

import httpx
from airflow.sdk import DAG
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator


class KilledMidSubmit(SeedanceGenerateVideoOperator):
    # Try 1's worker is killed (SIGKILL) while its submit is in flight: the gateway has created (and would
    # bill) the task and holds the answer, as when an OOM kill or a node eviction lands mid-request.

    def _resume_or_submit(self, context, *args):
        if context["ti"].try_number == 1:
            threading.Thread(target=self._kill_once_created, daemon=True).start()
        return super()._resume_or_submit(context, *args)

    def _kill_once_created(self):
        gateway = self.hook.gateway.name
        while httpx.get(STATS).json()["gateways"].get(gateway, {}).get("submissions", 0) < 1:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGKILL)


with DAG(dag_id=DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for gateway, model in MODELS.items():
        KilledMidSubmit(
            task_id=gateway,
            seedance_conn_id=f"hold_{gateway}",
            model=model,
            prompt=f"killed mid-submit on {gateway}",
            output_path=f"s3://{BUCKET}/killed-mid-submit/{gateway}.mp4",
            output_conn_id=AWS_CONN_ID,
            poll_interval=1,
            deferrable=False,  # the main DAG proves deferral; a task process fewer per run here
            retries=1,
            retry_delay=timedelta(seconds=1),
        )
"""
# Two DAGs producing one output, triggered together (a manual run beside the scheduled one).
RACING_DAGS = ("seedance_raced_a", "seedance_raced_b")
RACED_OUTPUT = f"s3://{BUCKET}/raced/one.mp4"
RACING_SOURCE = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

with DAG(dag_id=DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    SeedanceGenerateVideoOperator(
        task_id="generate",
        seedance_conn_id="race_ark",
        model="dreamina-seedance-2-0-260128",
        prompt="one video, two producers",
        output_path=OUTPUT,
        output_conn_id=AWS_CONN_ID,
        poll_interval=1,
        deferrable=False,
    )
"""

# Failover (issue 25), on a simulator of its own. DOWN_DAG: its primary (infinityblue) answers every submit
# with its own 503 for the whole run; the chain's second (apimart) serves. DROPS_DAG: its primary (Ark) creates
# each task, then drops the answer: Ark's task list finds them, and nothing fails over to imini.
DOWN_DAG = "seedance_failover_down"
DROPS_DAG = "seedance_failover_drops"
DOWN_ITEMS = 20
DROPS_ITEMS = 4
DOWN_TRIES = 2  # each primary submit is tried twice (extra.retry) before the task fails over
BREAKER_FAILURES = 3
# Tasks of DOWN_DAG running at once: those that read the breaker before its third refusal also try the primary.
DOWN_CONCURRENCY = 3
FAILOVER_TEST_MARK = "fails_over"  # in the name of each test of these two DAGs
FAILOVER_SOURCE = """
import json
from datetime import UTC, datetime

from airflow.sdk import DAG, ObjectStoragePath, task
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.outputs.report import render_report
from airflow_provider_seedance.outputs.store import write_text


@task
def report(results):
    manifests = [
        json.loads(ObjectStoragePath(result["manifest_path"], conn_id=AWS_CONN_ID).read_text()) for result in results
    ]
    page = render_report(manifests, [], title=DAG_ID, run_id=DAG_ID, generated_at=datetime.now(UTC), report_uri=REPORT)
    write_text(ObjectStoragePath(REPORT, conn_id=AWS_CONN_ID), page)


with DAG(dag_id=DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    made = SeedanceGenerateVideoOperator.partial(
        task_id="generate",
        seedance_conn_id=CONN_ID,
        model=MODEL,
        duration=5,
        output_conn_id=AWS_CONN_ID,
        poll_interval=1,
        deferrable=False,  # the main DAG proves deferral; one task process per generation here
        max_active_tis_per_dag=CONCURRENCY,
    ).expand_kwargs(
        [{"prompt": f"{DAG_ID} {i}", "output_path": f"s3://{BUCKET}/{DAG_ID}/{i:02d}.mp4"} for i in range(ITEMS)]
    )
    report(made.output)
"""


def _failover_selected(request: pytest.FixtureRequest) -> bool:
    """Whether this session runs the failover tests (``make test`` does; .ci/matrix leaves them out):
    their 26 task processes are started only then."""
    return any(FAILOVER_TEST_MARK in item.name for item in request.session.items)


def _failover_connections(simulator: RunningSimulator) -> dict[str, str]:
    def connection(gateway: str, **extra: object) -> str:
        return seedance_connection(simulator.gateway_url(gateway), gateway, SIM_KEY, **extra)

    quick = {"max_attempts": DOWN_TRIES, "base_delay": 0.2, "max_delay": 0.5}
    breaker = {"failures": BREAKER_FAILURES, "window_seconds": 900, "cooldown_seconds": 900}
    chain = {
        "down_primary": connection("infinityblue", retry=quick, breaker=breaker, failover=["down_second"]),
        "down_second": connection("apimart"),
        "drop_primary": connection("ark", retry=quick, failover=["drop_second"]),
        "drop_second": connection("imini"),
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in chain.items()}


def _constants(**values: object) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in values.items())


@dataclass
class Deployment:
    airflow: LocalAirflow
    hold: RunningSimulator  # the killed-mid-submit DAG's gateways: every first submit is held
    race: RunningSimulator  # the racing DAGs' gateway: the first submit is slow, so the other run finds it reserved
    review: RunningSimulator  # the review example's gateway (seedance_default): its submissions are its own
    failover: RunningSimulator  # the failover DAGs' gateways: infinityblue down, ark dropping answers
    reviewer: Reviewer | None = None  # answers the review example's questions (Airflow 3.1+), from side_runs


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory, simulator, moto_server) -> Iterator[Deployment]:
    from tests.support.media import png

    tmp_path = tmp_path_factory.mktemp("real-airflow")
    s3_client(moto_server).put_object(Bucket=BUCKET, Key=FIRST_FRAME.split("/", 3)[3], Body=png())
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_SOURCE)
    shutil.copy(EXAMPLES / f"{FOLLOW_UP}.py", dags)
    shutil.copy(EXAMPLES / f"{REVIEW_DAG}.py", dags)  # on Airflow 3.0: an import error that says what to do
    connections = simulator_connections(simulator)
    ark = json.loads(connections["AIRFLOW_CONN_SIM_ARK"])
    connections["AIRFLOW_CONN_SIM_ARK"] = json.dumps({**ark, "extra": {**ark["extra"], "console_url": CONSOLE}})
    settings = {"SEEDANCE_OUTPUT_BASE": VIDEOS_URI, "SEEDANCE_OUTPUT_CONN": AWS_CONN_ID}
    with (
        start_simulator(simulator_config()) as hold,
        start_simulator(simulator_config()) as race,
        start_simulator(simulator_config()) as review,
        start_simulator(simulator_config()) as failover,
    ):
        held = [ScriptedFault(kind="hold_after", gateway=gateway, op="submit") for gateway in MODELS]
        hold.simulator.faults.replace(FaultPlan(script=held, slow_seconds=20))  # outlasts the kill
        # The first submit is held long enough for the other run's task to start while it is in flight: 8 s once
        # fell short (CI, 48584cf), when the failover DAGs' 26 task processes started beside the racing ones.
        race.simulator.faults.replace(
            FaultPlan(script=[ScriptedFault(kind="slow", gateway="ark", op="submit")], slow_seconds=30)
        )
        common = {"BUCKET": BUCKET, "AWS_CONN_ID": AWS_CONN_ID}
        failover.simulator.faults.replace(
            FaultPlan(
                outages=[Outage(gateway="infinityblue", mode="unavailable")],
                script=[ScriptedFault(kind="drop_after", gateway="ark", op="submit", count=DROPS_ITEMS)],
            )
        )
        down = {"CONN_ID": "down_primary", "MODEL": "doubao-seedance-2-0-260128", "ITEMS": DOWN_ITEMS}
        drops = {"CONN_ID": "drop_primary", "MODEL": "dreamina-seedance-2-0-260128", "ITEMS": DROPS_ITEMS}
        for dag_id, values in ((DOWN_DAG, down), (DROPS_DAG, drops)) if _failover_selected(request) else ():
            report = f"s3://{BUCKET}/{dag_id}/report.html"
            constants = _constants(DAG_ID=dag_id, REPORT=report, CONCURRENCY=DOWN_CONCURRENCY, **values, **common)
            (dags / f"{dag_id}.py").write_text(constants + FAILOVER_SOURCE)
        connections.update(_failover_connections(failover))
        stats = f"{hold.base_url}/_simulator/stats"
        (dags / f"{KILLED_DAG}.py").write_text(
            _constants(DAG_ID=KILLED_DAG, MODELS=MODELS, STATS=stats, **common) + KILLED_SOURCE
        )
        for dag_id in RACING_DAGS:
            (dags / f"{dag_id}.py").write_text(_constants(DAG_ID=dag_id, OUTPUT=RACED_OUTPUT, **common) + RACING_SOURCE)
        connections.update(simulated_gateway_connections(hold.gateway_urls, SIM_KEY, prefix="HOLD"))
        connections.update(simulated_gateway_connections(race.gateway_urls, SIM_KEY, prefix="RACE"))
        reviewed = simulated_gateway_connections(review.gateway_urls, SIM_KEY, prefix="REVIEW")
        connections["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = reviewed["AIRFLOW_CONN_REVIEW_ARK"]
        with LocalAirflow(tmp_path / "airflow", dags, {**connections, **settings}) as airflow:
            yield Deployment(airflow, hold, race, review, failover)


@pytest.fixture(scope="module")
def side_runs(request, deployment, tmp_path_factory) -> Iterator[Deployment]:
    """The killed-mid-submit, racing and (Airflow 3.1+) review DAGs, started once, while the main DAG's test
    runs beside them; a reviewer answers the review's questions meanwhile."""
    started = (KILLED_DAG, *RACING_DAGS, *((DOWN_DAG, DROPS_DAG) if _failover_selected(request) else ()))
    beside = (*started, *((REVIEW_DAG, PUBLISHED_DAG) if AIRFLOW_V_3_1_PLUS else ()))
    for dag_id in beside:
        deployment.airflow.wait_for_dag(dag_id)
    for dag_id in started:
        deployment.airflow.trigger(dag_id)
    if AIRFLOW_V_3_1_PLUS:
        deployment.airflow.unpause(PUBLISHED_DAG)
        deployment.airflow.trigger(REVIEW_DAG)
        deployment.reviewer = Reviewer(deployment.airflow, tmp_path_factory.mktemp("review"))
        deployment.reviewer.start()
    yield deployment
    if deployment.reviewer is not None:
        deployment.reviewer.stop.set()


def _state_of(deployment: LocalAirflow, task_id: str) -> tuple[str, int] | None:
    with deployment.database() as db:
        row = db.execute(
            "SELECT state, try_number FROM task_instance WHERE dag_id = ? AND task_id = ?", (DAG_ID, task_id)
        ).fetchone()
    return tuple(row) if row else None


def _follow_up_verified(deployment: LocalAirflow, timeout: float = 180) -> set[str]:
    """The videos the follow-up DAG verified from the events of its asset-triggered runs.

    Up to Airflow 3.3 (apache/airflow#56749; the scheduler consumes events by a time window cut at its
    queue row's creation, and the row for an asset is one per DAG), an event that lands while the
    scheduler is creating a run for an earlier one is consumed by neither run; it waits, unconsumed, for
    the asset's next event. Our five tasks finish within seconds of each other, so that can happen
    to the last one, and its video would then be verified with the next night's videos. The test waits
    until Airflow is idle, and if events are left over, it brings that next event (a producer run with
    no video) and checks they are consumed with it: every video is verified, none twice.
    """
    events = _events_by_consumer(deployment)
    assert sum(len(videos) for videos in events.values()) == GENERATIONS + 1, events
    if None in events:
        print(f"Airflow left the events of {events[None]} unconsumed until the asset's next event")
        deployment.trigger(NEXT_PRODUCER)
        assert deployment.wait_for_run(NEXT_PRODUCER) == "success"
        assert None not in _events_by_consumer(deployment, timeout)
    runs = deployment.query("SELECT state FROM dag_run WHERE dag_id = :dag_id", dag_id=FOLLOW_UP)
    assert {state for (state,) in runs} == {"success"}, deployment.component_log("scheduler")[-3000:]
    rows = deployment.query("SELECT value FROM xcom WHERE dag_id = :dag_id AND key = 'return_value'", dag_id=FOLLOW_UP)
    verified = [entry["video"] for (value,) in rows for entry in json.loads(value)]
    assert len(verified) == len(set(verified)), verified
    return set(verified)


def _events_by_consumer(deployment: LocalAirflow, timeout: float = 180) -> dict[str | None, list[str]]:
    """Once no follow-up run is queued or running: the videos of each event on the asset, by consuming run."""

    def idle() -> bool:
        queued = deployment.query("SELECT 1 FROM asset_dag_run_queue WHERE target_dag_id = :dag_id", dag_id=FOLLOW_UP)
        runs = deployment.query("SELECT state FROM dag_run WHERE dag_id = :dag_id", dag_id=FOLLOW_UP)
        return not queued and bool(runs) and all(state in ("success", "failed") for (state,) in runs)

    deployment.processes.wait_for(idle, f"{FOLLOW_UP} still had runs to make after {timeout:.0f} s", timeout)
    rows = deployment.query(
        "SELECT e.extra, r.run_id FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "LEFT JOIN dagrun_asset_event c ON c.event_id = e.id LEFT JOIN dag_run r ON r.id = c.dag_run_id "
        "WHERE a.uri = :uri ORDER BY e.timestamp",
        uri=VIDEOS_URI,
    )
    by_run: dict[str | None, list[str]] = {}
    for extra, run_id in rows:
        videos = json.loads(extra or "{}").get("videos", [])
        by_run.setdefault(run_id, []).extend(video["uri"] for video in videos)
    return by_run


@pytest.mark.early
def test_mapped_deferrable_generations_in_a_real_deployment(side_runs, simulator, moto_server, monkeypatch):
    # Every task stays queued/running for a few real seconds, so the trigger table can be inspected.
    monkeypatch.setattr(simulator.simulator.config, "queue_seconds", 2000)
    monkeypatch.setattr(simulator.simulator.config, "run_seconds", 4000)
    deployment = side_runs.airflow
    started = time.monotonic()
    deployment.wait_for_dag(DAG_ID)
    deployment.wait_for_dag(FOLLOW_UP)
    deployment.wait_for_dag(NEXT_PRODUCER)
    deployment.unpause(FOLLOW_UP)
    deployment.trigger(DAG_ID)
    trigger_kwargs: list[str] = []
    while_deferred: dict[tuple[str, int], dict[str, str]] = {}

    def watch(db) -> None:
        trigger_kwargs.extend(row[0] for row in db.execute("SELECT kwargs FROM trigger"))
        # What a deferred task instance shows while its generation waits in the triggerer.
        rows = db.execute(
            "SELECT x.task_id, x.map_index, x.key, x.value FROM xcom x JOIN task_instance ti ON x.dag_id = ti.dag_id "
            "AND x.run_id = ti.run_id AND x.task_id = ti.task_id AND x.map_index = ti.map_index "
            "WHERE ti.state = 'deferred' AND x.key IN ('seedance_task', '_link_SeedanceTaskLink') AND x.dag_id = ?",
            (DAG_ID,),
        )
        for task_id, map_index, key, value in rows:
            while_deferred.setdefault((task_id, map_index), {})[key] = json.loads(value)

    state = deployment.wait_for_run(DAG_ID, on_poll=watch)
    if not RETRIES_KILLED_TASKS and _state_of(deployment, "killed_after_submit") == ("failed", 1):
        # Airflow 3.0 fails a killed task process without retrying it: an operator clears it, and the
        # cleared task must resume the claimed generation, not pay again.
        deployment.clear(DAG_ID, ["killed_after_submit"])
        state = deployment.wait_for_run(DAG_ID, on_poll=watch)
    with deployment.database() as db:
        task_states = db.execute(
            "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ?", (DAG_ID,)
        ).fetchall()
        xcoms = [str(row[0]) for row in db.execute("SELECT value FROM xcom WHERE dag_id = ?", (DAG_ID,))]
        links = [
            json.loads(row[0])
            for row in db.execute(
                "SELECT value FROM xcom WHERE key = '_link_SeedanceVideoLink' AND dag_id = ?", (DAG_ID,)
            )
        ]
    print(f"real Airflow run took {time.monotonic() - started:.1f} s from waiting for the DAG to the end")
    assert state == "success", (task_states, _failed_task_logs(deployment, DAG_ID)[-6000:])
    assert len(task_states) == GENERATIONS + 1
    assert ("killed_after_submit", -1, "success", 2) in task_states  # try 1 was killed, try 2 resumed
    assert trigger_kwargs, "no trigger row was ever seen: the tasks did not defer"

    # Every object landed, and each gateway saw exactly one submission per generation.
    client = s3_client(moto_server)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="real/")["Contents"]
    keys = {item["Key"] for item in listed if not item["Key"].startswith(REVIEW_PREFIXES)}  # the review test's
    videos = {key for key in keys if key.endswith(".mp4")}
    assert len(videos) == GENERATIONS + 1
    assert not {key for key in keys if key.endswith(".claim.json")}  # every claim replaced by its manifest
    assert {f"{key}.json" for key in videos} <= keys
    submissions = simulator.simulator.stats.snapshot()["tasks"]
    per_task = [task for task in submissions.values() if task.get("submissions")]
    assert len(per_task) == GENERATIONS + 1
    assert all(task["submissions"] == 1 for task in per_task)

    # Every manifest names the first frame by its source and sha256, delivered as a presigned URL.
    image = client.get_object(Bucket=BUCKET, Key=FIRST_FRAME.split("/", 3)[3])["Body"].read()
    for key in videos:
        (record,) = json.loads(client.get_object(Bucket=BUCKET, Key=f"{key}.json")["Body"].read())["inputs"]
        assert (record["source"], record["delivered_as"]) == (FIRST_FRAME, "presigned_url")
        assert record["sha256"] == hashlib.sha256(image).hexdigest()

    # The key and the signatures are nowhere: trigger kwargs, XComs, manifests, task and trigger logs.
    assert all(SIM_KEY not in kwargs and SIGNATURE not in kwargs for kwargs in trigger_kwargs)
    stored = json.loads(trigger_kwargs[0])
    stored = stored["__var"] if "__type" in stored else stored  # 3.1 and 3.2 store Airflow's serialized form
    assert stored.keys() >= {"remote_task_id", "seedance_conn_id", "deadline"}
    assert xcoms
    assert all(SIM_KEY not in value and SIGNATURE not in value for value in xcoms)
    # While waiting: the remote task in XCom, and the task link to the connection's console page for it
    # (sim_ark's extra.console_url); the other simulated gateways have no known console, so no link.
    seen = [shown for shown in while_deferred.values() if "seedance_task" in shown]
    assert seen, "no deferred task instance was seen with its seedance_task XCom"
    for shown in seen:
        task = shown["seedance_task"]
        assert task["gateway"] in GATEWAYS
        assert task["output_path"].startswith(f"s3://{BUCKET}/real/")
        expected = CONSOLE.format(task_id=task["remote_task_id"]) if task["gateway"] == "ark" else None
        assert task["console_url"] == expected
        assert shown.get("_link_SeedanceTaskLink", "") == (expected or "")
    assert any(shown.get("_link_SeedanceTaskLink") for shown in seen), "no ark task link seen during a wait"
    # The stored video's link: none, since moto's endpoint is not AWS (the AWS console would be a wrong place).
    assert links == [""] * (GENERATIONS + 1)

    # The follow-up example ran on the declared asset and verified every new video from its event's extra.
    verified = _follow_up_verified(deployment)
    assert verified == {f"s3://{BUCKET}/{key}" for key in videos}
    for key in keys:
        text = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("latin-1")
        assert SIM_KEY not in text, key
        assert SIGNATURE not in text, key
    log_files = list((deployment.home / "logs").rglob("*.log*"))
    assert any(".trigger." in path.name for path in log_files), "no triggerer log was written"
    for path in log_files:
        text = path.read_text(errors="replace")
        assert SIM_KEY not in text, path
        assert SIGNATURE not in text, path


def _task_states(airflow: LocalAirflow, dag_id: str) -> dict[str, tuple[str, int]]:
    rows = airflow.query("SELECT task_id, state, try_number FROM task_instance WHERE dag_id = :dag_id", dag_id=dag_id)
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


def _task_logs(airflow: LocalAirflow, dag_id: str) -> str:
    return "\n".join(
        path.read_text(errors="replace") for path in (airflow.home / "logs").rglob("*.log*") if dag_id in str(path)
    )


def _failed_task_logs(airflow: LocalAirflow, dag_id: str) -> str:
    """The logs of the task instances that failed, to say why in an assertion; the scheduler's when none."""
    failed = airflow.query(
        "SELECT task_id, map_index FROM task_instance WHERE dag_id = :dag_id AND state = 'failed'", dag_id=dag_id
    )
    folders = [f"task_id={task_id}/" + (f"map_index={index}/" if index >= 0 else "") for task_id, index in failed]
    logs = [
        f"--- {path}\n{path.read_text(errors='replace')}"
        for path in sorted((airflow.home / "logs").rglob("*.log*"))
        if dag_id in str(path) and any(folder in str(path) for folder in folders)
    ]
    return "\n".join(logs) or airflow.component_log("scheduler")


def test_a_first_try_killed_mid_submit_never_pays_twice_on_any_gateway(side_runs, moto_server):
    airflow = side_runs.airflow
    state = airflow.wait_for_run(KILLED_DAG)
    if not RETRIES_KILLED_TASKS:
        # Airflow 3.0 fails a killed task process without retrying it: an operator clears the killed tasks.
        airflow.clear(KILLED_DAG, [name for name, (state, _) in _task_states(airflow, KILLED_DAG).items()])
        state = airflow.wait_for_run(KILLED_DAG)
    states = _task_states(airflow, KILLED_DAG)
    assert state == "failed", states
    # Ark's task list finds the task the killed try created: resumed and stored. Nothing else can find
    # one, so each of the others fails on its second try saying what to look for, without submitting.
    assert states == {gateway: ("success" if gateway == "ark" else "failed", 2) for gateway in MODELS}
    gateways = side_runs.hold.simulator.stats.snapshot()["gateways"]
    assert {gateway: gateways[gateway].get("submissions") for gateway in MODELS} == dict.fromkeys(MODELS, 1)
    client = s3_client(moto_server)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="killed-mid-submit/")["Contents"]
    keys = {item["Key"].split("/", 1)[1] for item in listed}
    assert {"ark.mp4", "ark.mp4.json"} <= keys
    assert "ark.mp4.claim.json" not in keys
    for gateway in MODELS.keys() - {"ark"}:
        claim = json.loads(
            client.get_object(Bucket=BUCKET, Key=f"killed-mid-submit/{gateway}.mp4.claim.json")["Body"].read()
        )
        assert claim["remote_task_id"] is None  # the reservation, left for a person
        assert claim["airflow"]["try_number"] == 1
        failure = json.loads(
            client.get_object(Bucket=BUCKET, Key=f"killed-mid-submit/{gateway}.mp4.failure.json")["Body"].read()
        )
        assert failure["cause"] == "outcome_unknown"
        assert claim["request_sha256"] in failure["message"]
    logs = _task_logs(airflow, KILLED_DAG)
    assert "shows the task it created" in logs
    assert "outcome unknown" in logs
    assert SIM_KEY not in logs


def test_two_runs_racing_for_one_output_create_one_remote_task(side_runs, moto_server):
    airflow = side_runs.airflow
    assert [airflow.wait_for_run(dag_id) for dag_id in RACING_DAGS] == ["success", "success"]
    assert side_runs.race.simulator.stats.snapshot()["gateways"]["ark"]["submissions"] == 1
    manifest = json.loads(s3_client(moto_server).get_object(Bucket=BUCKET, Key="raced/one.mp4.json")["Body"].read())
    assert manifest["gateway"] == "ark"
    # The run that lost the race found the winner's reservation and waited for its task id.
    logs = "\n".join(_task_logs(airflow, dag_id) for dag_id in RACING_DAGS)
    assert "instead of submitting the same generation again" in logs


def _manifests(moto_server: str, dag_id: str, items: int) -> list[dict]:
    return [json.loads(_object(moto_server, f"{dag_id}/{i:02d}.mp4.json")) for i in range(items)]


def test_a_primary_down_all_night_fails_over_paying_once_and_its_breaker_opens(side_runs, moto_server):
    airflow = side_runs.airflow
    assert airflow.wait_for_run(DOWN_DAG, timeout=600) == "success", _failed_task_logs(airflow, DOWN_DAG)
    gateways = side_runs.failover.simulator.stats.snapshot()["gateways"]
    # Every video from the second gateway, each paid exactly once; the primary created nothing.
    assert gateways["apimart"]["submissions"] == DOWN_ITEMS
    assert gateways["infinityblue"].get("submissions", 0) == 0
    manifests = _manifests(moto_server, DOWN_DAG, DOWN_ITEMS)
    assert {(m["gateway"], m["seedance_conn_id"], m["model"]) for m in manifests} == {
        ("apimart", "down_second", "doubao-seedance-2.0")
    }
    causes = [[(hop["seedance_conn_id"], hop["cause"]) for hop in m["failover"]] for m in manifests]
    asked = sum(cause == [("down_primary", "unavailable")] for cause in causes)
    skipped = sum(cause == [("down_primary", "breaker_open")] for cause in causes)
    # The breaker opened at the third refusal: only the tasks that had read it before then asked the primary
    # (at most the tasks running at once beside the third), and every later one went straight to the second.
    assert asked + skipped == DOWN_ITEMS
    assert BREAKER_FAILURES <= asked <= BREAKER_FAILURES + DOWN_CONCURRENCY - 1, causes
    assert gateways["infinityblue"]["submit_requests"] == asked * DOWN_TRIES
    page = _object(moto_server, f"{DOWN_DAG}/report.html").decode()
    assert page.count("apimart (down_second)") == DOWN_ITEMS
    assert page.count("down_primary (unavailable)") == asked
    assert page.count("down_primary (breaker_open)") == skipped
    logs = _task_logs(airflow, DOWN_DAG)
    assert "Circuit breaker of down_primary (infinityblue) opened: 3 refused submits" in logs
    assert "Failing over from down_primary to down_second (apimart, model doubao-seedance-2.0)" in logs
    assert SIM_KEY not in logs


def test_a_primary_dropping_answers_after_creating_tasks_never_fails_over(side_runs, moto_server):
    airflow = side_runs.airflow
    assert airflow.wait_for_run(DROPS_DAG, timeout=600) == "success", _failed_task_logs(airflow, DROPS_DAG)
    gateways = side_runs.failover.simulator.stats.snapshot()["gateways"]
    assert gateways["ark"]["submissions"] == DROPS_ITEMS  # each created once, found in Ark's task list
    assert gateways.get("imini", {}).get("submissions", 0) == 0  # nothing failed over
    manifests = _manifests(moto_server, DROPS_DAG, DROPS_ITEMS)
    assert {(m["seedance_conn_id"], len(m["failover"])) for m in manifests} == {("drop_primary", 0)}
    assert _task_logs(airflow, DROPS_DAG).count("task list shows the task it created") == DROPS_ITEMS


# The reviewer's answers, by video and take: what a person would click in Required Actions.
REVIEW_ANSWERS = {
    ("lamp-01.mp4", 1): ("Approve", ""),
    ("kettle-02.mp4", 1): ("Reject", "the kettle reads brown, not black"),
    ("chair-03.mp4", 1): ("Another take", "warmer light, the chair fully in frame"),
    ("chair-03.take-2.mp4", 2): ("Approve", ""),
}
WAITING = "awaiting_input" if AIRFLOW_V_3_3_PLUS else "deferred"
MAX_REVIEWER_FAILURES = 30  # 2 s apart  # 3.3 parks a question without a trigger


@pytest.mark.skipif(AIRFLOW_V_3_1_PLUS, reason="Airflow 3.1 and later have human-in-the-loop tasks")
def test_on_airflow_3_0_the_review_example_is_an_import_error_naming_the_version(deployment):
    deployment.airflow.processes.wait_for(
        lambda: deployment.airflow.query("SELECT stacktrace FROM import_error"), "no import error recorded", 180
    )
    ((stacktrace,),) = deployment.airflow.query("SELECT stacktrace FROM import_error")
    assert "The Seedance review step needs Airflow 3.1 or later" in stacktrace


class Reviewer(threading.Thread):
    """A person at Required Actions, over the REST API: answers each question of the review example as
    ``REVIEW_ANSWERS`` says, beside the module's other DAG runs; takes a browser's look at the second take."""

    def __init__(self, airflow: LocalAirflow, folder: Path) -> None:
        super().__init__(daemon=True)
        self.airflow = airflow
        self.folder = folder
        self.stop = threading.Event()
        self.waiting: dict[tuple[str, int], str] = {}  # the state of each question's task while it waits
        self.running_while_waiting: list[tuple] = []
        self.answered: list[tuple[str, str]] = []
        self.bodies: dict[str, str] = {}
        self.screens: list[str] = []  # what Required Actions showed of the second take, in a real browser
        self.refused: list[str] = []  # answers or looks that failed, and were tried again
        self.errors: list[str] = []

    def run(self) -> None:
        failures = 0
        while not self.stop.wait(2):
            try:
                self._answer_what_waits()
                failures = 0
            except Exception as exc:
                # A busy deployment's SQLite can keep an answer waiting (seen: 31 s, then not recorded): the
                # question is still pending at the next look, and is answered again, as a person would.
                failures += 1
                self.refused.append(repr(exc))
                if failures >= MAX_REVIEWER_FAILURES:
                    self.errors.append(f"gave up after {failures} failures in a row: {self.refused[-3:]}")
                    return

    def _answer_what_waits(self) -> None:
        airflow = self.airflow
        pending = airflow.api("GET", f"dags/{REVIEW_DAG}/dagRuns/~/hitlDetails?response_received=false", {})
        # A person takes longer than Airflow 3.3's own race (docs/limitations.md): an answer within seconds of
        # the question can find its task still "queued" by the scheduler, which then fails it.
        now = datetime.now(UTC)
        details = [
            detail
            for detail in pending["hitl_details"]
            if now - datetime.fromisoformat(detail["created_at"]) > timedelta(seconds=POLL_SECONDS)
        ]
        if len(details) < (1 if self.answered else 3):
            return  # round 1: answer once all three wait, so their states can be shown together
        for detail in details:
            ti = detail["task_instance"]
            ((state,),) = airflow.query(
                "SELECT state FROM task_instance WHERE dag_id = :dag AND task_id = :task AND map_index = :index",
                dag=REVIEW_DAG,
                task=ti["task_id"],
                index=ti["map_index"],
            )
            self.waiting[(ti["task_id"], ti["map_index"])] = state
        if not self.answered:  # all three first questions wait: no task of the run holds a worker slot
            running = "SELECT task_id, map_index FROM task_instance WHERE dag_id = :dag AND state = 'running'"
            self.running_while_waiting.extend(airflow.query(running, dag=REVIEW_DAG))
        for detail in details:
            ti = detail["task_instance"]
            name = detail["subject"].split()[1]
            path = f"dags/{REVIEW_DAG}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/{ti['map_index']}"
            if name == "chair-03.take-2.mp4" and AIRFLOW_V_3_3_PLUS and chromium():  # the docs' picture: 3.3's UI
                page = f"{airflow.base_url}/dags/{REVIEW_DAG}/runs/{ti['dag_run_id']}/tasks/{ti['task_id']}"
                look = _required_action(f"{page}/mapped/2/required_actions", self.folder / SCREENSHOT.name)
                self.screens.append(asyncio.run(look))
            chosen, note = REVIEW_ANSWERS[(name, int(ti["task_id"].rsplit("_", 1)[1]))]
            self.bodies[name] = detail["body"]
            airflow.api("PATCH", f"{path}/hitlDetails", {"chosen_options": [chosen], "params_input": {"note": note}})
            self.answered.append((name, chosen))


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="human-in-the-loop tasks are Airflow 3.1's")
def test_review_and_publish_in_a_real_deployment(side_runs, moto_server):
    airflow, reviewer = side_runs.airflow, side_runs.reviewer
    assert reviewer is not None
    state = airflow.wait_for_run(REVIEW_DAG, timeout=600)
    reviewer.stop.set()
    reviewer.join(60)
    states = _task_states_by_index(airflow, REVIEW_DAG)
    assert state == "success", (states, reviewer.errors, _failed_task_logs(airflow, REVIEW_DAG)[-6000:])
    assert reviewer.errors == []
    print(f"while the reviews waited: {reviewer.waiting}; running then: {reviewer.running_while_waiting}")
    print(f"answers tried again: {reviewer.refused}")
    assert reviewer.waiting == {("review.ask_1", i): WAITING for i in range(3)} | {("review.ask_2", 2): WAITING}
    assert reviewer.running_while_waiting == []
    # What Airflow recorded of each question (an answer whose reply was lost counts if Airflow has it).
    recorded = airflow.query(
        "SELECT h.subject, h.chosen_options FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id "
        "WHERE t.dag_id = :dag",
        dag=REVIEW_DAG,
    )
    answered = sorted((subject.split()[1], json.loads(chosen)[0]) for subject, chosen in recorded)
    assert answered == sorted((name, chosen) for (name, _), (chosen, _) in REVIEW_ANSWERS.items())
    assert states[("review.publish", 1)] == "skipped"  # the rejected kettle

    # Exactly four paid generations (three first takes, the chair's second), on the review's own gateway.
    tasks = side_runs.review.simulator.stats.snapshot()["tasks"].values()
    assert sum(task.get("submissions", 0) for task in tasks) == 4
    client = s3_client(moto_server)
    published = sorted(
        item["Key"] for item in client.list_objects_v2(Bucket=BUCKET, Prefix="real/published/")["Contents"]
    )
    assert [key for key in published if key.endswith(".mp4")] == [
        "real/published/chair-03.mp4",
        "real/published/lamp-01.mp4",
    ]
    for key in ("real/published/chair-03.mp4", "real/published/lamp-01.mp4"):
        manifest = json.loads(client.get_object(Bucket=BUCKET, Key=key + ".json")["Body"].read())
        assert manifest["review"]["answer"] == "approve"
        assert manifest["review"]["by"]["name"]  # the API's user: who answered
    assert "[Play the video](" in reviewer.bodies["chair-03.take-2.mp4"]
    if reviewer.screens:  # Chromium is on CI's machine (.ci/run installs it)
        (shown,) = reviewer.screens
        assert "Play the video" in shown, shown[:3000]
        assert "Review chair-03.take-2.mp4 (take 2 of at most 2)" in shown
        if os.environ.get("SEEDANCE_DOCS_SCREENSHOTS"):  # refresh the docs' picture from this run
            shutil.copy(reviewer.folder / SCREENSHOT.name, SCREENSHOT)

    # The downstream DAG started on the two approved videos only, and checked each one.
    def downstream_done() -> list[str] | None:
        runs = airflow.query("SELECT state FROM dag_run WHERE dag_id = :dag_id", dag_id=PUBLISHED_DAG)
        queued = airflow.query("SELECT 1 FROM asset_dag_run_queue WHERE target_dag_id = :d", d=PUBLISHED_DAG)
        if queued or not runs or any(state not in ("success", "failed") for (state,) in runs):
            return None
        rows = airflow.query(
            "SELECT value FROM xcom WHERE dag_id = :dag_id AND key = 'return_value'", dag_id=PUBLISHED_DAG
        )
        return sorted(entry["video"] for (value,) in rows for entry in json.loads(value))

    checked = airflow.processes.wait_for(downstream_done, f"{PUBLISHED_DAG} did not finish", 240)
    assert checked == [f"s3://{BUCKET}/real/published/chair-03.mp4", f"s3://{BUCKET}/real/published/lamp-01.mp4"]


def _task_states_by_index(airflow: LocalAirflow, dag_id: str) -> dict[tuple[str, int], str]:
    rows = airflow.query("SELECT task_id, map_index, state FROM task_instance WHERE dag_id = :dag_id", dag_id=dag_id)
    return {(task_id, map_index): state for task_id, map_index, state in rows}


SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "_static" / "review-required-actions.png"


async def _required_action(url: str, picture: Path) -> str:
    """The text of a task's Required Action page once the question is on it; its screenshot goes to ``picture``."""
    async with Browser(chromium() or "chromium") as browser:
        await browser.open(url)
        shown = await browser.evaluate(
            "new Promise(done => { const started = Date.now(); const look = () => "
            "(document.body.innerText.includes('Play the video') || Date.now() - started > 30000) "
            "? done(document.body.innerText) : setTimeout(look, 250); look(); })"
        )
        await browser.screenshot(picture)
    return str(shown)
