"""Storyboard: a sequence of shots where each one starts from the previous shot's last frame.

Each shot asks for ``return_last_frame``; a small task turns the stored last frame into a data: URI,
which becomes the next shot's ``first_frame``, so the shots join up visually. (Data URIs work on
gateways that accept inline images: Ark, imini, aiproxy, InfinityBlue.)
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from _settings import MODEL, OUTPUT_BASE, OUTPUT_CONN, POLL_SECONDS
from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

SHOTS = [
    "A lighthouse keeper climbs a spiral staircase at dusk, lantern in hand",
    "The keeper lights the great lamp; the beam sweeps across a stormy sea",
    "Far out at sea, a small fishing boat turns toward the sweeping beam",
]
FOLDER = OUTPUT_BASE + "/storyboard/{{ dag_run.run_after | ds }}"


@task
def last_frame_as_data_uri(result: dict[str, Any]) -> str:
    """The stored last frame of a shot, inline, ready to be the next shot's first frame."""
    frame = ObjectStoragePath(result["last_frame_path"], conn_id=OUTPUT_CONN)
    return "data:image/png;base64," + base64.b64encode(frame.read_bytes()).decode()


with DAG(
    dag_id="seedance_storyboard",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    previous_frame = None
    for number, prompt in enumerate(SHOTS, start=1):
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
            poll_interval=POLL_SECONDS,
        )
        if number < len(SHOTS):
            previous_frame = last_frame_as_data_uri.override(task_id=f"frame_after_shot_{number}")(shot.output)
