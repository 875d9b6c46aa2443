"""Load check for the simulator: many tasks in flight, then as many status polls per second as it serves.

The simulator runs in its own process (as it does for the demo and DAG tests) so the load client does
not share its interpreter. Run: ``.venv/bin/python benchmarks/simulator_load.py`` (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

MODEL = "dreamina-seedance-2-0-260128"
HEADERS = {"Authorization": "Bearer sk-load"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    # Real-time clock with long tasks, so every task stays in flight for the whole run.
    command = [sys.executable, "-m", "airflow_provider_seedance.simulator", "--port", "0"]
    command += ["--queue-seconds", "30", "--run-seconds", "600"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    base_url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
    for _ in range(7):
        process.stdout.readline()
    return process, base_url


async def submit_all(client: httpx.AsyncClient, url: str, count: int, concurrency: int) -> list[str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> str:
        async with gate:
            body = {"model": MODEL, "content": [{"type": "text", "text": f"load test clip {index}"}]}
            response = await client.post(url, json=body)
            response.raise_for_status()
            return response.json()["id"]

    return await asyncio.gather(*(one(i) for i in range(count)))


async def poll_for(
    client: httpx.AsyncClient, url: str, task_ids: list[str], seconds: float, concurrency: int
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        index = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(f"{url}/{task_ids[index % len(task_ids)]}")
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            index += concurrency

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies


async def run(tasks: int, seconds: float, concurrency: int) -> None:
    process, base_url = start_simulator()
    try:
        url = f"{base_url}/ark/api/v3/contents/generations/tasks"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(headers=HEADERS, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            task_ids = await submit_all(client, url, tasks, concurrency)
            submit_seconds = time.perf_counter() - started
            cpu_before = cpu_seconds(process.pid)
            latencies = await poll_for(client, url, task_ids, seconds, concurrency)
            server_cpu = (cpu_seconds(process.pid) - cpu_before) / seconds
        stats = httpx.get(f"{base_url}/_simulator/stats").json()["gateways"]["ark"]
        health = httpx.get(f"{base_url}/_simulator/health").json()
    finally:
        process.terminate()
        process.wait(timeout=20)
    latencies.sort()
    print(f"tasks in flight:        {health['tasks']} (submitted in {submit_seconds:.1f} s)")
    print(f"status polls:           {len(latencies)} in {seconds:.0f} s = {len(latencies) / seconds:.0f} polls/s")
    print(
        f"poll latency p50 / p99: {statistics.median(latencies) * 1000:.1f} ms / "
        f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    print(f"simulator counted:      {stats['submissions']} submissions, {stats['status_polls']} status polls")
    print(f"simulator CPU while polled: {server_cpu:.0%} of one core (below 100%: the client was the limit)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
