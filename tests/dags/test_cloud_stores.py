"""Outputs and media inputs in Google Cloud Storage and Azure Blob Storage, in real Airflow (``dag.test()``), on
their real protocol servers (fake-gcs-server, Azurite) and the simulator.

The operator reads each input from its store, hands the gateway a URL signed by that store (GCS V4, Azure
SAS; Azurite checks the signature), the simulator fetches it over HTTP and records the sha256 of the bytes it
got; the video, its manifest and its claim land in the same kind of store. A rerun pays nothing (new bytes under
the same name do), and no signature is left in manifests, XComs, trigger rows or logs.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from airflow.utils.state import TaskInstanceState

from tests.conftest import AZURE_CONN_ID, GCS_CONN_ID
from tests.support.dag_runs import SharedRuns, _submissions, _task_output, dag_of, task_instances
from tests.support.media import png, write_clip
from tests.support.stores import CloudStore

pytestmark = pytest.mark.xdist_group("cloud_stores")

# Where a first frame in GCS goes: a presigned-URL gateway, another, and JimmyAI's asset library (which is
# handed the signed URL to fetch from).
FIRST_FRAME = {
    "ark": "dreamina-seedance-2-0-260128",
    "imini": "doubao/seedance-2.0",
    "jimmyai": "seedance2.0-sp",
}
# Gateways whose reference videos are URLs, each given a video in Azure Blob Storage.
REFERENCE_VIDEO = {
    "ark": "dreamina-seedance-2-0-260128",
    "apimart": "doubao-seedance-2.0",
    "infinityblue": "doubao-seedance-2-0-260128",
}
FORMS = {"ark": "presigned_url", "imini": "presigned_url", "jimmyai": "asset", "apimart": "presigned_url"}
# A signed URL's credential parts (GCS V4, Azure SAS, S3 SigV4), upload links and base64 must never be kept.
LEAKS = re.compile(
    r"X-Goog-Signature|X-Goog-Credential|[?&]sig=|X-Amz-Signature|X-Amz-Credential|/f/image/|;base64,[A-Za-z0-9+/]{40}"
)
RUNS = SharedRuns()


def received(env, gateway: str, task_id: str) -> list[dict]:
    reply = httpx.get(f"{env.base_url}/_simulator/tasks/{gateway}/{task_id}", timeout=10)
    reply.raise_for_status()
    return reply.json()["inputs"]


@pytest.fixture
def cloud(env, gcs_server, azurite_server, run_dag, request, capfd, caplog) -> SimpleNamespace:
    """One DAG run: a task per gateway above, outputs beside their inputs' store."""

    def run() -> SimpleNamespace:
        gcs, azure = CloudStore.started("gcs", request), CloudStore.started("azure", request)
        image = png(colour=(20, 160, 220))
        clip = write_clip(Path(tempfile.mkdtemp()) / "ref.mp4", 640, 640, 24, 3).read_bytes()
        frame, video = gcs.put("etl/cloud/frame.png", image), azure.put("etl/cloud/ref.mp4", clip)
        tasks = {
            f"gcs_{gateway}": f"seedance_conn_id='sim_{gateway}', model={model!r}, prompt='a kite', "
            f"first_frame={frame!r}, media_conn_id={GCS_CONN_ID!r}, output_conn_id={GCS_CONN_ID!r}, "
            f"output_path={gcs.uri(f'cloud/{gateway}.mp4')!r}"
            for gateway, model in FIRST_FRAME.items()
        }
        tasks.update(
            {
                f"azure_{gateway}": f"seedance_conn_id='sim_{gateway}', model={model!r}, prompt='the same dance', "
                f"reference_videos=[{video!r}], media_conn_id={AZURE_CONN_ID!r}, output_conn_id={AZURE_CONN_ID!r}, "
                f"output_path={azure.uri(f'cloud/{gateway}.mp4')!r}"
                for gateway, model in REFERENCE_VIDEO.items()
            }
        )
        body = dag_of("cloud_stores", tasks, output_conn_id=None)
        first = task_instances(run_dag("cloud_stores", body))
        return SimpleNamespace(
            gcs=gcs,
            azure=azure,
            first=first,
            digests={"gcs": hashlib.sha256(image).hexdigest(), "azure": hashlib.sha256(clip).hexdigest()},
            sizes={"gcs": len(image), "azure": len(clip)},
            sources={"gcs": frame, "azure": video},
            submissions={gateway: _submissions(env, gateway) for gateway in {*FIRST_FRAME, *REFERENCE_VIDEO}},
            logs=_task_output(capfd, caplog),
        )

    return RUNS.get("cloud", run)


CASES = [("gcs", gateway) for gateway in FIRST_FRAME] + [("azure", gateway) for gateway in REFERENCE_VIDEO]


@pytest.mark.parametrize(("store", "gateway"), CASES)
def test_the_gateway_fetched_the_stored_bytes_through_a_signed_url(env, cloud, store, gateway):
    assert cloud.first[f"{store}_{gateway}"].state == TaskInstanceState.SUCCESS
    where = getattr(cloud, store)
    manifest = json.loads(where.read(f"cloud/{gateway}.mp4.json"))
    (record,) = manifest["inputs"]
    assert (record["source"], record["sha256"], record["size"]) == (
        cloud.sources[store],
        cloud.digests[store],
        cloud.sizes[store],
    )
    assert record["delivered_as"] == FORMS.get(gateway, "presigned_url")
    inputs = received(env, gateway, manifest["remote_task_id"])
    assert [(each["sha256"], each["size"], each["error"]) for each in inputs] == [
        (cloud.digests[store], cloud.sizes[store], None)
    ]
    video = where.read(f"cloud/{gateway}.mp4")
    assert manifest["video"]["sha256"] == hashlib.sha256(video).hexdigest()
    assert video[4:8] == b"ftyp"  # a real MP4, stored whole
    assert where.content_type(f"cloud/{gateway}.mp4") == "video/mp4"
    assert where.keys(f"cloud/{gateway}.mp4") == [f"cloud/{gateway}.mp4", f"cloud/{gateway}.mp4.json"]  # no claim


def test_no_signature_is_kept_in_manifests_xcoms_trigger_rows_or_logs(cloud):
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    assert cloud.submissions == Counter(gateway for _, gateway in CASES)  # one paid submit per task
    assert "delivered to ark as presigned_url" in cloud.logs
    texts = {"logs": cloud.logs}
    for store, gateway in CASES:
        texts[f"{store}_{gateway} manifest"] = getattr(cloud, store).read(f"cloud/{gateway}.mp4.json").decode()
        task = cloud.first[f"{store}_{gateway}"]
        texts[f"{store}_{gateway} xcom"] = json.dumps(task.xcom_pull(task_ids=f"{store}_{gateway}"))
    with create_session() as session:
        texts.update({f"trigger {row.id}": json.dumps(row.kwargs, default=str) for row in session.query(Trigger)})
    leaks = {name: match.group() for name, text in texts.items() if (match := LEAKS.search(text))}
    assert leaks == {}


@pytest.mark.parametrize("store", ["gcs", "azure"])
def test_a_rerun_pays_nothing_and_new_bytes_under_the_same_name_pay_again(env, run_dag, request, store):
    where = CloudStore.started(store, request)
    source = where.uri(f"etl/changes/{store}.png")
    body = dag_of(
        f"cloud_changed_{store}",
        {
            "generate": f"seedance_conn_id='sim_ark', model={FIRST_FRAME['ark']!r}, prompt='a kettle', "
            f"first_frame={source!r}, output_path={where.uri(f'cloud/changes/{store}.mp4')!r}"
        },
        output_conn_id=repr(where.conn_id),
    )
    where.put(f"etl/changes/{store}.png", png(colour=(5, 5, 5)))
    run_dag(f"cloud_changed_{store}", body)
    (rerun,) = run_dag(f"cloud_changed_{store}", body).get_task_instances()
    assert _submissions(env, "ark") == 1  # same name, same bytes: the stored video
    result = rerun.xcom_pull(task_ids="generate")
    assert (result["skipped"], result["paid"], result["video_path"]) == (
        True,
        False,
        where.uri(f"cloud/changes/{store}.mp4"),
    )
    where.put(f"etl/changes/{store}.png", png(colour=(250, 250, 250)))
    run_dag(f"cloud_changed_{store}", body)
    assert _submissions(env, "ark") == 2


@pytest.mark.parametrize("store", ["gcs", "azure"])
def test_a_missing_object_fails_before_any_request(env, run_dag, request, capfd, caplog, store):
    where = CloudStore.started(store, request)
    missing = where.uri("etl/nowhere.png")
    run = run_dag(
        f"cloud_missing_{store}",
        dag_of(
            f"cloud_missing_{store}",
            {
                "generate": f"seedance_conn_id='sim_ark', model={FIRST_FRAME['ark']!r}, prompt='x', retries=2, "
                f"first_frame={missing!r}, output_path={where.uri('cloud/missing.mp4')!r}"
            },
            output_conn_id=repr(where.conn_id),
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # no retry can fix it
    assert env.simulator.stats.snapshot()["gateways"].get("ark", {}) == {}
    assert f"first_frame={missing!r}: no such object; check the path and media_conn_id" in _task_output(capfd, caplog)
