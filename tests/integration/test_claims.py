"""Claims beside the output: written whole, read back, ignored when foreign or broken, removed when done.

Against moto's S3 server and the local file system, the two kinds of store users point outputs at.
"""

from __future__ import annotations

import json

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.outputs.claims import Claim, read_claim, remove_claim, write_claim
from airflow_provider_seedance.outputs.layout import claim_path
from tests.conftest import AWS_CONN_ID, BUCKET, s3_client
from tests.support.claims import CLAIM


@pytest.fixture(params=["s3", "file"])
def output(request, tmp_path) -> ObjectStoragePath:
    if request.param == "s3":
        request.getfixturevalue("moto_server")
        return ObjectStoragePath(f"s3://{BUCKET}/claims/{tmp_path.name}/clip.mp4", conn_id=AWS_CONN_ID)
    return ObjectStoragePath(f"file://{tmp_path}/out/clip.mp4")


def test_a_written_claim_reads_back_and_sits_beside_the_output(output):
    assert read_claim(output) is None
    write_claim(output, CLAIM)
    assert claim_path(output).name == "clip.mp4.claim.json"
    assert read_claim(output) == CLAIM
    document = json.loads(claim_path(output).read_text())
    assert document["claim_version"] == 1
    assert set(document) == {"claim_version", *Claim.__dataclass_fields__}


def test_remove_claim_deletes_it_and_tolerates_absence(output):
    write_claim(output, CLAIM)
    remove_claim(output)
    assert not claim_path(output).exists()
    remove_claim(output)  # nothing there: no error


@pytest.mark.parametrize(
    "document",
    [
        {"claim_version": 2, "remote_task_id": "x"},
        {"claim_version": 1, "remote_task_id": "x"},
        {**CLAIM.document(), "deadline": "tomorrow"},
        {**CLAIM.document(), "remote_task_id": ""},
    ],
    ids=["newer-version", "fields-missing", "bad-deadline", "empty-task-id"],
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
