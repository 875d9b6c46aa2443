"""The six gateway dialects, looked up by the name a ``seedance`` connection gives in ``extra.gateway``."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_seedance.gateway_names import GATEWAY_NAMES
from airflow_provider_seedance.gateways.aiproxy import AiproxyGateway
from airflow_provider_seedance.gateways.apimart import ApimartGateway
from airflow_provider_seedance.gateways.ark import ArkGateway
from airflow_provider_seedance.gateways.base import ErrorBody, Gateway, HttpCall, HttpResponse
from airflow_provider_seedance.gateways.imini import IminiGateway
from airflow_provider_seedance.gateways.infinityblue import InfinityBlueGateway
from airflow_provider_seedance.gateways.jimmyai import JimmyAiGateway
from airflow_provider_seedance.gateways.spec import ModelSpec

_DIALECTS = (ArkGateway, IminiGateway, ApimartGateway, AiproxyGateway, InfinityBlueGateway, JimmyAiGateway)
# Ordered as GATEWAY_NAMES, the list the connection form offers (a test checks they match).
GATEWAYS: Mapping[str, Gateway] = {
    name: dialect() for name in GATEWAY_NAMES for dialect in _DIALECTS if dialect.name == name
}


def get_gateway(name: str) -> Gateway:
    """The dialect called ``name``; a ``ValueError`` lists the valid names otherwise."""
    try:
        return GATEWAYS[name]
    except KeyError:
        raise ValueError(f"unknown gateway {name!r}; choose one of: {', '.join(GATEWAY_NAMES)}") from None


__all__ = [
    "GATEWAYS",
    "GATEWAY_NAMES",
    "ErrorBody",
    "Gateway",
    "HttpCall",
    "HttpResponse",
    "ModelSpec",
    "get_gateway",
]
