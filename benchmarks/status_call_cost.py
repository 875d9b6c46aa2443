"""CPU of one status call in the triggerer's loop: our hook against the HTTP libraries under it.

Why: a per-task poll costs the triggerer about 2-4 ms of CPU (triggerer_load.py). This splits that
cost: 1,000 Ark status GETs at a time (as 1,000 waiting triggers send them), in rounds, through
  * ``hook``     ``SeedanceHook.aget_status`` (dialect call, shared client and semaphore, parse);
  * ``httpx``    a bare ``httpx.AsyncClient.get`` of the same URLs, same semaphore and pool size;
  * ``aiohttp``  a bare ``aiohttp.ClientSession.get`` (installed with the Amazon provider's s3fs),
for several pool sizes (the shared client's ``MAX_CONCURRENT_REQUESTS``). The simulator runs in its
own process; the numbers are this process's CPU seconds per call.
Run: ``.venv/bin/python benchmarks/status_call_cost.py`` (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
from triggerer_load import KEY, MODELS, start_simulator

ROUNDS = 3


async def cpu_per_call(calls: list, concurrency: int) -> float:
    """Milliseconds of CPU per call, sending ``calls`` (coroutine factories) all at once, ROUNDS times."""
    slots = asyncio.Semaphore(concurrency)

    async def one(call) -> None:
        async with slots:
            await call()

    await asyncio.gather(*(one(call) for call in calls[:100]))  # connections opened, caches warm
    started = time.process_time()
    for _ in range(ROUNDS):
        await asyncio.gather(*(one(call) for call in calls))
    return (time.process_time() - started) / (ROUNDS * len(calls)) * 1000


async def hook_cost(task_ids: list[str], pool: int) -> float:
    from airflow_provider_seedance.hooks import clients
    from airflow_provider_seedance.hooks.seedance import SeedanceHook

    clients.MAX_CONCURRENT_REQUESTS = pool  # the shared client is built in this loop, with this bound
    hook = SeedanceHook("seedance_bench")
    await hook.aconnection()
    return await cpu_per_call([lambda task_id=task_id: hook.aget_status(task_id) for task_id in task_ids], pool)


async def httpx_cost(urls: list[str], pool: int) -> float:
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {KEY}"}) as client:

        async def get(url: str) -> None:
            (await client.get(url)).raise_for_status()

        return await cpu_per_call([lambda url=url: get(url) for url in urls], pool)


async def aiohttp_cost(urls: list[str], pool: int) -> float:
    connector = aiohttp.TCPConnector(limit=pool)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {KEY}"}) as session:

        async def get(url: str) -> None:
            async with session.get(url) as response:
                response.raise_for_status()
                await response.read()

        return await cpu_per_call([lambda url=url: get(url) for url in urls], pool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--pools", type=int, nargs="+", default=[32, 8, 1])
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="seedance-bench-"))
    log_dir = tempfile.mkdtemp(prefix="seedance-status-cost-")
    process, urls = start_simulator(3600, Path(log_dir))
    try:
        os.environ["AIRFLOW_CONN_SEEDANCE_BENCH"] = json.dumps(
            {"conn_type": "seedance", "host": urls["ark"], "password": KEY, "extra": {"gateway": "ark"}}
        )
        from airflow_provider_seedance.hooks.seedance import SeedanceHook
        from airflow_provider_seedance.models import VideoRequest

        hook = SeedanceHook("seedance_bench")
        logging.disable(logging.INFO)  # no submit lines; the status path logs nothing per call
        task_ids = [
            hook.submit(VideoRequest(model=MODELS["ark"], prompt=f"cost {i}")).task_id for i in range(args.calls)
        ]
        status_urls = [f"{urls['ark']}/contents/generations/tasks/{task_id}" for task_id in task_ids]
        print(f"load average: {os.getloadavg()}")
        print("| pool | hook.aget_status | httpx GET | aiohttp GET |  (ms of CPU per call)")
        for pool in args.pools:
            hook_ms = asyncio.run(hook_cost(task_ids, pool))
            httpx_ms = asyncio.run(httpx_cost(status_urls, pool))
            aiohttp_ms = asyncio.run(aiohttp_cost(status_urls, pool))
            print(f"| {pool} | {hook_ms:.2f} | {httpx_ms:.2f} | {aiohttp_ms:.2f} |", flush=True)
        print(f"load average: {os.getloadavg()}")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
