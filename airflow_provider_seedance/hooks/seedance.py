"""SeedanceHook: the one place that does I/O with a gateway, on workers (sync) and in the triggerer (async).

The dialect describes each call and reads each reply; this hook sends the calls with httpx, maps
transport failures to our errors in one place, and applies one retry policy to both paths. A submit
whose fate is unknown (sent, but no clear answer) is never resent: it fails with
``SubmitOutcomeUnknownError``, because the gateway may already be billing for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

import httpx

from airflow_provider_seedance.compat import (
    AirflowNotFoundException,
    BaseHook,
    get_async_connection,
    get_async_extra_dejson,
)
from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ConnectionConfigError,
    GatewayError,
    ResultUnavailableError,
    SeedanceError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.base import Artifact, Gateway, HttpCall, HttpResponse
from airflow_provider_seedance.gateways.delivery import AssetState
from airflow_provider_seedance.hooks.clients import DEFAULT_TIMEOUT, new_sync_client, shared_async_client
from airflow_provider_seedance.hooks.connection import GatewayConnection, gateway_connection
from airflow_provider_seedance.hooks.connection_form import legacy_connection_form_widgets, legacy_ui_field_behaviour
from airflow_provider_seedance.hooks.downloads import ArtifactStream, range_start, range_total, total_size
from airflow_provider_seedance.hooks.retry import RetryPolicy, outcome_unknown
from airflow_provider_seedance.hooks.waiting import wait_on_worker
from airflow_provider_seedance.models import TaskStatus, VideoRequest

log = logging.getLogger(__name__)

# find_task reads at most this many pages of this size (the newest tasks come first).
FIND_TASK_PAGE_SIZE = 50
FIND_TASK_MAX_PAGES = 20
T = TypeVar("T")

# A task id no gateway will ever have: asking for it proves the key works without paying for anything.
PROBE_TASK_ID = "airflow-provider-seedance-connection-test"


class SeedanceHook(BaseHook):
    """Talks to one Seedance gateway through a ``seedance`` connection.

    :param seedance_conn_id: connection whose ``password`` is the API key, ``host`` the base URL
        (optional where the gateway has a public default) and ``extra.gateway`` the dialect name.
    :param retry_policy: backoff and retry limits for transient failures (connection errors, 429, 5xx);
        by default the connection's ``extra.retry`` (docs/connections.md), else ``RetryPolicy()``. Set it on the
        connection to have triggers, which build their own hook, retry the same way.
    """

    conn_name_attr = "seedance_conn_id"
    default_conn_name = "seedance_default"
    conn_type = "seedance"
    hook_name = "Seedance"

    def __init__(
        self,
        seedance_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seedance_conn_id = seedance_conn_id
        self.retry_policy = retry_policy
        self.timeout = timeout
        self._async_connection: GatewayConnection | None = None

    # ---- connection form (Airflow 3.0 and 3.1; 3.2+ reads it from provider info) ---------------

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return legacy_connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return legacy_ui_field_behaviour()

    # ---- connection ---------------------------------------------------------------------------

    @cached_property
    def connection(self) -> GatewayConnection:
        """The resolved connection (sync lookup: workers only, never inside the triggerer's loop)."""
        try:
            conn = self.get_connection(self.seedance_conn_id)
        except AirflowNotFoundException:
            raise ConnectionConfigError(
                f"connection {self.seedance_conn_id!r} is not defined in this deployment (seedance_conn_id); create "
                f"it (Admin > Connections, AIRFLOW_CONN_{self.seedance_conn_id.upper()} or your secrets backend) "
                "or fix the name"
            ) from None
        return gateway_connection(conn, conn.extra_dejson)

    async def aconnection(self) -> GatewayConnection:
        """The resolved connection through Airflow's async connection API, fetched once per hook."""
        if self._async_connection is None:
            conn = await get_async_connection(self.seedance_conn_id, hook=self)
            self._async_connection = gateway_connection(conn, await get_async_extra_dejson(conn))
        return self._async_connection

    def get_conn(self) -> GatewayConnection:
        return self.connection

    @property
    def gateway(self) -> Gateway:
        return self.connection.gateway

    @cached_property
    def _client(self) -> httpx.Client:
        return new_sync_client(self.timeout)

    def close(self) -> None:
        if "_client" in self.__dict__:
            self._client.close()
            del self.__dict__["_client"]

    # ---- sync API (workers) -------------------------------------------------------------------

    def submit(
        self, request: VideoRequest, *, secrets: Sequence[str] = (), send_by: datetime | None = None
    ) -> TaskStatus:
        """Validate (no network), then create the paid task; never resent once it may have arrived.

        ``secrets`` are values inside the request (presigned URLs, inline data) that must not appear in
        an error message should the gateway echo them. No attempt starts after ``send_by`` (the reservation
        tells other runs until when its answer may come): past it, the last refusal is raised, or a
        ``TransportError`` that says nothing was sent.
        """
        call = self.gateway.build_submit(request)
        status = self._run(call, self.gateway.parse_submit, submit=True, secrets=secrets, send_by=send_by)
        log.info("Submitted %s generation on %s: task %s", request.model, self.gateway.name, status.task_id)
        return status

    def upload(self, filename: str, content_type: str, data: bytes) -> str:
        """Post a file to the gateway's upload endpoint; returns the URL it is served from (a secret)."""
        url = self._run(self.gateway.build_upload(filename, content_type, data), self.gateway.parse_upload)
        log.info("Uploaded %s (%d bytes) to %s.", filename, len(data), self.gateway.name)
        return url

    def create_asset(self, name: str, media: str, url: str) -> str:
        """Hand the file at ``url`` to the gateway's asset library for audit; returns the asset id."""
        return self._run(
            self.gateway.build_asset_create(name, media, url), self.gateway.parse_asset_create, secrets=[url]
        )

    def asset_states(self, asset_ids: Sequence[str]) -> dict[str, AssetState]:
        return self._run(self.gateway.build_asset_status(asset_ids), self.gateway.parse_asset_status)

    def get_status(self, task_id: str) -> TaskStatus:
        return self._run(self.gateway.build_status(task_id), self.gateway.parse_status)

    def find_task(self, model: str, seed: int, created_after: datetime) -> TaskStatus | None:
        """The task of ``model`` created with ``seed`` since ``created_after``; None when the list shows none.

        Pages through the gateway's list, newest first, until it reaches tasks older than ``created_after``.
        A failed call raises, so None always means the list was read to that point and had no such task.
        """
        since = created_after.timestamp()
        for page in range(1, FIND_TASK_MAX_PAGES + 1):
            tasks = self._run(self.gateway.build_list(model, page, FIND_TASK_PAGE_SIZE), self.gateway.parse_list)
            for task in tasks:
                if isinstance(task.raw, dict) and task.raw.get("seed") == seed and _created_at(task) >= since:
                    return task
            if len(tasks) < FIND_TASK_PAGE_SIZE or min(_created_at(task) for task in tasks) < since:
                return None
        raise UnexpectedResponseError(
            f"more than {FIND_TASK_MAX_PAGES * FIND_TASK_PAGE_SIZE} {model} tasks since {created_after.isoformat()}; "
            "not looking further",
            gateway=self.gateway.name,
        )

    def cancel(self, task_id: str) -> bool:
        """Cancel the remote task; False where the gateway has no cancel call."""
        call = self.gateway.build_cancel(task_id)
        if call is None:
            log.info("%s has no cancel call; task %s keeps running remotely.", self.gateway.name, task_id)
            return False
        self._run(call, self.gateway.parse_cancel)
        log.info("Cancelled task %s on %s.", task_id, self.gateway.name)
        return True

    def wait(self, task_id: str, *, poll_interval: float, deadline: datetime) -> TaskStatus:
        """Poll on the worker until the task ends or ``deadline`` passes; returns the last status seen
        (the waiting policy is ``hooks.waiting``'s, the same as the triggerer's)."""
        return wait_on_worker(self.get_status, self.gateway, task_id, poll_interval=poll_interval, deadline=deadline)

    @contextmanager
    def open_artifact(
        self, status: TaskStatus, artifact: Artifact = "video", offset: int = 0
    ) -> Iterator[ArtifactStream]:
        """Open a finished task's video or last frame as a byte stream, from ``offset`` when resuming."""
        call = self.gateway.build_download(status, artifact)
        connection = self.connection
        # Identity encoding: byte counts and Range offsets must refer to the stored bytes.
        headers = {key: value for key, value in connection.headers(call).items() if key != "Accept"}
        headers["Accept-Encoding"] = "identity"
        if offset:
            headers["Range"] = f"bytes={offset}-"
        attempt = 0
        while True:
            attempt += 1
            try:
                with _transport_errors(self.gateway.name, request_sent=False):
                    response = self._client.send(
                        self._client.build_request("GET", connection.url(call), headers=headers), stream=True
                    )
                try:
                    self._raise_for_download(response, call, offset)
                except BaseException:
                    response.close()
                    raise
                break
            except (TransportError, GatewayError) as error:
                delay = self._retry_delay(connection, attempt, error, call, submit=False)
            time.sleep(delay)
        try:
            if response.status_code == 416 and range_total(response) == offset:
                # The connection broke after the last byte: nothing is left to fetch.
                yield ArtifactStream(chunks=iter(()), offset=offset, total_size=offset, content_type=None)
                return
            resumed = response.status_code == 206 and range_start(response) == offset
            yield ArtifactStream(
                # Chunks as they arrive (not gathered into large blocks): bytes received before a
                # connection drops are stored, so the resume starts after them.
                chunks=_mapped_chunks(response.iter_bytes(), self.gateway.name),
                offset=offset if resumed else 0,
                total_size=total_size(response, offset if resumed else 0),
                content_type=response.headers.get("content-type"),
            )
        finally:
            response.close()

    def test_connection(self) -> tuple[bool, str]:
        """Positive evidence where the gateway has a cheap authenticated read (Ark's task list: a page of it,
        in Ark's format, proves the URL and the key). Elsewhere, ask for a task id that cannot exist: the
        gateway's own "not found" proves the URL and key.

        A 404 counts only when its body is the gateway's error shape: a wrong path on the right host,
        another gateway's server or an S3 endpoint also answer 404, but not in this gateway's words.
        """
        try:
            if self.gateway.lists_tasks:
                model = next(iter(self.gateway.models))  # any: the filter need not match a task
                self._run(self.gateway.build_list(model, 1, 1), self.gateway.parse_list)
                return True, (
                    f"Connected to {self.gateway.name} at {self.connection.base_url}; the API key was accepted "
                    "(it read the account's task list)."
                )
            self.get_status(PROBE_TASK_ID)
        except TaskNotFoundError as exc:
            if not exc.structured or self.gateway.lists_tasks:  # the list itself is not there: a wrong path
                return False, self._not_this_gateway(exc)
            return True, f"Connected to {self.gateway.name} at {self.connection.base_url}; the API key was accepted."
        except AuthenticationError as exc:
            return False, f"{self.gateway.name} rejected the API key: {exc.message}. Check the connection's password."
        except (SeedanceError, ValueError) as exc:
            return False, f"Could not use {self.seedance_conn_id}: {exc}"
        return True, f"Connected to {self.gateway.name} at {self.connection.base_url}."

    def _not_this_gateway(self, error: TaskNotFoundError) -> str:
        gateway = self.gateway
        expected = f" (the public one is {gateway.default_base_url})" if gateway.default_base_url else ""
        return (
            f"{self.connection.base_url} answered HTTP {error.status_code} to {gateway.name}'s status path, but "
            f"not in {gateway.name}'s error format ({error.message[:80]!r}): this is not a {gateway.name} API. "
            f"Check the Base URL{expected} and that extra.gateway names the gateway it belongs to."
        )

    # ---- async API (triggerer) ----------------------------------------------------------------

    async def aget_status(self, task_id: str) -> TaskStatus:
        connection = await self.aconnection()
        gateway = connection.gateway
        return await self._arun(connection, gateway.build_status(task_id), gateway.parse_status)

    async def aget_statuses(self, task_ids: Sequence[str]) -> dict[str, TaskStatus]:
        """One batch status call for ``task_ids`` (at most the dialect's ``batch_status_limit``); a task the
        gateway leaves out of its reply is absent from the result."""
        connection = await self.aconnection()
        gateway = connection.gateway
        return await self._arun(connection, gateway.build_batch_status(task_ids), gateway.parse_batch_status)

    async def acancel(self, task_id: str) -> bool:
        connection = await self.aconnection()
        call = connection.gateway.build_cancel(task_id)
        if call is None:
            return False
        await self._arun(connection, call, connection.gateway.parse_cancel)
        log.info("Cancelled task %s on %s.", task_id, connection.gateway.name)
        return True

    # ---- one request, with the retry policy ---------------------------------------------------

    def _run(
        self,
        call: HttpCall,
        parse: Callable[[HttpResponse], T],
        *,
        submit: bool = False,
        secrets: Sequence[str] = (),
        send_by: datetime | None = None,
    ) -> T:
        connection = self.connection
        attempt = 0
        while True:
            attempt += 1
            if send_by is not None and datetime.now(UTC) > send_by:
                raise TransportError(
                    f"not sent: its send-by time {send_by.isoformat()} has passed",
                    gateway=connection.gateway.name,
                    request_sent=False,
                )
            try:
                with _transport_errors(connection.gateway.name, request_sent=True):
                    response = self._client.send(_build_request(self._client, connection, call))
                return _parsed(parse, response, connection, submit=submit)
            except (TransportError, GatewayError) as error:
                redacted = _redacted(error, [connection.api_key, *secrets])
                delay = self._retry_delay(connection, attempt, redacted, call, submit=submit)
                if send_by is not None and datetime.now(UTC) + timedelta(seconds=delay) > send_by:
                    raise redacted from None  # a refusal (only those are retried): nothing was created
            time.sleep(delay)

    async def _arun(self, connection: GatewayConnection, call: HttpCall, parse: Callable[[HttpResponse], T]) -> T:
        shared = shared_async_client(f"{connection.identity}|{self.timeout}", self.timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with shared.slot() as client:
                    with _transport_errors(connection.gateway.name, request_sent=True):
                        response = await client.send(_build_request(client, connection, call))
                return _parsed(parse, response, connection, submit=False)
            except (TransportError, GatewayError) as error:
                redacted = _redacted(error, [connection.api_key])
                delay = self._retry_delay(connection, attempt, redacted, call, submit=False)
            await asyncio.sleep(delay)

    def _retry_delay(
        self, connection: GatewayConnection, attempt: int, error: SeedanceError, call: HttpCall, *, submit: bool
    ) -> float:
        """Seconds to wait before the next attempt; raises when the error is final."""
        policy = self.retry_policy if self.retry_policy is not None else connection.retry_policy
        if not policy.should_retry(attempt, error, submit=submit):
            if submit and outcome_unknown(error):
                raise SubmitOutcomeUnknownError(
                    f"the submit to {self.seedance_conn_id} may have reached the gateway, but no clear answer "
                    f"came back ({error}). It is not resent automatically, so the video is not paid twice: "
                    "look in the gateway's console for the task before submitting it again."
                ) from error
            raise error
        delay = policy.delay(attempt, error)
        log.warning(
            "%s %s failed (%s); retrying in %.1f s (attempt %d of %d).",
            call.method,
            call.path if not call.is_absolute else "result URL",
            error,
            delay,
            attempt,
            policy.max_attempts,
        )
        return delay

    def _raise_for_download(self, response: httpx.Response, call: HttpCall, offset: int) -> None:
        if response.status_code < 400 or (response.status_code == 416 and range_total(response) == offset):
            return
        body = response.read()
        if not call.authenticated and response.status_code in (403, 404, 410):
            # A signed result URL on a CDN answers these once it has expired or the file is gone.
            raise ResultUnavailableError(
                f"the result URL answered HTTP {response.status_code} (expired or removed): "
                f"{body[:120].decode('utf-8', 'replace').strip() or 'no body'}",
                gateway=self.gateway.name,
                status_code=response.status_code,
            )
        raise self.gateway.error_from(_as_response(response))


def _parsed(
    parse: Callable[[HttpResponse], T], response: httpx.Response, connection: GatewayConnection, *, submit: bool
) -> T:
    """The dialect's reading of a reply. A submit reply it cannot read at all leaves the task's fate open."""
    try:
        return parse(_as_response(response))
    except SeedanceError:
        raise
    except Exception as exc:
        if not submit:
            # Most often another API at that address (another gateway's reply read with this one's dialect).
            raise UnexpectedResponseError(
                f"the reply (HTTP {response.status_code}) could not be read ({type(exc).__name__}: {exc}): "
                f"{response.text[:200]!r}",
                gateway=connection.gateway.name,
                status_code=response.status_code,
                structured=False,
            ) from exc
        raise SubmitOutcomeUnknownError(
            f"the submit to {connection.conn_id} was answered (HTTP {response.status_code}) but the reply could "
            f"not be read ({type(exc).__name__}); it is not resent, so the video is not paid twice"
        ) from exc


def _redacted(error: SeedanceError, secrets: Sequence[str]) -> SeedanceError:
    """The error with the API key (and any other secret sent) blanked out, in case a gateway echoed it."""
    for secret in secrets:
        if secret and any(secret in str(arg) for arg in error.args):
            error.args = tuple(str(arg).replace(secret, "***") for arg in error.args)
            if isinstance(error, GatewayError):
                error.message = error.message.replace(secret, "***")
    return error


def _build_request(
    client: httpx.Client | httpx.AsyncClient, connection: GatewayConnection, call: HttpCall
) -> httpx.Request:
    """The httpx request for a dialect's call; shared by the sync and async paths so they cannot drift."""
    return client.build_request(
        call.method,
        connection.url(call),
        params=dict(call.query),
        json=call.json,
        files=dict(call.files) if call.files else None,
        headers=connection.headers(call),
    )


def _as_response(response: httpx.Response) -> HttpResponse:
    return HttpResponse(status_code=response.status_code, content=response.content, headers=dict(response.headers))


def _mapped_chunks(chunks: Iterator[bytes], gateway: str) -> Iterator[bytes]:
    """The body's chunks; a connection lost mid-body becomes our ``TransportError``."""
    with _transport_errors(gateway, request_sent=True):
        yield from chunks


@contextmanager
def _transport_errors(gateway: str, *, request_sent: bool) -> Iterator[None]:
    """Translate httpx failures into ``TransportError``; a failed connect means nothing was sent."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise TransportError(
            f"could not connect: {exc}; nothing was sent. Next: check that this worker can reach the gateway (the "
            "connection's Base URL, a proxy or a firewall in between); a retry of the task tries again.",
            gateway=gateway,
            request_sent=False,
        ) from exc
    except httpx.TransportError as exc:
        raise TransportError(
            f"{type(exc).__name__}: {exc or 'connection lost'}", gateway=gateway, request_sent=request_sent
        ) from exc


def _created_at(task: TaskStatus) -> float:
    """A listed task's creation time (Unix seconds); 0 when the gateway did not say."""
    created = task.raw.get("created_at") if isinstance(task.raw, dict) else None
    return float(created) if isinstance(created, int | float) else 0.0
