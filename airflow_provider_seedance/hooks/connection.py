"""A ``seedance`` connection resolved to the gateway dialect, its base URL and the API key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from airflow.sdk import Connection

from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.gateways import GATEWAY_NAMES, get_gateway
from airflow_provider_seedance.gateways.base import Gateway, HttpCall
from airflow_provider_seedance.hooks.breaker import DEFAULT_BREAKER_POLICY, BreakerPolicy
from airflow_provider_seedance.hooks.breaker import policy_from as breaker_policy_from
from airflow_provider_seedance.hooks.failover import FailoverTarget, failover_targets
from airflow_provider_seedance.hooks.retry import DEFAULT_RETRY_POLICY, RetryPolicy, retry_policy_from
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.pricing import Cost, Price, PriceTable, estimate


@dataclass(frozen=True)
class GatewayConnection:
    """Where and how to reach one gateway. The API key is kept out of ``repr`` so it never reaches a log."""

    conn_id: str
    gateway: Gateway
    base_url: str
    api_key: str = field(repr=False)
    # The shipped prices with this connection's ``extra.prices`` laid over them (contracts differ).
    prices: PriceTable = field(default_factory=PriceTable.shipped, repr=False)
    # The web console to link a task to: ``extra.console_url`` (``{task_id}`` is filled in), else the
    # gateway's known console for this base URL, else None.
    console: str | None = None
    # How calls through this connection are retried: ``extra.retry`` laid over the defaults (gateways differ in
    # how long their outages and rate-limit windows last). A hook given its own ``retry_policy`` uses that.
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY
    # The connections to submit through when this gateway provably refused a submit (``extra.failover``), and
    # when this one is passed over for a while after refusing several (``extra.breaker``).
    failover: tuple[FailoverTarget, ...] = ()
    breaker_policy: BreakerPolicy = DEFAULT_BREAKER_POLICY

    @cached_property
    def identity(self) -> str:
        """What shared clients and pollers are keyed by: id, URL, gateway and a digest of the key (a rotated key
        gets its own), never the key itself. Computed once per resolved connection, not per request."""
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()[:16]
        return f"{self.conn_id}|{self.base_url}|{self.gateway.name}|{digest}"

    def console_url(self, task_id: str) -> str | None:
        """Where a person can look at ``task_id``: the console page, or None where none is known."""
        console = self.console or self.gateway.console_url(self.base_url)
        return console.replace("{task_id}", quote(task_id, safe="")) if console else None

    def price(self, model: str) -> Price | None:
        """This connection's price for ``model`` on its gateway; None when none is known."""
        return self.prices.price(self.gateway.name, model)

    def estimate(self, request: VideoRequest, input_video_seconds: Sequence[float | None] = ()) -> Cost | None:
        """What ``request`` is estimated to cost here; None when no price is known for its model."""
        price = self.price(request.model)
        if price is None:
            return None
        return estimate(request, self.gateway.spec_for(request.model), price, input_video_seconds=input_video_seconds)

    def url(self, call: HttpCall) -> str:
        """The absolute URL of a call built by the dialect."""
        if call.is_absolute:
            return call.path
        return f"{self.base_url.rstrip('/')}/{call.path.lstrip('/')}"

    def headers(self, call: HttpCall) -> dict[str, str]:
        """Request headers; the key goes only to the gateway itself, never to a result CDN."""
        headers = {"Accept": "application/json"}
        if call.json is not None:
            headers["Content-Type"] = "application/json"
        if call.authenticated:
            headers.update(self.gateway.auth_headers(self.api_key))
        return headers


def gateway_connection(conn: Connection, extra: Mapping[str, Any]) -> GatewayConnection:
    """Check a ``seedance`` connection (with its already-decoded ``extra``) and resolve it.

    The base URL comes from ``host`` (a full URL such as ``https://api.apimart.ai``; a bare host name
    gets ``https://``, the port and ``schema`` as the path) or else from the gateway's public default.
    """
    name = extra.get("gateway")
    if not name:
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r}: extra field 'gateway' is missing; "
            f"set it to one of: {', '.join(GATEWAY_NAMES)}"
        )
    try:
        gateway = get_gateway(str(name))
    except ValueError as exc:
        raise ConnectionConfigError(f"connection {conn.conn_id!r}: extra field 'gateway': {exc}") from None
    base_url = _base_url(conn) or gateway.default_base_url
    if base_url and not base_url.lower().startswith(("http://", "https://")):
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r}: Base URL (host) {base_url!r} is not an http(s) URL; "
            f"write the gateway's API address, such as {gateway.default_base_url or 'https://api.example.com/v1'}"
        )
    if not base_url:
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r}: gateway {gateway.name!r} has no public default URL; "
            "set the connection's Base URL (host)"
        )
    if not conn.password:
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r}: the API key (password) is empty; put the gateway's key in the password"
        )
    try:
        prices = PriceTable.shipped().with_overrides(
            gateway.name, extra.get("prices"), f"connection {conn.conn_id!r}: extra.prices"
        )
        retry_policy = retry_policy_from(extra.get("retry"), f"connection {conn.conn_id!r}: extra field 'retry'")
        failover = failover_targets(extra.get("failover"), conn.conn_id)
        breaker = breaker_policy_from(extra.get("breaker"), f"connection {conn.conn_id!r}: extra field 'breaker'")
    except ValueError as exc:
        raise ConnectionConfigError(str(exc)) from None
    return GatewayConnection(
        conn_id=conn.conn_id,
        gateway=gateway,
        base_url=base_url,
        api_key=conn.password,
        prices=prices,
        console=_console(conn.conn_id, extra.get("console_url")),
        retry_policy=retry_policy,
        failover=failover,
        breaker_policy=breaker,
    )


def _console(conn_id: str, value: Any) -> str | None:
    """``extra.console_url``, checked: an http(s) URL, where ``{task_id}`` may stand for the remote task id."""
    if value in (None, ""):
        return None
    text = str(value)
    if not text.lower().startswith(("http://", "https://")) or "{" in text.replace("{task_id}", ""):
        raise ConnectionConfigError(
            f"connection {conn_id!r}: extra field 'console_url' {text!r} is not an http(s) URL with at most a "
            "{task_id} placeholder; write the page that shows a task, such as "
            "https://console.example.com/tasks/{task_id}, or remove the field"
        )
    return text


def _base_url(conn: Connection) -> str | None:
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"https://{host}{port}{path}"
