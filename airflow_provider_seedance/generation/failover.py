"""Failover between gateways: where a generation may be submitted, in order, and when moving on is safe.

A generation goes to its connection first, then to each connection of that connection's ``extra.failover``
chain, with the model mapped to the id the next gateway sells it under. It moves on only after a refusal
that proves nothing was created, so nothing can be paid twice: the gateway was unreachable (nothing was
sent), or it answered in its own words that it took no task (503, 429, out of credit, 401/403). A submit
of unknown outcome (a dropped answer, a timeout after sending, another 5xx) never moves on: it follows the
exactly-once rules (``generation.submission``). Nor does a generation that failed after it was created
(moderation, a failed task): that is the failure policy's. A connection whose breaker is open (it refused
``failures`` submits lately, ``hooks.breaker``) is passed over while another remains.

No library knows which failures of a paid asynchronous submit prove it unbilled; general AI gateways fail
over on errors after which the first provider may already be working, and billing, hence this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    ConnectionConfigError,
    GatewayError,
    InsufficientCreditError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from airflow_provider_seedance.gateways.delivery import Delivery
from airflow_provider_seedance.generation.log import Log
from airflow_provider_seedance.hooks.breaker import CircuitBreaker
from airflow_provider_seedance.hooks.failover import FailoverTarget
from airflow_provider_seedance.hooks.retry import outcome_unknown
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.observability import metrics

# Why a connection was passed over; each proves that it created nothing for this generation.
BREAKER_OPEN = "breaker_open"


def refusal_cause(exc: BaseException) -> str | None:
    """Why ``exc`` (or the error it was raised from) proves the submit created nothing; None when it does not."""
    for error in (exc, exc.__cause__):
        if isinstance(error, TransportError) and not error.request_sent:
            return "unreachable"
        if not isinstance(error, GatewayError) or not error.structured:
            continue  # a proxy's page or an empty body: whether the gateway saw the request is unknown
        if isinstance(error, ServerError) and not outcome_unknown(error):
            return "unavailable"
        if isinstance(error, RateLimitError):
            return "rate_limited"
        if isinstance(error, InsufficientCreditError):
            return "no_credit"
        if isinstance(error, AuthenticationError):
            return "unauthorized"
    return None


@dataclass(frozen=True)
class Hop:
    """One connection a generation may be submitted through, with the request as it is sent there."""

    hook: SeedanceHook
    request: VideoRequest

    @property
    def conn_id(self) -> str:
        return self.hook.seedance_conn_id


@dataclass
class Passed:
    """The connections a generation was passed over on, and why (kept in its claim and manifest)."""

    hops: list[dict[str, Any]] = field(default_factory=list)

    def add(self, hop: Hop, cause: str) -> None:
        self.hops.append(
            {
                "seedance_conn_id": hop.conn_id,
                "gateway": hop.hook.gateway.name,
                "model": hop.request.model,
                "cause": cause,
                "at": datetime.now(UTC).isoformat(),
            }
        )


class Route:
    """The primary connection and its failover chain, with a breaker per connection."""

    def __init__(self, primary: SeedanceHook, log: Log, *, enabled: bool = True) -> None:
        self.primary = primary
        self.log = log
        self.enabled = enabled
        self._named: dict[str, SeedanceHook] = {}  # connections claims name outside the chain

    @cached_property
    def targets(self) -> tuple[FailoverTarget, ...]:
        return self.primary.connection.failover if self.enabled else ()

    @cached_property
    def hooks(self) -> list[SeedanceHook]:
        """The primary's hook, then one per connection of its chain (resolved when first needed)."""
        fallbacks = [
            SeedanceHook(target.conn_id, retry_policy=self.primary.retry_policy, timeout=self.primary.timeout)
            for target in self.targets
        ]
        return [self.primary, *fallbacks]

    def check(self) -> None:
        """Resolve every connection of the chain (``ConnectionConfigError`` names the one that cannot work)."""
        for hook in self.hooks:
            hook.connection  # noqa: B018 - resolving it is the check

    def hook_for(self, conn_id: str, gateway: str) -> SeedanceHook | None:
        """The hook a claim of ``conn_id`` on ``gateway`` (with this request's fingerprint) is followed through;
        None when no connection here can reach its task.

        A connection of the chain (resolved only when it is the one named); else the named connection itself,
        while it exists and speaks that gateway (the chain was edited while its task ran: resuming it there is
        what keeps it from being paid again); else the primary, for a claim of its gateway under another id (a
        renamed connection)."""
        for hook in self.hooks:
            if hook.seedance_conn_id == conn_id:
                return hook if hook.gateway.name == gateway else None
        named = self._named.get(conn_id) or SeedanceHook(conn_id, timeout=self.primary.timeout)
        try:
            if named.gateway.name == gateway:
                self._named[conn_id] = named
                return named
        except ConnectionConfigError:
            pass  # gone or broken: the claim cannot be followed through it
        return self.primary if gateway == self.primary.gateway.name else None

    def hops(
        self, request: VideoRequest, deliveries: Sequence[Delivery], max_cost: float | None, passed: Passed
    ) -> list[Hop]:
        """The connections to try for ``request`` (valid for the primary), in order.

        A fallback that cannot serve it is left out with the reason logged; one whose breaker is open is left
        out (and added to ``passed``) while another remains.
        """
        hops = self.candidates(request, deliveries, max_cost)
        usable: list[Hop] = []
        for index, hop in enumerate(hops):
            until = self.breaker(hop.hook).open_until()
            if until is None or (not usable and index == len(hops) - 1):
                usable.append(hop)
                continue
            self.log.warning(
                "Passing over %s (%s): its circuit breaker is open until %s after it refused %d submits.",
                hop.conn_id,
                hop.hook.gateway.name,
                datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds"),
                hop.hook.connection.breaker_policy.failures,
            )
            passed.add(hop, BREAKER_OPEN)
        return usable

    def candidates(self, request: VideoRequest, deliveries: Sequence[Delivery], max_cost: float | None) -> list[Hop]:
        """Every connection that can serve ``request`` (valid for the primary), in order, whatever their breakers
        say; a fallback that cannot is left out with the reason logged."""
        hops = [Hop(self.primary, request)]
        for target, hook in zip(self.targets, self.hooks[1:], strict=True):
            hop, why = self._mapped(target, hook, request, deliveries, max_cost)
            if hop is None:
                self.log.warning("Failover to %s is not possible for this request: %s.", target.conn_id, why)
            else:
                hops.append(hop)
        return hops

    def _mapped(
        self,
        target: FailoverTarget,
        hook: SeedanceHook,
        request: VideoRequest,
        deliveries: Sequence[Delivery],
        max_cost: float | None,
    ) -> tuple[Hop | None, str]:
        """``request`` as sent through ``hook``, or None and why it cannot be."""
        source, gateway = self.primary.gateway, hook.gateway
        upstream = source.upstream_of(request.model)
        model = target.models.get(request.model) or (target.models.get(upstream) if upstream else None)
        if model is None and upstream is not None:
            model = gateway.model_for(upstream, hook.connection.base_url)
            if model is None:
                return None, f"{gateway.name} sells no {upstream} model (add it to the chain entry's models)"
        if model is None and gateway.name != source.name:
            return None, (
                f"the {source.name} dialect cannot tell which upstream model {request.model!r} is; map it to a "
                f"{gateway.name} model id in the chain entry's models"
            )
        if request.extra and gateway.name != source.name:
            return None, f"extra fields ({', '.join(sorted(request.extra))}) are {source.name}'s own"
        mapped = request.model_copy(update={"model": model or request.model})
        try:
            gateway.validate(mapped, deliveries)
        except RequestValidationError as exc:
            return None, str(exc).replace("\n", " ")
        if max_cost is not None:
            cost = hook.connection.estimate(mapped)
            if cost is None or cost.amount > max_cost:
                said = "no price is known" if cost is None else f"it is estimated at {cost.amount:.4f} {cost.currency}"
                return None, f"{said} for {mapped.model} there, and max_cost={max_cost:g}"
        return Hop(hook, mapped), ""

    def breaker(self, hook: SeedanceHook) -> CircuitBreaker:
        connection = hook.connection
        return CircuitBreaker(connection.identity, connection.breaker_policy)

    def refused(self, hop: Hop, cause: str) -> None:
        """Count a provable refusal against ``hop``'s connection (metrics and the log say when its breaker opens)."""
        if self.breaker(hop.hook).refused():
            policy = hop.hook.connection.breaker_policy
            self.log.warning(
                "Circuit breaker of %s (%s) opened: %d refused submits within %g s (last: %s); it is passed over for "
                "%g s while another connection remains.",
                hop.conn_id,
                hop.hook.gateway.name,
                policy.failures,
                policy.window_seconds,
                cause,
                policy.cooldown_seconds,
            )
            metrics.breaker_opened(hop.conn_id, hop.hook.gateway.name)

    def served(self, hop: Hop) -> None:
        self.breaker(hop.hook).served()

    def close(self) -> None:
        for hook in [*self.__dict__.get("hooks", [self.primary]), *self._named.values()]:
            hook.close()
