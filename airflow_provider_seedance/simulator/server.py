"""The simulator's aiohttp application: gateway routes under their prefixes, result files, admin API.

Cross-cutting behaviour lives here once (API-key check, fault injection, statistics, serving result
files with Content-Length, Range and expiry); each gateway module supplies only its paths, its
request rules and its reply shapes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.fake_gateways import SIMULATED_GATEWAYS
from airflow_provider_seedance.simulator.fake_gateways.base import ErrorKind, RequestRejected, Route, SimGateway
from airflow_provider_seedance.simulator.faults import Fault, FaultInjector, FaultKind, FaultPlan, Outage, OutageMode
from airflow_provider_seedance.simulator.inputs import AssetBytes, MediaRef, ReceivedInput, failure_message, receive
from airflow_provider_seedance.simulator.media import MediaCache, VideoSpec, video_size
from airflow_provider_seedance.simulator.stats import Stats
from airflow_provider_seedance.simulator.tasks import Outcome, SimState, SimTask, TaskStore

log = logging.getLogger(__name__)

API_FAULTS = (
    FaultKind.DROP,
    FaultKind.SLOW,
    FaultKind.RATE_LIMIT,
    FaultKind.SERVER_ERROR,
    FaultKind.DROP_AFTER,
    FaultKind.HOLD_AFTER,
    FaultKind.NOT_FOUND,
    FaultKind.UNAUTHORIZED,
)
# Truncation is decided where the bytes are sent (serve_artifact), not before the handler runs.
DOWNLOAD_FAULTS = (FaultKind.DROP, FaultKind.SLOW, FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR)
ARTIFACT_FILES = {"video": "video.mp4", "last_frame": "last_frame.png"}
MAX_BODY_BYTES = 64 * 1024 * 1024  # the upstream's request-body limit
# What a gateway that is down answers a submit with, in its own error body (see OutageMode).
OUTAGE_REPLIES = {
    OutageMode.UNAVAILABLE: (503, ErrorKind.SERVER_ERROR, "the service is temporarily unavailable"),
    OutageMode.RATE_LIMITED: (429, ErrorKind.RATE_LIMITED, "too many requests, slow down"),
    OutageMode.NO_CREDIT: (402, ErrorKind.INSUFFICIENT_CREDIT, "insufficient account balance"),
}
# Set on a batch status request that a ``not_found`` fault hit.
FORGETS_TASKS = web.RequestKey("forgets_tasks", bool)


class Simulator:
    """One simulated deployment of all six gateways, sharing a clock, a task store and the stats."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.tasks = TaskStore()
        self.stats = Stats()
        self.faults = FaultInjector(self.config.faults)
        cache_dir = self.config.cache_dir or Path(tempfile.mkdtemp(prefix="seedance-simulator-"))
        self.media = MediaCache(cache_dir)
        self.gateways: dict[str, SimGateway] = {gateway.name: gateway() for gateway in SIMULATED_GATEWAYS}
        self._epoch_real = time.time()

    # ---- the clock ------------------------------------------------------------------------------

    def now(self, real: float | None = None) -> float:
        """Simulated Unix time: it runs ``1 / time_scale`` times as fast as the wall clock."""
        real = time.time() if real is None else real
        return self._epoch_real + (real - self._epoch_real) / self.config.time_scale

    # ---- helpers for gateway handlers -----------------------------------------------------------

    async def receive_inputs(self, refs: list[MediaRef], *, assets: AssetBytes | None = None) -> list[ReceivedInput]:
        """Fetch or decode every media input of a create request, as the gateway does before queueing it.

        The first-frame image is kept for rendering; one that does not decode counts as unusable.
        """
        received = await receive(refs, timeout=self.config.input_fetch_timeout_seconds, assets=assets)
        inputs = []
        for item, data in received:
            if item.role == "first_frame" and data is not None:
                try:
                    await asyncio.get_running_loop().run_in_executor(None, self.media.keep_image, data)
                except ValueError as exc:
                    item = dataclasses.replace(item, error=str(exc))
            inputs.append(item)
        return inputs

    def create_task(
        self,
        gateway: str,
        task_id: str,
        *,
        model: str,
        prompt: str,
        resolution: str,
        ratio: str,
        duration: int,
        audio: bool,
        return_last_frame: bool = False,
        execution_limit: float | None = None,
        params: dict[str, Any] | None = None,
        inputs: list[ReceivedInput] | None = None,
    ) -> SimTask:
        """Record a paid submission. Moderation and expired-URL faults are decided here, once per task;
        an unusable input (see ``receive_inputs``) fails the task instead, whatever the fault."""
        fault = self.faults.decide(gateway, "submit", (FaultKind.MODERATION, FaultKind.EXPIRE_URL))
        if fault is not None:
            self.stats.fault(gateway, fault.kind)
        inputs = inputs or []
        failure = failure_message(inputs)
        outcome = Outcome.MODERATION if fault and fault.kind is FaultKind.MODERATION else Outcome.SUCCEED
        first_frame = next((i.sha256 for i in inputs if i.role == "first_frame" and i.sha256 and not i.error), None)
        width, height = video_size(resolution, ratio)
        created_real = time.time()
        task = SimTask(
            gateway=gateway,
            task_id=task_id,
            model=model,
            prompt=prompt,
            video=VideoSpec(width, height, duration, self.config.fps, audio, prompt, first_frame),
            return_last_frame=return_last_frame,
            outcome=Outcome.BAD_INPUT if failure else outcome,
            urls_expired=bool(fault and fault.kind is FaultKind.EXPIRE_URL),
            execution_limit=execution_limit,
            created_real=created_real,
            created_at=self.now(created_real),
            params=params or {},
            inputs=inputs,
            input_failure=failure,
        )
        self.tasks.add(task)
        self.stats.task(gateway, task_id, "submissions")
        failed = sum(item.error is not None for item in inputs)
        if failed:
            self.stats.task(gateway, task_id, "input_fetch_failures", failed)
        return task

    def find_task(self, gateway: str, task_id: str, op: str) -> SimTask:
        """The task, counted under ``op``; a 404 in the gateway's shape when it does not exist."""
        task = self.tasks.get(gateway, task_id)
        if task is None:
            raise RequestRejected(404, ErrorKind.NOT_FOUND, f"task {task_id} does not exist or has expired")
        self.stats.task(gateway, task_id, {"status": "status_polls", "cancel": "cancels"}.get(op, op))
        return task

    def tasks_named(self, request: web.Request, gateway: str, task_ids: list[str]) -> list[SimTask]:
        """The tasks a batch status call names that exist (unknown ids are left out), each counted as a batch poll.

        Under a ``not_found`` fault the gateway knows none of them, as a real batch reply leaves out unknown ids.
        """
        if request.get(FORGETS_TASKS):
            return []
        found = [task for task in (self.tasks.get(gateway, task_id) for task_id in dict.fromkeys(task_ids)) if task]
        for task in found:
            self.stats.task(gateway, task.task_id, "batch_polls")
        return found

    def result_url(self, request: web.Request, task: SimTask, artifact: str = "video") -> str:
        """The public (key-less) URL of a finished task's file, like a signed CDN link."""
        return f"{request.scheme}://{request.host}/_files/{task.file_token}/{ARTIFACT_FILES[artifact]}"

    async def serve_artifact(self, request: web.Request, task: SimTask, artifact: str) -> web.StreamResponse:
        """Send a finished task's video or last frame: Content-Length, Range, expiry and download faults."""
        view = task.view(self.config)
        if view.state is not SimState.SUCCEEDED or (artifact == "last_frame" and not task.return_last_frame):
            return web.Response(status=404, text="no such file\n")
        if view.url_expires_at is not None and self.now() >= view.url_expires_at:
            return web.Response(status=403, text="Request has expired\n", content_type="text/plain")
        render = self.media.video if artifact == "video" else self.media.last_frame
        path = await asyncio.get_running_loop().run_in_executor(None, render, task.video)
        self.stats.task(task.gateway, task.task_id, "downloads")
        fault = self.faults.decide(task.gateway, "download", (FaultKind.TRUNCATE,))
        if fault is not None:
            self.stats.fault(task.gateway, fault.kind)
            return await _truncated(request, path)
        return web.FileResponse(path, headers={"Content-Type": _content_type(artifact)})

    # ---- the application ------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        for gateway in self.gateways.values():
            for route in gateway.routes():
                app.router.add_route(route.method, f"/{gateway.name}{route.path}", self._wrap(gateway, route))
        app.router.add_get("/_files/{token}/{name}", self._file)
        app.router.add_get("/_simulator/health", self._health)
        app.router.add_get("/_simulator/stats", self._stats)
        app.router.add_get("/_simulator/tasks/{gateway}/{task_id}", self._task)
        app.router.add_post("/_simulator/reset", self._reset)
        app.router.add_get("/_simulator/faults", self._get_faults)
        app.router.add_put("/_simulator/faults", self._put_faults)
        return app

    def _wrap(self, gateway: SimGateway, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.stats.request(gateway.name, route.op)
            if not route.public and not self._authorized(request):
                self.stats.rejected(gateway.name, route.op)
                return gateway.error(401, ErrorKind.AUTHENTICATION, "invalid or missing API key")
            # A gateway that is down takes no new work, but still answers for the tasks it already has.
            outage = self.faults.outage(gateway.name) if route.op == "submit" else None
            if outage is not None:
                self.stats.fault(gateway.name, f"outage_{outage.mode}")
                return self._refuse(gateway, outage)
            kinds = DOWNLOAD_FAULTS if route.op == "download" else API_FAULTS
            fault = self.faults.decide(gateway.name, route.op, kinds)
            if fault is not None and fault.kind is FaultKind.NOT_FOUND and route.batch:
                self.stats.fault(gateway.name, fault.kind)
                request[FORGETS_TASKS] = True
            elif fault is not None:
                self.stats.fault(gateway.name, fault.kind)
                early = await self._apply_fault(request, gateway, fault)
                if early is not None:
                    return early
            try:
                response = await route.handler(request, self)
            except RequestRejected as rejected:
                self.stats.rejected(gateway.name, route.op)
                response = gateway.error(
                    rejected.status, rejected.kind, rejected.message, param=rejected.details.get("param")
                )
            if fault is not None and fault.kind is FaultKind.DROP_AFTER:
                return _drop(request)
            if fault is not None and fault.kind is FaultKind.HOLD_AFTER:
                await asyncio.sleep(self.faults.plan.slow_seconds)
            return response

        return handle

    def _refuse(self, gateway: SimGateway, outage: Outage) -> web.Response:
        """A down gateway's answer to a submit, before the handler runs: no task is created."""
        status, kind, message = OUTAGE_REPLIES[outage.mode]
        response = gateway.error(status, kind, message)
        if status == 429:
            response.headers["Retry-After"] = f"{self.faults.plan.retry_after_seconds:g}"
        return response

    async def _apply_fault(self, request: web.Request, gateway: SimGateway, fault: Fault) -> web.StreamResponse | None:
        plan = self.faults.plan
        if fault.kind is FaultKind.DROP:
            return _drop(request)
        if fault.kind is FaultKind.SLOW:
            await asyncio.sleep(plan.slow_seconds)
            return None
        if fault.kind is FaultKind.RATE_LIMIT:
            response = gateway.error(429, ErrorKind.RATE_LIMITED, "too many requests, slow down")
            response.headers["Retry-After"] = f"{plan.retry_after_seconds:g}"
            return response
        if fault.kind is FaultKind.UNAUTHORIZED:
            return gateway.error(401, ErrorKind.AUTHENTICATION, "invalid or missing API key")
        if fault.kind is FaultKind.NOT_FOUND:
            return gateway.error(404, ErrorKind.NOT_FOUND, "task does not exist or has expired")
        if fault.kind is FaultKind.SERVER_ERROR:
            return gateway.error(fault.status or 500, ErrorKind.SERVER_ERROR, "the service is temporarily unavailable")
        return None

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        return self.config.api_keys is None or key.strip() in self.config.api_keys

    async def _file(self, request: web.Request) -> web.StreamResponse:
        task = self.tasks.by_file_token(request.match_info["token"])
        artifact = {name: kind for kind, name in ARTIFACT_FILES.items()}.get(request.match_info["name"])
        if task is None or artifact is None:
            return web.Response(status=404, text="no such file\n")
        self.stats.request(task.gateway, "download")
        fault = self.faults.decide(task.gateway, "download", DOWNLOAD_FAULTS)
        if fault is not None:
            self.stats.fault(task.gateway, fault.kind)
            early = await self._apply_cdn_fault(request, fault)
            if early is not None:
                return early
        return await self.serve_artifact(request, task, artifact)

    async def _apply_cdn_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        """Faults of the result-file host, which answers in plain text like an object store's CDN."""
        if fault.kind is FaultKind.DROP:
            return _drop(request)
        if fault.kind is FaultKind.SLOW:
            await asyncio.sleep(self.faults.plan.slow_seconds)
            return None
        if fault.kind is FaultKind.RATE_LIMIT:
            retry_after = f"{self.faults.plan.retry_after_seconds:g}"
            return web.Response(status=429, text="slow down\n", headers={"Retry-After": retry_after})
        return web.Response(status=fault.status or 503, text="upstream storage unavailable\n")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "gateways": sorted(self.gateways), "tasks": len(self.tasks)})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.snapshot())

    async def _task(self, request: web.Request) -> web.Response:
        """What a task received: its inputs' records and the prompt's hash, never URLs or data."""
        gateway, task_id = request.match_info["gateway"], request.match_info["task_id"]
        task = self.tasks.get(gateway, task_id)
        if task is None:
            return web.json_response({"error": f"no task {task_id} on {gateway}"}, status=404)
        return web.json_response(
            {
                "gateway": gateway,
                "task_id": task_id,
                "inputs": [item.record() for item in task.inputs],
                "prompt_sha256": hashlib.sha256(task.prompt.encode()).hexdigest(),
            }
        )

    async def _reset(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.stats.reset()
        if body.get("tasks"):
            self.tasks.clear()
            for gateway in self.gateways.values():
                gateway.reset()
        return web.json_response({"reset": True, "tasks_cleared": bool(body.get("tasks"))})

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.plan.model_dump(mode="json"))

    async def _put_faults(self, request: web.Request) -> web.Response:
        try:
            plan = FaultPlan.model_validate(await request.json())
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        # Such a fault would wait in the script forever, and an outage would take nothing down: a test relying on
        # either would pass for the wrong reason.
        known = ", ".join(self.gateways)
        unknown = [fault.gateway for fault in plan.script if fault.gateway and fault.gateway not in self.gateways]
        if unknown:
            message = f"gateway {unknown[0]!r} is not simulated; use one of: {known} (or omit it)"
            return web.json_response({"error": message}, status=400)
        unknown = [outage.gateway for outage in plan.outages if outage.gateway not in self.gateways]
        if unknown:
            message = f"outage of gateway {unknown[0]!r}, which is not simulated; use one of: {known}"
            return web.json_response({"error": message}, status=400)
        self.faults.replace(plan)
        return web.json_response(plan.model_dump(mode="json"))


def _content_type(artifact: str) -> str:
    return "video/mp4" if artifact == "video" else "image/png"


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without an answer; the client sees a dropped connection."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


async def _truncated(request: web.Request, path: Path) -> web.StreamResponse:
    """Announce the whole file, send half of it, then cut the connection."""
    data = path.read_bytes()
    response = web.StreamResponse(headers={"Content-Type": "video/mp4", "Content-Length": str(len(data))})
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    return _drop(request)
