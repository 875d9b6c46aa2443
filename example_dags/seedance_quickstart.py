"""Quickstart: one prompt, one video, stored in object storage with its manifest.

Needs a ``seedance_default`` connection (API key, gateway) and an ``aws_default`` connection for
the bucket in SEEDANCE_OUTPUT_BASE; ``make demo`` provides both locally.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
# Declared as the generating task's outlet: one asset for the whole prefix, not one per video.
VIDEOS = Asset(OUTPUT_BASE)
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))


with DAG(
    dag_id="seedance_quickstart",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
    params={"prompt": "A paper boat drifting down a rain-soaked street at dusk, neon reflections"},
) as dag:
    SeedanceGenerateVideoOperator(
        task_id="generate_video",
        model=MODEL,
        prompt="{{ params.prompt }}",
        duration=5,
        resolution="720p",
        ratio="16:9",
        output_path=OUTPUT_BASE + "/quickstart/{{ dag_run.run_after | ds }}/{{ run_id | replace(':', '-') }}.mp4",
        output_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
        outlets=[VIDEOS],  # seedance_on_new_videos runs on it, with the stored videos in its extra
    )
