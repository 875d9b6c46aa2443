"""Stream videos from an HTTP server into S3 (moto's server mode): speed and peak memory, side by side.

Two cases, each moved two ways:
  * cases: a 200 MB video (twice), and 100 videos of 10 MB one after another;
  * ``raw-boto3``  boto3 ``upload_file`` of the same bytes from local disk, one client (the reference);
  * ``provider``   the hook's download -> ``storage.store_stream`` (S3Hook.load_file_obj over the
                   hashing, resumable reader), as the operator stores a video.
The machine is shared, so the ways take turns in rounds (raw, provider, raw, provider, ...; the 100
videos as 4 rounds of 25) and each case compares their total times. Every round runs in a fresh
child process, so its peak RSS is its own; both ways build their S3 client before the clock starts
(the provider by storing one tiny video). CPU is the transfer process's, plus what moto and the HTTP
server spent meanwhile: on a busy machine the way that needs more CPU loses more time. 1 MB = 2^20 bytes.
Run: ``.venv/bin/python benchmarks/storage_transfer.py`` (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_seedance.testing.s3 import s3_client, s3_connection

BUCKET = "bench"
WAYS = ("raw-boto3", "provider")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(way: str, endpoint: str, base_url: str, folder: str, name: str, copies: int) -> None:
    """Move ``name`` ``copies`` times one way; prints a JSON line with seconds and peak-RSS growth."""
    os.environ["AIRFLOW_CONN_AWS_BENCH"] = s3_connection(endpoint)
    os.environ["AIRFLOW_CONN_SEEDANCE_BENCH"] = json.dumps(
        {"conn_type": "seedance", "password": "k", "extra": {"gateway": "ark"}}
    )
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.hooks.seedance import SeedanceHook
    from airflow_provider_seedance.models import TaskState, TaskStatus
    from airflow_provider_seedance.outputs.store import store_stream

    hook = SeedanceHook("seedance_bench")

    def store(url: str, key: str) -> None:
        status = TaskStatus(task_id="bench", state=TaskState.SUCCEEDED, video_url=url)
        destination = ObjectStoragePath(f"s3://{BUCKET}/{key}", conn_id="aws_bench")
        store_stream(lambda offset: hook.open_artifact(status, "video", offset), destination)

    client = s3_client(endpoint)
    store(f"{base_url}/warm-up.mp4", "warm-up.mp4")  # builds the provider's S3 client, outside the clock
    baseline = _peak_rss_mb()
    started, cpu = time.perf_counter(), _cpu_seconds()
    for copy in range(copies):
        key = f"{way}/{copy}-{name}"
        if way == "raw-boto3":
            client.upload_file(str(Path(folder) / name), BUCKET, key)
        else:
            store(f"{base_url}/{name}", key)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    print(json.dumps({"way": way, "seconds": seconds, "cpu": cpu, "peak_growth_mb": _peak_rss_mb() - baseline}))


def _measure(way: str, endpoint: str, base_url: str, folder: str, name: str, copies: int, servers: list) -> dict:
    """One round in a fresh process, with the CPU the servers (moto, HTTP) spent meanwhile."""
    before = sum(_server_cpu(server) for server in servers)
    output = subprocess.run(
        [sys.executable, __file__, "--child", way, endpoint, base_url, folder, name, str(copies)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AIRFLOW_HOME": folder},
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "server_cpu": sum(_server_cpu(server) for server in servers) - before}


def _server_cpu(server: subprocess.Popen) -> float:
    import psutil

    times = psutil.Process(server.pid).cpu_times()
    return times.user + times.system


def _empty_bucket(client) -> None:
    """moto keeps objects in memory: drop each way's before the next one runs."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200, help="size of the big video")
    parser.add_argument("--big-rounds", type=int, default=2, help="rounds of the big video per way")
    parser.add_argument("--files", type=int, default=100, help="how many small videos per way")
    parser.add_argument("--file-megabytes", type=int, default=10, help="size of each small video")
    parser.add_argument("--small-rounds", type=int, default=4, help="rounds the small videos are split into")
    parser.add_argument("--child", nargs=6, metavar=("WAY", "ENDPOINT", "BASE_URL", "FOLDER", "NAME", "COPIES"))
    args = parser.parse_args()
    if args.child:
        way, endpoint, base_url, folder, name, copies = args.child
        child(way, endpoint, base_url, folder, name, int(copies))
        return
    # (label, file, its size, copies per round, rounds)
    cases = [
        (f"{args.megabytes} MB x {args.big_rounds}", "big.mp4", args.megabytes, 1, args.big_rounds),
        (
            f"{args.file_megabytes} MB x {args.files}",
            "small.mp4",
            args.file_megabytes,
            args.files // args.small_rounds,
            args.small_rounds,
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "warm-up.mp4").write_bytes(os.urandom(1024))
        for _, name, megabytes, _, _ in cases:
            (Path(folder) / name).write_bytes(os.urandom(megabytes * 1024 * 1024))
        s3_port, http_port = _free_port(), _free_port()
        servers = [
            subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(s3_port)], stderr=subprocess.DEVNULL),
            subprocess.Popen(
                [sys.executable, "-m", "http.server", str(http_port), "-b", "127.0.0.1", "-d", folder],
                stderr=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            ),
        ]
        try:
            _wait_for_port(s3_port)
            _wait_for_port(http_port)
            endpoint = f"http://127.0.0.1:{s3_port}"
            client = s3_client(endpoint)
            client.create_bucket(Bucket=BUCKET)
            base_url = f"http://127.0.0.1:{http_port}"
            rounds: dict[str, dict[str, list[dict]]] = {}
            for label, name, _, copies, count in cases:
                for _ in range(count):
                    for way in WAYS:
                        result = _measure(way, endpoint, base_url, folder, name, copies, servers)
                        rounds.setdefault(label, {}).setdefault(way, []).append(result)
                        _empty_bucket(client)
        finally:
            for server in servers:
                server.terminate()
                server.wait()
    print("From a local HTTP server into moto's S3 server (its own process):")
    for label, _, megabytes, copies, count in cases:
        reference = sum(result["seconds"] for result in rounds[label]["raw-boto3"])
        for way in WAYS:
            results = rounds[label][way]
            seconds = sum(result["seconds"] for result in results)
            peak = max(result["peak_growth_mb"] for result in results)
            cpu = sum(result["cpu"] for result in results)
            server_cpu = sum(result["server_cpu"] for result in results)
            each = ", ".join(f"{result['seconds']:.2f}" for result in results)
            print(
                f"  {label:<12} {way:<10} {seconds:6.2f} s  {megabytes * copies * count / seconds:6.1f} MB/s  "
                f"{reference / seconds:4.2f}x raw boto3  peak RSS growth {peak:5.1f} MB  "
                f"CPU {cpu:5.2f} s + servers {server_cpu:5.2f} s  (rounds: {each} s)"
            )


if __name__ == "__main__":
    main()
