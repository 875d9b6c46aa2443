"""Injectable faults: random rates under a fixed seed, plus a script of faults for the next requests.

Scripted faults are consumed in order by the first matching request, so a test can say "the next
submit to apimart gets a 429" and observe exactly that. Rates draw from one seeded generator per
(gateway, operation), so a sequential client sees the same faults on every run. An outage takes one
gateway down for a window, so a test can watch work fail over to another gateway.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Operation = Literal["submit", "status", "cancel", "download", "upload"]


class FaultKind(enum.StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After, in the gateway's own error body
    SERVER_ERROR = "server_error"  # 500/502/503, in the gateway's own error body
    SLOW = "slow"  # answer after ``slow_seconds`` (real seconds)
    DROP = "drop"  # close the connection before doing anything
    DROP_AFTER = "drop_after"  # do the work (a submit creates its task), then close without answering
    HOLD_AFTER = "hold_after"  # do the work, then answer only after ``slow_seconds`` (a worker may die meanwhile)
    MODERATION = "moderation"  # the generation is accepted, then fails content moderation
    TRUNCATE = "truncate"  # a download sends half its bytes, then the connection closes
    EXPIRE_URL = "expire_url"  # result URLs are already expired when the task finishes
    NOT_FOUND = "not_found"  # the gateway answers a status poll as if it never knew the task
    UNAUTHORIZED = "unauthorized"  # 401 in the gateway's shape, as after a key was revoked or rotated


# Which operation each kind applies to; API faults hit submit/status/cancel/upload, the rest are specific.
_API_OPERATIONS = ("submit", "status", "cancel", "upload", "download")
APPLIES_TO: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.RATE_LIMIT: _API_OPERATIONS,
    FaultKind.SERVER_ERROR: _API_OPERATIONS,
    FaultKind.SLOW: _API_OPERATIONS,
    FaultKind.DROP: _API_OPERATIONS,
    FaultKind.DROP_AFTER: ("submit", "status", "cancel", "upload"),
    FaultKind.HOLD_AFTER: ("submit", "status", "cancel", "upload"),
    FaultKind.MODERATION: ("submit",),
    FaultKind.TRUNCATE: ("download",),
    FaultKind.EXPIRE_URL: ("submit",),
    FaultKind.NOT_FOUND: ("status",),
    FaultKind.UNAUTHORIZED: ("submit", "status", "cancel", "upload"),
}


class ScriptedFault(BaseModel):
    """Apply ``kind`` to the next ``count`` requests matching ``gateway`` and ``op`` (None matches any)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    gateway: str | None = None
    op: Operation | None = None
    count: int = Field(default=1, ge=1)
    status: int | None = Field(default=None, ge=500, le=599, description="for server_error")

    @model_validator(mode="after")
    def _can_fire(self) -> ScriptedFault:
        # A pair that never matches a request would sit in the script forever, and the test would pass
        # for the wrong reason.
        if self.op is not None and self.op not in APPLIES_TO[self.kind]:
            raise ValueError(
                f"fault {self.kind.value!r} never happens on {self.op!r} requests; "
                f"it applies to: {', '.join(APPLIES_TO[self.kind])}"
            )
        return self


class OutageMode(enum.StrEnum):
    """How a gateway that is down answers submits; status polls and downloads of its tasks keep working."""

    UNAVAILABLE = "unavailable"  # 503 in the gateway's own error body
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After, in the gateway's own error body
    NO_CREDIT = "no_credit"  # 402 in the gateway's own error body: the account ran dry
    REFUSE = "refuse"  # its own listener is closed (RunningSimulator.take_down): connections are refused


class Outage(BaseModel):
    """``gateway`` takes no new work for ``seconds`` from when the outage is applied (None: until it is lifted)."""

    model_config = ConfigDict(extra="forbid")

    gateway: str
    mode: OutageMode
    seconds: float | None = Field(default=None, gt=0)


class FaultPlan(BaseModel):
    """What goes wrong, and how often. Rates are probabilities per matching request."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rates: dict[FaultKind, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    script: list[ScriptedFault] = Field(default_factory=list)
    retry_after_seconds: float = Field(default=1.0, ge=0)
    slow_seconds: float = Field(default=2.0, ge=0)
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    outages: list[Outage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _outages_answer(self) -> FaultPlan:
        # Answering requests is all a plan can do; closing a listener needs the running server.
        for outage in self.outages:
            if outage.mode is OutageMode.REFUSE:
                raise ValueError(
                    f"outage of {outage.gateway!r}: a 'refuse' outage closes the gateway's own listener, which a "
                    "fault plan cannot do; use RunningSimulator.take_down(gateway, 'refuse') and own_url(gateway)"
                )
        return self


class Fault(BaseModel):
    """One fault chosen for one request."""

    kind: FaultKind
    status: int | None = None


class FaultInjector:
    """Decides, request by request, which fault (if any) applies. Thread-safe; state resets with the plan."""

    def __init__(self, plan: FaultPlan) -> None:
        self._lock = threading.Lock()
        self.replace(plan)

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def replace(self, plan: FaultPlan) -> None:
        """Apply ``plan`` afresh: its script from the start, and the windows of its outages from now."""
        with self._lock:
            self._plan = plan
            self._script = [entry.model_copy() for entry in plan.script]
            self._generators: dict[tuple[str, str], random.Random] = {}
            started = time.monotonic()
            self._outages = [(outage, started) for outage in plan.outages]

    def add_outage(self, outage: Outage) -> None:
        """Start ``outage`` now, leaving the rest of the plan as it is (the script's progress, other windows)."""
        with self._lock:
            self._plan = self._plan.model_copy(update={"outages": [*self._plan.outages, outage]})
            self._outages.append((outage, time.monotonic()))

    def end_outages(self, gateway: str) -> None:
        """Lift every outage of ``gateway`` before its window ends."""
        with self._lock:
            outages = [outage for outage in self._plan.outages if outage.gateway != gateway]
            self._plan = self._plan.model_copy(update={"outages": outages})
            self._outages = [(outage, started) for outage, started in self._outages if outage.gateway != gateway]

    def outage(self, gateway: str) -> Outage | None:
        """The outage ``gateway`` is in now, if any."""
        now = time.monotonic()
        with self._lock:
            for outage, started in self._outages:
                if outage.gateway == gateway and (outage.seconds is None or now - started < outage.seconds):
                    return outage
        return None

    def decide(self, gateway: str, op: str, kinds: tuple[FaultKind, ...] = tuple(FaultKind)) -> Fault | None:
        """The fault for this request, among ``kinds``: a scripted one first, else one drawn by the rates."""
        with self._lock:
            for entry in self._script:
                if (
                    entry.kind in kinds
                    and op in APPLIES_TO[entry.kind]
                    and entry.gateway in (None, gateway)
                    and entry.op in (None, op)
                ):
                    entry.count -= 1
                    if entry.count == 0:
                        self._script.remove(entry)
                    return self._fault(entry.kind, entry.status, gateway, op)
            generator = self._generator(gateway, op)
            for kind in kinds:
                rate = self._plan.rates.get(kind, 0.0)
                if rate and op in APPLIES_TO[kind] and generator.random() < rate:
                    return self._fault(kind, None, gateway, op)
        return None

    def _fault(self, kind: FaultKind, status: int | None, gateway: str, op: str) -> Fault:
        if kind is FaultKind.SERVER_ERROR and status is None:
            statuses = self._plan.server_error_statuses
            status = statuses[self._generator(gateway, op).randrange(len(statuses))]
        return Fault(kind=kind, status=status)

    def _generator(self, gateway: str, op: str) -> random.Random:
        key = (gateway, op)
        if key not in self._generators:
            self._generators[key] = random.Random(f"{self._plan.seed}/{gateway}/{op}")
        return self._generators[key]
