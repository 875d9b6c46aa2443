"""What every generation of an operator shares: connections, waiting, spend and resume policy, checked once.

The single operator has one generation and the batch operator many; both hold these settings as their
own (templated) arguments and build a ``GenerationSettings`` from them once they are rendered.
Construction checks the ranges, so a DAG with a bad value fails when it is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airflow_provider_seedance.gateways.delivery import Delivery

# Polling a generation less often than hourly only delays its result; more often than 0 s is a busy loop.
MAX_POLL_INTERVAL = 3600.0
# Ark expires a task that has not finished after at most 72 h (execution_expires_after); result URLs last 24 h.
MAX_GENERATION_TIMEOUT = timedelta(hours=72)
# What to do when a submit's answer is lost on a gateway whose task list cannot tell.
UNKNOWN_SUBMIT_CHOICES = ("fail", "resubmit")


def poll_interval_problem(value: float) -> str | None:
    """What is wrong with a ``poll_interval`` (seconds between status polls), or None."""
    if 0 < value <= MAX_POLL_INTERVAL:
        return None
    return (
        f"poll_interval={value!r}; allowed: more than 0 and at most {MAX_POLL_INTERVAL:g} seconds "
        "(15-30 s suits most generations)"
    )


@dataclass(frozen=True, kw_only=True)
class GenerationSettings:
    """The operator arguments that apply to each of its generations (see the operators for each one's doc)."""

    seedance_conn_id: str
    output_conn_id: str | None
    media_conn_id: str | None
    media_delivery: Sequence[Delivery]
    asset_registry_path: Any  # str | ObjectStoragePath | None (ObjectStoragePath is not a runtime type here)
    skip_existing: bool
    poll_interval: float
    generation_timeout: timedelta
    resubmit_lost_tasks: bool
    max_cost: float | None
    reseed_on_output_moderation: bool
    on_unknown_submit: str

    def __post_init__(self) -> None:
        problem = poll_interval_problem(self.poll_interval)
        if problem:
            raise ValueError(problem)
        if not timedelta(0) < self.generation_timeout <= MAX_GENERATION_TIMEOUT:
            raise ValueError(
                f"generation_timeout={self.generation_timeout}; allowed: more than 0 and at most "
                f"{MAX_GENERATION_TIMEOUT} (gateways expire a task that has not run by then)"
            )
        if self.max_cost is not None and not self.max_cost > 0:
            raise ValueError(f"max_cost={self.max_cost!r}; allowed: more than 0, or None for no limit")
        if self.on_unknown_submit not in UNKNOWN_SUBMIT_CHOICES:
            raise ValueError(
                f"on_unknown_submit={self.on_unknown_submit!r}; allowed: {', '.join(UNKNOWN_SUBMIT_CHOICES)}"
            )

    @property
    def media_conn_id_or_output(self) -> str | None:
        """The connection that reads media inputs: ``media_conn_id``, else ``output_conn_id``."""
        return self.media_conn_id if self.media_conn_id is not None else self.output_conn_id
