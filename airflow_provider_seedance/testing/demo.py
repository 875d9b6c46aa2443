"""``make demo``: the fan-out example DAG end to end, on this machine, with nothing to sign up for.

Starts the gateway simulator and an S3-protocol server (moto), a real Airflow (api-server,
scheduler, dag-processor, triggerer) with connections to both, runs ``seedance_fanout_from_etl``
(six image-to-video product clips over three gateways, each from a product image the DAG first
writes to S3 and delivers as a presigned URL, waiting in the triggerer), copies the results into
``./demo-output/`` and prints what was made. Everything it started is stopped at the end, also on
Ctrl-C or failure. Needs the ``demo`` extra (simulator + moto server).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator import RunningSimulator

DAG_ID = "seedance_fanout_from_etl"
BUCKET = "seedance-demo"
API_KEY = "sk-demo-simulated"
GATEWAY_SECONDS = 10  # simulated queue + run time of one generation


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_seedance.testing.demo", description=__doc__)
    parser.add_argument("--dags-folder", type=Path, default=Path("example_dags"))
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    parser.add_argument("--time-scale", type=float, default=0.5, help="real seconds per simulated second")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the DAG run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    # Ctrl-C and SIGTERM both unwind the ExitStack below, which stops every process and server we
    # started (SIGINT explicitly too: a shell may start background jobs with it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        print("Starting the gateway simulator and the S3 server ...", flush=True)
        simulator = stack.enter_context(_simulator(args.time_scale))
        endpoint = _s3_server(stack)
        workdir = Path(tempfile.mkdtemp(prefix="seedance-demo-"))
        env = _environment(simulator, endpoint)
        print("Starting Airflow (api-server, scheduler, dag-processor, triggerer) ...", flush=True)
        from airflow_provider_seedance.testing import LocalAirflow

        airflow = stack.enter_context(LocalAirflow(workdir / "airflow", args.dags_folder.resolve(), env))
        airflow.cli("pools", "set", "seedance_api", "4", "Concurrent Seedance generations", "--include-deferred")
        print(f"Airflow is up at {airflow.base_url} ({time.monotonic() - started:.0f} s); running {DAG_ID} ...")
        airflow.wait_for_dag(DAG_ID)
        airflow.trigger(DAG_ID)
        state = airflow.wait_for_run(DAG_ID, timeout=args.timeout)
        if state != "success":
            raise SystemExit(f"{DAG_ID} ended {state}; logs are kept in {airflow.home}")
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        rows = _collect(endpoint, args.output)
        _print_table(rows, args.output)
        stats = simulator.simulator.stats.snapshot()["tasks"]
        submissions = sum(task.get("submissions", 0) for task in stats.values())
        print(f"\n{len(rows)} videos, {submissions} paid submissions, {time.monotonic() - started:.0f} s; stopping ...")
    print(f"Done in {time.monotonic() - started:.0f} s.")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _simulator(time_scale: float) -> RunningSimulator:
    from airflow_provider_seedance.simulator import SimulatorConfig, start_simulator

    return start_simulator(SimulatorConfig(time_scale=time_scale, queue_seconds=2, run_seconds=GATEWAY_SECONDS - 2))


def _s3_server(stack: ExitStack) -> str:
    from moto.server import ThreadedMotoServer

    from airflow_provider_seedance.testing.s3 import s3_client

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stack.callback(server.stop)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    return endpoint


def _environment(simulator: Any, endpoint: str) -> dict[str, str]:
    """Connections for the six simulated gateways and the S3 server, and the example DAGs' settings."""
    from airflow_provider_seedance.testing.connections import simulated_gateway_connections
    from airflow_provider_seedance.testing.s3 import s3_connection

    env = simulated_gateway_connections(simulator.gateway_urls, API_KEY, demo_prices=True)
    env["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = env["AIRFLOW_CONN_SEEDANCE_ARK"]
    env["AIRFLOW_CONN_AWS_DEFAULT"] = s3_connection(endpoint)
    env.update(
        {
            "SEEDANCE_OUTPUT_BASE": f"s3://{BUCKET}/videos",
            "SEEDANCE_OUTPUT_CONN": "aws_default",
            "SEEDANCE_POLL_SECONDS": "2",
            "SEEDANCE_POOL": "seedance_api",
        }
    )
    return env


def _collect(endpoint: str, output: Path) -> list[dict[str, Any]]:
    """Copy everything the DAG stored into ``output``; one row per video, from its manifest."""
    from airflow_provider_seedance.outputs.layout import manifest_uri
    from airflow_provider_seedance.testing.s3 import s3_client

    client = s3_client(endpoint)
    output.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in client.list_objects_v2(Bucket=BUCKET, Prefix="videos/").get("Contents", []):
        target = output / Path(item["Key"]).name
        client.download_file(BUCKET, item["Key"], str(target))
        if target.suffix == ".mp4":
            manifest = json.loads(client.get_object(Bucket=BUCKET, Key=manifest_uri(item["Key"]))["Body"].read())
            rows.append(_row(target, manifest))
    return sorted(rows, key=lambda row: row["file"])


def _row(video: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert container.duration is not None, f"{video.name} has no duration"  # the simulator's MP4s all do
        seconds = container.duration / 1_000_000
        size = f"{stream.width}x{stream.height}"
    return {
        "file": video.name,
        "prompt": manifest["request"].get("prompt", ""),
        "gateway": manifest["gateway"],
        "first frame": ", ".join(
            f"{item['source'].rsplit('/', 1)[-1]} as {item['delivered_as']}" for item in manifest.get("inputs", [])
        ),
        "task": manifest["remote_task_id"],
        "seconds": f"{seconds:.1f}",
        "size": size,
        "bytes": f"{manifest['video']['size']:,}",
        "stored": manifest["video"]["uri"],
    }


def _print_table(rows: list[dict[str, Any]], output: Path) -> None:
    # Widths fit the longest cell (prompts are cut at 40 characters); the stored path comes last, whole.
    columns = ["prompt", "gateway", "first frame", "task", "seconds", "size", "bytes", "stored"]
    cells = [{name: _cut(str(row[name]), 40 if name == "prompt" else 200) for name in columns} for row in rows]
    widths = {name: max([len(name), *(len(cell[name]) for cell in cells)]) for name in columns}
    print()
    print("  ".join(name.ljust(widths[name]) for name in columns))
    for cell in cells:
        print("  ".join(cell[name].ljust(widths[name]) for name in columns).rstrip())
    print(
        f"\nCopied to {output.resolve()}/ (videos, manifests, the product images they started from, catalog.json, "
        "catalog.csv, report.html)."
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("Interrupted; everything the demo started has been stopped.") from None
