"""What a fake gateway may ask of the server it runs in: ``GatewayHost``.

The fake gateways describe one vendor's API each (routes, bodies, error shapes); the server owns the clock,
the tasks, the faults and the files. They meet only through this interface, so a fake gateway can be read,
and changed, without the server's internals, and the server can change without touching six vendors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from airflow_provider_seedance.simulator.config import SimulatorConfig
    from airflow_provider_seedance.simulator.faults import FaultInjector
    from airflow_provider_seedance.simulator.inputs import AssetBytes, MediaRef, ReceivedInput
    from airflow_provider_seedance.simulator.stats import Stats
    from airflow_provider_seedance.simulator.tasks import SimTask, TaskStore


class GatewayHost(Protocol):
    """The simulator's side of a fake gateway's handlers (``Simulator`` implements it)."""

    config: SimulatorConfig
    tasks: TaskStore
    stats: Stats
    faults: FaultInjector

    def now(self, real: float | None = None) -> float:
        """Simulated Unix time."""
        ...

    async def receive_inputs(self, refs: list[MediaRef], *, assets: AssetBytes | None = None) -> list[ReceivedInput]:
        """Fetch or decode a create request's media, as a gateway does before queueing the task."""
        ...

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
        """Record a paid submission."""
        ...

    def find_task(self, gateway: str, task_id: str, op: str) -> SimTask:
        """The task, counted under ``op``; a 404 in the gateway's shape when it does not exist."""
        ...

    def tasks_named(self, request: web.Request, gateway: str, task_ids: list[str]) -> list[SimTask]:
        """The tasks a batch status call names that exist."""
        ...

    def result_url(self, request: web.Request, task: SimTask, artifact: str = "video") -> str:
        """The public URL of a finished task's file."""
        ...

    async def serve_artifact(self, request: web.Request, task: SimTask, artifact: str) -> web.StreamResponse:
        """Send a finished task's video or last frame."""
        ...
