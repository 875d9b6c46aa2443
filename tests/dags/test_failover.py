"""Failover between gateways in real Airflow (``dag.test()``), over real HTTP to two simulators of its own.

One DAG run holds every case, one task each (the breaker case: four mapped tasks, which ``dag.test()`` runs one
after the other, so the breaker's count is exact). ``down`` takes gateways down for the whole run: ark refuses
connections on its own address, infinityblue answers every submit with its own 503, aiproxy with "out of
credit". ``lost`` holds the cases that must not fail over: ark and aiproxy drop the answer of a submit they
created, and a Seedance 2.5 request whose fallback sells no 2.5. Its infinityblue is down too, for the breaker.
Each primary tries once (``extra.retry``), so the counts below are exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.generation import reservations
from airflow_provider_seedance.generation.request_fields import request_fields
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.outputs.claims import Claim, write_claim
from airflow_provider_seedance.outputs.manifest import request_fingerprint
from airflow_provider_seedance.simulator import FaultPlan, RunningSimulator, ScriptedFault, start_simulator
from airflow_provider_seedance.simulator.faults import Outage
from airflow_provider_seedance.testing.connections import seedance_connection
from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY, simulator_config
from tests.support.dag_runs import SharedRuns, _claim, _object, _submissions, _task_output, dag_of

pytestmark = pytest.mark.xdist_group("failover")
RUNS = SharedRuns()
PREFIX = "failover"
ONCE = {"max_attempts": 1}
V20 = "dreamina-seedance-2-0-260128"
BREAKER_ITEMS = 4


def _connection(url: str, gateway: str, **extra: object) -> str:
    return seedance_connection(url, gateway, SIM_KEY, **extra)


@pytest.fixture(scope="module")
def simulators() -> Iterator[tuple[RunningSimulator, RunningSimulator]]:
    with start_simulator(simulator_config()) as down, start_simulator(simulator_config()) as lost:
        yield down, lost


def _connections(down: RunningSimulator, lost: RunningSimulator) -> dict[str, str]:
    chain = {
        # ark refuses connections on its own address; imini serves
        "fo_refused": _connection(down.own_url("ark"), "ark", retry=ONCE, failover=["fo_imini"]),
        "fo_imini": _connection(down.gateway_url("imini"), "imini"),
        # infinityblue answers 503 in its own words; apimart serves
        "fo_unavailable": _connection(
            down.gateway_url("infinityblue"), "infinityblue", retry=ONCE, failover=["fo_apimart"]
        ),
        "fo_apimart": _connection(down.gateway_url("apimart"), "apimart"),
        # aiproxy's account is out of credit; ark (its shared address) serves a model the chain entry maps
        "fo_no_credit": _connection(
            down.gateway_url("aiproxy"),
            "aiproxy",
            failover=[{"conn_id": "fo_ark", "models": {"doubao-seedance-1-0-pro-250528": V20}}],
        ),
        "fo_ark": _connection(down.gateway_url("ark"), "ark"),
        # Ark drops the answer of a task it created: its task list finds the task; imini must see nothing
        "lost_dropped": _connection(lost.gateway_url("ark"), "ark", retry=ONCE, failover=["lost_imini"]),
        "lost_imini": _connection(lost.gateway_url("imini"), "imini"),
        # aiproxy drops the answer (no task list): the outcome is unknown, so it fails; apimart sees nothing of it
        "lost_unknown": _connection(
            lost.gateway_url("aiproxy"),
            "aiproxy",
            retry=ONCE,
            failover=[{"conn_id": "lost_apimart", "models": {"seedance-1.0-pro": "doubao-seedance-2.0"}}],
        ),
        "lost_apimart": _connection(lost.gateway_url("apimart"), "apimart"),
        # the breaker: infinityblue is down; after 2 refusals it is passed over
        "lost_breaker": _connection(
            lost.gateway_url("infinityblue"),
            "infinityblue",
            retry=ONCE,
            breaker={"failures": 2, "window_seconds": 600, "cooldown_seconds": 600},
            failover=["lost_apimart"],
        ),
        # a 2.5 request: its fallback sells no 2.5, so it is not failed over (ark's own address is down)
        "lost_unservable": _connection(lost.own_url("ark"), "ark", retry=ONCE, failover=["lost_apimart"]),
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in chain.items()}


def _args(conn_id: str, model: str, name: str, deferrable: bool = False) -> str:
    return (
        f"seedance_conn_id={conn_id!r}, model={model!r}, prompt='failover {name}', duration=5, "
        f"output_path='s3://{BUCKET}/{PREFIX}/{name}.mp4', deferrable={deferrable}"
    )


BREAKER = f"""
    SeedanceGenerateVideoOperator.partial(
        task_id="breaker", seedance_conn_id="lost_breaker", model="doubao-seedance-2-0-260128", duration=5,
        output_conn_id=AWS_CONN_ID, deferrable=False, poll_interval=0.01,
    ).expand_kwargs([
        {{"prompt": f"breaker {{i}}", "output_path": f"s3://{BUCKET}/{PREFIX}/breaker-{{i}}.mp4"}}
        for i in range({BREAKER_ITEMS})
    ])
"""


def _run(simulators, env, run_dag, monkeypatch, tmp_path_factory, capfd, caplog):
    down, lost = simulators
    for name, value in _connections(down, lost).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW__SEEDANCE__BREAKER_DIR", str(tmp_path_factory.mktemp("breakers")))
    down.take_down("ark", "refuse")
    lost.take_down("ark", "refuse")  # its own address only: "dropped" reaches lost's ark on the shared one
    for gateway, mode in (("infinityblue", "unavailable"), ("aiproxy", "no_credit")):
        down.take_down(gateway, mode)
    lost.simulator.faults.replace(
        FaultPlan(
            script=[
                ScriptedFault(kind="drop_after", gateway="ark", op="submit"),
                ScriptedFault(kind="drop_after", gateway="aiproxy", op="submit"),
            ],
            outages=[Outage(gateway="infinityblue", mode="unavailable")],
        )
    )
    source = dag_of(
        "failover",
        {
            "refused": _args("fo_refused", V20, "refused", deferrable=True),  # resumes from the triggerer
            "unavailable": _args("fo_unavailable", "doubao-seedance-2-0-260128", "unavailable"),
            "no_credit": _args("fo_no_credit", "doubao-seedance-1-0-pro-250528", "no-credit"),
            "dropped": _args("lost_dropped", V20, "dropped"),
            "unknown": _args("lost_unknown", "doubao-seedance-1-0-pro-250528", "unknown"),
            "unservable": _args("lost_unservable", "dreamina-seedance-2-5-260628", "unservable"),
        },
    )
    run = run_dag("failover", source.replace("catchup=False) as dag:", "catchup=False) as dag:" + BREAKER))
    return run, _task_output(capfd, caplog)


@pytest.fixture
def failover_run(simulators, env, run_dag, monkeypatch, tmp_path_factory, capfd, caplog):
    return RUNS.get("run", lambda: _run(simulators, env, run_dag, monkeypatch, tmp_path_factory, capfd, caplog))


def _states(run) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def _manifest(moto_server: str, name: str) -> dict:
    return json.loads(_object(moto_server, f"{PREFIX}/{name}.mp4.json"))


@pytest.mark.parametrize(
    ("name", "primary", "served_by", "gateway", "model", "cause"),
    [
        ("refused", "fo_refused", "fo_imini", "imini", "doubao/seedance-2.0", "unreachable"),
        ("unavailable", "fo_unavailable", "fo_apimart", "apimart", "doubao-seedance-2.0", "unavailable"),
        ("no-credit", "fo_no_credit", "fo_ark", "ark", V20, "no_credit"),
    ],
)
def test_a_gateway_that_provably_created_nothing_fails_over_to_the_next(
    failover_run, simulators, moto_server, name, primary, served_by, gateway, model, cause
):
    run, _ = failover_run
    assert _states(run)[(name.replace("-", "_"), -1)] == TaskInstanceState.SUCCESS
    manifest = _manifest(moto_server, name)
    assert (manifest["gateway"], manifest["seedance_conn_id"], manifest["model"]) == (gateway, served_by, model)
    assert [(hop["seedance_conn_id"], hop["cause"]) for hop in manifest["failover"]] == [(primary, cause)]
    # the request as sent there; costs at the prices of the connection that served it (the BytePlus card for
    # Ark's dreamina ids, none shipped for the resellers)
    assert manifest["request"]["model"] == model
    estimate = manifest["cost"]["estimate"]
    assert ("x 7 per million" in (estimate or {}).get("basis", "")) == (gateway == "ark")
    assert _claim(moto_server, f"{PREFIX}/{name}.mp4") is None
    task = simulators[0].simulator.tasks.get(gateway, manifest["remote_task_id"])
    assert task is not None
    assert task.prompt == f"failover {name}"


def test_each_down_gateway_was_asked_and_created_nothing(failover_run, simulators):
    down = simulators[0].simulator.stats.snapshot()["gateways"]
    assert down["infinityblue"]["submit_requests"] == 1
    assert down["infinityblue"].get("submissions", 0) == 0
    assert down["aiproxy"]["submit_requests"] == 1
    assert down["aiproxy"].get("submissions", 0) == 0
    assert down.get("ark", {}).get("submissions", 0) == 1  # no_credit's fallback only; the refused got nothing
    assert _submissions(simulators[0], "imini") == 1
    assert _submissions(simulators[0], "apimart") == 1


def test_a_dropped_answer_is_found_on_the_primary_and_never_fails_over(failover_run, simulators, moto_server):
    run, output = failover_run
    assert _states(run)[("dropped", -1)] == TaskInstanceState.SUCCESS
    manifest = _manifest(moto_server, "dropped")
    assert (manifest["seedance_conn_id"], manifest["failover"]) == ("lost_dropped", [])
    assert _submissions(simulators[1], "ark") == 1
    assert _submissions(simulators[1], "imini") == 0
    assert "task list shows the task it created" in output


def test_an_unknown_outcome_fails_for_a_person_and_never_fails_over(failover_run, simulators):
    run, output = failover_run
    assert _states(run)[("unknown", -1)] == TaskInstanceState.FAILED
    assert _submissions(simulators[1], "aiproxy") == 1
    # apimart served the breaker's items only
    assert _submissions(simulators[1], "apimart") == BREAKER_ITEMS
    assert "outcome unknown" in output


def test_a_request_the_fallback_cannot_serve_is_not_sent_there(failover_run, moto_server):
    run, output = failover_run
    assert _states(run)[("unservable", -1)] == TaskInstanceState.FAILED
    assert "Failover to lost_apimart is not possible for this request: apimart sells no seedance-2.5 model" in output
    assert "could not connect" in output


def test_the_breaker_opens_after_its_failures_and_later_items_skip_the_primary(failover_run, simulators, moto_server):
    run, output = failover_run
    assert all(_states(run)[("breaker", index)] == TaskInstanceState.SUCCESS for index in range(BREAKER_ITEMS))
    causes = [_manifest(moto_server, f"breaker-{index}")["failover"][0]["cause"] for index in range(BREAKER_ITEMS)]
    assert sorted(causes) == ["breaker_open", "breaker_open", "unavailable", "unavailable"]  # in the order they ran
    lost = simulators[1].simulator.stats.snapshot()["gateways"]
    assert lost["infinityblue"]["submit_requests"] == 2  # two refusals opened it; the later items went straight on
    assert "Circuit breaker of lost_breaker (infinityblue) opened: 2 refused submits" in output
    assert "Passing over lost_breaker (infinityblue): its circuit breaker is open until" in output


def test_a_reservation_another_run_moved_to_the_fallback_is_settled_there_not_paid_again(
    env, run_dag, monkeypatch, moto_server, capfd, caplog
):
    """Run P2 reserved the output on apimart; apimart refused it, so P2 reserved it again on imini, its chain's
    next, and died mid-submit there. This run, waiting on P2's first reservation, must settle the moved one on
    imini (which cannot tell whether the task exists: left for a person), never submit it again on apimart."""
    output = ObjectStoragePath(f"s3://{BUCKET}/{PREFIX}/moved.mp4", conn_id=AWS_CONN_ID)
    fields = {"model": "doubao-seedance-2.0", "prompt": "failover moved", "duration": 5}
    fingerprint = request_fingerprint(VideoRequest.from_fields(request_fields(fields)))
    sent = datetime.now(UTC)
    on_apimart = Claim(
        gateway="apimart",
        seedance_conn_id="moved_primary",
        remote_task_id=None,
        request_sha256=fingerprint,
        submitted_at=sent.isoformat(),
        deadline=(sent + timedelta(hours=2)).isoformat(),
        airflow={"dag_id": "another_run", "run_id": "r", "task_id": "generate", "map_index": -1, "try_number": 1},
        answer_by=(sent + timedelta(minutes=5)).isoformat(),
    )
    write_claim(output, on_apimart)
    waiting = reservations.wait_for_answer

    def moved_while_this_run_waits(reservation, *args):
        if reservation.seedance_conn_id == "moved_primary":  # P2: refused there, reserved again on imini, died
            now = datetime.now(UTC)
            moved = replace(on_apimart, gateway="imini", seedance_conn_id="moved_second", submitted_at=now.isoformat())
            write_claim(output, replace(moved, answer_by=(now + timedelta(seconds=2)).isoformat()))
        return waiting(reservation, *args)

    monkeypatch.setattr(reservations, "wait_for_answer", moved_while_this_run_waits)
    with start_simulator(simulator_config()) as simulator:
        primary = _connection(simulator.gateway_url("apimart"), "apimart", failover=["moved_second"])
        monkeypatch.setenv("AIRFLOW_CONN_MOVED_PRIMARY", primary)
        monkeypatch.setenv("AIRFLOW_CONN_MOVED_SECOND", _connection(simulator.gateway_url("imini"), "imini"))
        args = ", ".join(f"{name}={value!r}" for name, value in {**fields, "output_path": str(output)}.items())
        generate = f"seedance_conn_id='moved_primary', {args}, deferrable=False"
        run = run_dag("failover_moved", dag_of("failover_moved", {"generate": generate}))
        assert _states(run)[("generate", -1)] == TaskInstanceState.FAILED
        assert _submissions(simulator, "apimart") == 0  # never paid again on the primary
        assert _submissions(simulator, "imini") == 0
    claim = _claim(moto_server, f"{PREFIX}/moved.mp4")
    assert (claim["seedance_conn_id"], claim["remote_task_id"]) == ("moved_second", None)  # left for a person
    assert "outcome unknown" in _task_output(capfd, caplog)
