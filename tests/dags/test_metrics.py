"""Metrics as Airflow really sends them: a generation under ``dag.test()`` against the simulator, with
Airflow's ``[metrics]`` pointed at a StatsD server (a UDP socket) started by the test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import statsd
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS
from airflow.utils.state import TaskInstanceState

from airflow_provider_seedance.compat import Stats
from airflow_provider_seedance.observability import metrics
from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from airflow_provider_seedance.simulator.faults import Outage
from airflow_provider_seedance.testing.connections import seedance_connection
from tests.conftest import BUCKET, SIM_KEY, s3_client
from tests.support.dag_runs import MODELS, _single, _task_output, dag_of

PROMPT = "a paper boat drifting down a gutter in the rain"
ARK_TAGS = {"gateway": "ark", "model": MODELS["ark"]}


class StatsdServer:
    """Receives StatsD datagrams on a free UDP port; ``seedance()`` parses ours (InfluxDB-style tags)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.socket.settimeout(0.05)
        self.lines: list[str] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                continue
            self.lines.extend(data.decode().splitlines())

    def seedance(self) -> list[tuple[str, dict[str, str], float, str]]:
        """(name, tags, value, type) of every ``airflow.seedance.*`` line received so far."""
        found = []
        for line in list(self.lines):
            stat, _, rest = line.rpartition(":")
            name, *tags = stat.split(",")
            if name.startswith("airflow.seedance."):
                value, kind = rest.split("|")[:2]
                found.append(
                    (name.removeprefix("airflow."), dict(tag.split("=", 1) for tag in tags), float(value), kind)
                )
        return found

    def wait_for(self, name: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(metric[0] == name for metric in self.seedance()):
            assert time.monotonic() < deadline, f"{name} never arrived; received: {self.lines}"
            time.sleep(0.02)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.socket.close()


class SeedanceFailingClient(statsd.StatsClient):
    """A StatsD client (``[metrics] statsd_custom_client_path``) that cannot send this provider's metrics."""

    def _send(self, data: str) -> None:
        if data.startswith("airflow.seedance."):
            raise OSError("statsd is down")
        super()._send(data)


def _rebuild_stats() -> None:
    """Stats builds its backend once per process, from ``[metrics]`` as it was then; rebuild it from now."""
    if AIRFLOW_V_3_3_PLUS:
        from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

        Stats.initialize(factory=get_stats_factory(), export_legacy_names=False)
    elif AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

        Stats.initialize(factory=get_stats_factory(Stats))
    else:  # 3.0 and 3.1 choose the factory when the Stats class is created, and keep one instance
        stats_type = type(Stats)
        del stats_type.factory
        stats_type.__init__(Stats)
        Stats.instance = None


@pytest.fixture
def statsd_server(monkeypatch) -> Iterator[StatsdServer]:
    server = StatsdServer()
    settings = {
        "STATSD_ON": "True",
        "STATSD_HOST": "127.0.0.1",
        "STATSD_PORT": str(server.port),
        "STATSD_PREFIX": "airflow",
        "STATSD_INFLUXDB_ENABLED": "True",  # plain StatsD has no tags; this puts them into the name
    }
    for key, value in settings.items():
        monkeypatch.setenv(f"AIRFLOW__METRICS__{key}", value)
    _rebuild_stats()
    yield server
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "False")
    _rebuild_stats()
    server.close()


def _ark(dag_id: str, key: str, extra: str = "") -> str:
    return _single(
        dag_id,
        f"seedance_conn_id='sim_ark', model={MODELS['ark']!r}, prompt={PROMPT!r}, duration=4, resolution='480p', "
        f"output_path='s3://{BUCKET}/metrics/{key}.mp4'{extra}",
    )


def _manifest(moto_server: str, key: str) -> dict:
    body = s3_client(moto_server).get_object(Bucket=BUCKET, Key=f"metrics/{key}.mp4.json")["Body"].read()
    return json.loads(body)


def _only(received, name: str) -> tuple[dict[str, str], float, str]:
    (found,) = [(tags, value, kind) for metric, tags, value, kind in received if metric == name]
    return found


def test_a_stored_generation_reports_its_submit_bytes_time_and_costs(env, moto_server, run_dag, statsd_server):
    run = run_dag("seedance_metrics_ok", _ark("seedance_metrics_ok", "ok", ", return_last_frame=True"))
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.SUCCESS}
    statsd_server.wait_for("seedance.actual_cost")
    received = statsd_server.seedance()
    manifest = _manifest(moto_server, "ok")
    cost = manifest["cost"]

    assert _only(received, "seedance.submissions") == (ARK_TAGS, 1, "c")
    assert _only(received, "seedance.stored") == (ARK_TAGS, 1, "c")
    stored_bytes = manifest["video"]["size"] + manifest["last_frame"]["size"]
    assert _only(received, "seedance.stored_bytes") == (ARK_TAGS, stored_bytes, "c")
    tags, took, kind = _only(received, "seedance.generation_time")
    assert (tags, kind) == (ARK_TAGS, "ms")
    assert 0 < took < 60_000
    usd = {**ARK_TAGS, "currency": "USD"}
    tags, estimated, kind = _only(received, "seedance.estimated_cost")
    assert (tags, kind) == (usd, "c")
    assert estimated == pytest.approx(cost["estimate"]["amount"] * 1e6, abs=50)  # the manifest rounds to 1e-4
    tags, spent, kind = _only(received, "seedance.actual_cost")
    assert (tags, kind) == (usd, "c")
    assert spent == pytest.approx(cost["actual"]["amount"] * 1e6, abs=50)
    assert not [metric for metric in received if metric[0] in ("seedance.failures", "seedance.resumes")]
    # Nothing a person typed or a gateway handed out travels with a metric.
    sent = "\n".join(statsd_server.lines)
    for secret in (SIM_KEY, "paper boat", manifest["remote_task_id"], "http"):
        assert secret not in sent


@pytest.mark.parametrize(
    ("cause", "extra"),
    [
        pytest.param("output_moderation", "", id="moderated"),
        pytest.param("timeout", ", generation_timeout=timedelta(seconds=0.3)", id="timeout"),
    ],
)
def test_a_generation_without_a_video_counts_as_a_failure_by_cause(
    env, moto_server, run_dag, statsd_server, monkeypatch, cause, extra
):
    if cause == "output_moderation":
        env.simulator.faults.replace(FaultPlan(script=[ScriptedFault(kind="moderation")]))
    else:
        monkeypatch.setattr(env.simulator.config, "queue_seconds", 10**6)
    dag_id = f"seedance_metrics_{cause}"
    run = run_dag(dag_id, _ark(dag_id, cause, extra))
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.FAILED}
    statsd_server.wait_for("seedance.failures")
    received = statsd_server.seedance()
    assert _only(received, "seedance.failures") == ({**ARK_TAGS, "cause": cause}, 1, "c")
    assert _only(received, "seedance.submissions") == (ARK_TAGS, 1, "c")
    assert not [metric for metric in received if metric[0].startswith("seedance.stored")]


def test_a_retry_that_takes_over_the_claimed_task_counts_a_resume_not_a_submit(
    env, moto_server, run_dag, statsd_server
):
    # The first try's status poll is refused (401); the retry resumes the task its claim names.
    env.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="unauthorized", op="status")], retry_after_seconds=0)
    )
    extra = ", deferrable=False, retries=1, retry_delay=timedelta(seconds=0)"
    run = run_dag("seedance_metrics_resumed", _ark("seedance_metrics_resumed", "resumed", extra))
    assert [ti.try_number for ti in run.get_task_instances()] == [2]
    statsd_server.wait_for("seedance.stored")
    received = statsd_server.seedance()
    assert _only(received, "seedance.submissions") == (ARK_TAGS, 1, "c")
    assert _only(received, "seedance.resumes") == (ARK_TAGS, 1, "c")


def test_submits_of_unknown_outcome_are_counted_by_what_became_of_them(env, moto_server, run_dag, statsd_server):
    # Both submits create their task and lose the answer: Ark's list finds it; apimart's cannot be found.
    lost = [ScriptedFault(kind="drop_after", gateway=gateway, op="submit") for gateway in ("ark", "apimart")]
    env.simulator.faults.replace(FaultPlan(script=lost, retry_after_seconds=0))
    tasks = {
        gateway: f"seedance_conn_id='sim_{gateway}', model={MODELS[gateway]!r}, prompt={PROMPT!r}, "
        f"output_path='s3://{BUCKET}/metrics/unknown-{gateway}.mp4'"
        for gateway in ("ark", "apimart")
    }
    run = run_dag("seedance_metrics_unknown", dag_of("seedance_metrics_unknown", tasks))
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"ark": TaskInstanceState.SUCCESS, "apimart": TaskInstanceState.FAILED}
    statsd_server.wait_for("seedance.failures")
    received = statsd_server.seedance()
    unknown = sorted(
        (tags["gateway"], tags["outcome"], value)
        for name, tags, value, _ in received
        if name == "seedance.submissions.unknown"
    )
    assert unknown == [("apimart", "left_for_a_person", 1), ("ark", "found", 1)]
    apimart = {"gateway": "apimart", "model": MODELS["apimart"]}
    assert _only(received, "seedance.failures") == ({**apimart, "cause": "outcome_unknown"}, 1, "c")


def test_a_broken_metrics_backend_never_fails_the_generation(
    env, moto_server, run_dag, statsd_server, monkeypatch, capfd, caplog
):
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH", f"{__name__}.{SeedanceFailingClient.__name__}")
    monkeypatch.setattr(metrics, "_failed_before", False)  # the first failure in this process is the one logged
    _rebuild_stats()
    run = run_dag("seedance_metrics_broken", _ark("seedance_metrics_broken", "broken"))
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.SUCCESS}
    assert _manifest(moto_server, "broken")["video"]["size"] > 0
    assert statsd_server.seedance() == []
    assert "Seedance metrics were not sent (OSError: statsd is down); the generation goes on." in _task_output(
        capfd, caplog
    )


def test_a_failover_counts_by_from_to_and_cause_and_the_breaker_says_when_it_opened(
    env, moto_server, run_dag, statsd_server, monkeypatch, tmp_path
):
    # infinityblue answers every submit with its own 503; its chain sends the generation on to apimart.
    primary = seedance_connection(
        env.gateway_url("infinityblue"),
        "infinityblue",
        SIM_KEY,
        retry={"max_attempts": 1},
        breaker={"failures": 1},
        failover=["sim_apimart"],
    )
    monkeypatch.setenv("AIRFLOW_CONN_METRICS_DOWN", primary)
    monkeypatch.setenv("AIRFLOW__SEEDANCE__BREAKER_DIR", str(tmp_path))
    env.simulator.faults.replace(FaultPlan(outages=[Outage(gateway="infinityblue", mode="unavailable")]))
    dag = _single(
        "seedance_metrics_failover",
        f"seedance_conn_id='metrics_down', model={MODELS['infinityblue']!r}, prompt={PROMPT!r}, duration=4, "
        f"output_path='s3://{BUCKET}/metrics/failover.mp4', deferrable=False",
    )
    run = run_dag("seedance_metrics_failover", dag)
    assert {ti.state for ti in run.get_task_instances()} == {TaskInstanceState.SUCCESS}
    statsd_server.wait_for("seedance.stored")
    received = statsd_server.seedance()
    assert _only(received, "seedance.failovers") == (
        {"from": "metrics_down", "to": "sim_apimart", "cause": "unavailable"},
        1,
        "c",
    )
    assert _only(received, "seedance.breaker.opened") == (
        {"connection": "metrics_down", "gateway": "infinityblue"},
        1,
        "c",
    )
    # the paid submit and the stored video count under the gateway that served it
    assert _only(received, "seedance.submissions") == ({"gateway": "apimart", "model": "doubao-seedance-2.0"}, 1, "c")
