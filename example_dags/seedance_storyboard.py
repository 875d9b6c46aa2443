"""Storyboard: a sequence of shots where each one starts from the previous shot's last frame.

Each shot asks for ``return_last_frame``; the stored last frame's path (from the shot's XCom) becomes
the next shot's ``first_frame``, so the shots join up visually. The operator reads that PNG from
storage and hands the gateway a presigned URL (or an upload, an asset or inline data, whatever the
gateway takes), so no image bytes pass through XCom.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))


SHOTS = [
    "A lighthouse keeper climbs a spiral staircase at dusk, lantern in hand",
    "The keeper lights the great lamp; the beam sweeps across a stormy sea",
    "Far out at sea, a small fishing boat turns toward the sweeping beam",
]
FOLDER = OUTPUT_BASE + "/storyboard/{{ dag_run.run_after | ds }}"


with DAG(
    dag_id="seedance_storyboard",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    previous_shot = None
    for number, prompt in enumerate(SHOTS, start=1):
        previous_frame = (
            f"{{{{ ti.xcom_pull(task_ids='{previous_shot.task_id}')['last_frame_path'] }}}}" if previous_shot else None
        )
        shot = SeedanceGenerateVideoOperator(
            task_id=f"shot_{number}",
            model=MODEL,
            prompt=prompt,
            first_frame=previous_frame,
            return_last_frame=True,
            duration=5,
            resolution="720p",
            ratio="16:9" if previous_frame is None else "adaptive",
            output_path=f"{FOLDER}/shot_{number}.mp4",
            output_conn_id=OUTPUT_CONN,
            media_conn_id=OUTPUT_CONN,
            poll_interval=POLL_SECONDS,
        )
        if previous_shot is not None:
            previous_shot >> shot
        previous_shot = shot
