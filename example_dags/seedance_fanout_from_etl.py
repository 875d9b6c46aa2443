"""Fan-out from ETL: one product video per CSV row, starting from the product's image in S3.

``write_product_images`` stands in for the upstream ETL step: it writes one product image per row
(data/products.csv, shipped beside this file) to object storage. ``build_prompts`` turns each row into
generation arguments whose ``first_frame`` is that image's ``s3://`` URI: the operator reads it through
``media_conn_id``, checks it against the gateway's limits and hands the gateway a presigned URL (or
whatever that gateway takes), so no bytes travel through XCom. ``generate`` maps over the rows with
``expand_kwargs``, one paid image-to-video generation per row, running in the ``seedance_api`` pool.
Before it, ``check_budget`` prices the whole night from each connection's prices and fails the run when
the total is above ``SEEDANCE_BUDGET`` (or a row cannot be priced); ``generate`` expands over its output,
so a run over budget submits nothing.
Create that pool with include_deferred so waiting generations count against it (the cap on
concurrent paid generations):

    airflow pools set seedance_api 4 "Concurrent Seedance generations" --include-deferred

Each generation also stores its clip's last frame. ``build_catalog`` collects every manifest into
catalog.json and catalog.csv, and writes report.html next to the videos: one self-contained page with
a player per clip (its last frame as the poster), the prompt, gateway, model, settings, cost and
generation time, the failures with their causes, and the run's totals. It links the videos relatively,
so it works served from the bucket or from a downloaded copy of the folder. Each row names its
gateway: connection ``seedance_<gateway>``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, Asset, ObjectStoragePath, task
from PIL import Image, ImageDraw

from airflow_provider_seedance.operators.budget import SeedanceBudgetOperator
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.outputs.layout import failure_path
from airflow_provider_seedance.outputs.report import render_report
from airflow_provider_seedance.outputs.store import write_text

# Settings from the environment (SEEDANCE_*), with defaults that work with `make demo`; each example
# stands alone, so it can be copied into a dags folder by itself.
MODELS_BY_GATEWAY = {
    "ark": os.environ.get("SEEDANCE_MODEL_ARK", "dreamina-seedance-2-0-260128"),
    "apimart": os.environ.get("SEEDANCE_MODEL_APIMART", "doubao-seedance-2.0"),
    "infinityblue": os.environ.get("SEEDANCE_MODEL_INFINITYBLUE", "doubao-seedance-2-0-260128"),
    "imini": os.environ.get("SEEDANCE_MODEL_IMINI", "doubao/seedance-2.0"),
    "jimmyai": os.environ.get("SEEDANCE_MODEL_JIMMYAI", "seedance2.0-mini"),
    "aiproxy": os.environ.get("SEEDANCE_MODEL_AIPROXY", "doubao-seedance-1-0-pro-250528"),
}
OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
# Declared as the generating task's outlet: one asset for the whole prefix, not one per video.
VIDEOS = Asset(OUTPUT_BASE)
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))
POOL = os.environ.get("SEEDANCE_POOL", "seedance_api")
BUDGET = float(os.environ.get("SEEDANCE_BUDGET", "5"))  # in USD, for the whole run
# What every generation of the night shares: given to the budget check and to the fan-out alike.
EVERY_VIDEO = {"duration": 5, "resolution": "480p", "ratio": "16:9"}


log = logging.getLogger(__name__)
PRODUCTS_CSV = Path(__file__).parent / "data" / "products.csv"
RUN_FOLDER = OUTPUT_BASE + "/catalog/{{ dag_run.run_after | ds }}"


def _products() -> list[dict[str, str]]:
    with PRODUCTS_CSV.open(newline="") as rows:
        return list(csv.DictReader(rows))


@task
def write_product_images(run_folder: str) -> list[str]:
    """The upstream ETL step (a stand-in): one 1280x720 product image per row, written to storage."""
    written = []
    for number, product in enumerate(_products()):
        image = Image.new("RGB", (1280, 720), (40 + 30 * number, 70, 110))
        draw = ImageDraw.Draw(image)
        draw.ellipse((440, 160, 840, 560), fill=(230, 200 - 20 * number, 90))
        draw.text((60, 640), f"{product['sku']}  {product['name']}", fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        uri = f"{run_folder}/images/{product['sku']}.png"
        ObjectStoragePath(uri, conn_id=OUTPUT_CONN).write_bytes(buffer.getvalue())
        written.append(uri)
    return written


@task
def build_prompts(run_folder: str) -> list[dict[str, Any]]:
    """The extract and transform step: product rows become generation arguments."""
    return [
        {
            "seedance_conn_id": f"seedance_{product['gateway']}",
            "model": MODELS_BY_GATEWAY[product["gateway"]],
            "prompt": (
                f"{product['name']} {product['scene']}: a {product['mood']} product film, "
                "slow cinematic camera move, soft natural light"
            ),
            "first_frame": f"{run_folder}/images/{product['sku']}.png",
            "output_path": f"{run_folder}/{product['sku']}.mp4",
        }
        for product in _products()
    ]


# all_done: one failed generation (a moderation refusal, say) must not cost the night's catalog of the
# others. As the last task it decides the run's state, so it fails when any video is missing: the run ends
# failed, and whatever alerts on run state sees it.
@task(trigger_rule="all_done")
def build_catalog(
    results: list[dict[str, Any] | None], requested: list[dict[str, Any]], run_folder: str, run_id: str | None = None
) -> dict[str, Any]:
    """Gather each video's manifest into a catalog (JSON, CSV) and an HTML report beside the videos."""
    folder = ObjectStoragePath(run_folder, conn_id=OUTPUT_CONN)
    made = [result for result in results if result]  # a failed generation left no result
    manifests = [json.loads(ObjectStoragePath(r["manifest_path"], conn_id=OUTPUT_CONN).read_text()) for r in made]
    entries = [
        {
            "video": manifest["video"]["uri"],
            "file": manifest["video"]["uri"].rsplit("/", 1)[-1],
            "prompt": manifest["request"].get("prompt", ""),
            "first_frame": manifest["request"].get("first_frame", ""),
            "gateway": manifest["gateway"],
            "model": manifest["model"],
            "remote_task_id": manifest["remote_task_id"],
            "size": manifest["video"]["size"],
            "sha256": manifest["video"]["sha256"],
        }
        for manifest in manifests
    ]
    (folder / "catalog.json").write_text(json.dumps(entries, indent=2) + "\n")
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(entries[0]) if entries else ["video"])
    writer.writeheader()
    writer.writerows(entries)
    (folder / "catalog.csv").write_text(table.getvalue())
    made_paths = {result["video_path"] for result in made}
    failed = [_failure(row) for row in requested if row["output_path"] not in made_paths]
    (folder / "failures.json").write_text(json.dumps(failed, indent=2) + "\n")
    report = render_report(
        manifests,
        failed,
        title="Product films",
        run_id=run_id,
        generated_at=datetime.now(UTC),
        report_uri=f"{run_folder}/report.html",
    )
    # Through the provider's storage: stored as text/html (so a browser opening it from the bucket shows
    # the page instead of downloading it), with the output connection's upload settings.
    write_text(folder / "report.html", report)
    for failure in failed:
        log.warning(
            "No video for %s: %s (%s) %s", failure["output"], failure["cause"], failure["code"], failure["message"]
        )
    if failed:
        raise AirflowFailException(
            f"{len(failed)} of {len(requested)} generations made no video; the catalog lists the other {len(made)}. "
            f"Next: read each cause in {run_folder}/failures.json (or report.html), fix it, then clear the failed "
            "generate tasks (or check_budget, when it refused the night)."
        )
    return {"videos": len(entries), "missing": len(failed), "catalog": f"{run_folder}/catalog.json"}


def _failure(row: dict[str, Any]) -> dict[str, Any]:
    """Why a row's output is missing, from the record the operator leaves beside it (``<output>.failure.json``)."""
    record = failure_path(ObjectStoragePath(row["output_path"], conn_id=OUTPUT_CONN))
    known = json.loads(record.read_text()) if record.exists() else {}
    return {
        "output": row["output_path"],
        "prompt": row["prompt"],
        "gateway": known.get("gateway", row["seedance_conn_id"].removeprefix("seedance_")),
        "model": known.get("model", row["model"]),
        "cause": known.get("cause", "unknown (the task failed before the gateway answered)"),
        "code": known.get("code"),
        "message": known.get("message", ""),
    }


with DAG(
    dag_id="seedance_fanout_from_etl",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["seedance", "example"],
) as dag:
    images = write_product_images(RUN_FOLDER)
    rows = build_prompts(RUN_FOLDER)
    images >> rows
    checked = SeedanceBudgetOperator(task_id="check_budget", requests=rows, defaults=EVERY_VIDEO, budget=BUDGET)
    videos = SeedanceGenerateVideoOperator.partial(
        task_id="generate",
        pool=POOL,
        **EVERY_VIDEO,
        output_conn_id=OUTPUT_CONN,
        media_conn_id=OUTPUT_CONN,
        poll_interval=POLL_SECONDS,
        outlets=[VIDEOS],  # seedance_on_new_videos runs on it, with the stored videos in its extra
        return_last_frame=True,
        map_index_template="{{ task.output_path.rsplit('/', 1)[-1] }}",
    ).expand_kwargs(checked.output)
    build_catalog(videos.output, rows, RUN_FOLDER)
