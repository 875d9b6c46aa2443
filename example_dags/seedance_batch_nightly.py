"""One batch task, many short generations: a night of social clips without a task instance per clip.

``build_requests`` turns a list of topics and styles into one request per clip (prompt and output path;
the model and length every clip shares go to ``defaults``). ``check_budget`` prices the whole night
before anything is paid for. ``generate`` is one ``SeedanceBatchGenerateVideoOperator``: it keeps at
most ``max_in_flight`` clips queued or running at the gateway, waits for them in the triggerer (one
worker slot only while it submits or stores), stores each clip with its manifest, and returns one report
per clip. A clip that fails never stops the others; the task fails once every other clip is stored,
naming what failed, and a retry submits only the clips still without a video. ``summarize`` reads
that report (``all_done``: it runs when some clips failed, too), then fails when any clip has no video:
as the last task it decides the run's state, so the run ends failed and alerts on run state fire.

Use mapped tasks (see seedance_fanout_from_etl) when each video deserves its own retries, log and row
in the grid; use a batch like this when there are hundreds of short clips and Airflow's per-task
overhead would take longer than the gateway. Needs a ``seedance_default`` connection.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, Asset, task

from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
from airflow_provider_seedance.operators.budget import SeedanceBudgetOperator

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
# Declared as the generating task's outlet: one asset for the whole prefix, not one per video.
VIDEOS = Asset(OUTPUT_BASE)
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))
BUDGET = float(os.environ.get("SEEDANCE_BUDGET", "5"))  # in USD, for the whole night
MAX_IN_FLIGHT = int(os.environ.get("SEEDANCE_MAX_IN_FLIGHT", "20"))
# What every clip shares.
EVERY_CLIP = {"model": MODEL, "duration": 4, "resolution": "480p", "ratio": "9:16"}
TOPICS = ("a lighthouse in a storm", "a street market at dawn", "a paper plane over rooftops", "koi in a pond")
STYLES = ("watercolour", "claymation", "film noir")
RUN_FOLDER = OUTPUT_BASE + "/nightly/{{ dag_run.run_after | ds }}"

log = logging.getLogger(__name__)


@task
def build_requests(run_folder: str) -> list[dict[str, Any]]:
    """One request per topic and style, each with its own output path."""
    return [
        {
            "prompt": f"{topic}, {style} style, gentle camera move",
            "output_path": f"{run_folder}/{number:03d}-{style}.mp4",
        }
        for number, (topic, style) in enumerate((topic, style) for topic in TOPICS for style in STYLES)
    ]


@task(trigger_rule="all_done")
def summarize(report: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Counts, cost and the failed clips with their causes, from the batch's per-clip report."""
    report = report or []
    failed = [entry for entry in report if entry["status"] == "failed"]
    for entry in failed:
        log.warning("No video for %s: %s", entry["output_path"], entry["cause"])
    # What this run spent: a skipped clip's costs are those of the run that made it.
    costs = [entry.get("actual_cost") or entry.get("estimated_cost") or 0.0 for entry in report if entry.get("paid")]
    summary = {
        "stored": sum(entry["status"] == "stored" for entry in report),
        "skipped": sum(entry["status"] == "skipped" for entry in report),
        "failed": len(failed),
        "cost": round(sum(costs), 4),
    }
    log.info("Summary: %s", summary)
    if failed or not report:  # no report: the budget check or the batch itself failed before any clip
        # The last task decides the run's state: failing here makes the run end failed, as alerts expect.
        raise AirflowFailException(
            f"{len(failed)} of {len(report)} clips made no video (causes above). Next: fix what each cause names, "
            "then clear the generate task; stored clips are returned, not paid again."
        )
    return summary


with DAG(
    dag_id="seedance_batch_nightly",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    requests = build_requests(RUN_FOLDER)
    checked = SeedanceBudgetOperator(task_id="check_budget", requests=requests, defaults=EVERY_CLIP, budget=BUDGET)
    clips = SeedanceBatchGenerateVideoOperator(
        task_id="generate",
        requests=checked.output,
        defaults=EVERY_CLIP,
        max_in_flight=MAX_IN_FLIGHT,
        output_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
        outlets=[VIDEOS],  # seedance_on_new_videos runs on it, with the stored videos in its extra
    )
    summarize(clips.output)
