"""The review step's parse-time checks, its refusal on Airflow 3.0, and its pure parts: the next take's request,
what the reviewer reads, the link that plays a video, what ``@task.seedance`` functions may return."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from airflow.providers.common.compat.sdk import AirflowOptionalProviderFeatureException
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.decorators.seedance import request_of
from airflow_provider_seedance.links.seedance import viewer_url
from airflow_provider_seedance.outputs.layout import take_path
from airflow_provider_seedance.review import message
from airflow_provider_seedance.review.answers import options_for, review_record
from airflow_provider_seedance.review.takes import next_take_request

needs_hitl = pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="human-in-the-loop tasks are Airflow 3.1's")


@pytest.mark.skipif(AIRFLOW_V_3_1_PLUS, reason="Airflow 3.1 and later have human-in-the-loop tasks")
def test_on_airflow_3_0_a_dag_with_a_review_fails_to_parse_naming_the_version_needed():
    with pytest.raises(AirflowOptionalProviderFeatureException) as raised:
        import airflow_provider_seedance.operators.review  # noqa: F401
    assert "The Seedance review step needs Airflow 3.1 or later" in str(raised.value)
    assert "Next: upgrade Airflow to 3.1 or later" in str(raised.value)


MANIFEST = {
    "model": "dreamina-seedance-2-0-260128",
    "request_sha256": "ab" * 32,
    "seed": 11,
    "request": {"model": "dreamina-seedance-2-0-260128", "prompt": "a lamp", "duration": 5, "seed": 11},
}


def test_another_take_adds_the_note_and_derives_a_new_seed_the_same_way_every_time():
    take = next_take_request(MANIFEST, "  warmer light ", 2)
    assert take["prompt"] == "a lamp\n\nwarmer light"
    assert (take["duration"], take["model"]) == (5, MANIFEST["model"])
    assert take["seed"] != 11
    assert take == next_take_request(MANIFEST, "warmer light", 2)  # a retried take task rebuilds the same request
    assert next_take_request(MANIFEST, "warmer light", 3)["seed"] != take["seed"]
    assert next_take_request(MANIFEST, None, 2)["prompt"] == "a lamp"


def test_another_take_of_inline_media_is_refused_with_what_to_do():
    inline = {**MANIFEST, "request": {**MANIFEST["request"], "first_frame": "data:image/png;base64,...(2048 bytes)"}}
    with pytest.raises(ValueError, match=r"inline data: media \(first_frame\).*give media as storage URIs"):
        next_take_request(inline, "x", 2)


def test_takes_go_beside_the_first_and_take_one_is_the_first():
    first = ObjectStoragePath("file:///videos/boat.mp4")
    assert take_path(first, 1) == first
    assert str(take_path(first, 2)).endswith("/videos/boat.take-2.mp4")


def test_the_last_take_offers_no_other():
    assert options_for(1, 2) == ["Approve", "Reject", "Another take"]
    assert options_for(2, 2) == ["Approve", "Reject"]
    assert options_for(1, 1) == ["Approve", "Reject"]


def test_a_review_record_says_who_when_what_and_why():
    record = review_record(
        take=1,
        chosen="Reject",
        note=" off-brand ",
        responded_by={"id": "7", "name": "ana"},
        responded_at="t",
        timed_out=False,
    )
    assert record == {
        "take": 1,
        "answer": "reject",
        "note": "off-brand",
        "by": {"id": "7", "name": "ana"},
        "at": "t",
        "timed_out": False,
    }
    timed_out = review_record(take=2, chosen="Approve", note="", responded_by=None, responded_at="t", timed_out=True)
    assert (timed_out["by"], timed_out["note"]) == (None, None)


RESULT = {
    "video_path": "s3://b/clips/lamp.mp4",
    "manifest_path": "s3://b/clips/lamp.mp4.json",
    "gateway": "ark",
    "model": "m",
    "seed": 3,
    "actual_cost": 0.3402,
    "currency": "USD",
}


def test_the_reviewer_reads_prompt_gateway_cost_links_and_what_each_answer_does():
    body = message.body(
        result=RESULT,
        prompt="a lamp | on a desk\n\nat dusk",
        take=1,
        max_takes=2,
        video_url="https://cdn.example.com/clips/lamp.mp4",
        frame_url="https://cdn.example.com/clips/lamp.last_frame.png",
        publish_to="s3://b/published",
        history=[],
    )
    assert "▶ [Play the video](https://cdn.example.com/clips/lamp.mp4) · [last frame](" in body
    assert "| Prompt | a lamp \\| on a desk / at dusk |" in body  # one table cell
    assert "| Cost of this take | 0.3402 USD (actual) |" in body
    assert "**Another take** pays for a new generation (take 2 of 2)" in body
    assert message.subject(RESULT, 1, 2) == "Review lamp.mp4 (take 1 of at most 2)"
    last = message.body(
        result={**RESULT, "actual_cost": None},
        prompt=None,
        take=2,
        max_takes=2,
        video_url="",
        frame_url="",
        publish_to="s3://b/published",
        history=[{"take": 1, "answer": "another_take", "note": "warmer", "actual_cost": 0.34, "currency": "USD"}],
    )
    assert "Another take" not in last
    assert "`s3://b/clips/lamp.mp4` (no browser link known)" in last
    assert "- take 1: another_take (0.3400 USD (actual)): warmer" in last


def test_a_video_link_is_the_template_the_store_endpoint_or_the_console(monkeypatch):
    assert viewer_url("s3://b/k/v.mp4", None, "https://cdn.example.com/{bucket}/{key}") == (
        "https://cdn.example.com/b/k/v.mp4"
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_MINIO", json.dumps({"conn_type": "aws", "extra": {"endpoint_url": "http://m:9000"}})
    )
    assert viewer_url("s3://b/k/a b.mp4", "minio") == "http://m:9000/b/k/a%20b.mp4"  # unsigned: never a presigned URL
    monkeypatch.setenv("AIRFLOW_CONN_AWS", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}))
    assert viewer_url("s3://b/k/v.mp4", "aws").startswith("https://s3.console.aws.amazon.com/s3/object/b?")
    assert viewer_url("file:///tmp/v.mp4", None) == ""


def test_a_seedance_function_returns_request_fields_or_a_prompt():
    assert request_of("a lamp", "t") == {"prompt": "a lamp"}
    assert request_of({"prompt": "p", "output_path": "s3://b/v.mp4"}, "t") == {
        "prompt": "p",
        "output_path": "s3://b/v.mp4",
    }
    with pytest.raises(AirflowFailException, match=r"'promt', which no request has.*Next: rename"):
        request_of({"promt": "p"}, "t")
    with pytest.raises(AirflowFailException, match=r"returned list; .* Next: return one of those"):
        request_of(["p"], "t")


@needs_hitl
@pytest.mark.parametrize(
    ("arguments", "message_part"),
    [
        ({"default_answer": "Another take"}, "only a person asks for one"),
        ({"max_takes": 0}, "max_takes=0: between 1 and 10"),
        ({"max_takes": 2, "take": 3}, "take=3: between 1 and max_takes=2"),
    ],
)
def test_a_review_that_cannot_work_fails_while_the_dag_is_parsed(arguments, message_part):
    from airflow_provider_seedance.operators.review import SeedanceReviewOperator

    with pytest.raises(ValueError, match=message_part):
        SeedanceReviewOperator(task_id="ask", video={}, publish_path="s3://b/published", **arguments)


@needs_hitl
def test_a_templated_publish_path_needs_its_asset_named():
    from airflow.sdk import DAG, task

    from airflow_provider_seedance.operators.review import review_and_publish

    with DAG("review_parse", schedule=None):

        @task
        def video() -> dict:
            return {}

        made = video()
        with pytest.raises(ValueError, match=r"pass publish_outlets=\[Asset"):
            review_and_publish(made, publish_path="s3://b/{{ ds }}")


def test_a_seedance_task_without_a_model_fails_before_any_request():
    from airflow.sdk import DAG, task

    with DAG("decorated_parse", schedule=None):

        @task.seedance(output_path="s3://b/v.mp4")
        def clip() -> str:
            return "a lamp"

        operator = clip().operator
    with pytest.raises(AirflowFailException, match=r"no model: return 'model' from the function or pass it"):
        operator._take_request({})  # what execute does first, before the hook is built


@needs_hitl
@pytest.mark.parametrize("upstream", ["mapped", "single", "batch"])
def test_the_review_adds_one_task_per_round_for_a_mapped_single_or_batch_generation(upstream):
    from airflow.sdk import DAG, task
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
    from airflow_provider_seedance.operators.review import review_and_publish

    with DAG("review_shape", schedule=None) as dag:

        @task.seedance(model="m", output_path="s3://b/v.mp4")
        def clip(topic: str) -> str:
            return topic

        if upstream == "batch":
            requests = [{"prompt": "a", "output_path": "s3://b/a.mp4"}]
            videos = SeedanceBatchGenerateVideoOperator(task_id="clips", requests=requests, defaults={"model": "m"})
            videos = videos.output
        else:
            videos = clip.expand(topic=["a", "b"]) if upstream == "mapped" else clip("a")
        reviewers = [{"id": "7", "name": "ana"}]
        group = review_and_publish(videos, publish_path="s3://b/published", max_takes=3, assigned_users=reviewers)
    assert group.group_id == "review"
    assert isinstance(group, MappedTaskGroup) == (upstream != "single")  # one review per item
    chain = ["review.ask_1", "review.take_2", "review.ask_2", "review.take_3", "review.ask_3", "review.publish"]
    assert [task_id for task_id in dag.task_dict if task_id.startswith("review.")] == chain
    for upstream, downstream in pairwise(chain):
        assert dag.task_dict[downstream].upstream_task_ids == {upstream}
    assert [outlet.uri for outlet in dag.task_dict["review.publish"].outlets] == ["s3://b/published"]
    assert dag.task_dict["review.ask_2"].assigned_users == reviewers  # who may answer, on every question
