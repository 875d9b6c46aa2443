"""OpenLineage: what the provider's own listener emits for real generations (captured by its file transport in
a fresh Airflow process, against the simulator and moto's S3 server), and that the operators run as before
where the OpenLineage provider is missing (how inputs and outputs are named: tests/unit/test_lineage.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from airflow_provider_seedance.observability.lineage import SCHEMA_URL
from airflow_provider_seedance.simulator import FaultPlan
from tests.conftest import AWS_CONN_ID, BUCKET, SIM_KEY, s3_client, simulator_connections
from tests.support.dag_runs import MODELS
from tests.support.media import png, put

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "airflow_provider_seedance/observability/facets/SeedanceRunFacet.json").read_text()
)
# Runs one DAG file with dag.test() in a fresh process, so the OpenLineage settings in its environment are
# the ones Airflow reads at start (its listener is registered, or not, once per process).
DRIVER = """
import importlib.util, json, sys
if "--without-openlineage" in sys.argv:
    # As if not installed: no module to import, no distribution (so no provider or plugin entry point).
    import importlib.metadata, importlib_metadata
    for name in ("openlineage", "airflow.providers.openlineage"):
        sys.modules[name] = None
    for metadata in (importlib.metadata, importlib_metadata):
        def distributions(*args, _all=metadata.distributions, **kwargs):
            for dist in _all(*args, **kwargs):
                # A *.dist-info folder's name starts with the distribution's; reading it parses no metadata
                # (parsing every distribution's, each time entry points are listed, cost about a second).
                path = getattr(dist, "_path", None)
                name = path.name if path is not None else dist.metadata["Name"] or ""
                if "openlineage" not in name.lower():
                    yield dist
        metadata.distributions = distributions
spec = importlib.util.spec_from_file_location("lineage_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test()
print("STATES", json.dumps({ti.task_id: ti.state for ti in run.get_task_instances()}))
print("LINEAGE_MODULE_LOADED", "airflow_provider_seedance.observability.lineage" in sys.modules)
"""
HEADER = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
BUCKET = {BUCKET!r}
AWS_CONN_ID = {AWS_CONN_ID!r}
"""


def _run_in_fresh_airflow(
    dag_id: str, body: str, folder: Path, *, events: Path | None, without_openlineage: bool = False
) -> str:
    """Test-run the DAG in a new process whose dags folder holds this DAG file alone; with ``events``,
    OpenLineage's file transport writes there. The test worker's own dags folder may hold other tests'
    files (the example DAGs), which ``dag.test()`` would parse in the new process too."""
    path = folder / f"{dag_id}.py"
    path.write_text(HEADER + textwrap.dedent(body))
    environment = {key: value for key, value in os.environ.items() if "OPENLINEAGE" not in key}
    environment["AIRFLOW__CORE__DAGS_FOLDER"] = str(folder)
    if events is not None:
        environment["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        )
        environment["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "seedance-tests"
        # The listener extracts in a forked child it waits 10 s for; this machine is shared and slow at times.
        environment["AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT"] = "120"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(path), *(["--without-openlineage"] if without_openlineage else [])],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    (states,) = [line.removeprefix("STATES ") for line in done.stdout.splitlines() if line.startswith("STATES ")]
    assert set(json.loads(states).values()) == {"success"}, output[-5000:]
    return output


def _complete_event(events: Path, task_id: str) -> dict:
    """The COMPLETE event of ``task_id``, as the listener wrote it."""
    emitted = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    (complete,) = [
        event
        for event in emitted
        if event.get("eventType") == "COMPLETE" and event["job"]["name"].endswith(f".{task_id}")
    ]
    return complete


def _names(datasets: list[dict]) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in datasets}


def _check_facet(facet: dict) -> list[dict]:
    """The facet as its published schema describes it; its generations."""
    assert facet["_schemaURL"] == SCHEMA_URL
    assert facet["_producer"]
    ours = {**SCHEMA["$defs"]["SeedanceRunFacet"]["allOf"][1], "$defs": SCHEMA["$defs"]}
    jsonschema.validate(facet, ours)
    return facet["generations"]


@pytest.fixture(scope="module")
def listener_run(simulator, moto_server, airflow_db, file_server, tmp_path_factory) -> SimpleNamespace:
    """One DAG run in a fresh process with the OpenLineage listener: a generation (``generate``) and a batch
    (``generate_batch``), each with the inputs its test names; the events file holds both tasks' events."""
    simulator.simulator.faults.replace(FaultPlan(retry_after_seconds=0))
    stored_ref = put(moto_server, "lineage/refs/a.png", png(colour=(10, 80, 200)))
    put(moto_server, "lineage/refs/b.png", png(colour=(200, 80, 10)))
    signed = s3_client(moto_server).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "lineage/refs/b.png"}, ExpiresIn=3600
    )
    base_url, served = file_server
    (served / "lineage-c.png").write_bytes(png(colour=(90, 200, 90)))
    public = f"{base_url}/lineage-c.png?token=not-for-lineage#frag"
    inline = "data:image/png;base64," + base64.b64encode(png(320, 320)).decode()
    shared = put(moto_server, "lineage/batch/shared.png", png(colour=(30, 30, 160)))
    videos = tmp_path_factory.mktemp("lineage-videos")
    requests = [
        {"prompt": "a kite", "reference_images": [shared], "output_path": f"file://{videos}/kite.mp4"},
        {"prompt": "a balloon", "reference_images": [shared], "output_path": f"file://{videos}/balloon.mp4"},
    ]
    folder = tmp_path_factory.mktemp("lineage-dags")
    events = folder / "events.jsonl"
    with pytest.MonkeyPatch.context() as patch:  # the env fixture's connections, for this module's one run
        for name, value in simulator_connections(simulator).items():
            patch.setenv(name, value)
        output = _run_in_fresh_airflow(
            "lineage_listener",
            f"""
with DAG(dag_id="lineage_listener", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceGenerateVideoOperator(
        task_id="generate",
        seedance_conn_id="sim_ark",
        model={MODELS["ark"]!r},
        prompt="a paper boat on a canal",
        duration=4,
        resolution="480p",
        seed=4242,
        return_last_frame=True,
        reference_images={[stored_ref, signed, public, inline]!r},
        output_path="s3://{BUCKET}/lineage/boat.mp4",
        output_conn_id=AWS_CONN_ID,
        skip_existing=False,
        poll_interval=0.01,
    )
    SeedanceBatchGenerateVideoOperator(
        task_id="generate_batch",
        requests={requests!r},
        defaults={{"model": {MODELS["ark"]!r}, "duration": 4, "resolution": "480p"}},
        seedance_conn_id="sim_ark",
        media_conn_id=AWS_CONN_ID,
        poll_interval=0.01,
    )
""",
            folder,
            events=events,
        )
    return SimpleNamespace(events=events, output=output, base_url=base_url, stored_ref=stored_ref, videos=videos)


# Both tests read the one run above: one worker runs them (pytest -n 2 --dist loadgroup).
@pytest.mark.xdist_group("lineage_listener")
def test_a_generation_reports_its_stored_objects_its_inputs_and_the_generation(listener_run, moto_server):
    event = _complete_event(listener_run.events, "generate")
    print("EMITTED", json.dumps({key: event[key] for key in ("inputs", "outputs")}, indent=1))
    print("EMITTED", json.dumps(event["run"]["facets"]["seedance"], indent=1))

    bucket = f"s3://{BUCKET}"
    assert _names(event["outputs"]) == {
        (bucket, "lineage/boat.mp4"),
        (bucket, "lineage/boat.last_frame.png"),
        (bucket, "lineage/boat.mp4.json"),
    }
    moto = moto_server.removeprefix("http://")
    assert _names(event["inputs"]) == {
        (bucket, "lineage/refs/a.png"),
        (f"http://{moto}", f"/{BUCKET}/lineage/refs/b.png"),  # the presigned URL, without its signature
        (listener_run.base_url, "/lineage-c.png"),  # without its query and fragment
    }
    (generation,) = _check_facet(event["run"]["facets"]["seedance"])
    manifest = json.loads(s3_client(moto_server).get_object(Bucket=BUCKET, Key="lineage/boat.mp4.json")["Body"].read())
    assert generation == {
        "status": "stored",
        "video": f"{bucket}/lineage/boat.mp4",
        "gateway": "ark",
        "connection": "sim_ark",  # no failover chain: the task's own connection, and no failedOverFrom
        "remoteTaskId": manifest["remote_task_id"],
        "model": MODELS["ark"],
        "seed": 4242,
        "usage": manifest["usage"],
        "estimatedCost": manifest["cost"]["estimate"]["amount"],
        "actualCost": manifest["cost"]["actual"]["amount"],
        "currency": "USD",
    }
    assert generation["usage"]["total_tokens"] > 0  # Airflow's masker leaves numbers under "token" keys alone
    text = listener_run.events.read_text()  # every event of the run, the batch's too
    for leak in (SIM_KEY, "Signature", "X-Amz-", "token=not-for-lineage", "base64,", "testing"):
        assert leak not in text, leak
    assert SIM_KEY not in listener_run.output


@pytest.mark.xdist_group("lineage_listener")
def test_a_batch_reports_every_item_and_each_input_once(listener_run):
    event = _complete_event(listener_run.events, "generate_batch")
    videos = listener_run.videos
    assert _names(event["outputs"]) == {
        ("file", f"{videos}/{name}") for name in ("kite.mp4", "kite.mp4.json", "balloon.mp4", "balloon.mp4.json")
    }
    assert event["inputs"] == [{"namespace": f"s3://{BUCKET}", "name": "lineage/batch/shared.png", "facets": {}}]
    generations = _check_facet(event["run"]["facets"]["seedance"])
    assert [(each["status"], each["video"]) for each in generations] == [
        ("stored", f"file://{videos}/kite.mp4"),
        ("stored", f"file://{videos}/balloon.mp4"),
    ]
    assert len({each["remoteTaskId"] for each in generations}) == 2
    assert all(isinstance(each["seed"], int) for each in generations)  # chosen for the submit, not given


def test_the_operators_run_where_the_openlineage_provider_is_missing(env, moto_server, tmp_path):
    output = _run_in_fresh_airflow(
        "lineage_absent",
        f"""
with DAG(dag_id="lineage_absent", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SeedanceGenerateVideoOperator(
        task_id="generate",
        seedance_conn_id="sim_ark",
        model={MODELS["ark"]!r},
        prompt="a lighthouse",
        output_path="s3://{BUCKET}/lineage/absent.mp4",
        output_conn_id=AWS_CONN_ID,
        poll_interval=0.01,
    )
""",
        tmp_path,
        events=None,
        without_openlineage=True,
    )
    assert "LINEAGE_MODULE_LOADED False" in output
    assert "openlineage" not in output.lower()  # no listener ran, and nothing failed to import it
    s3_client(moto_server).head_object(Bucket=BUCKET, Key="lineage/absent.mp4")
