"""1,000 SeedanceTaskTriggers in one event loop, as in a busy triggerer: loop lag, CPU and memory.

A probe coroutine measures how late the shared loop wakes it every 10 ms while every trigger polls
the simulator (its own process) until its generation finishes. Run:
``.venv/bin/python benchmarks/triggerer_load.py [--triggers 1000]`` (see RESULTS.md).
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

import httpx

MODEL = "dreamina-seedance-2-0-260128"


def start_simulator(run_seconds: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "airflow_provider_seedance.simulator", "--port", "0"]
    command += ["--queue-seconds", "2", "--run-seconds", str(run_seconds)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    base_url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
    for _ in range(7):
        process.stdout.readline()
    return process, base_url


async def probe_lag(stop: asyncio.Event, lags: list[float], period: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + period
        await asyncio.sleep(period)
        lags.append(max(0.0, loop.time() - expected))


async def run(count: int, poll_interval: float) -> dict[str, float]:
    from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

    triggers = [
        SeedanceTaskTrigger(
            seedance_conn_id="seedance_bench",
            remote_task_id=task_id,
            deadline=time.time() + 600,
            poll_interval=poll_interval,
        )
        for task_id in TASK_IDS
    ]
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_lag(stop, lags))
    cpu_before = time.process_time()
    started = time.perf_counter()

    async def one(trigger: SeedanceTaskTrigger) -> str:
        async for event in trigger.run():
            return event.payload["status"]
        return "none"

    statuses = await asyncio.gather(*(one(trigger) for trigger in triggers))
    wall = time.perf_counter() - started
    stop.set()
    await probe
    lags.sort()
    return {
        "triggers": count,
        "succeeded": statuses.count("succeeded"),
        "wall_seconds": wall,
        "cpu_seconds": time.process_time() - cpu_before,
        "lag_p50_ms": statistics.median(lags) * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag_max_ms": lags[-1] * 1000,
    }


TASK_IDS: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--run-seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    process, base_url = start_simulator(args.run_seconds)
    try:
        url = f"{base_url}/ark/api/v3"
        os.environ["AIRFLOW_CONN_SEEDANCE_BENCH"] = json.dumps(
            {"conn_type": "seedance", "host": url, "password": "sk-bench", "extra": {"gateway": "ark"}}
        )
        with httpx.Client(headers={"Authorization": "Bearer sk-bench"}) as client:
            for index in range(args.triggers):
                body = {"model": MODEL, "content": [{"type": "text", "text": f"bench {index}"}]}
                TASK_IDS.append(client.post(f"{url}/contents/generations/tasks", json=body).json()["id"])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = asyncio.run(run(args.triggers, args.poll_interval))
        result["peak_rss_growth_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
        polls = httpx.get(f"{base_url}/_simulator/stats").json()["gateways"]["ark"].get("status_polls", 0)
    finally:
        process.terminate()
        process.wait()
    print(json.dumps(result, indent=2))
    print(f"status polls served: {polls}; CPU per poll: {result['cpu_seconds'] / max(polls, 1) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
