"""Review before publish: a person approves, rejects or asks for another take of each launch video.

``extract_launches`` stands in for the upstream ETL step (this week's product launches). ``launch_video`` is a
``@task.seedance`` function mapped over them: it returns each video's request, and the task generates it like
``SeedanceGenerateVideoOperator`` (deferred, claimed, priced, with a manifest). ``review_and_publish`` then asks
a reviewer about each video in Airflow's Required Actions (Airflow 3.1 or later): the page shows the prompt,
gateway, model, cost and a link that plays the video, and the reviewer answers

- Approve: the video and its manifest (with the review) are copied to ``PUBLISHED`` and an event is recorded
  on that asset, so ``seedance_published_videos`` (below) starts on approved videos only;
- Reject, with a reason in the note: recorded in the video's manifest, nothing is published;
- Another take, with a note: a new paid generation with the note added to the prompt and a new seed, stored
  beside the first (``<name>.take-2.mp4``), then reviewed in turn; at most ``MAX_TAKES`` takes per video.

A review waits without a worker slot for ``REVIEW_HOURS``, then takes ``Reject``. Answer over the REST API with
``PATCH /api/v2/dags/seedance_review_and_publish/dagRuns/<run>/taskInstances/review.ask_1/<map index>/hitlDetails``
and ``{"chosen_options": ["Approve"], "params_input": {"note": ""}}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, ObjectStoragePath, task

from airflow_provider_seedance.operators.review import review_and_publish

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))
REVIEW_HOURS = float(os.environ.get("SEEDANCE_REVIEW_HOURS", "24"))
MAX_TAKES = 2
# Where approved videos go, and the asset the downstream DAG is scheduled on.
PUBLISHED = OUTPUT_BASE + "/published"
RUN_FOLDER = OUTPUT_BASE + "/review/{{ dag_run.run_after | ds }}/{{ run_id | replace(':', '-') }}"

log = logging.getLogger(__name__)


@task
def extract_launches() -> list[dict[str, str]]:
    """The upstream ETL step (a stand-in): this week's launches, one video each."""
    return [
        {"sku": "lamp-01", "product": "a brass desk lamp", "scene": "on an architect's desk at dusk"},
        {"sku": "kettle-02", "product": "a matte black kettle", "scene": "steaming in a sunlit kitchen"},
        {"sku": "chair-03", "product": "an oak lounge chair", "scene": "in a quiet reading corner"},
    ]


with DAG(
    dag_id="seedance_review_and_publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:

    @task.seedance(
        seedance_conn_id="seedance_default",
        model=MODEL,
        duration=5,
        resolution="480p",
        ratio="16:9",
        return_last_frame=True,
        output_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
        map_index_template="{{ task.output_path.rsplit('/', 1)[-1] }}",
    )
    def launch_video(launch: dict[str, str], run_folder: str) -> dict[str, Any]:
        return {
            "prompt": f"{launch['product']} {launch['scene']}, slow dolly-in, soft natural light",
            "output_path": f"{run_folder}/{launch['sku']}.mp4",
        }

    videos = launch_video.partial(run_folder=RUN_FOLDER).expand(launch=extract_launches())
    review_and_publish(
        videos,
        publish_path=PUBLISHED,
        max_takes=MAX_TAKES,
        default_answer="Reject",
        response_timeout=timedelta(hours=REVIEW_HOURS),
        seedance_conn_id="seedance_default",
        output_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
    )


# Retried: a read-only check whose try never started (a lost worker) must not fail the run.
@task(retries=2, retry_delay=timedelta(seconds=5))
def check_published(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
    """Each newly published video, checked against its published manifest (sha256) and its review."""
    checked = []
    for _, events in (triggering_asset_events or {}).items():
        for event in events:
            for video in (event.extra or {}).get("videos", []):
                path = ObjectStoragePath(video["uri"], conn_id=OUTPUT_CONN)
                manifest = json.loads(ObjectStoragePath(video["uri"] + ".json", conn_id=OUTPUT_CONN).read_text())
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                approved = (manifest.get("review") or {}).get("answer") == "approve"
                log.info(
                    "%s: %s, %s", video["uri"], "intact" if digest == video["sha256"] else "CORRUPT", manifest["review"]
                )
                checked.append({"video": video["uri"], "intact": digest == video["sha256"], "approved": approved})
    if not all(each["intact"] and each["approved"] for each in checked):
        raise ValueError(f"a published video is not intact or not approved: {checked}")
    return checked


with DAG(
    dag_id="seedance_published_videos",
    schedule=[Asset(PUBLISHED)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
):
    check_published()
