"""``make scale-test``: hundreds of Seedance generations on a distributed Airflow, with faults and kills.

Starts PostgreSQL and Redis (from the Debian packages, installed when missing), the gateway simulator
and moto's S3 server (each its own process), and Airflow with the CeleryExecutor: api-server,
scheduler, dag-processor, two triggerers and two Celery workers, all on loopback. Then it runs a DAG
of 200 generations (``--mode mapped``: one mapped, deferrable task per generation; ``--mode batch``:
one batch task per connection) while the simulator injects 429s, 503s, lost submit answers and
dropped or truncated downloads, SIGKILLs one triggerer while it holds deferred generations and one
Celery worker while it runs tasks, and lets Airflow recover. It checks that every video is stored
with a manifest whose sha256 and size match the stored bytes, that the simulator saw exactly one
submission per generation, and that the API key is nowhere (task and component logs, a dump of the
metadata database, trigger rows decrypted while they existed, stored objects). It prints wall time,
counts, worker CPU seconds and the kills, and exits non-zero on any failure.

Run: ``make scale-test`` (or ``.venv/bin/python benchmarks/scale_test.py --help``); see RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from scale_checks import Findings, check_key_absent, check_stored, check_submissions, stored_objects
from scale_dags import DAG_ID, render_dag
from services import LocalPostgres, LocalRedis, install_debian_packages

from airflow_provider_seedance.testing import CeleryWorkers, LocalAirflow
from airflow_provider_seedance.testing.processes import ProcessGroup, free_port
from airflow_provider_seedance.testing.s3 import s3_client, s3_connection

MODELS = {"ark": "dreamina-seedance-2-0-260128", "apimart": "doubao-seedance-2.0"}
BUCKET = "seedance-scale"
S3_CONN_ID = "scale_s3"
# Short heartbeats and timeouts, so a dead triggerer's triggers and a dead worker's tasks are taken
# over within seconds (Airflow's defaults: 30 s and 300 s); the DAG file does not change during the
# run, so the dag-processor need not parse it again every 30 s.
DEPLOYMENT_SETTINGS = {
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "5",
}
# What every task process imports (the DAG file's operator, the S3 stack): imported once per worker.
PRELOAD = (
    "airflow_provider_seedance.operators.seedance",
    "airflow.providers.amazon.aws.hooks.s3",
    "airflow.providers.amazon.aws.fs.s3",
    "s3fs",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("mapped", "batch"), default="mapped")
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--gateways", default="ark,apimart", help=f"comma-separated, of: {', '.join(MODELS)}")
    parser.add_argument("--generation-seconds", type=float, default=25, help="real seconds one generation takes")
    parser.add_argument("--poll-interval", type=float, default=5)
    parser.add_argument("--max-in-flight", type=int, default=100, help="batch mode: per batch task (Ark caps 120)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers")
    parser.add_argument("--concurrency", type=int, default=8, help="task processes per Celery worker")
    parser.add_argument("--triggerers", type=int, default=2)
    parser.add_argument("--no-preload", action="store_true", help="let every task process import the provider itself")
    parser.add_argument("--output", choices=("s3", "file"), default="s3", help="moto's S3 server or file://")
    parser.add_argument("--no-faults", action="store_true", help="inject no faults")
    parser.add_argument("--no-kills", action="store_true", help="kill no triggerer and no worker")
    parser.add_argument(
        "--kill-worker-during",
        choices=("store", "any"),
        default="store",
        help="store: kill the worker while it runs only tasks resumed from the triggerer (all claimed); "
        "any: also while a task may be between its submit and its claim (the window no retry can cover)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the DAG run")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (kept anyway on failure)")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args(argv)
    args.gateways = [name.strip() for name in args.gateways.split(",") if name.strip()]
    unknown = [name for name in args.gateways if name not in MODELS]
    if unknown or not args.gateways:
        parser.error(f"--gateways {unknown or args.gateways}: allowed: {', '.join(MODELS)}, comma-separated")
    if args.generations < 1 or args.workers < 1 or args.triggerers < 1 or args.concurrency < 1:
        parser.error("--generations, --workers, --triggerers and --concurrency must be 1 or more")
    if not args.no_kills and (args.workers < 2 or args.triggerers < 2):
        parser.error("killing a worker and a triggerer needs --workers 2 and --triggerers 2 or more (or --no-kills)")
    return args


# ---- the services the deployment talks to -------------------------------------------------------


@dataclass
class Services:
    """The simulator and the S3 server (own processes), plus where outputs go and how to read them back."""

    simulator_url: str
    s3_endpoint: str
    output_base: str
    api_key: str

    def gateway_urls(self, gateways: list[str]) -> dict[str, str]:
        from airflow_provider_seedance.simulator.fake_gateways import SIMULATED_GATEWAYS

        base_paths = {gateway.name: gateway.base_path for gateway in SIMULATED_GATEWAYS}
        return {name: f"{self.simulator_url}/{name}{base_paths[name]}" for name in gateways}

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.simulator_url}/_simulator/stats", timeout=30).json()


def start_services(stack: ExitStack, workdir: Path, args: argparse.Namespace) -> Services:
    processes = ProcessGroup(workdir)
    stack.callback(processes.stop)
    api_key = f"sk-scale-{secrets.token_hex(16)}"
    sim_port, s3_port = free_port(), free_port()
    queue_seconds = min(3.0, args.generation_seconds / 5)
    simulator = [sys.executable, "-m", "airflow_provider_seedance.simulator", "--port", str(sim_port)]
    simulator += ["--api-key", api_key, "--cache-dir", str(workdir / "simulator-media")]
    simulator += ["--queue-seconds", str(queue_seconds), "--run-seconds", str(args.generation_seconds - queue_seconds)]
    processes.start("simulator", simulator, os.environ)
    processes.start("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], os.environ)
    services = Services(
        simulator_url=f"http://127.0.0.1:{sim_port}",
        s3_endpoint=f"http://127.0.0.1:{s3_port}",
        output_base=f"s3://{BUCKET}/scale" if args.output == "s3" else (workdir / "output").as_uri(),
        api_key=api_key,
    )
    for url in (f"{services.simulator_url}/_simulator/health", f"{services.s3_endpoint}/moto-api/"):
        processes.wait_for(lambda url=url: _answers(url), f"{url} did not answer in 60 s", 60, interval=0.3)
    s3_client(services.s3_endpoint).create_bucket(Bucket=BUCKET)
    if not args.no_faults:
        response = httpx.put(f"{services.simulator_url}/_simulator/faults", json=fault_plan(args.gateways), timeout=30)
        response.raise_for_status()
    return services


def fault_plan(gateways: list[str]) -> dict[str, Any]:
    """What goes wrong: a few percent of 429s and 503s everywhere, lost answers to two Ark submits (one
    after the task was created), two dropped and one truncated download. A 500 or a lost answer to a
    submit on a gateway without a task list fails the task by design (on_unknown_submit='fail'), so
    those go to Ark only, whose list tells whether the task was created."""
    script: list[dict[str, Any]] = [
        {"kind": "drop", "op": "download", "count": 2},
        {"kind": "truncate", "op": "download", "count": 1},
    ]
    if "ark" in gateways:
        script += [
            {"kind": "drop_after", "gateway": "ark", "op": "submit", "count": 1},
            {"kind": "server_error", "gateway": "ark", "op": "submit", "count": 1, "status": 500},
        ]
    return {
        "seed": 13,
        "rates": {"rate_limit": 0.03, "server_error": 0.03},
        "server_error_statuses": [503],
        "retry_after_seconds": 1,
        "script": script,
    }


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def airflow_environment(services: Services, gateways: list[str]) -> dict[str, str]:
    from airflow_provider_seedance.testing.connections import simulated_gateway_connections

    env = simulated_gateway_connections(services.gateway_urls(gateways), services.api_key, prefix="SCALE")
    env[f"AIRFLOW_CONN_{S3_CONN_ID.upper()}"] = s3_connection(services.s3_endpoint)
    env["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
    env.update(DEPLOYMENT_SETTINGS)
    return env


# ---- watching the run, killing on cue -----------------------------------------------------------


@dataclass
class Kill:
    component: str
    at: float  # seconds since the DAG run was triggered
    context: str
    detected_at: float | None = None  # Airflow noticed: the triggers moved, or the tasks left their dead try
    recovered_at: float | None = None  # the work runs again: every trigger reassigned, every killed task resumed


@dataclass
class Watch:
    """What the polling loop learns while the run goes on."""

    airflow: LocalAirflow
    services: Services
    args: argparse.Namespace
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    trigger_rows: set[str] = field(default_factory=set)  # decrypted kwargs of every trigger row seen
    max_deferred: int = 0
    states: dict[str | None, int] = field(default_factory=dict)  # task instances per state, at the last poll
    _last_report: float = 0.0
    _dead_triggerer_job: int | None = None
    _killed_tasks: list[tuple[str, int, int]] = field(default_factory=list)  # task_id, map_index, try_number

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def poll(self) -> None:
        """Look at the run (killing on cue); print progress every 15 s."""
        self.states = dict(self.airflow.query("SELECT state, count(*) FROM task_instance GROUP BY state"))
        self.max_deferred = max(self.max_deferred, self.states.get("deferred", 0))
        self._read_triggers()
        if not self.args.no_kills:
            self._maybe_kill_triggerer()
            self._maybe_kill_worker()
        self._note_recoveries()
        self.airflow.processes.sample_cpu()
        if self.elapsed() - self._last_report >= 15:
            print(self.progress(), flush=True)
            self._last_report = self.elapsed()

    def progress(self) -> str:
        submitted = submissions(self.services.stats())
        parts = ", ".join(f"{state or 'none'} {count}" for state, count in sorted(self.states.items(), key=str))
        return f"[{self.elapsed():6.0f} s] submitted {submitted}; task instances: {parts}"

    def _read_triggers(self) -> None:
        fernet = Fernet(self.airflow.env["AIRFLOW__CORE__FERNET_KEY"].encode())
        for (kwargs,) in self.airflow.query("SELECT kwargs FROM trigger"):
            self.trigger_rows.add(kwargs if kwargs.startswith("{") else fernet.decrypt(kwargs.encode()).decode())

    def _maybe_kill_triggerer(self) -> None:
        """Kill the last triggerer once it holds 5 waiting generations (mapped) or a waiting batch."""
        if self._dead_triggerer_job is not None:
            return
        name = f"triggerer-{self.args.triggerers}"
        rows = self.airflow.query(
            "SELECT j.id, count(t.id) FROM job j JOIN trigger t ON t.triggerer_id = j.id "
            "WHERE j.job_type = 'TriggererJob' AND j.hostname LIKE :host AND j.state = 'running' GROUP BY j.id",
            host=f"{name}.%",
        )
        held = sum(count for _, count in rows)
        if held >= (min(5, self.args.generations) if self.args.mode == "mapped" else 1):
            self.airflow.processes.kill(name)
            self._dead_triggerer_job = rows[0][0]
            held_what = f"{held} waiting generations" if self.args.mode == "mapped" else f"{held} waiting batch(es)"
            self.kills.append(Kill(name, self.elapsed(), f"holding {held_what}"))

    def _maybe_kill_worker(self) -> None:
        """Kill the last Celery worker while it runs tasks (by default: tasks past their claim, see --help)."""
        if self._killed_tasks:
            return
        name = f"celery-worker-{self.args.workers}"
        running = self.airflow.query(
            "SELECT task_id, map_index, try_number, next_method FROM task_instance "
            "WHERE state = 'running' AND hostname LIKE :host",
            host=f"{name}.%",
        )
        if not running:
            return
        if self.args.kill_worker_during == "store" and not self._past_claims(running):
            return
        (stored,) = self.airflow.query("SELECT count(*) FROM task_instance WHERE state = 'success'")[0]
        if stored > self.args.generations * 0.8 and self.args.mode == "mapped":
            return  # too late to be "mid-run"; the check below reports a kill that never happened
        self.airflow.processes.kill(name)
        self._killed_tasks = [tuple(row[:3]) for row in running]  # type: ignore[misc]
        phases = Counter("storing" if row[3] else "submitting" for row in running)
        described = ", ".join(f"{count} {phase}" for phase, count in phases.items())
        self.kills.append(Kill(name, self.elapsed(), f"running {len(running)} task instances ({described})"))

    def _past_claims(self, running: list[tuple[Any, ...]]) -> bool:
        """Whether every task the worker runs is past the claims of its submits, so a retry resumes them all.

        A mapped task resumed from its trigger (next_method ``execute_complete``) submitted and claimed
        before it deferred. A batch task may submit more when it resumes, so wait until all are submitted.
        """
        if any(row[3] != "execute_complete" for row in running):
            return False
        return self.args.mode == "mapped" or submissions(self.services.stats()) >= self.args.generations

    def _note_recoveries(self) -> None:
        for kill in self.kills:
            if kill.recovered_at is not None:
                continue
            if kill.component.startswith("triggerer"):
                (left,) = self.airflow.query(
                    "SELECT count(*) FROM trigger WHERE triggerer_id = :job", job=self._dead_triggerer_job
                )[0]
                detected = recovered = left == 0
            else:
                now = [self._state_after(*task) for task in self._killed_tasks]
                detected = all(state != "running" or newer for state, newer in now)
                resumed = ("running", "deferred")
                recovered = all(state == "success" or (newer and state in resumed) for state, newer in now)
            if detected and kill.detected_at is None:
                kill.detected_at = self.elapsed()
            if recovered:
                kill.recovered_at = self.elapsed()

    def _state_after(self, task_id: str, map_index: int, try_number: int) -> tuple[str | None, bool]:
        """A killed task instance's state now, and whether it is on a later try than the killed one."""
        rows = self.airflow.query(
            "SELECT state, try_number FROM task_instance WHERE task_id = :task AND map_index = :index",
            task=task_id,
            index=map_index,
        )
        return (rows[0][0], rows[0][1] > try_number) if rows else (None, False)


def submissions(stats: dict[str, Any]) -> int:
    return sum(task.get("submissions", 0) for task in stats["tasks"].values())


def run_dag(watch: Watch) -> str:
    """Trigger the DAG and poll it to its end; returns the run's final state."""
    airflow = watch.airflow
    airflow.trigger(DAG_ID)
    watch.started = time.monotonic()

    def ended() -> str | None:
        watch.poll()
        return airflow.final_state(DAG_ID)

    failure = f"{DAG_ID} did not finish in {watch.args.timeout:.0f} s; logs are in {airflow.home}"
    return airflow.processes.wait_for(ended, failure, watch.args.timeout, interval=1)


# ---- the whole run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    script_started = time.monotonic()
    installed = install_debian_packages(["redis-server", "postgresql"])
    if installed:
        print(f"Installed from the Debian packages: {', '.join(installed)}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="seedance-scale-"))
    findings = Findings()
    with ExitStack() as stack:
        setup_started = time.monotonic()
        services = start_services(stack, workdir, args)
        postgres = stack.enter_context(LocalPostgres(workdir))
        redis = stack.enter_context(LocalRedis(workdir))
        dags = workdir / "dags"
        dags.mkdir()
        (dags / f"{DAG_ID}.py").write_text(render_dag(args, services.output_base, MODELS, S3_CONN_ID))
        slots = args.workers * args.concurrency
        print(
            f"Starting Airflow (CeleryExecutor: {args.workers} workers x {args.concurrency}, {args.triggerers} "
            f"triggerers, PostgreSQL, Redis) in {workdir} ...",
            flush=True,
        )
        airflow = stack.enter_context(
            LocalAirflow(
                workdir / "airflow",
                dags,
                airflow_environment(services, args.gateways),
                parallelism=slots * 4,
                database_url=postgres.url(),
                celery=CeleryWorkers(redis.url, args.workers, args.concurrency, () if args.no_preload else PRELOAD),
                triggerers=args.triggerers,
            )
        )
        airflow.wait_for_dag(DAG_ID)
        setup_seconds = time.monotonic() - setup_started
        print(f"Airflow is up ({setup_seconds:.0f} s); running {args.generations} generations ({args.mode}) ...")
        watch = Watch(airflow, services, args)
        state = run_dag(watch)
        wall = watch.elapsed()
        cpu = airflow.processes.sample_cpu()
        stats = services.stats()
        if state != "success":
            findings.fail(f"the DAG run ended {state}")
        if not args.no_kills and len(watch.kills) < 2:
            killed = [kill.component for kill in watch.kills] or ["nothing"]
            findings.fail(f"killed {', '.join(killed)}; expected a triggerer and a worker (their cue never came)")
        objects = dict(stored_objects(services.output_base, services.s3_endpoint, s3_client))
        stored = check_stored(findings, objects, args.generations)
        check_submissions(findings, stats, stored, args.generations)
        dump = postgres.dump()
        check_key_absent(findings, services.api_key, airflow.home, dump, watch.trigger_rows, objects)
        summary = summarize(args, watch, state, wall, setup_seconds, cpu, stats, stored, findings)
    summary["total_seconds"] = round(time.monotonic() - script_started, 1)
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if findings.failures or args.keep:
        print(f"The working directory is kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if findings.failures else 0


def summarize(
    args: argparse.Namespace,
    watch: Watch,
    state: str,
    wall: float,
    setup_seconds: float,
    cpu: dict[str, float],
    stats: dict[str, Any],
    stored: int,
    findings: Findings,
) -> dict[str, Any]:
    airflow = watch.airflow
    tries = airflow.query("SELECT count(*), coalesce(sum(try_number), 0) FROM task_instance")[0]
    faults = Counter()
    for counts in stats["gateways"].values():
        faults.update({name[len("fault_") :]: value for name, value in counts.items() if name.startswith("fault_")})
    workers = sum(seconds for name, seconds in cpu.items() if name.startswith("celery-worker"))
    return {
        "mode": args.mode,
        "generations": args.generations,
        "gateways": args.gateways,
        "deployment": f"CeleryExecutor, {args.workers} workers x {args.concurrency}, {args.triggerers} triggerers",
        "run_state": state,
        "wall_seconds": round(wall, 1),
        "setup_seconds": round(setup_seconds, 1),
        "stored_videos": stored,
        "submissions": submissions(stats),
        "task_instances": tries[0],
        "tries": int(tries[1]),
        "max_deferred": watch.max_deferred,
        "worker_cpu_seconds": round(workers, 1),
        "cpu_seconds": {name: round(seconds, 1) for name, seconds in sorted(cpu.items())},
        "faults": dict(faults),
        "kills": [vars(kill) for kill in watch.kills],
        "failures": findings.failures,
    }


def print_summary(summary: dict[str, Any]) -> None:
    print("\n==== scale test summary ====")
    print(f"{summary['generations']} generations, mode {summary['mode']}, gateways {', '.join(summary['gateways'])}")
    print(f"deployment: {summary['deployment']}")
    print(
        f"run {summary['run_state']} in {summary['wall_seconds']} s from trigger to end (setup before it: "
        f"{summary['setup_seconds']} s; everything, checks and shutdown included: {summary['total_seconds']} s)"
    )
    print(
        f"stored {summary['stored_videos']} videos; {summary['submissions']} submissions; "
        f"{summary['task_instances']} task instances, {summary['tries']} tries; "
        f"at most {summary['max_deferred']} deferred at once"
    )
    print(
        f"worker CPU {summary['worker_cpu_seconds']} s (all task processes included); CPU per component: "
        + ", ".join(f"{name} {seconds} s" for name, seconds in summary["cpu_seconds"].items())
    )
    print("faults injected: " + (", ".join(f"{kind} {count}" for kind, count in summary["faults"].items()) or "none"))
    for kill in summary["kills"]:
        print(f"killed {kill['component']} (SIGKILL) at {kill['at']:.0f} s, {kill['context']}; {_recovery(kill)}")
    if summary["failures"]:
        print("FAILED:\n  " + "\n  ".join(summary["failures"]))
    else:
        print("PASSED: every video stored with a matching sha256, one submission each, the key nowhere")


def _recovery(kill: dict[str, Any]) -> str:
    if kill["recovered_at"] is None:
        return "recovery not observed"
    detected, recovered = kill["detected_at"] - kill["at"], kill["recovered_at"] - kill["at"]
    if kill["component"].startswith("triggerer"):
        return f"its triggers were running on another triggerer {recovered:.0f} s later"
    return f"Airflow failed the killed tries {detected:.0f} s later; all were running again {recovered:.0f} s later"


if __name__ == "__main__":
    sys.exit(main())
