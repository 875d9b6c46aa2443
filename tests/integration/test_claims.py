"""Claims beside the output: written whole, read back, ignored when foreign or broken, removed when done;
reserved only where none exists, so that of many producers racing for one output exactly one wins.

Against each cloud store's real protocol server (moto's S3, fake-gcs-server, Azurite) and the local file system:
each creates a reservation with its own conditional write (S3 and Azure ``If-None-Match: *``, GCS
``ifGenerationMatch=0``, a hard link on disk).
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.outputs.claims import Claim, read_claim, remove_claim, reserve_claim, write_claim
from airflow_provider_seedance.outputs.layout import claim_path
from airflow_provider_seedance.outputs.store import unwritable
from tests.conftest import AWS_CONN_ID, BUCKET, s3_client
from tests.support.claims import CLAIM
from tests.support.stores import CloudStore

RESERVATION = replace(CLAIM, remote_task_id=None, answer_by="2026-12-01T20:05:00+00:00")


@pytest.fixture(params=["s3", "gcs", "azure", "file"])
def output(request, tmp_path) -> ObjectStoragePath:
    if request.param == "file":
        return ObjectStoragePath(f"file://{tmp_path}/out/clip.mp4")
    return CloudStore.started(request.param, request).path(f"claims/{tmp_path.name}/clip.mp4")


def test_a_written_claim_reads_back_and_sits_beside_the_output(output):
    assert read_claim(output) is None
    write_claim(output, CLAIM)
    assert claim_path(output).name == "clip.mp4.claim.json"
    assert read_claim(output) == CLAIM
    document = json.loads(claim_path(output).read_text())
    assert document["claim_version"] == 2
    assert set(document) == {"claim_version", *Claim.__dataclass_fields__}


def test_remove_claim_deletes_it_and_tolerates_absence(output):
    write_claim(output, CLAIM)
    remove_claim(output)
    assert not claim_path(output).exists()
    remove_claim(output)  # nothing there: no error


@pytest.mark.parametrize(
    "document",
    [
        {"claim_version": 3, "remote_task_id": "x"},
        {"claim_version": 2, "remote_task_id": "x"},
        {**CLAIM.document(), "deadline": "tomorrow"},
        {**CLAIM.document(), "remote_task_id": ""},
        {**RESERVATION.document(), "answer_by": None},
    ],
    ids=["newer-version", "fields-missing", "bad-deadline", "empty-task-id", "reservation-without-answer-by"],
)
def test_a_claim_this_version_cannot_use_is_ignored(output, document, caplog):
    claim_path(output).parent.mkdir(parents=True, exist_ok=True)
    claim_path(output).write_text(json.dumps(document))
    assert read_claim(output) is None
    assert "not a claim this provider version can read" in caplog.text


def test_s3_claim_is_one_plain_object(moto_server):
    output = ObjectStoragePath(f"s3://{BUCKET}/claims/plain/clip.mp4", conn_id=AWS_CONN_ID)
    write_claim(output, CLAIM)
    body = s3_client(moto_server).get_object(Bucket=BUCKET, Key="claims/plain/clip.mp4.claim.json")["Body"].read()
    assert json.loads(body)["remote_task_id"] == CLAIM.remote_task_id


def test_a_claim_written_before_reservations_still_reads(output):
    # Claims of version 1 (provider releases before reservations) always hold a task id: still resumed.
    claim_path(output).parent.mkdir(parents=True, exist_ok=True)
    old = {key: value for key, value in CLAIM.document().items() if key not in ("answer_by", "unknown_resubmits")}
    claim_path(output).write_text(json.dumps({**old, "claim_version": 1}))
    assert read_claim(output) == CLAIM


def test_a_reservation_is_written_only_where_no_claim_is(output):
    assert reserve_claim(output, RESERVATION)
    stored = read_claim(output)
    assert stored == RESERVATION
    assert stored.is_reservation
    assert json.loads(claim_path(output).read_text())["remote_task_id"] is None
    # A second producer finds it taken, and the first one's reservation is untouched.
    assert not reserve_claim(output, replace(RESERVATION, request_sha256="0" * 64))
    assert read_claim(output) == RESERVATION
    # The answer fills in the task id over it.
    write_claim(output, CLAIM)
    assert not read_claim(output).is_reservation


def test_of_many_producers_racing_for_one_output_exactly_one_reserves_it(output):
    producers = 8
    start = threading.Barrier(producers)
    won: list[int] = []

    def produce(index: int) -> None:
        start.wait()
        if reserve_claim(output, replace(RESERVATION, request_sha256=f"{index:064d}")):
            won.append(index)

    threads = [threading.Thread(target=produce, args=(index,)) for index in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert read_claim(output).request_sha256 == f"{won[0]:064d}"  # the winner's, whole
    assert [path.name for path in claim_path(output).parent.iterdir()] == ["clip.mp4.claim.json"]  # no leftovers


def test_reserving_where_the_bucket_does_not_exist_raises_as_unwritable(cloud_store):
    output = ObjectStoragePath(
        f"{cloud_store.scheme}://no-such-bucket-for-reservations/x.mp4", conn_id=cloud_store.conn_id
    )
    # In each store's words: S3's NoSuchBucket, Azure's ContainerNotFound, gcsfs's 404 naming the bucket.
    with pytest.raises(Exception, match=r"NoSuchBucket|ContainerNotFound|no-such-bucket-for-reservations") as raised:
        reserve_claim(output, RESERVATION)
    assert unwritable(raised.value, output), raised.value  # a retry cannot help: the task fails with the next step


def test_a_claim_replaced_while_it_is_read_reads_whole(output):
    # Another producer fills in its task id while this one polls the reservation: every read is one whole
    # claim (s3fs reports an object replaced between its HEAD and its GET; the read is tried again).
    write_claim(output, RESERVATION)
    done = threading.Event()

    def keep_replacing() -> None:
        index = 0
        while not done.is_set():
            index += 1
            write_claim(output, replace(CLAIM, remote_task_id=f"cgt-{index}"))

    writer = threading.Thread(target=keep_replacing)
    writer.start()
    try:
        reads = [read_claim(output) for _ in range(60)]
    finally:
        done.set()
        writer.join()
    assert all(claim is not None for claim in reads)
