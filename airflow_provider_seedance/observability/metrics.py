"""Metrics of generations, sent through Airflow's own ``Stats``, wherever ``[metrics]`` sends Airflow's.

Each call site in the operators is one line (``metrics.submitted(...)``); the names, kinds, units and
tags are declared once, in ``METRICS``, which the metrics page of the docs renders as its table. Names are stable
(a rename is a breaking change in the changelog); Airflow adds its ``statsd_prefix`` (``airflow.``).

Tags are the gateway, the model, and where a metric says so the currency, the cause or connection ids: short values
from the request and the gateway's registry, never a prompt, key, URL or task id, with any character
outside ``[A-Za-z0-9_.-/]`` replaced (so no value can break StatsD's or InfluxDB's line format). Plain
StatsD drops tags; ``statsd_influxdb_enabled`` (or Datadog, or OpenTelemetry) keeps them.

Sending a metric never fails a generation (see ``_never_raises``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec

from airflow_provider_seedance.compat import Stats
from airflow_provider_seedance.pricing import Cost

log = logging.getLogger(__name__)

# Costs are counted in millionths of their currency: StatsD counters are integers, and a second of
# video can cost less than a cent.
MICROS_PER_UNIT = 1_000_000
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]")
_TAG_MAX_LENGTH = 64


@dataclass(frozen=True)
class Metric:
    """One metric as documented: ``kind`` is counter or timer; ``unit`` is what one count (or time) is."""

    name: str
    kind: str
    unit: str
    tags: tuple[str, ...]
    description: str


SUBMISSIONS = Metric(
    "seedance.submissions",
    "counter",
    "count",
    ("gateway", "model"),
    "paid submits (a reseed after output moderation is one more)",
)
RESUMES = Metric(
    "seedance.resumes",
    "counter",
    "count",
    ("gateway", "model"),
    "generations an attempt took over from the claim beside the output instead of submitting again",
)
UNKNOWN_SUBMITS = Metric(
    "seedance.submissions.unknown",
    "counter",
    "count",
    ("gateway", "model", "outcome"),
    "submits whose answer never came (lost, or the worker died mid-submit), by what became of them: found in "
    "the task list, not_created, resubmitted (on_unknown_submit), left_for_a_person",
)
FAILURES = Metric(
    "seedance.failures",
    "counter",
    "count",
    ("gateway", "model", "cause"),
    "submitted generations that stored no video, by cause (see below)",
)
STORED = Metric("seedance.stored", "counter", "count", ("gateway", "model"), "videos stored with their manifest")
STORED_BYTES = Metric(
    "seedance.stored_bytes", "counter", "byte", ("gateway", "model"), "bytes stored: each video and its last frame"
)
GENERATION_TIME = Metric(
    "seedance.generation_time",
    "timer",
    "millisecond",
    ("gateway", "model"),
    "from the submit to the video stored, across retries (not sent when the claim that dated the submit was lost)",
)
ESTIMATED_COST = Metric(
    "seedance.estimated_cost",
    "counter",
    "millionth of the currency",
    ("gateway", "model", "currency"),
    "the estimate of each submit (not sent when the model has no known price)",
)
ACTUAL_COST = Metric(
    "seedance.actual_cost",
    "counter",
    "millionth of the currency",
    ("gateway", "model", "currency"),
    "the cost from the usage the gateway reported, per stored video (not sent when it reports none)",
)
FAILOVERS = Metric(
    "seedance.failovers",
    "counter",
    "count",
    ("from", "to", "cause"),
    "generations sent on to the next connection of a failover chain (connection ids), by why the previous one "
    "was passed over: unreachable, unavailable, rate_limited, no_credit, unauthorized, breaker_open",
)
BREAKER_OPENED = Metric(
    "seedance.breaker.opened",
    "counter",
    "count",
    ("connection", "gateway"),
    "times a connection's circuit breaker opened (it refused enough submits to be passed over for a cool-down)",
)
METRICS = (
    SUBMISSIONS,
    RESUMES,
    UNKNOWN_SUBMITS,
    FAILURES,
    STORED,
    STORED_BYTES,
    GENERATION_TIME,
    ESTIMATED_COST,
    ACTUAL_COST,
    FAILOVERS,
    BREAKER_OPENED,
)

_failed_before = False
P = ParamSpec("P")


def _never_raises(emit: Callable[P, None]) -> Callable[P, None]:
    """Metrics are observations, never a reason to fail: a broken backend (or an odd manifest) is logged
    once per process, at debug level after that, and the generation goes on."""

    @functools.wraps(emit)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        global _failed_before
        try:
            emit(*args, **kwargs)
        except Exception as exc:  # any backend's error
            level = logging.DEBUG if _failed_before else logging.WARNING
            _failed_before = True
            log.log(level, "Seedance metrics were not sent (%s: %s); the generation goes on.", type(exc).__name__, exc)

    return guarded


@_never_raises
def submitted(gateway: str, model: str, estimate: Cost | None) -> None:
    """A paid submit, with what it was estimated to cost."""
    tags = _tags(gateway=gateway, model=model)
    Stats.incr(SUBMISSIONS.name, 1, tags=tags)
    if estimate is not None:
        Stats.incr(ESTIMATED_COST.name, _micros(estimate.amount), tags={**tags, **_tags(currency=estimate.currency)})


@_never_raises
def resumed(gateway: str, model: str) -> None:
    """A claimed generation taken over instead of submitting again."""
    Stats.incr(RESUMES.name, 1, tags=_tags(gateway=gateway, model=model))


@_never_raises
def unknown_submit(gateway: str, model: str, outcome: str) -> None:
    """A submit whose answer never came, and what became of it (see ``UNKNOWN_SUBMITS``)."""
    Stats.incr(UNKNOWN_SUBMITS.name, 1, tags=_tags(gateway=gateway, model=model, outcome=outcome))


@_never_raises
def failed(gateway: str, model: str, cause: str) -> None:
    """A submitted generation that stored no video, and why (see ``FAILURES``)."""
    Stats.incr(FAILURES.name, 1, tags=_tags(gateway=gateway, model=model, cause=cause))


@_never_raises
def failover(from_conn_id: str, to_conn_id: str, cause: str) -> None:
    """A generation sent on to the next connection of its failover chain (see ``FAILOVERS``)."""
    Stats.incr(FAILOVERS.name, 1, tags=_tags(**{"from": from_conn_id, "to": to_conn_id, "cause": cause}))


@_never_raises
def breaker_opened(conn_id: str, gateway: str) -> None:
    """A connection passed over for a cool-down after refusing several submits."""
    Stats.incr(BREAKER_OPENED.name, 1, tags=_tags(connection=conn_id, gateway=gateway))


@_never_raises
def stored(manifest: Mapping[str, Any], actual: Cost | None) -> None:
    """A stored video, from its manifest (bytes, generation time), and its actual cost (unrounded, as the
    estimate is)."""
    tags = _tags(gateway=manifest["gateway"], model=manifest["model"])
    Stats.incr(STORED.name, 1, tags=tags)
    frame = manifest.get("last_frame") or {}
    Stats.incr(STORED_BYTES.name, manifest["video"]["size"] + frame.get("size", 0), tags=tags)
    timings = manifest["timings"]
    if timings.get("submitted_at"):
        took = datetime.fromisoformat(timings["stored_at"]) - datetime.fromisoformat(timings["submitted_at"])
        Stats.timing(GENERATION_TIME.name, took, tags=tags)
    if actual is not None:
        Stats.incr(ACTUAL_COST.name, _micros(actual.amount), tags={**tags, **_tags(currency=actual.currency)})


def _micros(amount: float) -> int:
    return round(amount * MICROS_PER_UNIT)


def _tags(**values: str) -> dict[str, str]:
    return {key: _TAG_UNSAFE.sub("_", str(value))[:_TAG_MAX_LENGTH] for key, value in values.items()}
