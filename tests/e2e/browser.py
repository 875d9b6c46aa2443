"""A headless Chromium driven over the DevTools protocol (with aiohttp's WebSocket client): open a page,
evaluate JavaScript in it, collect what it logs as errors, take a full-page screenshot."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

# Headless and quiet: no sandbox (CI containers run as root), no GPU, no calls home, a throwaway profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
)
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
START_TIMEOUT = 60.0


def chromium() -> str | None:
    """The Chromium binary on PATH (Debian's package installs ``chromium``), if any."""
    return shutil.which("chromium")


class Browser:
    """One Chromium process with one page; use as ``async with Browser(binary) as browser``."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.errors: list[str] = []
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loaded = asyncio.Event()

    async def __aenter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="seedance-chromium-")
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            *FLAGS,
            f"--user-data-dir={self._profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._session = aiohttp.ClientSession()
        self._reader: asyncio.Task[None] | None = None
        try:
            await self._connect()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._session.close()
        self._process.terminate()
        await self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method; its result, or ``RuntimeError`` with the protocol's error."""
        call_id = next(self._ids)
        self._replies[call_id] = reply_future = asyncio.get_running_loop().create_future()
        try:
            await self._socket.send_json({"id": call_id, "method": method, "params": params})
            reply = await asyncio.wait_for(reply_future, 60)
        finally:
            del self._replies[call_id]
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def open(self, url: str) -> None:
        """Navigate and wait for the load event (the document and its images, not the videos' data)."""
        self._loaded.clear()
        navigated = await self.send("Page.navigate", url=url)
        assert "errorText" not in navigated, f"{url}: {navigated['errorText']}"
        await asyncio.wait_for(self._loaded.wait(), 60)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        """The whole page, however long, as a PNG."""
        metrics = await self.send("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def _connect(self) -> None:
        browser_url = await asyncio.wait_for(self._devtools_url(), START_TIMEOUT)
        # Chromium's log goes on after start-up: drain it, or a full pipe would stall the browser.
        self._drain = asyncio.create_task(self._process.stderr.read())  # type: ignore[union-attr]
        async with self._session.get(f"http://{browser_url.split('/')[2]}/json/list") as reply:
            targets = await reply.json()
        page = next(target for target in targets if target["type"] == "page")
        self._socket = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        for domain in ("Page", "Runtime", "Log"):
            await self.send(f"{domain}.enable")

    async def _devtools_url(self) -> str:
        assert self._process.stderr is not None
        while line := await self._process.stderr.readline():
            if found := LISTENING.search(line.decode(errors="replace")):
                return found.group(1)
        raise RuntimeError(f"{self.binary} exited ({await self._process.wait()}) before DevTools listened")

    async def _read(self) -> None:
        async for message in self._socket:
            data = message.json()
            if "id" in data:
                future = self._replies.get(data["id"])
                if future is not None and not future.done():
                    future.set_result(data)
            else:
                self._event(data["method"], data.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.exceptionThrown":
            self.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append(f"console.{params['type']}: {[arg.get('value') for arg in params['args']]}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(f"{entry['source']}: {entry['text']} {entry.get('url', '')}".strip())
