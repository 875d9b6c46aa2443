"""HTTP clients shared across hooks and triggers, so per-trigger setup costs almost nothing.

Building an ``httpx.AsyncClient`` the default way creates a fresh TLS context (~33 ms of CPU here);
a triggerer running a thousand triggers would stall its shared event loop for half a minute. So the
process keeps one TLS context, and each event loop keeps one async client per gateway connection,
with a semaphore bounding how many requests the triggers of that loop have in flight at once.
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import ssl
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

# Connect fast, wait for slow gateways; a pool wait is bounded by our own semaphore instead.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=None)
MAX_CONCURRENT_REQUESTS = 32


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's one TLS context (certificate store loaded once)."""
    return ssl.create_default_context()


def _no_cookies() -> httpx.Cookies:
    """A cookie jar that keeps nothing: gateway calls are stateless, and shared clients must not mix sessions."""
    return httpx.Cookies(http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])))


def new_sync_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, verify=shared_ssl_context(), follow_redirects=True, cookies=_no_cookies())


@dataclass
class SharedAsyncClient:
    client: httpx.AsyncClient
    slots: asyncio.Semaphore

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[httpx.AsyncClient]:
        """The client, once one of the bounded request slots is free."""
        async with self.slots:
            yield self.client


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedAsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def shared_async_client(key: str, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> SharedAsyncClient:
    """The running loop's client for ``key`` (a connection and its timeouts), created on first use.

    No await happens between the lookup and the insert, so concurrent triggers cannot build two.
    """
    clients = _by_loop.setdefault(asyncio.get_running_loop(), {})
    shared = clients.get(key)
    if shared is None or shared.client.is_closed:
        client = httpx.AsyncClient(
            timeout=timeout,
            verify=shared_ssl_context(),
            follow_redirects=True,
            cookies=_no_cookies(),
            limits=httpx.Limits(
                max_connections=MAX_CONCURRENT_REQUESTS, max_keepalive_connections=MAX_CONCURRENT_REQUESTS
            ),
        )
        shared = clients[key] = SharedAsyncClient(client, asyncio.Semaphore(MAX_CONCURRENT_REQUESTS))
    return shared
