"""The failover chain a ``seedance`` connection declares: ``extra.failover``, the connections to try next.

Declared on the connection, as Airflow's common-ai provider declares its fallbacks, so a DAG needs no change
to survive one gateway's outage. Each entry is another ``seedance`` connection's id, or an object with its
``conn_id`` and ``models``: the id to send on that gateway for a model of the primary's (keyed by the
primary's model id or by the upstream name, such as ``seedance-2.0``). Without ``models`` the dialects map
the model (``Gateway.model_for``). The chain is the primary's list only: a fallback's own list is not followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

EXAMPLE = '["seedance_apimart", {"conn_id": "seedance_imini", "models": {"seedance-2.0": "doubao/seedance-2.0"}}]'


@dataclass(frozen=True)
class FailoverTarget:
    """One connection of a failover chain, with the model ids to send there (by the primary's id or upstream)."""

    conn_id: str
    models: Mapping[str, str] = field(default_factory=dict)


def failover_targets(value: object, conn_id: str) -> tuple[FailoverTarget, ...]:
    """The chain ``extra.failover`` of connection ``conn_id`` declares; ``ValueError`` naming what is wrong."""
    where = f"connection {conn_id!r}: extra field 'failover'"
    if value in (None, "", []):
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where} {value!r} is not a list; write the connections to try next, such as {EXAMPLE}")
    targets = [_target(entry, f"{where}[{index}]") for index, entry in enumerate(value)]
    seen = {conn_id}
    for index, target in enumerate(targets):
        if target.conn_id in seen:
            again = "is this connection itself" if target.conn_id == conn_id else "is listed twice"
            raise ValueError(f"{where}[{index}] {target.conn_id!r} {again}; list each other connection once")
        seen.add(target.conn_id)
    return tuple(targets)


def _target(entry: object, where: str) -> FailoverTarget:
    if isinstance(entry, str) and entry.strip():
        return FailoverTarget(entry.strip())
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}={entry!r}; allowed: a connection id, or an object with conn_id and models")
    unknown = [key for key in entry if key not in ("conn_id", "models")]
    if unknown:
        raise ValueError(f"{where} has no field {unknown[0]!r}; allowed: conn_id, models")
    target_id, models = entry.get("conn_id"), entry.get("models") or {}
    if not isinstance(target_id, str) or not target_id.strip():
        raise ValueError(f"{where}.conn_id={target_id!r}; allowed: the id of another seedance connection")
    if not isinstance(models, Mapping) or not all(
        isinstance(key, str) and isinstance(model, str) and model for key, model in models.items()
    ):
        raise ValueError(
            f"{where}.models={models!r}; allowed: an object mapping the primary's model id (or its upstream name, "
            "such as seedance-2.0) to the model id on this connection's gateway"
        )
    return FailoverTarget(target_id.strip(), dict(models))
