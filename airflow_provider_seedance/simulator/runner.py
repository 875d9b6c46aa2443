"""Run the simulator: in a background thread for tests (``start_simulator``), or in the foreground."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.faults import Outage, OutageMode
from airflow_provider_seedance.simulator.server import Simulator

T = TypeVar("T")


@dataclass
class RunningSimulator:
    """A simulator serving on ``base_url``; ``stop()`` shuts it down and waits for the thread.

    A gateway may also get a listener of its own (``own_url``), which ``take_down`` can close: the only way to
    refuse connections to one gateway while the others keep serving on the shared port.
    """

    simulator: Simulator
    base_url: str
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _runner: web.AppRunner = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    # Touched on the event loop only: a gateway's own port stays its own while its listener is closed.
    _own_ports: dict[str, int] = field(default_factory=dict, repr=False)
    _own_sites: dict[str, web.SockSite] = field(default_factory=dict, repr=False)
    _reopenings: dict[str, asyncio.Task[None]] = field(default_factory=dict, repr=False)

    def gateway_url(self, gateway: str) -> str:
        """The base URL a ``seedance`` connection uses for ``gateway``."""
        if gateway not in self.simulator.gateways:
            raise ValueError(f"unknown gateway {gateway!r}; simulated: {', '.join(self.simulator.gateways)}")
        return f"{self.base_url}/{gateway}{self.simulator.gateways[gateway].base_path}"

    @property
    def gateway_urls(self) -> dict[str, str]:
        return {name: self.gateway_url(name) for name in self.simulator.gateways}

    def own_url(self, gateway: str) -> str:
        """``gateway``'s base URL on a port of its own, served by the same app (same tasks, stats and faults).

        The first call opens the listener on a free port of the same host; a connection made through this URL
        is the one ``take_down(gateway, "refuse")`` refuses.
        """
        path = self.gateway_url(gateway).removeprefix(self.base_url)
        port = self._call(self._own_port(gateway))
        return f"http://{self._host}:{port}{path}"

    def take_down(self, gateway: str, mode: OutageMode | str, seconds: float | None = None) -> None:
        """Take ``gateway`` down for ``seconds`` (None: until ``bring_up``), to test failover to another gateway.

        ``refuse`` closes its own listener (see ``own_url``), so connecting fails as to a dead host; the other
        modes answer its submits with an error in its own body while status polls and downloads keep working.
        """
        self.gateway_url(gateway)  # an unknown gateway is refused here, with the simulated ones named
        outage = Outage(gateway=gateway, mode=OutageMode(mode), seconds=seconds)
        if outage.mode is OutageMode.REFUSE:
            self._call(self._refuse(gateway, seconds))
        else:
            self.simulator.faults.add_outage(outage)

    def bring_up(self, gateway: str) -> None:
        """End every outage of ``gateway`` before its window does; its own listener opens again."""
        self.simulator.faults.end_outages(gateway)
        self._call(self._reopen(gateway))

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    @property
    def _host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the simulator's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _own_port(self, gateway: str) -> int:
        if gateway not in self._own_ports:
            await self._listen(gateway, 0)
        return self._own_ports[gateway]

    async def _listen(self, gateway: str, port: int) -> None:
        # SO_REUSEADDR (create_server's default): the port is bound again while closed connections linger.
        sock = socket.create_server((self._host, port))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._own_ports[gateway] = sock.getsockname()[1]
        self._own_sites[gateway] = site

    async def _refuse(self, gateway: str, seconds: float | None) -> None:
        port = await self._own_port(gateway)
        self._cancel_reopening(gateway)
        site = self._own_sites.pop(gateway, None)
        if site is not None:
            await site.stop()
        # A kept-alive connection would still carry requests: cut every open one, as a host that went down does.
        assert self._runner.server is not None
        for handler in self._runner.server.connections:
            if handler.transport is not None and handler.transport.get_extra_info("sockname")[1] == port:
                handler.force_close()
        if seconds is not None:
            self._reopenings[gateway] = asyncio.create_task(self._reopen_after(gateway, seconds))

    async def _reopen_after(self, gateway: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        del self._reopenings[gateway]
        await self._reopen(gateway)

    async def _reopen(self, gateway: str) -> None:
        self._cancel_reopening(gateway)
        if gateway in self._own_ports and gateway not in self._own_sites:
            await self._listen(gateway, self._own_ports[gateway])

    def _cancel_reopening(self, gateway: str) -> None:
        task = self._reopenings.pop(gateway, None)
        if task is not None:
            task.cancel()

    async def _shutdown(self) -> None:
        for gateway in list(self._reopenings):
            self._cancel_reopening(gateway)
        await self._runner.cleanup()  # it also stops the gateways' own listeners that are open

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Start serving in a daemon thread with its own event loop; port 0 picks a free port."""
    simulator = Simulator(config)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(simulator.application(), access_log=None)
    started = threading.Event()
    bound: list[tuple[str, int]] = []
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            loop.run_until_complete(site.start())
            bound.append(runner.addresses[0][:2])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        # Handlers of connections a client kept open may outlive the runner's cleanup: end them before
        # closing. Cancelling a connection still being accepted starts its handler, hence the loop.
        while pending := asyncio.all_tasks(loop):
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=serve, name="seedance-simulator", daemon=True)
    thread.start()
    started.wait(timeout=60)
    if failure:
        raise failure[0]
    bound_host, bound_port = bound[0]
    return RunningSimulator(simulator, f"http://{bound_host}:{bound_port}", loop, runner, thread)
