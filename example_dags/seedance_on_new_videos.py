"""Runs when a Seedance task that declares the videos asset succeeds: checks each new video against its manifest.

The generating DAGs in these examples declare ``outlets=[VIDEOS]``, one asset for the whole output
prefix (a collection, not one asset per video). Airflow records an event on it each time such a task
succeeds, and the operator lists the videos that run stored in the event's extra (``videos``: uri,
sha256, size, gateway, model, costs), so this DAG learns which videos are new without listing the
bucket. Replace the check with your own follow-up step (transcoding, publishing, notifying).

Up to Airflow 3.3 an event that arrives while the scheduler is creating a run for the previous one is
consumed only with the asset's next event (docs/troubleshooting.md says why and what to do), so the last
video of a fan-out whose tasks finish together may be verified with the next night's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, ObjectStoragePath, task

from airflow_provider_seedance.outputs.layout import manifest_path

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
# The asset every generating example declares as its outlet: the prefix its videos are stored under.
VIDEOS = Asset(OUTPUT_BASE)


log = logging.getLogger(__name__)


# A read-only check, so retried: a try that never started (a lost worker, a busy metadata database) does
# not fail the run.
@task(retries=2, retry_delay=timedelta(seconds=5))
def verify_new_videos(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
    """Recompute each new video's sha256 and compare it with the asset event and the video's manifest."""
    checked = []
    for _, events in (triggering_asset_events or {}).items():
        for event in events:
            for video in (event.extra or {}).get("videos", []):
                checked.append(verify(video))
    log.info("%d new video(s) verified.", len(checked))
    return checked


def verify(video: dict[str, Any]) -> dict[str, Any]:
    uri = video["uri"]
    manifest = json.loads(manifest_path(ObjectStoragePath(uri, conn_id=OUTPUT_CONN)).read_text())
    digest = hashlib.sha256()
    with ObjectStoragePath(uri, conn_id=OUTPUT_CONN).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    intact = digest.hexdigest() == video["sha256"] == manifest["video"]["sha256"]
    log.info("%s: %s (%s, %s)", uri, "intact" if intact else "CORRUPT", video["gateway"], video["model"])
    if not intact:
        raise ValueError(f"{uri} does not match the sha256 in its asset event and manifest")
    return {"video": uri, "gateway": video["gateway"], "sha256": video["sha256"]}


with DAG(
    dag_id="seedance_on_new_videos",
    schedule=[VIDEOS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    verify_new_videos()
