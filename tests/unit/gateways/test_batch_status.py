"""The batch status calls the fleet poller uses (pure): Ark's list with repeated filter.task_ids, apimart's batch."""

from __future__ import annotations

import json

import httpx
import pytest

from airflow_provider_seedance.exceptions import RateLimitError, UnexpectedResponseError
from airflow_provider_seedance.gateways import get_gateway
from airflow_provider_seedance.gateways.base import HttpResponse
from airflow_provider_seedance.models import TaskState


def _reply(body: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode(), {"content-type": "application/json"})


def test_gateways_without_a_batch_call_say_so():
    for name in ("imini", "aiproxy", "infinityblue", "jimmyai"):
        assert get_gateway(name).batch_status_limit == 0


def test_ark_batch_repeats_filter_task_ids_on_the_list_call():
    call = get_gateway("ark").build_batch_status(["cgt-1", "cgt-2"])
    assert (call.method, call.path) == ("GET", "contents/generations/tasks")
    # httpx, which the hook hands the query to, repeats a list-valued parameter.
    url = httpx.Request("GET", "https://x/api/v3/" + call.path, params=dict(call.query)).url
    assert url.params.get_list("filter.task_ids") == ["cgt-1", "cgt-2"]
    assert url.params["page_size"] == "2"


def test_ark_batch_reply_reads_every_listed_task():
    items = [
        {"id": "cgt-1", "model": "m", "status": "running"},
        {"id": "cgt-2", "model": "m", "status": "succeeded", "content": {"video_url": "https://cdn/v.mp4"}},
    ]
    statuses = get_gateway("ark").parse_batch_status(_reply({"total": 2, "items": items}))
    assert {task_id: status.state for task_id, status in statuses.items()} == {
        "cgt-1": TaskState.RUNNING,
        "cgt-2": TaskState.SUCCEEDED,
    }
    assert statuses["cgt-2"].video_url == "https://cdn/v.mp4"


def test_apimart_batch_posts_the_ids_and_leaves_out_unknown_entries():
    gateway = get_gateway("apimart")
    call = gateway.build_batch_status(["task_a", "task_b"])
    assert (call.method, call.path, call.json) == ("POST", "v1/tasks/batch", {"task_ids": ["task_a", "task_b"]})
    body = {"code": 200, "data": [{"id": "task_a", "status": "processing", "progress": 40}, {"task_id": "task_b"}]}
    statuses = gateway.parse_batch_status(_reply(body))
    assert list(statuses) == ["task_a"]
    assert (statuses["task_a"].state, statuses["task_a"].progress) == (TaskState.RUNNING, 40)


@pytest.mark.parametrize(
    "body",
    [{"code": 200, "data": {"unexpected": True}}, {"code": 200, "data": [{"no": "task"}]}, ["not", "an", "envelope"]],
)
def test_an_unreadable_apimart_batch_reply_is_unexpected(body):
    with pytest.raises(UnexpectedResponseError):
        get_gateway("apimart").parse_batch_status(_reply(body))


def test_a_batch_reply_error_is_the_gateways_usual_error():
    body = {"error": {"code": "rate_limit", "message": "slow down", "type": "rate_limit_error"}}
    with pytest.raises(RateLimitError):
        get_gateway("apimart").parse_batch_status(_reply(body, 429))
