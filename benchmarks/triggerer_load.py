"""1,000 waiting generations in one event loop, as in a triggerer: fleet polling against per-task polling.

For each gateway (Ark, apimart) and each mode, a fresh child process submits the generations to the
simulator (its own process, real-time clock), then waits for all of them with ``SeedanceTaskTrigger``s
in one asyncio loop, at the same poll interval:
  * ``fleet``     the triggers share the connection's FleetPoller, which asks about up to the dialect's
                  ``batch_status_limit`` tasks per request (as shipped);
  * ``per-task``  the same code with the dialect's ``batch_status_limit`` set to 0 in the child, which is
                  exactly what a gateway without a batch call gets: one status request per task per poll.
Each child reports the simulator's status requests while it waited, its CPU seconds per waiting
generation per poll interval (the whole wait, and the steady part before the first task finishes),
the detection latency (simulator finish time -> the trigger's event), the p99 lag of a 10 ms probe on
the loop, and the growth of its peak RSS. Log lines go where Airflow's logging sends them (stdout),
which the parent writes to a file, as a triggerer writes its log.

Run: ``.venv/bin/python benchmarks/triggerer_load.py`` (see RESULTS.md); ``--profile DIR`` also writes
a pyinstrument profile of each child's wait (``uv pip install pyinstrument``; the numbers of a
profiled run are not the results).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

MODELS = {"ark": "dreamina-seedance-2-0-260128", "apimart": "doubao-seedance-2.0"}
MODES = ("fleet", "per-task")
QUEUE_SECONDS = 2.0
KEY = "sk-bench"


@dataclass
class Waited:
    """One trigger's outcome: its status and when its event came (``time.time()``)."""

    status: str
    event_at: float


def start_simulator(run_seconds: float, log_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The simulator in its own process; its URL (``base``) and each gateway's base URL, by name."""
    command = [sys.executable, "-m", "airflow_provider_seedance.simulator", "--port", "0"]
    command += ["--queue-seconds", str(QUEUE_SECONDS), "--run-seconds", str(run_seconds)]
    with open(log_dir / "simulator.log", "w") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    assert process.stdout is not None
    urls = {"base": process.stdout.readline().rsplit(" ", 1)[-1].strip()}
    for _ in range(7):
        name, url = process.stdout.readline().split()
        urls[name] = url
    return process, urls


def status_requests(base_url: str, gateway: str) -> int:
    return (
        httpx.get(f"{base_url}/_simulator/stats", timeout=60)
        .json()["gateways"]
        .get(gateway, {})
        .get("status_requests", 0)
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


# ---- the child: one gateway, one mode ------------------------------------------------------------


def submit_all(conn_id: str, gateway: str, count: int, run_seconds: float) -> dict[str, float]:
    """Submit ``count`` generations through the hook; each task id with the time the simulator finishes it."""
    from airflow_provider_seedance.hooks.seedance import SeedanceHook
    from airflow_provider_seedance.models import VideoRequest

    hook = SeedanceHook(conn_id)
    finishes: dict[str, float] = {}
    for index in range(count):
        sent = time.time()
        status = hook.submit(VideoRequest(model=MODELS[gateway], prompt=f"bench {index}"))
        # The simulator stamps the task between our send and its reply; the middle is within a few ms.
        finishes[status.task_id] = (sent + time.time()) / 2 + QUEUE_SECONDS + run_seconds
    hook.close()
    return finishes


async def probe_lag(stop: asyncio.Event, lags: list[float], period: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + period
        await asyncio.sleep(period)
        lags.append(max(0.0, loop.time() - expected))


async def wait_all(
    conn_id: str, task_ids: list[str], poll_interval: float
) -> tuple[list[Waited], list[float], list[tuple[float, float]]]:
    """Wait for every task with one trigger each; the outcomes, the probe's lags and (time, CPU) samples."""
    from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

    deadline = time.time() + 3600
    triggers = [
        SeedanceTaskTrigger(
            seedance_conn_id=conn_id, remote_task_id=task_id, deadline=deadline, poll_interval=poll_interval
        )
        for task_id in task_ids
    ]
    lags: list[float] = []
    samples: list[tuple[float, float]] = [(time.time(), time.process_time())]
    stop = asyncio.Event()

    async def sample_cpu() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            samples.append((time.time(), time.process_time()))

    async def one(trigger: SeedanceTaskTrigger) -> Waited:
        async for event in trigger.run():
            return Waited(event.payload["status"], time.time())
        return Waited("none", time.time())

    side = [asyncio.create_task(probe_lag(stop, lags)), asyncio.create_task(sample_cpu())]
    waited = await asyncio.gather(*(one(trigger) for trigger in triggers))
    samples.append((time.time(), time.process_time()))
    stop.set()
    await asyncio.gather(*side)
    return waited, lags, samples


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) between the samples nearest after ``start`` and before ``end``."""
    first = next(sample for sample in samples if sample[0] >= start)
    last = next(sample for sample in reversed(samples) if sample[0] <= end)
    return last[1] - first[1], last[0] - first[0]


def child(args: argparse.Namespace) -> dict[str, object]:
    conn_id = "seedance_bench"
    os.environ["AIRFLOW_CONN_SEEDANCE_BENCH"] = json.dumps(
        {
            "conn_type": "seedance",
            "host": args.gateway_url,
            "password": KEY,
            "extra": {"gateway": args.gateway},
        }
    )
    from airflow_provider_seedance.gateways import get_gateway

    dialect = type(get_gateway(args.gateway))
    if args.mode == "per-task":
        dialect.batch_status_limit = 0  # as for a gateway without a batch status call
    finishes = submit_all(conn_id, args.gateway, args.generations, args.run_seconds)
    requests_before = status_requests(args.base_url, args.gateway)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = None
    if args.profile:
        from pyinstrument import Profiler  # a sampling profiler: uv pip install pyinstrument

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
    started = time.time()
    waited, lags, samples = asyncio.run(wait_all(conn_id, list(finishes), args.poll_interval))
    ended = time.time()
    if profiler is not None:
        profiler.stop()
        report = profiler.output_text(unicode=False, color=False, show_all=args.profile_all)
        (Path(args.profile) / f"{args.gateway}-{args.mode}.txt").write_text(report)
        profiler.last_session.save(str(Path(args.profile) / f"{args.gateway}-{args.mode}.pyisession"))
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    requests = status_requests(args.base_url, args.gateway) - requests_before

    interval = args.poll_interval
    cpu_total = samples[-1][1] - samples[0][1]
    generation_intervals = sum(item.event_at - started for item in waited) / interval
    # Steady state: every trigger is past its first poll and none has finished yet.
    first_event = min(item.event_at for item in waited)
    steady_cpu, steady_wall = cpu_between(samples, started + interval, first_event)
    latencies = [item.event_at - finish for item, finish in zip(waited, finishes.values(), strict=True)]
    return {
        "gateway": args.gateway,
        "mode": args.mode,
        "batch_status_limit": dialect.batch_status_limit,
        "generations": len(waited),
        "succeeded": sum(item.status == "succeeded" for item in waited),
        "poll_interval_s": interval,
        "wait_s": round(ended - started, 1),
        "status_requests": requests,
        "status_requests_per_min": round(requests / (ended - started) * 60, 1),
        "requests_per_generation_interval": round(requests / generation_intervals, 4),
        "cpu_s": round(cpu_total, 2),
        "cpu_ms_per_generation_interval": round(cpu_total / generation_intervals * 1000, 3),
        "cpu_ms_per_status_request": round(cpu_total / max(requests, 1) * 1000, 3),
        "steady_cpu_ms_per_generation_interval": round(steady_cpu / (len(waited) * steady_wall / interval) * 1000, 3),
        "steady_window_s": round(steady_wall, 1),
        "latency_p50_s": round(statistics.median(latencies), 2),
        "latency_p95_s": round(percentile(latencies, 0.95), 2),
        "latency_max_s": round(max(latencies), 2),
        "lag_p50_ms": round(statistics.median(lags) * 1000, 1),
        "lag_p99_ms": round(percentile(lags, 0.99) * 1000, 1),
        "lag_max_ms": round(max(lags) * 1000, 1),
        "rss_growth_mb": round(rss_growth, 1),
    }


# ---- the parent: one simulator, a fresh child per (gateway, mode) --------------------------------


def run_child(
    args: argparse.Namespace, urls: dict[str, str], gateway: str, mode: str, log_dir: Path
) -> dict[str, object]:
    result_path = log_dir / f"{gateway}-{mode}.json"
    command = [sys.executable, __file__, "--child", gateway, mode, urls["base"], urls[gateway], str(result_path)]
    command += ["--generations", str(args.generations), "--poll-interval", str(args.poll_interval)]
    command += ["--run-seconds", str(args.run_seconds)]
    if args.profile:
        command += ["--profile", args.profile] + (["--profile-all"] if args.profile_all else [])
    load_before = os.getloadavg()[0]
    with open(log_dir / f"{gateway}-{mode}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    return {**json.loads(result_path.read_text()), "load_1min": [load_before, os.getloadavg()[0]]}


def summary(results: list[dict]) -> str:
    """The runs as a Markdown table, with each gateway's request ratio fleet/per-task."""
    lines = [
        "| gateway | mode | status req/min | fleet/per-task | CPU ms per gen-interval (whole / steady) "
        "| CPU ms per request | latency p50 / p95 / max s | lag p99 ms | RSS growth MB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results:
        pair = {other["mode"]: other for other in results if other["gateway"] == run["gateway"]}
        ratio = ""
        if run["mode"] == "fleet" and "per-task" in pair:
            share = run["status_requests"] / pair["per-task"]["status_requests"]
            ratio = f"1/{1 / share:.0f}"
        lines.append(
            f"| {run['gateway']} | {run['mode']} | {run['status_requests_per_min']:,.0f} | {ratio} "
            f"| {run['cpu_ms_per_generation_interval']:.3f} / {run['steady_cpu_ms_per_generation_interval']:.3f} "
            f"| {run['cpu_ms_per_status_request']:.2f} "
            f"| {run['latency_p50_s']} / {run['latency_p95_s']} / {run['latency_max_s']} | {run['lag_p99_ms']} "
            f"| {run['rss_growth_mb']} | {run['load_1min'][0]:.1f}-{run['load_1min'][1]:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--run-seconds", type=float, default=60.0, help="how long each generation runs")
    parser.add_argument("--gateways", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--profile", help="write a pyinstrument profile of each child's wait into this folder")
    parser.add_argument("--profile-all", action="store_true", help="profile: show library frames too")
    parser.add_argument(
        "--child", nargs=5, metavar=("GATEWAY", "MODE", "SIMULATOR", "GATEWAY_URL", "RESULT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="seedance-bench-"))
    if args.child:
        args.gateway, args.mode, args.base_url, args.gateway_url, result_path = args.child
        Path(result_path).write_text(json.dumps(child(args)))
        return
    log_dir = Path(tempfile.mkdtemp(prefix="seedance-triggerer-load-"))
    print(f"load average before: {os.getloadavg()}; child logs in {log_dir}", flush=True)
    process, urls = start_simulator(args.run_seconds, log_dir)
    results = []
    try:
        for gateway in args.gateways:
            for mode in args.modes:
                results.append(run_child(args, urls, gateway, mode, log_dir))
                print(json.dumps(results[-1]), flush=True)
                print(f"load average: {os.getloadavg()}", flush=True)
    finally:
        process.terminate()
        process.wait()
    print(summary(results))


if __name__ == "__main__":
    main()
