"""The DAG the scale test runs: the same generations as mapped tasks, or as one batch task per connection."""

from __future__ import annotations

import argparse
from typing import Any

DAG_ID = "seedance_scale_test"

_HEADER = """
from datetime import datetime, timedelta

from airflow.sdk import DAG

ITEMS = {items!r}
SHARED = dict(
    output_conn_id={output_conn_id!r},
    poll_interval={poll_interval!r},
    retries=3,
    retry_delay=timedelta(seconds=2),
)
"""

MAPPED = """
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, max_active_tasks=len(ITEMS)):
    SeedanceGenerateVideoOperator.partial(task_id="generate", deferrable=True, **SHARED).expand_kwargs(ITEMS)
"""

# One batch task per connection, since a batch shares one.
BATCH = """
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for conn_id in sorted({{item["seedance_conn_id"] for item in ITEMS}}):
        SeedanceBatchGenerateVideoOperator(
            task_id=f"generate_{{conn_id}}",
            seedance_conn_id=conn_id,
            requests=[
                {{name: value for name, value in item.items() if name != "seedance_conn_id"}}
                for item in ITEMS
                if item["seedance_conn_id"] == conn_id
            ],
            max_in_flight={max_in_flight!r},
            **SHARED,
        )
"""


def items(generations: int, gateways: list[str], models: dict[str, str], output_base: str) -> list[dict[str, Any]]:
    """One request per generation, round-robin over the gateways; every prompt (so every video) differs."""
    requests = []
    for index in range(generations):
        gateway = gateways[index % len(gateways)]
        requests.append(
            {
                "seedance_conn_id": f"scale_{gateway}",
                "model": models[gateway],
                "prompt": f"scale test clip {index}: a paper boat drifting on a {gateway} canal",
                "duration": 4,
                "resolution": "480p",
                "output_path": f"{output_base}/{index:04d}-{gateway}.mp4",
            }
        )
    return requests


def render_dag(args: argparse.Namespace, output_base: str, models: dict[str, str], output_conn_id: str) -> str:
    """The DAG file's source for ``args.mode``."""
    header = _HEADER.format(
        items=items(args.generations, args.gateways, models, output_base),
        output_conn_id=output_conn_id if output_base.startswith("s3://") else None,
        poll_interval=args.poll_interval,
    )
    body = MAPPED if args.mode == "mapped" else BATCH
    return header + body.format(dag_id=DAG_ID, max_in_flight=args.max_in_flight)
