"""Stream a 200 MB video from an HTTP server into S3 (moto's server mode): speed and peak memory.

Three ways of moving the same bytes, each in a fresh child process so peak RSS is its own:
  * ``raw-boto3``   boto3 ``upload_file`` of the file from local disk (the speed reference);
  * ``naive``       hook stream -> ``ObjectStoragePath.open("wb")`` (s3fs uploads parts one by one);
  * ``provider``    hook stream -> ``storage.store_stream`` (concurrent multipart, bounded memory).
Run: ``.venv/bin/python benchmarks/storage_transfer.py [--megabytes 200]`` (see RESULTS.md).
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

BUCKET = "bench"


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


def child(mode: str, endpoint: str, url: str, path: str) -> None:
    """One measured transfer; prints a JSON line with seconds and peak-RSS growth."""
    os.environ["AIRFLOW_CONN_AWS_BENCH"] = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
    )
    os.environ["AIRFLOW_CONN_SEEDANCE_BENCH"] = json.dumps(
        {"conn_type": "seedance", "password": "k", "extra": {"gateway": "ark"}}
    )
    import boto3
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_seedance.hooks.seedance import SeedanceHook
    from airflow_provider_seedance.models import TaskState, TaskStatus
    from airflow_provider_seedance.storage import store_stream

    hook = SeedanceHook("seedance_bench")
    status = TaskStatus(task_id="bench", state=TaskState.SUCCEEDED, video_url=url)
    destination = ObjectStoragePath(f"s3://{BUCKET}/{mode}.mp4", conn_id="aws_bench")
    S3Hook(aws_conn_id="aws_bench").get_conn()  # credentials and clients loaded before the baseline
    destination.fs  # noqa: B018 - build the s3fs filesystem before the baseline too
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    if mode == "raw-boto3":
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.upload_file(path, BUCKET, f"{mode}.mp4")
    elif mode == "naive":
        with hook.open_artifact(status) as stream, destination.open("wb") as out:
            for chunk in stream.chunks:
                out.write(chunk)
    else:
        store_stream(lambda offset: hook.open_artifact(status, "video", offset), destination)
    seconds = time.perf_counter() - started
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_growth_mb": _peak_rss_mb() - baseline}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "ENDPOINT", "URL", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "video.mp4"
        video.write_bytes(os.urandom(args.megabytes * 1024 * 1024))
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
            import boto3

            boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            ).create_bucket(Bucket=BUCKET)
            url = f"http://127.0.0.1:{http_port}/video.mp4"
            results = []
            for mode in ("raw-boto3", "naive", "provider"):
                output = subprocess.run(
                    [sys.executable, __file__, "--child", mode, endpoint, url, str(video)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "AIRFLOW_HOME": folder},
                ).stdout
                results.append(json.loads(output.strip().splitlines()[-1]))
        finally:
            for server in servers:
                server.terminate()
                server.wait()
    reference = results[0]["seconds"]
    print(f"{args.megabytes} MB from a local HTTP server into moto's S3 server:")
    for result in results:
        speed = args.megabytes / result["seconds"]
        print(
            f"  {result['mode']:<10} {result['seconds']:6.2f} s  {speed:6.1f} MB/s  "
            f"{reference / result['seconds']:4.2f}x raw boto3  peak RSS growth {result['peak_growth_mb']:6.1f} MB"
        )


if __name__ == "__main__":
    main()
