"""Run the simulator: in a background thread for tests (``start_simulator``), or in the foreground."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import web

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.server import Simulator


@dataclass
class RunningSimulator:
    """A simulator serving on ``base_url``; ``stop()`` shuts it down and waits for the thread."""

    simulator: Simulator
    base_url: str
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _runner: web.AppRunner = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def gateway_url(self, gateway: str) -> str:
        """The base URL a ``seedance`` connection uses for ``gateway``."""
        if gateway not in self.simulator.gateways:
            raise ValueError(f"unknown gateway {gateway!r}; simulated: {', '.join(self.simulator.gateways)}")
        return f"{self.base_url}/{gateway}{self.simulator.gateways[gateway].base_path}"

    @property
    def gateway_urls(self) -> dict[str, str]:
        return {name: self.gateway_url(name) for name in self.simulator.gateways}

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

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
