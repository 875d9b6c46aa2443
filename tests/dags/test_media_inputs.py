"""Media inputs that live in S3 (or on disk), in real Airflow (``dag.test()``), moto's S3 server and the simulator.

Every test here goes over real HTTP: the operator reads the object from moto, delivers it (a presigned
URL the simulator fetches from moto, apimart's upload endpoint, JimmyAI's asset library, an inline
data: URI), and the simulator records the sha256 of the bytes it actually received.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from types import SimpleNamespace

import httpx
import pytest
from airflow.utils.state import TaskInstanceState
from PIL import Image

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.conftest import BUCKET, s3_client
from tests.support.dag_runs import (
    SharedRuns,
    _dies_after_submit,
    _object,
    _single,
    _submissions,
    _task_output,
    dag_of,
    task_instances,
)
from tests.support.media import png, put

# One model per gateway that starts from a first frame.
I2V_MODELS = {
    "ark": "dreamina-seedance-2-0-260128",
    "imini": "doubao/seedance-2.0",
    "apimart": "doubao-seedance-2.0",
    "aiproxy": "doubao-seedance-1-0-pro-250528",
    "infinityblue": "doubao-seedance-2-0-260128",
    "jimmyai": "seedance2.0-sp",  # SP: inputs must be audited asset:// ids from its library
}
DEFAULT_FORMS = {
    "ark": "presigned_url",
    "imini": "presigned_url",
    "apimart": "presigned_url",
    "aiproxy": "presigned_url",
    "infinityblue": "presigned_url",
    "jimmyai": "asset",
}
# What must never be stored or logged: signatures and tokens of presigned URLs, upload links, base64.
LEAKS = re.compile(r"X-Amz-Signature|X-Amz-Credential|Signature=|/f/image/|;base64,[A-Za-z0-9+/]{40}")


def received(env, gateway: str, task_id: str) -> list[dict]:
    reply = httpx.get(f"{env.base_url}/_simulator/tasks/{gateway}/{task_id}", timeout=10)
    reply.raise_for_status()
    return reply.json()["inputs"]


def _requests(env, gateway: str) -> int:
    counts = env.simulator.stats.snapshot()["gateways"].get(gateway, {})
    return sum(value for key, value in counts.items() if key.endswith("_requests"))


# One DAG run per behaviour family, one task per case (tests/support/dag_runs.py); the tests of a family
# read its run, on one worker.
RUNS = SharedRuns()
DELIVERY_ORDERS = [("apimart", "upload", "upload"), ("ark", "inline", "data"), ("imini", "inline", "data")]


@pytest.fixture
def delivered(env, moto_server, run_dag, tmp_path_factory) -> SimpleNamespace:
    """An input reaching a gateway as its bytes: one task per case, each task's input image by its task id.

    ``to_<gateway>``: an S3 first frame, delivered as the gateway takes it by default; ``order_<gateway>``:
    in the delivery order the task chose; ``local_file``: a file:// image to apimart; ``path_object``: an
    ObjectStoragePath, read through its own connection."""

    def run() -> SimpleNamespace:
        images, tasks = {}, {}
        for gateway, model in I2V_MODELS.items():
            images[f"to_{gateway}"] = png(colour=(30 + 30 * len(gateway), 120, 60))
            source = put(moto_server, f"etl/{gateway}/p01.png", images[f"to_{gateway}"])
            tasks[f"to_{gateway}"] = (
                f"seedance_conn_id='sim_{gateway}', model={model!r}, prompt='the product turns slowly', "
                f"first_frame={source!r}, duration=5, output_path='s3://{BUCKET}/media/{gateway}.mp4'"
            )
        for gateway, delivery, _ in DELIVERY_ORDERS:
            images[f"order_{gateway}"] = png(colour=(10, 200, 10))
            source = put(moto_server, f"etl/order/{gateway}.png", images[f"order_{gateway}"])
            tasks[f"order_{gateway}"] = (
                f"seedance_conn_id='sim_{gateway}', model={I2V_MODELS[gateway]!r}, prompt='a lamp', "
                f"first_frame={source!r}, "
                f"media_delivery=[{delivery!r}], output_path='s3://{BUCKET}/media/order/{gateway}.mp4'"
            )
        # No presigned URL exists for file://; apimart takes no base64, so its upload endpoint is the way.
        images["local_file"] = png(colour=(90, 90, 200))
        local = tmp_path_factory.mktemp("media-local") / "local.png"
        local.write_bytes(images["local_file"])
        tasks["local_file"] = (
            f"seedance_conn_id='sim_apimart', model={I2V_MODELS['apimart']!r}, prompt='a cup', "
            f"first_frame='file://{local}', output_path='s3://{BUCKET}/media/local.mp4'"
        )
        images["path_object"] = png(colour=(140, 30, 220))
        put(moto_server, "etl/paths/p08.png", images["path_object"])
        tasks["path_object"] = (
            f"seedance_conn_id='sim_imini', model={I2V_MODELS['imini']!r}, prompt='a scarf', "
            f"first_frame=ObjectStoragePath('s3://{BUCKET}/etl/paths/p08.png', conn_id=AWS_CONN_ID), "
            f"media_conn_id='nope', output_path='s3://{BUCKET}/media/paths/p08.mp4'"
        )
        body = dag_of("media_delivered", tasks, preamble="from airflow.sdk import ObjectStoragePath\n")
        return SimpleNamespace(tis=task_instances(run_dag("media_delivered", body)), images=images)

    return RUNS.get("delivered", run)


@pytest.mark.xdist_group("media_delivered")
@pytest.mark.parametrize("gateway", list(I2V_MODELS))
def test_an_s3_first_frame_reaches_every_gateway_as_the_same_bytes(env, moto_server, delivered, gateway):
    image = delivered.images[f"to_{gateway}"]
    source = f"s3://{BUCKET}/etl/{gateway}/p01.png"
    assert delivered.tis[f"to_{gateway}"].state == TaskInstanceState.SUCCESS
    manifest = json.loads(_object(moto_server, f"media/{gateway}.mp4.json"))
    digest = hashlib.sha256(image).hexdigest()
    assert manifest["inputs"] == [
        {
            "field": "first_frame",
            "source": source,
            "size": len(image),
            "sha256": digest,
            "content_type": "image/png",
            "delivered_as": DEFAULT_FORMS[gateway],
        }
    ]
    assert manifest["request"]["first_frame"] == source
    inputs = received(env, gateway, manifest["remote_task_id"])
    assert [(each["sha256"], each["size"], each["error"]) for each in inputs] == [(digest, len(image), None)]
    assert not LEAKS.search(json.dumps(manifest))


@pytest.mark.xdist_group("media_delivered")
@pytest.mark.parametrize(("gateway", "delivery", "via"), DELIVERY_ORDERS)
def test_the_delivery_order_can_be_chosen(env, moto_server, delivered, gateway, delivery, via):
    assert delivered.tis[f"order_{gateway}"].state == TaskInstanceState.SUCCESS
    manifest = json.loads(_object(moto_server, f"media/order/{gateway}.mp4.json"))
    assert manifest["inputs"][0]["delivered_as"] == delivery
    (record,) = received(env, gateway, manifest["remote_task_id"])
    assert (record["via"], record["sha256"]) == (via, hashlib.sha256(delivered.images[f"order_{gateway}"]).hexdigest())


@pytest.mark.xdist_group("media_delivered")
def test_a_local_file_goes_to_apimart_through_its_upload_endpoint(env, moto_server, delivered):
    assert delivered.tis["local_file"].state == TaskInstanceState.SUCCESS
    manifest = json.loads(_object(moto_server, "media/local.mp4.json"))
    assert manifest["inputs"][0]["delivered_as"] == "upload"
    digest = hashlib.sha256(delivered.images["local_file"]).hexdigest()
    assert received(env, "apimart", manifest["remote_task_id"])[0]["sha256"] == digest


def test_the_same_bytes_are_audited_once(env, moto_server, run_dag):
    library = env.simulator.gateways["jimmyai"].assets
    before = len(library)
    image = png(colour=(1, 2, 3))
    first = put(moto_server, "etl/audit/a.png", image)
    second = put(moto_server, "etl/audit/copy-of-a.png", image)
    for name, source in (("a", first), ("b", second)):
        run_dag(
            f"media_audit_{name}",
            _single(
                f"media_audit_{name}",
                f"seedance_conn_id='sim_jimmyai', model='seedance2.0-sp', prompt='a tree', first_frame={source!r}, "
                f"duration=5, output_path='s3://{BUCKET}/media/audit/{name}.mp4'",
            ),
        )
    assert len(library) == before + 1  # the second key holds the same bytes: its approved asset is reused
    registry = s3_client(moto_server).list_objects_v2(Bucket=BUCKET, Prefix=".seedance-assets/jimmyai/sim_jimmyai/")
    digest = hashlib.sha256(image).hexdigest()
    assert [item["Key"].rsplit("/", 1)[1] for item in registry["Contents"]].count(f"{digest}.json") == 1
    creates = [task for task in env.simulator.stats.snapshot()["tasks"].values() if task["gateway"] == "jimmyai"]
    assert len(creates) == 2
    ids = {json.loads(_object(moto_server, f"media/audit/{name}.mp4.json"))["remote_task_id"] for name in "ab"}
    assert len(ids) == 2


def test_a_rerun_with_presigned_inputs_pays_nothing(env, moto_server, run_dag):
    source = put(moto_server, "etl/rerun/p02.png", png(colour=(250, 200, 0)))
    body = _single(
        "media_rerun",
        f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='a bicycle', first_frame={source!r}, "
        f"output_path='s3://{BUCKET}/media/rerun/p02.mp4'",
    )
    (first,) = run_dag("media_rerun", body).get_task_instances()
    assert _submissions(env, "ark") == 1
    assert first.xcom_pull(task_ids="generate")["paid"] is True
    second = run_dag("media_rerun", body)
    assert _submissions(env, "ark") == 1  # the presigned URL differs, the fingerprint does not
    (ti,) = second.get_task_instances()
    result = ti.xcom_pull(task_ids="generate")
    assert (result["skipped"], result["paid"]) == (True, False)  # the video's costs, paid by the first run


def test_new_bytes_under_the_same_key_are_a_new_request(env, moto_server, run_dag):
    key = "etl/rerun/changes.png"
    body = _single(
        "media_changed",
        f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='a kettle', "
        f"first_frame='s3://{BUCKET}/{key}', "
        f"output_path='s3://{BUCKET}/media/rerun/changes.mp4'",
    )
    put(moto_server, key, png(colour=(5, 5, 5)))
    run_dag("media_changed", body)
    put(moto_server, key, png(colour=(250, 250, 250)))
    run_dag("media_changed", body)
    assert _submissions(env, "ark") == 2


def test_a_retry_resumes_without_delivering_or_paying_again(env, moto_server, run_dag):
    source = put(moto_server, "etl/retry/p03.png", png(colour=(0, 90, 180)))
    run = run_dag(
        "media_retry",
        _dies_after_submit(
            "media_retry",
            f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='a harbour', first_frame={source!r}, "
            f"retries=1, retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/media/retry/p03.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert _submissions(env, "ark") == 1
    manifest = json.loads(_object(moto_server, "media/retry/p03.mp4.json"))
    assert manifest["inputs"][0]["delivered_as"] == "presigned_url"  # carried over from try 1's claim


def test_no_signature_token_or_base64_is_stored_or_logged(env, moto_server, run_dag, capfd, caplog):
    source = put(moto_server, "etl/leaks/p04.png", png(colour=(120, 0, 0)))
    local = put(moto_server, "etl/leaks/p05.png", png(colour=(0, 120, 0)))
    run = run_dag(
        "media_leaks",
        _single(
            "media_leaks",
            f"seedance_conn_id='sim_apimart', model={I2V_MODELS['apimart']!r}, prompt='two shoes', "
            f"first_frame={source!r}, last_frame={local!r}, media_delivery=['upload', 'presigned_url'], "
            f"output_path='s3://{BUCKET}/media/leaks/shoes.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    manifest = _object(moto_server, "media/leaks/shoes.mp4.json").decode()
    xcom = json.dumps(ti.xcom_pull(task_ids="generate"))
    logs = _task_output(capfd, caplog)
    assert "delivered to apimart as upload" in logs
    for text in (manifest, xcom, logs):
        assert not LEAKS.search(text), LEAKS.search(text)
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = [json.dumps(row.kwargs, default=str) for row in session.query(Trigger).all()]
    assert not any(LEAKS.search(row) for row in rows)


def test_a_missing_object_fails_before_any_request(env, moto_server, run_dag, capfd, caplog):
    run = run_dag(
        "media_missing",
        _single(
            "media_missing",
            f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='x', retries=2, "
            f"first_frame='s3://{BUCKET}/etl/nowhere.png', output_path='s3://{BUCKET}/media/missing.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)  # no retry can fix it
    assert _requests(env, "ark") == 0
    assert f"first_frame='s3://{BUCKET}/etl/nowhere.png': no such object" in _task_output(capfd, caplog)


def test_an_input_no_delivery_can_bring_fails_at_validation(env, run_dag, capfd, caplog, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"never read")
    run_dag(
        "media_undeliverable",
        _single(
            "media_undeliverable",
            f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='x', first_frame='s3://{BUCKET}/a.png', "
            f"reference_videos=['file://{tmp_path}/clip.mp4'], output_path='s3://{BUCKET}/media/nope.mp4'",
        ),
    )
    output = _task_output(capfd, caplog)
    assert "reference_videos[0]" in output
    assert "put the file in S3" in output
    assert _requests(env, "ark") == 0


def test_an_input_the_gateway_cannot_fetch_fails_the_task_in_its_words(env, moto_server, run_dag, capfd, caplog):
    # A presigned URL the user made by hand, for an object that is gone: the gateway queues the task,
    # then fails it when it cannot fetch the image; the signature never reaches the logs.
    url = s3_client(moto_server).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "etl/deleted.png"}, ExpiresIn=3600
    )
    run = run_dag(
        "media_unfetchable",
        _single(
            "media_unfetchable",
            f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='x', first_frame={url!r}, "
            f"output_path='s3://{BUCKET}/media/unfetchable.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.FAILED
    output = _task_output(capfd, caplog)
    assert "while fetching resource" in output
    assert "X-Amz-Signature" not in output.replace(url, "<the url as given>")


def test_faults_on_the_upload_endpoint_are_retried(env, moto_server, run_dag):
    env.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="server_error", op="upload", count=2)], retry_after_seconds=0)
    )
    source = put(moto_server, "etl/flaky/p06.png", png(colour=(66, 66, 66)))
    run = run_dag(
        "media_flaky_upload",
        _single(
            "media_flaky_upload",
            f"seedance_conn_id='sim_apimart', model={I2V_MODELS['apimart']!r}, prompt='a vase', "
            f"first_frame={source!r}, "
            f"media_delivery=['upload'], output_path='s3://{BUCKET}/media/flaky.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SUCCESS
    assert _submissions(env, "apimart") == 1


@pytest.fixture(scope="module")
def bad_media(moto_server, tmp_path_factory) -> dict[str, str]:
    """Real files that each break one documented limit, in moto's S3: name -> s3:// URI."""
    from tests.support.media import write_clip, write_wav

    folder = tmp_path_factory.mktemp("bad-media")
    files = {
        "good.png": png(),
        "small.png": png(200, 200),
        "wide.png": png(1500, 500),
        "heavy.bmp": _bmp(3400, 3400),
        "long.mp4": write_clip(folder / "long.mp4", 640, 640, 24, 17).read_bytes(),
        "slow.mp4": write_clip(folder / "slow.mp4", 640, 640, 15, 3).read_bytes(),
        "tiny.mp4": write_clip(folder / "tiny.mp4", 320, 240, 24, 3).read_bytes(),
        "eight.mp4": write_clip(folder / "eight.mp4", 640, 640, 24, 8).read_bytes(),
        "short.wav": write_wav(folder / "short.wav", 1).read_bytes(),
    }
    return {name: put(moto_server, f"etl/bad/{name}", data) for name, data in files.items()}


def _bmp(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (9, 9, 9)).save(buffer, format="BMP")
    return buffer.getvalue()


# Each case: the fields given (names of bad_media files), the field the message names, what it says is allowed.
LIMIT_CASES = {
    "image-side": ({"first_frame": "small.png"}, "first_frame", "300-6000 px"),
    "image-aspect": ({"first_frame": "wide.png"}, "first_frame", "aspect"),
    "image-bytes": ({"first_frame": "heavy.bmp"}, "first_frame", "MiB"),
    "clip-duration": ({"reference_videos": ["long.mp4"]}, "reference_videos[0]", "2-15 s per clip"),
    "clip-fps": ({"reference_videos": ["slow.mp4"]}, "reference_videos[0]", "fps"),
    "clip-pixels": ({"reference_videos": ["tiny.mp4"]}, "reference_videos[0]", "pixels"),
    "total": ({"reference_videos": ["eight.mp4", "eight.mp4"]}, "reference_videos", "15 s"),
    "audio": ({"reference_images": ["good.png"], "reference_audios": ["short.wav"]}, "reference_audios[0]", "2-15 s"),
}


@pytest.fixture
def beyond_limits(env, run_dag, bad_media, capfd, caplog) -> SimpleNamespace:
    """One task per LIMIT_CASES entry (task id: the case), each with inputs that break that limit."""

    def run() -> SimpleNamespace:
        tasks = {}
        for case, (fields, _, _) in LIMIT_CASES.items():
            arguments = ", ".join(
                f"{name}={[bad_media[each] for each in value] if isinstance(value, list) else bad_media[value]!r}"
                for name, value in fields.items()
            )
            tasks[case] = (
                f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='x', retries=2, {arguments}, "
                f"output_path='s3://{BUCKET}/media/limits/{case}.mp4'"
            )
        run = run_dag("media_limits", dag_of("media_limits", tasks))
        return SimpleNamespace(
            tis=task_instances(run), requests=_requests(env, "ark"), output=_task_output(capfd, caplog)
        )

    return RUNS.get("limits", run)


def _given(fields: dict, field: str, bad_media: dict[str, str]) -> str:
    """How the message names the value of ``field``: the input's URI and what was measured, or (for the total
    over a field's clips) each clip's duration, summed."""
    name, _, index = field.partition("[")
    given = fields[name][int(index.rstrip("]"))] if index else fields[name]
    return re.escape(bad_media[given]) + ": [^']*" if isinstance(given, str) else r"[^']* \+ [^']*"


@pytest.mark.xdist_group("media_limits")
@pytest.mark.parametrize("case", list(LIMIT_CASES))
def test_an_input_beyond_a_documented_limit_fails_before_any_request(beyond_limits, bad_media, case):
    fields, field, allowed = LIMIT_CASES[case]
    ti = beyond_limits.tis[case]
    assert (ti.state, ti.try_number) == (TaskInstanceState.FAILED, 1)
    assert beyond_limits.requests == 0  # no task of the run sent any
    output = beyond_limits.output  # every case's task: the problem is found by its field and value
    problem = re.search(rf"- {re.escape(field)}='{_given(fields, field, bad_media)}': .{{0,120}}", output)
    assert problem, output[-3000:]
    assert allowed in problem.group(0), problem.group(0)


LOSES_INPUT = """
from airflow.sdk import ObjectStoragePath


class LosesInputAfterSubmit(SeedanceGenerateVideoOperator):
    # Try 1 dies right after the paid submit, and a cleanup job deletes the input before try 2.
    def _resume_or_submit(self, context, *args):
        resumed = super()._resume_or_submit(context, *args)
        if context["ti"].try_number == 1:
            ObjectStoragePath(self.first_frame, conn_id=self.output_conn_id).unlink()
            raise RuntimeError("worker lost, and the staging input was cleaned up")
        return resumed
"""


def test_a_paid_generation_is_resumed_even_when_its_input_is_gone(env, moto_server, run_dag):
    source = put(moto_server, "etl/staging/p07.png", png(colour=(7, 77, 177)))
    body = _single(
        "media_input_gone",
        f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='a canoe', first_frame={source!r}, "
        f"retries=1, retry_delay=timedelta(seconds=0), output_path='s3://{BUCKET}/media/gone/p07.mp4'",
    ).replace("SeedanceGenerateVideoOperator(", "LosesInputAfterSubmit(")
    run = run_dag("media_input_gone", LOSES_INPUT + body)
    (ti,) = run.get_task_instances()
    assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)
    assert _submissions(env, "ark") == 1
    manifest = json.loads(_object(moto_server, "media/gone/p07.mp4.json"))
    assert manifest["inputs"][0]["source"] == source  # identified by the claim, not by re-reading


@pytest.mark.xdist_group("media_delivered")
def test_an_object_storage_path_is_an_input_too(env, moto_server, delivered):
    # read through the path's own connection, not media_conn_id ('nope')
    assert delivered.tis["path_object"].state == TaskInstanceState.SUCCESS
    manifest = json.loads(_object(moto_server, "media/paths/p08.mp4.json"))
    assert manifest["inputs"][0]["source"] == f"s3://{BUCKET}/etl/paths/p08.png"
    digest = hashlib.sha256(delivered.images["path_object"]).hexdigest()
    assert received(env, "imini", manifest["remote_task_id"])[0]["sha256"] == digest


def test_a_data_uri_reaches_apimart_through_its_upload_endpoint_and_is_never_stored(
    env, moto_server, run_dag, capfd, caplog
):
    # apimart no longer takes base64: the inline image goes up through /v1/uploads/images instead.
    image = png(colour=(222, 111, 0))
    inline = "data:image/png;base64," + base64.b64encode(image).decode()
    run_dag(
        "media_data_uri",
        _single(
            "media_data_uri",
            f"seedance_conn_id='sim_apimart', model={I2V_MODELS['apimart']!r}, prompt='a teapot', "
            f"first_frame={inline!r}, output_path='s3://{BUCKET}/media/data/teapot.mp4'",
        ),
    )
    manifest = _object(moto_server, "media/data/teapot.mp4.json").decode()
    record = json.loads(manifest)["inputs"][0]
    assert (record["delivered_as"], record["sha256"]) == ("upload", hashlib.sha256(image).hexdigest())
    assert received(env, "apimart", json.loads(manifest)["remote_task_id"])[0]["via"] == "upload"
    # Airflow itself keeps the user's own template value (and 3.0's task runner logs it at debug level
    # as rendered fields); what this provider writes never carries the base64.
    logs = re.sub(r"rendered_fields=\{.*?\}, type='SetRenderedFields'\)", "", _task_output(capfd, caplog))
    for text in (manifest, logs):
        assert not LEAKS.search(text), LEAKS.search(text)


def test_inline_images_that_would_overflow_the_request_body_fail_before_any_request(
    env, moto_server, run_dag, capfd, caplog
):
    big = put(moto_server, "etl/big/poster.bmp", _bmp(2950, 2950))  # 26 MB: about 35 MB as base64
    run = run_dag(
        "media_overflow",
        _single(
            "media_overflow",
            f"seedance_conn_id='sim_ark', model={I2V_MODELS['ark']!r}, prompt='x', media_delivery=['inline'], "
            f"reference_images=[{big!r}, {big!r}], output_path='s3://{BUCKET}/media/overflow.mp4'",
        ),
    )
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.FAILED
    assert _requests(env, "ark") == 0
    output = _task_output(capfd, caplog)
    assert "reference_images[1]" in output
    assert "the request body may hold at most 64 MiB on this gateway" in output
