"""The six gateway dialects, by the name a ``seedance`` connection gives in ``extra.gateway``.

A lazy registry: Airflow reads provider info (which lists ``GATEWAY_NAMES``) in every process it starts,
so importing this package loads no dialect; ``get_gateway`` imports one the first time it is asked for.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_seedance.gateways.base import Gateway

# Display order of the connection form; each name's dialect as module:class.
_DIALECTS = {
    "ark": "ark:ArkGateway",
    "imini": "imini:IminiGateway",
    "apimart": "apimart:ApimartGateway",
    "aiproxy": "aiproxy:AiproxyGateway",
    "infinityblue": "infinityblue:InfinityBlueGateway",
    "jimmyai": "jimmyai:JimmyAiGateway",
}
GATEWAY_NAMES: tuple[str, ...] = tuple(_DIALECTS)


@cache
def get_gateway(name: str) -> Gateway:
    """The dialect called ``name`` (one instance per process); a ``ValueError`` lists the valid names otherwise."""
    if name not in _DIALECTS:
        raise ValueError(f"unknown gateway {name!r}; choose one of: {', '.join(GATEWAY_NAMES)}")
    module, _, cls = _DIALECTS[name].partition(":")
    dialect: type[Gateway] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return dialect()


def all_gateways() -> dict[str, Gateway]:
    """Every dialect by name, in ``GATEWAY_NAMES`` order (imports all six)."""
    return {name: get_gateway(name) for name in GATEWAY_NAMES}
