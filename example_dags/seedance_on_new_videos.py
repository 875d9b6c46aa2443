"""Runs whenever a Seedance operator stores a new video: it checks each new video against its manifest.

Every ``SeedanceGenerateVideoOperator`` adds an asset event to the ``seedance_videos`` asset alias,
one per stored video, so this DAG is scheduled by new videos, whichever DAG made them. Replace the
check with your own follow-up step (transcoding, publishing, notifying).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, AssetAlias, ObjectStoragePath, task

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")


log = logging.getLogger(__name__)


@task
def verify_new_videos(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
    """Recompute each new video's sha256 and compare it with its manifest."""
    checked = []
    for asset, events in (triggering_asset_events or {}).items():
        for event in events:
            uri = event.asset.uri if hasattr(event, "asset") else asset.uri
            video = ObjectStoragePath(uri, conn_id=OUTPUT_CONN)
            manifest = json.loads(ObjectStoragePath(uri + ".json", conn_id=OUTPUT_CONN).read_text())
            digest = hashlib.sha256()
            with video.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                    digest.update(chunk)
            intact = digest.hexdigest() == manifest["video"]["sha256"]
            log.info("%s: %s (%s, %s)", uri, "intact" if intact else "CORRUPT", manifest["gateway"], manifest["model"])
            if not intact:
                raise ValueError(f"{uri} does not match the sha256 in its manifest")
            checked.append({"video": uri, "gateway": manifest["gateway"], "sha256": manifest["video"]["sha256"]})
    return checked


with DAG(
    dag_id="seedance_on_new_videos",
    schedule=[AssetAlias("seedance_videos")],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    verify_new_videos()
