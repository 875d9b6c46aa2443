"""SeedanceHook: reads a ``seedance`` connection and pairs it with the dialect of its gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook, Connection

from airflow_provider_seedance.gateways import Gateway, HttpCall, get_gateway


@dataclass(frozen=True)
class GatewayConnection:
    """Where and how to reach one gateway. The API key is kept out of ``repr`` so it never reaches a log."""

    conn_id: str
    gateway: Gateway
    base_url: str
    api_key: str = field(repr=False)

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


def gateway_connection(conn: Connection) -> GatewayConnection:
    """Check a ``seedance`` connection and resolve its gateway, base URL and key.

    The base URL comes from ``host`` (a full URL such as ``https://api.apimart.ai``; a bare host name
    gets ``https://``, the port and ``schema`` as the path) or else from the gateway's public default.
    """
    extra = conn.extra_dejson
    name = extra.get("gateway")
    if not name:
        raise ValueError(
            f"connection {conn.conn_id!r}: extra field 'gateway' is missing; "
            "set it to one of: ark, imini, apimart, aiproxy, infinityblue, jimmyai"
        )
    try:
        gateway = get_gateway(str(name))
    except ValueError as exc:
        raise ValueError(f"connection {conn.conn_id!r}: extra field 'gateway': {exc}") from None
    base_url = _base_url(conn) or gateway.default_base_url
    if not base_url:
        raise ValueError(
            f"connection {conn.conn_id!r}: gateway {gateway.name!r} has no public default URL; "
            "set the connection's Base URL (host)"
        )
    if not conn.password:
        raise ValueError(f"connection {conn.conn_id!r}: the API key (password) is empty")
    return GatewayConnection(conn_id=conn.conn_id, gateway=gateway, base_url=base_url, api_key=conn.password)


def _base_url(conn: Connection) -> str | None:
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"https://{host}{port}{path}"


class SeedanceHook(BaseHook):
    """Talks to one Seedance gateway through a ``seedance`` connection.

    :param seedance_conn_id: connection whose ``password`` is the API key, ``host`` the base URL
        (optional where the gateway has a public default) and ``extra.gateway`` the dialect name.
    """

    conn_name_attr = "seedance_conn_id"
    default_conn_name = "seedance_default"
    conn_type = "seedance"
    hook_name = "Seedance"

    def __init__(self, seedance_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seedance_conn_id = seedance_conn_id

    @cached_property
    def connection(self) -> GatewayConnection:
        return gateway_connection(self.get_connection(self.seedance_conn_id))

    def get_conn(self) -> GatewayConnection:
        return self.connection
