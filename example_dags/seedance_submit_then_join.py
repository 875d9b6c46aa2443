"""Submit early, join later: the generations start first, other work runs meanwhile, a sensor stores each video.

``submit`` maps over the shots with ``wait_for_completion=False``: each task submits its generation,
claims it beside its output (so a rerun resumes it instead of paying again) and ends within seconds,
returning the gateway, the remote task id and the output path. ``prepare_music`` stands for the work
that does not need the videos. ``wait`` maps a ``SeedanceGenerationSensor`` over what ``submit``
returned: each waits in the triggerer for its generation, then stores the video, its last frame and its
manifest, as the operator would have. ``publish`` runs once every video is there.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, task

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.sensors.seedance import SeedanceGenerationSensor

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))
# Declared as the storing task's outlet: one asset for the whole prefix, not one per video.
VIDEOS = Asset(OUTPUT_BASE)
FOLDER = OUTPUT_BASE + "/trailer/{{ dag_run.run_after | ds }}"
SHOTS = {
    "opening": "A lighthouse at dawn, waves rolling in, slow aerial push",
    "middle": "The lighthouse keeper climbing a spiral staircase, warm lamplight",
    "closing": "The beam sweeping over a calm night sea, stars overhead",
}

log = logging.getLogger(__name__)


@task
def prepare_music() -> str:
    """Work that does not need the videos runs while they are generated (a stand-in)."""
    return "score-v1"


@task
def publish(videos: list[dict[str, Any]], music: str) -> list[str]:
    """Runs once every sensor has stored its video."""
    for video in videos:
        log.info(
            "Publishing %s (%s bytes, %s) with %s.", video["video_path"], video["video_size"], video["gateway"], music
        )
    return [video["video_path"] for video in videos]


with DAG(
    dag_id="seedance_submit_then_join",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    submitted = SeedanceGenerateVideoOperator.partial(
        task_id="submit",
        model=MODEL,
        duration=5,
        resolution="720p",
        return_last_frame=True,
        output_conn_id=OUTPUT_CONN,
        wait_for_completion=False,
    ).expand_kwargs([{"prompt": prompt, "output_path": f"{FOLDER}/{shot}.mp4"} for shot, prompt in SHOTS.items()])
    stored = SeedanceGenerationSensor.partial(
        task_id="wait",
        output_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
        outlets=[VIDEOS],  # seedance_on_new_videos runs on it, with the stored videos in its extra
    ).expand(output_path=submitted.output.map(lambda result: result["output_path"]))
    publish(stored.output, prepare_music())
