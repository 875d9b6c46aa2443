"""One retry policy for the sync and async paths: what may be retried, and how long to wait.

Pure functions over our typed errors, so the worker and the triggerer cannot drift apart.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from airflow_provider_seedance.exceptions import (
    RateLimitError,
    SeedanceError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.hooks.extra_objects import settings_object

# A 503 says the gateway did not take the request; other 5xx replies to a submit leave its fate open.
SUBMIT_SAFE_STATUSES = frozenset({503})
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; ``max_retry_after`` caps how long a 429 may ask us to wait."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        # Checked here, not where the values come from: a connection's extra.retry is JSON, so any type can come.
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValueError(f"RetryPolicy max_attempts={self.max_attempts!r}; allowed: a whole number of attempts")
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy max_attempts={self.max_attempts}; allowed: 1 or more (1 = no retry)")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"RetryPolicy {name}={value!r}; allowed: a number of seconds")
            if value < 0:
                raise ValueError(f"RetryPolicy {name}={value}; allowed: 0 seconds or more")
        if self.base_delay > self.max_delay:
            raise ValueError(
                f"RetryPolicy base_delay={self.base_delay} is above max_delay={self.max_delay}; raise max_delay"
            )

    def delay(self, attempt: int, error: SeedanceError, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1)."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def should_retry(self, attempt: int, error: SeedanceError, *, submit: bool) -> bool:
        """Whether to try again after ``error`` on attempt ``attempt``."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, RateLimitError):
            return error.retry_after is None or error.retry_after <= self.max_retry_after
        if isinstance(error, TransportError):
            return not (submit and error.request_sent)
        if isinstance(error, ServerError):
            if submit:
                # Only the gateway's own 503 says it did not take the request; a proxy's may not.
                return error.status_code in SUBMIT_SAFE_STATUSES and error.structured
            return error.status_code in RETRYABLE_STATUSES or error.status_code is None
        return False


def outcome_unknown(error: SeedanceError) -> bool:
    """A submit error after which the gateway may nevertheless have created (and billed) the task."""
    if isinstance(error, TransportError):
        return error.request_sent
    if isinstance(error, UnexpectedResponseError):
        return True  # an answer we cannot read may still describe a created task
    if isinstance(error, ServerError):
        return not (error.status_code in SUBMIT_SAFE_STATUSES and error.structured)
    return False


def retry_policy_from(value: object, where: str) -> RetryPolicy:
    """The policy a connection's ``extra.retry`` object describes (``settings_object``)."""
    return settings_object(RetryPolicy, value, where, '{"max_attempts": 6, "base_delay": 1, "max_delay": 30}')


DEFAULT_RETRY_POLICY = RetryPolicy()
