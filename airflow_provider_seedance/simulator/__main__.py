"""``python -m airflow_provider_seedance.simulator``: serve all six simulated gateways until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.faults import FaultKind, FaultPlan
from airflow_provider_seedance.simulator.runner import start_simulator

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

# Flags whose name differs from the config field they set; the others are the field with dashes.
_FLAG_OF_FIELD = {"url_ttl_seconds": "--url-ttl", "retry_after_seconds": "--retry-after"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_seedance.simulator",
        description="A local Seedance gateway simulator speaking all six gateway dialects.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--queue-seconds", type=float, default=2.0, help="simulated time a task stays queued")
    parser.add_argument("--run-seconds", type=float, default=8.0, help="simulated time a task runs")
    parser.add_argument("--url-ttl", type=float, default=86400.0, help="simulated lifetime of result URLs")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accept only these keys (repeatable)")
    parser.add_argument("--cache-dir", type=Path, help="keep rendered media here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0, help="seed for random faults")
    for kind in FaultKind:
        parser.add_argument(f"--{kind.value.replace('_', '-')}-rate", type=float, default=0.0, metavar="P")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on injected 429s")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of the 'slow' fault")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    """The arguments and the config they make; a value out of range exits with a usage error naming its flag."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: allowed 0-65535 (0 picks a free port)")
    try:
        return args, config_from(args)
    except ValidationError as exc:
        parser.error("; ".join(_flag_problem(error) for error in exc.errors()))


def _flag_problem(error: ErrorDetails) -> str:
    """``--time-scale -1.0: input should be greater than 0`` from one pydantic error."""
    loc = [str(part) for part in error["loc"]]
    if "rates" in loc[:-1]:  # ("rates", "<fault kind>")
        flag = f"--{loc[-1].replace('_', '-')}-rate"
    else:
        flag = _FLAG_OF_FIELD.get(loc[-1], f"--{loc[-1].replace('_', '-')}")
    return f"{flag} {error['input']}: {error['msg'][:1].lower()}{error['msg'][1:]}"


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    rates = {kind: getattr(args, f"{kind.value}_rate") for kind in FaultKind if getattr(args, f"{kind.value}_rate")}
    return SimulatorConfig(
        time_scale=args.time_scale,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        url_ttl_seconds=args.url_ttl,
        api_keys=frozenset(args.api_keys) if args.api_keys else None,
        cache_dir=args.cache_dir,
        faults=FaultPlan(
            seed=args.seed, rates=rates, retry_after_seconds=args.retry_after, slow_seconds=args.slow_seconds
        ),
    )


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args, config = parse_args(argv)
    running = start_simulator(config, host=args.host, port=args.port)
    print(f"Seedance simulator listening on {running.base_url}", flush=True)
    for name, url in running.gateway_urls.items():
        print(f"  {name:<13} {url}", flush=True)
    print(f"  stats         {running.base_url}/_simulator/stats", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    running.stop()


if __name__ == "__main__":
    main()
