"""Media inputs over real HTTP: every gateway fetches them at submit, records what it got, paints the first
frame and the prompt into the video, and fails the task in its own shape when an input cannot be had."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import BUCKET, s3_client
from tests.integration.simulator.conftest import data_uri, image_bytes, poll_until, sha256
from tests.integration.simulator.media_check import first_frame_distance, prompt_bits

FAILURE = "The parameter {field} specified in the request is not valid: {cause}"
# Measured: 1.5-2 for the image itself (scaling, YUV 4:2:0 and x264), about 90 for an unrelated one.
SAME_IMAGE, OTHER_IMAGE = 8.0, 40.0


@dataclass(frozen=True)
class Gateway:
    """How to ask one gateway for an image-to-video task and read the answer, from its docs."""

    name: str
    submit: str
    body: Callable[[str, str], dict[str, Any]]  # (prompt, first-frame value) -> create body
    field: str  # where the first frame sits, as records and failure messages name it
    task_id: Callable[[dict], str]
    status: str  # path with {id}
    task: Callable[[dict], dict]  # the task object inside the status reply
    state: str  # the task object's status field
    done: tuple[str, str]  # (succeeded, failed) values of that field
    video: Callable[[dict], str]
    failure: Callable[[dict], Any]  # the failure as the gateway reports it

    def message(self, cause: str) -> str:
        return FAILURE.format(field=self.field, cause=cause)


GATEWAYS = [
    Gateway(
        "ark",
        "/contents/generations/tasks",
        lambda prompt, image: {
            "model": "dreamina-seedance-2-0-260128",
            "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": image}, "role": "first_frame"},
            ],
            "resolution": "480p",
            "ratio": "16:9",
            "duration": 4,
        },
        "content[1].image_url.url",
        lambda reply: reply["id"],
        "/contents/generations/tasks/{id}",
        lambda reply: reply,
        "status",
        ("succeeded", "failed"),
        lambda task: task["content"]["video_url"],
        lambda task: task["error"],
    ),
    Gateway(
        "apimart",
        "/v1/videos/generations",
        lambda prompt, image: {
            "model": "doubao-seedance-2.0",
            "prompt": prompt,
            "image_with_roles": [{"url": image, "role": "first_frame"}],
            "resolution": "480p",
            "size": "16:9",
            "duration": 4,
        },
        "image_with_roles[0].url",
        lambda reply: reply["data"][0]["task_id"],
        "/v1/tasks/{id}",
        lambda reply: reply["data"],
        "status",
        ("completed", "failed"),
        lambda task: task["result"]["videos"][0]["url"][0],
        lambda task: task["error"],
    ),
    Gateway(
        "imini",
        "/v1/videos/generate",
        lambda prompt, image: {
            "model": "doubao/seedance-2.0",
            "prompt": prompt,
            "reference_images": [{"url": image, "reference_type": "first_frame"}],
            "resolution": "480P",
            "aspect_ratio": "16:9",
            "duration": 4,
        },
        "reference_images[0].url",
        lambda reply: reply["task_id"],
        "/v1/videos/tasks/{id}",
        lambda reply: reply,
        "status",
        ("succeeded", "failed"),
        lambda task: task["videos"][0]["url"],
        lambda task: task["error"],
    ),
    Gateway(
        "infinityblue",
        "/v1/videos",
        lambda prompt, image: {
            "model": "doubao-seedance-2-0-260128",
            "prompt": prompt,
            "image": image,
            "resolution": "480p",
            "ratio": "16:9",
            "seconds": "4",
        },
        "image",
        lambda reply: reply["id"],
        "/v1/videos/{id}",
        lambda reply: reply,
        "status",
        ("completed", "failed"),
        lambda task: task["metadata"]["url"],
        lambda task: task["error"],
    ),
    Gateway(
        "jimmyai",
        "/api/open-api/v1/seedance/videos",
        lambda prompt, image: {
            "model": "seedance2.0-mini",  # a route that takes plain http URLs (MD and STD want https)
            "prompt": prompt,
            "first_image": image,
            "resolution": "480p",
            "ratio": "16:9",
            "duration": 4,
        },
        "first_image",
        lambda reply: reply["data"]["task_id"],
        "/api/open-api/v1/videos/{id}",
        lambda reply: reply["data"],
        "status",
        ("completed", "failed"),
        lambda task: task["result"]["video_url"],
        lambda task: task["error_message"],
    ),
    Gateway(
        "aiproxy",
        "/v2/videos/generations",
        lambda prompt, image: {
            "model": "doubao-seedance-1-0-pro-250528",
            "prompt": prompt,
            "images": [image],
            "resolution": "480p",
            "ratio": "16:9",
        },
        "images[0]",
        lambda reply: reply["task_id"],
        "/v2/videos/generations/{id}",
        lambda reply: reply,
        "status",
        ("SUCCESS", "FAILURE"),
        lambda task: task["data"]["output"],
        lambda task: task["fail_reason"],
    ),
]
BY_NAME = {gateway.name: gateway for gateway in GATEWAYS}
# The failure as each gateway reports it, for a message.
SHAPES: dict[str, Callable[[str], Any]] = {
    "ark": lambda message: {"code": "InvalidParameter", "message": message},
    "apimart": lambda message: {"code": 400, "message": message, "type": "invalid_request_error"},
    "imini": lambda message: {"code": "INVALID_PARAMETER", "message": message},
    "infinityblue": lambda message: {"message": message, "code": "invalid_parameter"},
    "jimmyai": lambda message: message,
    "aiproxy": lambda message: message,
}
each_gateway = pytest.mark.parametrize("gateway", GATEWAYS, ids=lambda gateway: gateway.name)


def _submit(client: httpx.Client, simulator, gateway: Gateway, prompt: str, image: str) -> str:
    created = client.post(simulator.gateway_url(gateway.name) + gateway.submit, json=gateway.body(prompt, image))
    assert created.status_code == 200, created.text
    return gateway.task_id(created.json())


def _finish(client: httpx.Client, simulator, gateway: Gateway, task_id: str) -> dict:
    url = simulator.gateway_url(gateway.name) + gateway.status.format(id=task_id)
    return poll_until(lambda: gateway.task(client.get(url).json()), lambda task: task[gateway.state] in gateway.done)


def _received(http: httpx.Client, simulator, gateway: Gateway, task_id: str) -> dict:
    reply = http.get(f"{simulator.base_url}/_simulator/tasks/{gateway.name}/{task_id}")
    assert reply.status_code == 200
    return reply.json()


def _record(gateway: Gateway, via: str, data: bytes) -> dict:
    fields = {"field": gateway.field, "role": "first_frame", "via": via}
    return {**fields, "sha256": sha256(data), "size": len(data), "error": None}


def _prompt_bits(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")


def _check_painted(http: httpx.Client, gateway: Gateway, task: dict, prompt: str, image: bytes) -> None:
    assert task[gateway.state] == gateway.done[0], task
    video = http.get(gateway.video(task)).content
    assert first_frame_distance(video, image) < SAME_IMAGE
    assert first_frame_distance(video, image_bytes(999)) > OTHER_IMAGE
    assert prompt_bits(video) == _prompt_bits(prompt)


@each_gateway
def test_image_url_is_fetched_recorded_and_painted(http, simulator, client, serve, gateway):
    image = image_bytes(200 + GATEWAYS.index(gateway))
    prompt = f"a paper boat drifts past the {gateway.name} lighthouse"
    task_id = _submit(client, simulator, gateway, prompt, serve(image))

    received = _received(http, simulator, gateway, task_id)
    assert received == {
        "gateway": gateway.name,
        "task_id": task_id,
        "inputs": [_record(gateway, "url", image)],
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
    }
    assert simulator.simulator.tasks.get(gateway.name, task_id).inputs[0].sha256 == sha256(image)
    _check_painted(http, gateway, _finish(client, simulator, gateway, task_id), prompt, image)


def _upload_to_apimart(client: httpx.Client, simulator, data: bytes) -> str:
    reply = client.post(
        simulator.gateway_url("apimart") + "/v1/uploads/images", files={"file": ("still.jpg", data, "image/jpeg")}
    )
    return reply.json()["url"]


def _sp_asset(client: httpx.Client, simulator, url: str, monkeypatch) -> str:
    from airflow_provider_seedance.simulator.fake_gateways import jimmyai

    monkeypatch.setattr(jimmyai, "ASSET_PROCESSING_SECONDS", 0.0)
    assets = simulator.gateway_url("jimmyai") + "/api/open-api/v1/seedance/sp/assets"
    reply = client.post(f"{assets}/upload", json={"name": "still", "type": "image", "url": url})
    asset_id = reply.json()["data"]["asset_id"]
    status = client.post(f"{assets}/status", json={"asset_ids": [asset_id]}).json()
    assert status["data"]["items"][0]["status"] == "Active"
    return asset_id


@each_gateway
def test_second_way_in_is_recorded_and_painted(http, simulator, client, serve, monkeypatch, gateway):
    """data: URIs where the gateway takes them; apimart's own upload URL and JimmyAI's SP library elsewhere."""
    image = image_bytes(300 + GATEWAYS.index(gateway), "JPEG")
    prompt = f"the {gateway.name} boat, seen from above"
    if gateway.name == "apimart":
        value, via = _upload_to_apimart(client, simulator, image), "upload"
    elif gateway.name == "jimmyai":
        value, via = f"asset://{_sp_asset(client, simulator, serve(image, '.jpg'), monkeypatch)}", "asset"
        gateway = dataclasses.replace(gateway, body=_on_sp_route(gateway.body))
    else:
        value, via = data_uri(image, "image/jpeg"), "data"
    task_id = _submit(client, simulator, gateway, prompt, value)
    assert _received(http, simulator, gateway, task_id)["inputs"] == [_record(gateway, via, image)]
    _check_painted(http, gateway, _finish(client, simulator, gateway, task_id), prompt, image)


def _on_sp_route(body: Callable[[str, str], dict]) -> Callable[[str, str], dict]:
    return lambda prompt, image: {**body(prompt, image), "model": "seedance2.0-sp"}


def test_aiproxy_bare_base64_is_decoded(http, simulator, client):
    gateway = BY_NAME["aiproxy"]
    image = image_bytes(77)
    task_id = _submit(client, simulator, gateway, "x", data_uri(image).partition(",")[2])
    assert _received(http, simulator, gateway, task_id)["inputs"] == [_record(gateway, "data", image)]


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a fetch from it times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def short_fetch_timeout(simulator) -> Iterator[None]:
    config = simulator.simulator.config
    original = config.input_fetch_timeout_seconds
    config.input_fetch_timeout_seconds = 0.3
    try:
        yield
    finally:
        config.input_fetch_timeout_seconds = original


def _private_object(moto_server: str, data: bytes) -> str:
    """An object in the test bucket, addressed without a signature: a private bucket answers 403."""
    s3_client(moto_server).put_object(Bucket=BUCKET, Key="inputs/private.png", Body=data)
    return f"{moto_server}/{BUCKET}/inputs/private.png"


UNREACHABLE = {
    "refused": ("connection refused while fetching resource", lambda **_: "http://127.0.0.1:9/x.png"),
    "404": ("HTTP 404 while fetching resource", lambda file_server, **_: f"{file_server[0]}/missing.png"),
    "403-private-bucket": (
        "HTTP 403 while fetching resource",
        lambda moto_server, **_: _private_object(moto_server, image_bytes(1)),
    ),
    "no-such-host": ("host not found while fetching resource", lambda **_: "https://example.com/cat.png"),
}


@each_gateway
@pytest.mark.parametrize("cause", list(UNREACHABLE))
def test_unreachable_input_fails_the_task_in_the_gateways_shape(
    http, simulator, client, file_server, moto_server, gateway, cause
):
    message, make_url = UNREACHABLE[cause]
    task_id = _submit(client, simulator, gateway, "a kite", make_url(file_server=file_server, moto_server=moto_server))
    task = _finish(client, simulator, gateway, task_id)
    assert task[gateway.state] == gateway.done[1]
    assert gateway.failure(task) == SHAPES[gateway.name](gateway.message(message))
    [record] = _received(http, simulator, gateway, task_id)["inputs"]
    assert (record["sha256"], record["size"], record["error"]) == (None, None, message)
    stats = http.get(f"{simulator.base_url}/_simulator/stats").json()["tasks"][f"{gateway.name}/{task_id}"]
    assert stats["input_fetch_failures"] == 1


def test_a_resource_that_never_answers_times_out(http, simulator, client, silent_port, short_fetch_timeout):
    gateway = BY_NAME["ark"]
    started = time.monotonic()
    task_id = _submit(client, simulator, gateway, "x", f"http://127.0.0.1:{silent_port}/slow.png")
    assert time.monotonic() - started < 3
    task = _finish(client, simulator, gateway, task_id)
    assert task["error"] == {"code": "InvalidParameter", "message": gateway.message("timeout while fetching resource")}


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        pytest.param("data:image/png;base64,%%%not-base64", "the base64 data is malformed", id="bad-base64"),
        pytest.param(data_uri(b"plain text, not a picture"), "the image could not be decoded", id="not-an-image"),
    ],
)
def test_undecodable_first_frame_fails_the_task(simulator, client, value, cause):
    gateway = BY_NAME["ark"]
    task = _finish(client, simulator, gateway, _submit(client, simulator, gateway, "x", value))
    assert task["error"]["message"] == gateway.message(cause)


def test_presigned_s3_urls_are_fetched_and_moto_ignores_their_expiry(http, simulator, client, moto_server):
    """moto (5.x) does not check X-Amz-Expires: a presigned URL keeps working after it expired. Expired or
    private links are therefore tested with moto's 403 for unsigned requests and the file server's 404."""
    image = image_bytes(31)
    s3 = s3_client(moto_server)
    s3.put_object(Bucket=BUCKET, Key="inputs/presigned.png", Body=image)
    params = {"Bucket": BUCKET, "Key": "inputs/presigned.png"}
    gateway = BY_NAME["ark"]

    task_id = _submit(client, simulator, gateway, "x", s3.generate_presigned_url("get_object", Params=params))
    assert _received(http, simulator, gateway, task_id)["inputs"] == [_record(gateway, "url", image)]

    expired = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    expires = int(parse_qs(urlsplit(expired).query)["Expires"][0])  # a Unix time, whole seconds
    time.sleep(max(0.0, expires + 0.05 - time.time()))  # until just past it, not a guessed 2 s
    task = _finish(client, simulator, gateway, _submit(client, simulator, gateway, "x", expired))
    assert task["status"] == "succeeded"  # a real S3 would answer 403 and the task would fail


def test_jimmyai_asset_with_an_unreachable_url_fails_processing(http, simulator, client, monkeypatch):
    from airflow_provider_seedance.simulator.fake_gateways import jimmyai

    monkeypatch.setattr(jimmyai, "ASSET_PROCESSING_SECONDS", 0.0)
    assets = simulator.gateway_url("jimmyai") + "/api/open-api/v1/seedance/sp/assets"
    reply = client.post(f"{assets}/upload", json={"name": "gone", "type": "image", "url": "http://127.0.0.1:9/a.png"})
    assert reply.json()["code"] == 0  # accepted: the fetch fails while processing
    asset_id = reply.json()["data"]["asset_id"]
    detail = client.post(f"{assets}/detail", json={"asset_id": asset_id}).json()["data"]
    assert (detail["status"], detail["official_id"]) == ("Failed", None)


def test_full_route_asset_ids_are_recorded_without_bytes(http, simulator, client):
    body = {"model": "sd2_mx_720p", "prompt": "x", "duration": 4, "first_image": "asset://asset_img_001"}
    created = client.post(simulator.gateway_url("jimmyai") + "/api/open-api/v1/seedance/videos", json=body)
    task_id = created.json()["data"]["task_id"]
    [record] = _received(http, simulator, BY_NAME["jimmyai"], task_id)["inputs"]
    assert record == {
        "field": "first_image",
        "role": "first_frame",
        "via": "asset",
        "sha256": None,
        "size": None,
        "error": None,
    }


def test_records_never_hold_the_url_or_the_data(http, simulator, client, serve):
    gateway = BY_NAME["ark"]
    url = serve(image_bytes(64)) + "?X-Amz-Signature=secret-signature"
    task_id = _submit(client, simulator, gateway, "x", url)
    text = http.get(f"{simulator.base_url}/_simulator/tasks/ark/{task_id}").text
    assert "secret-signature" not in text
    assert "127.0.0.1" not in text


def test_task_route_is_404_for_an_unknown_task(http, simulator):
    reply = http.get(f"{simulator.base_url}/_simulator/tasks/ark/cgt-nope")
    assert reply.status_code == 404
